/*
 * e2e.c - the harness of the end-to-end suites: start $UOT_BINARY, read its
 * stderr through a pipe, wait (with poll, never by sleeping) for a log line,
 * stop or kill it, and push datagrams at it over 127.0.0.1.
 *
 * Every child is kept in a registry, emptied by the test's teardown; a
 * test that leaves by exit() with children left has them shown and killed
 * by an atexit() handler. Check's fork mode ends a failed test with _exit()
 * and a timed-out one with SIGKILL, so the suites also print e2e_dump()
 * before failing, and on Linux every child dies with its parent
 * (PR_SET_PDEATHSIG): no test leaves an orphan behind.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#if defined(HAVE_SYS_PRCTL_H) && defined(__linux__)
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#define E2E_MAXPROCS	32
#define E2E_MAXARGS	64
#define E2E_SOCKBUF	(4 * 1024 * 1024)
#define E2E_PORT_LOW	10000	/* lowest port e2e_free_port() hands out */

struct e2e_proc {
	char		 name[32];
	pid_t		 pid;
	pid_t		 owner;		/* the process that started it */
	int		 errfd;		/* read end of its stderr, -1 at EOF */
	char		*log;		/* all it wrote to stderr, NUL-ended */
	size_t		 loglen;
	size_t		 logsize;
	size_t		 echoed;	/* E2E_VERBOSE: bytes already echoed */
	int		 reaped;
	int		 code;		/* once reaped: status, 128 + signal */
	struct e2e_proc	*next;
};

static struct e2e_proc	*e2e_procs;
static pid_t		 e2e_atexit_pid = -1;

static int		 e2e_try_port(int, int);
static int		 e2e_port_high(void);
static const char	*e2e_find(const char *, size_t, const char *);
static void		 e2e_child(int, pid_t, char *const [])
			     __attribute__((__noreturn__));
static int		 e2e_owned(const struct e2e_proc *);
static int		 e2e_read(struct e2e_proc *);
static int		 e2e_pump(int, int);
static int		 e2e_code(int);
static int		 e2e_reap(struct e2e_proc *, int);
static void		 e2e_atexit(void);
static void		 e2e_setbuf(int, int, int);

/* Monotonic milliseconds, for deadlines. */
long long
e2e_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Set (on) or clear close-on-exec. */
int
e2e_cloexec(int fd, int on)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFD)) == -1)
		return (-1);
	flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
	return (fcntl(fd, F_SETFD, flags));
}

int
e2e_nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFL, flags | O_NONBLOCK));
}

/* memmem(3) is not POSIX: find needle in the len bytes at hay. */
static const char *
e2e_find(const char *hay, size_t len, const char *needle)
{
	size_t	n = strlen(needle), i;

	if (n == 0)
		return (hay);
	for (i = 0; i + n <= len; i++) {
		if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
			return (hay + i);
	}
	return (NULL);
}

/* The path of the binary under test, or NULL when UOT_BINARY is not set. */
const char *
e2e_binary(void)
{
	const char	*path;

	path = getenv("UOT_BINARY");
	if (path == NULL || *path == '\0')
		return (NULL);
	return (path);
}

/*
 * The binary under test, or NULL (said on stderr, as suite) when it is
 * not set or cannot be run: a suite then fails (99), never passes or
 * skips quietly.
 */
const char *
e2e_need_binary(const char *suite)
{
	const char	*bin;

	if ((bin = e2e_binary()) == NULL) {
		fprintf(stderr, "%s: UOT_BINARY is not set\n", suite);
		return (NULL);
	}
	if (access(bin, X_OK) == -1) {
		fprintf(stderr, "%s: %s: %s\n", suite, bin, strerror(errno));
		return (NULL);
	}
	return (bin);
}

/* "127.0.0.1:port" in buf, for an argument of the binary. */
char *
e2e_hostport(char *buf, size_t size, int port)
{
	snprintf(buf, size, "127.0.0.1:%d", port);
	return (buf);
}

/* Seeded bytes, so every datagram is distinct and checkable. */
void
e2e_fill(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t	x = seed * 2654435761U + 1;
	size_t		i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

/* Big-endian, for the headers the suites put in their datagrams. */
void
e2e_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
e2e_get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

/* Bind 127.0.0.1:port (0: any), note the port, close; -1 if taken. */
static int
e2e_try_port(int socktype, int port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd, got = -1;

	if ((fd = socket(AF_INET, socktype, 0)) == -1)
		return (-1);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		got = ntohs(sin.sin_port);
	close(fd);
	return (got);
}

/*
 * Where to pick ports the binary will bind: from E2E_PORT_LOW up to just
 * below the kernel's ephemeral range, when that can be read (Linux). No
 * bind(0) or connect() anywhere on the host takes a port there, so none
 * can steal it between our check and the child's bind(). 0 if unknown.
 */
static int
e2e_port_high(void)
{
#ifdef __linux__
	FILE	*f;
	int	 first, last, high = 0;

	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) ==
	    NULL)
		return (0);
	if (fscanf(f, "%d %d", &first, &last) == 2 &&
	    first - 1 - E2E_PORT_LOW >= 1000)
		high = first - 1;
	fclose(f);
	return (high);
#else
	return (0);
#endif
}

/*
 * A port free on 127.0.0.1 for SOCK_STREAM or SOCK_DGRAM, for a child to
 * bind: a random one below the ephemeral range that binds now and was not
 * handed out before by this process, else whatever bind(0) gives.
 */
int
e2e_free_port(int socktype)
{
	static uint32_t	 x;
	static int	 given[64];
	static size_t	 ngiven, next;
	size_t		 i;
	int		 high, port, tries;

	if ((high = e2e_port_high()) == 0)
		return (e2e_try_port(socktype, 0));
	/* Parallel suites must not pick alike: seed with pid and time. */
	if (x == 0)
		x = ((uint32_t)getpid() * 2654435761U) ^
		    ((uint32_t)time(NULL) * 40503U) ^ 1;
	for (tries = 0; tries < 1000; tries++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		port = E2E_PORT_LOW + (int)((x >> 7) %
		    (uint32_t)(high - E2E_PORT_LOW + 1));
		for (i = 0; i < ngiven && given[i] != port; i++)
			;
		if (i < ngiven || e2e_try_port(socktype, port) != port)
			continue;
		given[next] = port;
		next = (next + 1) % (sizeof given / sizeof given[0]);
		if (ngiven < sizeof given / sizeof given[0])
			ngiven++;
		return (port);
	}
	return (e2e_try_port(socktype, 0));
}

/* In the child: stderr into the pipe, a clean signal state, then exec. */
static void
e2e_child(int errfd, pid_t parent, char *const argv[])
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE,
	    SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM };
	char			 msg[512];
	sigset_t		 set;
	size_t			 i;
	int			 fd, len;

	if (dup2(errfd, STDERR_FILENO) == -1)
		_exit(127);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);

#if defined(HAVE_SYS_PRCTL_H) && defined(PR_SET_PDEATHSIG)
	/* Die with the test; if it is already gone, do not start at all. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(127);
#else
	(void)parent;
#endif

	execv(argv[0], argv);
	len = snprintf(msg, sizeof msg, "e2e: exec %s: %s\n", argv[0],
	    strerror(errno));
	if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) == -1)
		_exit(126);
	_exit(127);
}

/* Start $UOT_BINARY with the arguments that follow name, up to a NULL. */
struct e2e_proc *
e2e_spawn(const char *name, ...)
{
	char	*args[E2E_MAXARGS + 1];
	va_list	 ap;
	size_t	 n = 0;
	char	*arg;

	va_start(ap, name);
	while ((arg = va_arg(ap, char *)) != NULL) {
		if (n == E2E_MAXARGS) {
			va_end(ap);
			fprintf(stderr, "e2e: %s: too many arguments\n", name);
			return (NULL);
		}
		args[n++] = arg;
	}
	va_end(ap);
	args[n] = NULL;
	return (e2e_spawnv(name, args));
}

/* Start $UOT_BINARY with the NULL-terminated args (argv[1] on). */
struct e2e_proc *
e2e_spawnv(const char *name, char *const args[])
{
	const char	*path;

	if ((path = e2e_binary()) == NULL) {
		fprintf(stderr, "e2e: UOT_BINARY is not set\n");
		return (NULL);
	}
	return (e2e_spawn_path(name, path, args));
}

/*
 * Start the program at path (another tool a suite runs beside the
 * binary: openssl, stunnel, haproxy) with the NULL-terminated args
 * (argv[1] on), its stderr captured and its life managed as above.
 */
struct e2e_proc *
e2e_spawn_path(const char *name, const char *path, char *const args[])
{
	struct e2e_proc	*p, *q;
	char		*argv[E2E_MAXARGS + 2];
	size_t		 n, nprocs = 0;
	int		 fds[2];
	pid_t		 self = getpid();

	for (q = e2e_procs; q != NULL; q = q->next) {
		if (e2e_owned(q))
			nprocs++;
	}
	if (nprocs == E2E_MAXPROCS) {
		fprintf(stderr, "e2e: %s: too many processes\n", name);
		return (NULL);
	}
	argv[0] = (char *)path;
	for (n = 0; args[n] != NULL; n++) {
		if (n == E2E_MAXARGS) {
			fprintf(stderr, "e2e: %s: too many arguments\n", name);
			return (NULL);
		}
		argv[n + 1] = args[n];
	}
	argv[n + 1] = NULL;

	if ((p = calloc(1, sizeof *p)) == NULL)
		return (NULL);
	snprintf(p->name, sizeof p->name, "%s", name);
	p->logsize = 4096;
	if ((p->log = malloc(p->logsize)) == NULL) {
		free(p);
		return (NULL);
	}
	p->log[0] = '\0';

	if (pipe(fds) == -1) {
		fprintf(stderr, "e2e: pipe: %s\n", strerror(errno));
		free(p->log);
		free(p);
		return (NULL);
	}
	/* No other child may inherit either end, or EOF never comes. */
	e2e_cloexec(fds[0], 1);
	e2e_cloexec(fds[1], 1);
	fflush(NULL);

	switch (p->pid = fork()) {
	case -1:
		fprintf(stderr, "e2e: fork: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		free(p->log);
		free(p);
		return (NULL);
	case 0:
		close(fds[0]);
		e2e_child(fds[1], self, argv);
		/* NOTREACHED */
	}
	close(fds[1]);
	e2e_nonblock(fds[0]);
	p->errfd = fds[0];
	p->owner = self;

	p->next = e2e_procs;
	e2e_procs = p;
	if (e2e_atexit_pid != self) {
		e2e_atexit_pid = self;
		atexit(e2e_atexit);
	}
	return (p);
}

/* Children started by a parent before a fork() are not ours to kill. */
static int
e2e_owned(const struct e2e_proc *p)
{
	return (p->owner == getpid());
}

/* Append what the pipe holds to the log; -1 once the child closed it. */
static int
e2e_read(struct e2e_proc *p)
{
	char	*nl, *grown;
	ssize_t	 n;

	while (p->errfd != -1) {
		if (p->logsize - p->loglen < 1024) {
			grown = realloc(p->log, p->logsize * 2);
			if (grown == NULL)
				return (0);
			p->log = grown;
			p->logsize *= 2;
		}
		n = read(p->errfd, p->log + p->loglen,
		    p->logsize - p->loglen - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			close(p->errfd);
			p->errfd = -1;
			break;
		}
		p->loglen += (size_t)n;
		p->log[p->loglen] = '\0';
	}

	if (getenv("E2E_VERBOSE") != NULL) {
		while ((nl = memchr(p->log + p->echoed, '\n',
		    p->loglen - p->echoed)) != NULL) {
			fprintf(stderr, "[%s] %.*s\n", p->name,
			    (int)(nl - (p->log + p->echoed)),
			    p->log + p->echoed);
			p->echoed = (size_t)(nl - p->log) + 1;
		}
	}
	return (p->errfd == -1 ? -1 : 0);
}

/*
 * One poll() over the stderr pipes of every child and fd (when not -1),
 * for at most timeout ms. Whatever the children wrote is read, so none of
 * them ever blocks on a full pipe. Returns 1 when fd is readable.
 */
static int
e2e_pump(int fd, int timeout)
{
	struct pollfd	 pfd[E2E_MAXPROCS + 1];
	struct e2e_proc	*p, *who[E2E_MAXPROCS + 1];
	nfds_t		 n = 0, i;
	int		 ready = 0;

	if (fd != -1) {
		pfd[n].fd = fd;
		pfd[n].events = POLLIN;
		who[n++] = NULL;
	}
	for (p = e2e_procs; p != NULL && n < E2E_MAXPROCS + 1; p = p->next) {
		if (!e2e_owned(p) || p->errfd == -1)
			continue;
		pfd[n].fd = p->errfd;
		pfd[n].events = POLLIN;
		who[n++] = p;
	}
	if (timeout < 0)
		timeout = 0;
	if (poll(n == 0 ? NULL : pfd, n, timeout) <= 0)
		return (0);
	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (who[i] == NULL)
			ready = 1;
		else
			e2e_read(who[i]);
	}
	return (ready);
}

/*
 * Wait until the stderr of p holds pattern at or after offset from.
 * Returns the offset just past the match, so a caller can wait for the
 * next one; -1 on timeout or when the child closed stderr first.
 */
ssize_t
e2e_wait_log(struct e2e_proc *p, const char *pattern, size_t from,
    int timeout)
{
	const char	*m;
	long long	 deadline = e2e_now_ms() + timeout, left;

	for (;;) {
		if (p->errfd != -1)
			e2e_read(p);
		if (from <= p->loglen && (m = e2e_find(p->log + from,
		    p->loglen - from, pattern)) != NULL)
			return ((ssize_t)((size_t)(m - p->log) +
			    strlen(pattern)));
		if (p->errfd == -1) {
			fprintf(stderr, "e2e: %s (pid %ld) closed stderr "
			    "(exited?) before saying \"%s\"\n", p->name,
			    (long)p->pid, pattern);
			return (-1);
		}
		if ((left = deadline - e2e_now_ms()) <= 0) {
			fprintf(stderr, "e2e: %s (pid %ld) did not say \"%s\" "
			    "within %d ms\n", p->name, (long)p->pid, pattern,
			    timeout);
			return (-1);
		}
		e2e_pump(-1, (int)left);
	}
}

int
e2e_signal(struct e2e_proc *p, int sig)
{
	if (p->reaped) {
		errno = ESRCH;
		return (-1);
	}
	return (kill(p->pid, sig));
}

/* A wait status as a shell shows it: the exit status, or 128 + signal. */
static int
e2e_code(int status)
{
	if (WIFEXITED(status))
		return (WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return (128 + WTERMSIG(status));
	return (-1);
}

static int
e2e_reap(struct e2e_proc *p, int flags)
{
	pid_t	r;
	int	status;

	if (p->reaped)
		return (1);
	do
		r = waitpid(p->pid, &status, flags);
	while (r == -1 && errno == EINTR);
	if (r == p->pid || (r == -1 && errno == ECHILD)) {
		/* ECHILD: someone else reaped it; its status is lost. */
		p->code = (r == -1) ? -1 : e2e_code(status);
		p->reaped = 1;
		while (p->errfd != -1 && e2e_read(p) == 0 &&
		    e2e_pump(p->errfd, 100) == 1)
			;	/* the rest of what it wrote */
		return (1);
	}
	return (0);
}

/*
 * Wait up to timeout ms for p to exit; its exit status (128 + signal when
 * a signal ended it), or -1 if it is still running.
 */
int
e2e_wait_exit(struct e2e_proc *p, int timeout)
{
	long long	deadline = e2e_now_ms() + timeout, left;

	/* A child that exits closes its stderr: wait for that first. */
	while (!p->reaped && p->errfd != -1 &&
	    (left = deadline - e2e_now_ms()) > 0)
		e2e_pump(-1, (int)left);
	for (;;) {
		if (e2e_reap(p, WNOHANG))
			return (p->code);
		if (deadline - e2e_now_ms() <= 0)
			return (-1);
		/* Closed stderr but not gone yet: this is short. */
		e2e_pump(-1, 5);
	}
}

/* SIGTERM, then up to timeout ms; SIGKILL if that was not enough. */
int
e2e_stop(struct e2e_proc *p, int timeout)
{
	int	code;

	if (p->reaped)
		return (p->code);
	kill(p->pid, SIGTERM);
	if ((code = e2e_wait_exit(p, timeout)) != -1)
		return (code);
	fprintf(stderr, "e2e: %s (pid %ld) still running %d ms after "
	    "SIGTERM, killing it\n", p->name, (long)p->pid, timeout);
	e2e_kill(p);
	return (-1);
}

void
e2e_kill(struct e2e_proc *p)
{
	if (p->reaped)
		return;
	kill(p->pid, SIGKILL);
	e2e_reap(p, 0);
}

/* Everything p wrote on stderr so far, NUL-terminated. */
const char *
e2e_log(struct e2e_proc *p, size_t *len)
{
	if (p->errfd != -1)
		e2e_read(p);
	if (len != NULL)
		*len = p->loglen;
	return (p->log);
}

/* How much p wrote on stderr so far: an offset to wait for lines after. */
size_t
e2e_log_len(struct e2e_proc *p)
{
	size_t	len;

	(void)e2e_log(p, &len);
	return (len);
}

const char *
e2e_name(struct e2e_proc *p)
{
	return (p->name);
}

/* Print the stderr of every child, oldest first, to help a failing test. */
void
e2e_dump(void)
{
	struct e2e_proc	*p, *order[E2E_MAXPROCS];
	size_t		 n = 0;
	char		 state[64];

	for (p = e2e_procs; p != NULL && n < E2E_MAXPROCS; p = p->next) {
		if (e2e_owned(p))
			order[n++] = p;
	}
	while (n-- > 0) {
		p = order[n];
		if (p->errfd != -1)
			e2e_read(p);
		if (!p->reaped)
			snprintf(state, sizeof state, "running");
		else if (p->code > 128)
			snprintf(state, sizeof state, "killed by signal %d",
			    p->code - 128);
		else
			snprintf(state, sizeof state, "exit status %d",
			    p->code);
		fprintf(stderr, "---- stderr of %s (pid %ld, %s) ----\n%s%s"
		    "---- end of %s ----\n", p->name, (long)p->pid, state,
		    p->log, (p->loglen > 0 && p->log[p->loglen - 1] != '\n') ?
		    "\n" : "", p->name);
	}
	fflush(stderr);
}

/* Kill every child still running, reap it, forget it; dump first if asked. */
void
e2e_cleanup(int dump)
{
	struct e2e_proc	*p, *next;

	if (dump && e2e_procs != NULL)
		e2e_dump();
	/*
	 * E2E_STOP_GRACEFULLY (the valgrind and sanitizer runs of .ci/run):
	 * SIGTERM first, so that every child leaves by its own clean path,
	 * where leak checkers look; SIGKILL whatever is left after that.
	 */
	if (getenv("E2E_STOP_GRACEFULLY") != NULL) {
		for (p = e2e_procs; p != NULL; p = p->next) {
			if (e2e_owned(p) && !p->reaped) {
				kill(p->pid, SIGTERM);
				kill(p->pid, SIGCONT);	/* if it was stopped */
			}
		}
		for (p = e2e_procs; p != NULL; p = p->next) {
			if (e2e_owned(p) && !p->reaped)
				(void)e2e_wait_exit(p, E2E_EXIT_MS);
		}
	}
	for (p = e2e_procs; p != NULL; p = next) {
		next = p->next;
		if (e2e_owned(p)) {
			if (!p->reaped) {
				kill(p->pid, SIGKILL);
				while (waitpid(p->pid, NULL, 0) == -1 &&
				    errno == EINTR)
					;
			}
		}
		if (p->errfd != -1)
			close(p->errfd);
		free(p->log);
		free(p);
	}
	e2e_procs = NULL;
}

/*
 * Reached on a normal exit with children left, which in Check's fork mode
 * means a failed assertion: show what they said, then kill them.
 */
static void
e2e_atexit(void)
{
	struct e2e_proc	*p;

	for (p = e2e_procs; p != NULL; p = p->next) {
		if (e2e_owned(p)) {
			fprintf(stderr, "e2e: test ended with processes left; "
			    "their stderr follows\n");
			e2e_cleanup(1);
			return;
		}
	}
}

static void
e2e_setbuf(int fd, int opt, int size)
{
	socklen_t	len = sizeof size;

	if (setsockopt(fd, SOL_SOCKET, opt, &size, len) == -1)
		fprintf(stderr, "e2e: setsockopt(%d, %d): %s\n", fd, size,
		    strerror(errno));
}

/*
 * A UDP socket on 127.0.0.1:port (0: any free port) with large buffers,
 * non-blocking and close-on-exec so no child inherits it.
 */
int
e2e_udp_socket(int port)
{
	struct sockaddr_in	sin;
	int			fd, size = E2E_SOCKBUF;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return (-1);
	e2e_cloexec(fd, 1);
	e2e_nonblock(fd);
#ifdef SO_RCVBUFFORCE
	/* Past net.core.rmem_max when allowed (root); else the plain way. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) ==
	    -1)
		e2e_setbuf(fd, SO_RCVBUF, size);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) ==
	    -1)
		e2e_setbuf(fd, SO_SNDBUF, size);
#else
	e2e_setbuf(fd, SO_RCVBUF, size);
	e2e_setbuf(fd, SO_SNDBUF, size);
#endif
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		fprintf(stderr, "e2e: bind udp 127.0.0.1:%d: %s\n", port,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	return (fd);
}

/* The local port of a bound socket. */
int
e2e_udp_port(int fd)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return (-1);
	return (ntohs(sin.sin_port));
}

/* Send one datagram to 127.0.0.1:port; 0 when it went whole. */
int
e2e_udp_send(int fd, int port, const void *buf, size_t len)
{
	struct sockaddr_in	sin;
	struct pollfd		pfd;
	ssize_t			n;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	for (;;) {
		n = sendto(fd, buf, len, 0, (struct sockaddr *)&sin,
		    sizeof sin);
		if (n >= 0)
			return ((size_t)n == len ? 0 : -1);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != ENOBUFS) {
			fprintf(stderr, "e2e: sendto 127.0.0.1:%d (%zu bytes):"
			    " %s\n", port, len, strerror(errno));
			return (-1);
		}
		/* Send buffer full: wait for room, never for long. */
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, E2E_RECV_MS) <= 0) {
			fprintf(stderr, "e2e: sendto 127.0.0.1:%d: no buffer "
			    "space for %d ms\n", port, E2E_RECV_MS);
			return (-1);
		}
	}
}

/*
 * Receive one datagram within timeout ms (0: only if one is waiting).
 * Returns its length and its source port in *from; -1 with errno
 * ETIMEDOUT when none came, EMSGSIZE when it did not fit in buf.
 */
ssize_t
e2e_udp_recv(int fd, void *buf, size_t size, int *from, int timeout)
{
	struct sockaddr_in	sin;
	struct msghdr		msg;
	struct iovec		iov;
	long long		deadline = e2e_now_ms() + timeout, left;
	ssize_t			n;

	for (;;) {
		memset(&msg, 0, sizeof msg);
		iov.iov_base = buf;
		iov.iov_len = size;
		msg.msg_name = &sin;
		msg.msg_namelen = sizeof sin;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		n = recvmsg(fd, &msg, 0);
		if (n >= 0) {
			if (msg.msg_flags & MSG_TRUNC) {
				errno = EMSGSIZE;
				return (-1);
			}
			if (from != NULL)
				*from = ntohs(sin.sin_port);
			return (n);
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ECONNREFUSED)
			return (-1);
		if ((left = deadline - e2e_now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		e2e_pump(fd, (int)left);
	}
}

/*
 * The first whole line of p's stderr at or after offset from that holds
 * a and (unless NULL) b after it: the offset just past its end, -1 if
 * none yet.
 */
ssize_t
e2e_find_line(struct e2e_proc *p, const char *a, const char *b, size_t from)
{
	const char	*log, *m, *end, *mb;
	size_t		 len;

	log = e2e_log(p, &len);
	while (from < len && (m = strstr(log + from, a)) != NULL) {
		if ((end = strchr(m, '\n')) == NULL)
			return (-1);	/* not whole yet */
		if (b == NULL || ((mb = strstr(m, b)) != NULL && mb < end))
			return ((ssize_t)(end - log) + 1);
		from = (size_t)(end - log) + 1;
	}
	return (-1);
}

/* Whole lines at or after from that hold a and (unless NULL) b. */
int
e2e_count_lines(struct e2e_proc *p, const char *a, const char *b, size_t from)
{
	ssize_t	off;
	int	n = 0;

	while ((off = e2e_find_line(p, a, b, from)) != -1) {
		n++;
		from = (size_t)off;
	}
	return (n);
}
