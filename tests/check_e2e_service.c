/*
 * check_e2e_service.c - end-to-end tests of what the binary offers a
 * service manager: sd_notify readiness and stopping, socket activation,
 * logging to syslog, and the version report.
 *
 * The tunnel picture is the one of check_e2e_fixed.c:
 *
 *   client app C --> connect side --TCP--> listen side --> server app S
 *   (cfd)          -u B2  -p C           -l T -u B1 -p S    (sfd)
 *
 * Whether the systemd paths exist is asked of the binary itself: its
 * --version has a "built with:" line naming "systemd" when they do. The
 * socket activation tests only run then; the sd_notify test checks the
 * opposite (nothing is sent) otherwise.
 *
 * Most processes are run through the harness (e2e.c). Those that need
 * what it cannot give them (a listening socket as fd 3 and LISTEN_* in
 * their environment; stdout captured) are run by the small spawner here,
 * "sp_", which keeps its children in a registry of its own, killed on
 * teardown, on a failed assertion, and at exit, and has them die with the
 * test (PR_SET_PDEATHSIG) like the harness does.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#if defined(HAVE_SYS_PRCTL_H) && defined(__linux__)
#include <sys/prctl.h>
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define TEST_TIMEOUT	60	/* seconds per test, a backstop only */
#define QUIET_MS	300	/* how long "nothing arrives" is watched */

/*
 * Not the require() of e2e.h: a failure here also kills and reaps the
 * children of the spawner below and removes the notify socket (Check's
 * fork mode ends a failed test with _exit(): no atexit() handler, no
 * teardown).
 */
static char	require_msg[4096];

static void	require_fmt(const char *, ...)
		    __attribute__((__format__(__printf__, 1, 2)));

static void
require_fmt(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(require_msg, sizeof require_msg, fmt, ap);
	va_end(ap);
}

/* The message is formatted first: it may quote logs the cleanup frees. */
#undef require
#define require(expr, ...) do {						\
	int	require_ok = (expr) != 0;				\
									\
	if (!require_ok) {						\
		require_fmt(__VA_ARGS__);				\
		e2e_dump();						\
		sp_dump();						\
		e2e_cleanup(0);						\
		sp_cleanup();						\
		notify_close();						\
	}								\
	ck_assert_msg(require_ok, "%s", require_msg);			\
} while (0)

#define MAXSOCKS	16
#define SP_MAXPROCS	8
#define SP_BUFSIZE	65536

/* A child of the spawner here: stdout and stderr captured apart. */
struct sproc {
	char		 name[32];
	pid_t		 pid;
	int		 outfd, errfd;	/* read ends, -1 at EOF */
	char		 out[SP_BUFSIZE], err[SP_BUFSIZE];
	size_t		 outlen, errlen;
	int		 reaped;
	int		 code;		/* once reaped: status, 128 + signal */
};

/* How a child of the spawner gets its fd 3 and LISTEN_PID. */
enum sp_activation {
	SP_PLAIN,		/* no fd 3, no LISTEN_* */
	SP_ACTIVATED,		/* fd 3, LISTEN_FDS=1, LISTEN_PID=its own */
	SP_OTHER_PID		/* fd 3, LISTEN_FDS=1, LISTEN_PID=another's */
};

static struct sproc		 sprocs[SP_MAXPROCS];
static int			 nsprocs;
static pid_t			 sp_owner = -1;
static int			 socks[MAXSOCKS];
static int			 nsocks;
static int			 notify_fd = -1;
static char			 notify_dir[64];
static char			 notify_path[96];
static int			 with_systemd = -1;	/* from --version */
static unsigned char		 want[E2E_BUFSIZE];
static unsigned char		 got[E2E_BUFSIZE];

static void		 setup(void);
static void		 teardown(void);
static int		 test_socket(void);
static void		 keep_socket(int);
static struct sproc	*sp_spawn(const char *, enum sp_activation, int,
			     char *const []);
static void		 sp_child(int, int, enum sp_activation, int, pid_t,
			     char *const []) __attribute__((__noreturn__));
static void		 sp_read(struct sproc *);
static void		 sp_pump(int);
static ssize_t		 sp_wait_log(struct sproc *, const char *, size_t,
			     int);
static int		 sp_wait_exit(struct sproc *, int);
static int		 sp_reap(struct sproc *, int);
static void		 sp_kill(struct sproc *);
static void		 sp_dump(void);
static void		 sp_cleanup(void);
static void		 sp_atexit(void);
static int		 sp_run(const char *, char *const [], int);
static int		 tcp_listener(int *);
static int		 tcp_wait_listening(int, struct e2e_proc *, int);
static int		 socket_inode_in(pid_t, int);
static void		 notify_open(void);
static void		 notify_close(void);
static ssize_t		 notify_recv(char *, size_t, int);
static int		 has_line(const char *, const char *);
static char		*field(const char *, const char *, char *, size_t);
static char		*log_line(const char *, const char *, char *, size_t);
static void		 expect(int, int, const unsigned char *, size_t,
			     const char *);
static struct e2e_proc	*start_connect(const char *, int, int, int,
			     const char *);
static int		 probe_version(void);
static Suite		*e2e_service_suite(void);

static void
setup(void)
{
	/* Left over by a failed test in CK_NOFORK mode: show and kill. */
	e2e_cleanup(1);
	sp_cleanup();
	while (nsocks > 0)
		close(socks[--nsocks]);
	notify_close();
}

static void
teardown(void)
{
	e2e_cleanup(0);
	sp_cleanup();
	while (nsocks > 0)
		close(socks[--nsocks]);
	notify_close();
}

/* A UDP socket on 127.0.0.1:0, closed by teardown. */
static int
test_socket(void)
{
	int	fd;

	fd = e2e_udp_socket(0);
	require(fd != -1, "cannot open a UDP socket on 127.0.0.1");
	keep_socket(fd);
	return (fd);
}

/* Have teardown close fd. */
static void
keep_socket(int fd)
{
	if (nsocks == MAXSOCKS)
		close(fd);
	require(nsocks < MAXSOCKS, "more than %d test sockets", MAXSOCKS);
	socks[nsocks++] = fd;
}

/*
 * In the child: stdout and stderr into their pipes, the socket to pass
 * as fd 3 with LISTEN_FDS and LISTEN_PID (when asked), a clean signal
 * state, death with the test, then exec $UOT_BINARY.
 */
static void
sp_child(int outfd, int errfd, enum sp_activation how, int actfd,
    pid_t parent, char *const argv[])
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE,
	    SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM };
	char			 pid[32], msg[512];
	sigset_t		 set;
	size_t			 i;
	int			 fd, len;

	if (dup2(errfd, STDERR_FILENO) == -1 ||
	    dup2(outfd, STDOUT_FILENO) == -1)
		_exit(127);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	if (how != SP_PLAIN) {
		/* dup2() clears close-on-exec; onto itself it does not. */
		if (actfd == 3) {
			if (e2e_cloexec(3, 0) == -1)
				_exit(127);
		} else if (dup2(actfd, 3) == -1)
			_exit(127);
		/* Another pid: our parent's, never the child's own. */
		snprintf(pid, sizeof pid, "%ld", how == SP_ACTIVATED ?
		    (long)getpid() : (long)parent);
		if (setenv("LISTEN_FDS", "1", 1) == -1 ||
		    setenv("LISTEN_PID", pid, 1) == -1)
			_exit(127);
		unsetenv("LISTEN_FDNAMES");
	}
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);

#if defined(HAVE_SYS_PRCTL_H) && defined(PR_SET_PDEATHSIG)
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(127);
#endif

	execv(argv[0], argv);
	len = snprintf(msg, sizeof msg, "sp: exec %s: %s\n", argv[0],
	    strerror(errno));
	if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) == -1)
		_exit(126);
	_exit(127);
}

/* Start $UOT_BINARY with args (argv[1] on); NULL on failure, said why. */
static struct sproc *
sp_spawn(const char *name, enum sp_activation how, int actfd,
    char *const args[])
{
	struct sproc	*sp;
	char		*argv[32];
	const char	*path;
	size_t		 n;
	int		 out[2], err[2];
	pid_t		 self = getpid();

	if ((path = e2e_binary()) == NULL) {
		fprintf(stderr, "sp: UOT_BINARY is not set\n");
		return (NULL);
	}
	if (sp_owner != self) {
		/* Inherited over a fork (Check): not ours to kill. */
		nsprocs = 0;
		sp_owner = self;
		atexit(sp_atexit);
	}
	if (nsprocs == SP_MAXPROCS) {
		fprintf(stderr, "sp: %s: too many processes\n", name);
		return (NULL);
	}
	argv[0] = (char *)path;
	for (n = 0; args[n] != NULL; n++) {
		if (n + 2 >= sizeof argv / sizeof argv[0]) {
			fprintf(stderr, "sp: %s: too many arguments\n", name);
			return (NULL);
		}
		argv[n + 1] = args[n];
	}
	argv[n + 1] = NULL;

	if (pipe(out) == -1) {
		fprintf(stderr, "sp: pipe: %s\n", strerror(errno));
		return (NULL);
	}
	if (pipe(err) == -1) {
		fprintf(stderr, "sp: pipe: %s\n", strerror(errno));
		close(out[0]);
		close(out[1]);
		return (NULL);
	}
	/* No other child may inherit any end, or EOF never comes. */
	e2e_cloexec(out[0], 1);
	e2e_cloexec(out[1], 1);
	e2e_cloexec(err[0], 1);
	e2e_cloexec(err[1], 1);

	sp = &sprocs[nsprocs];
	memset(sp, 0, sizeof *sp);
	snprintf(sp->name, sizeof sp->name, "%s", name);
	fflush(NULL);
	switch (sp->pid = fork()) {
	case -1:
		fprintf(stderr, "sp: fork: %s\n", strerror(errno));
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		return (NULL);
	case 0:
		close(out[0]);
		close(err[0]);
		sp_child(out[1], err[1], how, actfd, self, argv);
		/* NOTREACHED */
	}
	close(out[1]);
	close(err[1]);
	e2e_nonblock(out[0]);
	e2e_nonblock(err[0]);
	sp->outfd = out[0];
	sp->errfd = err[0];
	nsprocs++;
	return (sp);
}

/* Take what the pipes of sp hold (beyond SP_BUFSIZE - 1 bytes: dropped). */
static void
sp_read(struct sproc *sp)
{
	char	 drop[4096];
	int	*fds[2] = { &sp->outfd, &sp->errfd };
	char	*bufs[2] = { sp->out, sp->err };
	size_t	*lens[2] = { &sp->outlen, &sp->errlen };
	ssize_t	 n;
	size_t	 room;
	int	 i;

	for (i = 0; i < 2; i++) {
		while (*fds[i] != -1) {
			room = SP_BUFSIZE - 1 - *lens[i];
			if (room > 0)
				n = read(*fds[i], bufs[i] + *lens[i], room);
			else
				n = read(*fds[i], drop, sizeof drop);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN)
				break;
			if (n <= 0) {
				close(*fds[i]);
				*fds[i] = -1;
				break;
			}
			if (room > 0)
				*lens[i] += (size_t)n;
			bufs[i][*lens[i]] = '\0';
		}
	}
}

/* One poll() over the pipes of every child here, at most timeout ms. */
static void
sp_pump(int timeout)
{
	struct pollfd	pfd[2 * SP_MAXPROCS];
	nfds_t		n = 0;
	int		i;

	for (i = 0; i < nsprocs; i++) {
		if (sprocs[i].outfd != -1) {
			pfd[n].fd = sprocs[i].outfd;
			pfd[n++].events = POLLIN;
		}
		if (sprocs[i].errfd != -1) {
			pfd[n].fd = sprocs[i].errfd;
			pfd[n++].events = POLLIN;
		}
	}
	if (timeout < 0)
		timeout = 0;
	if (poll(n == 0 ? NULL : pfd, n, timeout) <= 0)
		return;
	for (i = 0; i < nsprocs; i++)
		sp_read(&sprocs[i]);
}

/*
 * Wait until the stderr of sp holds pattern at or after offset from; the
 * offset just past it, or -1 (timeout, or stderr closed first).
 */
static ssize_t
sp_wait_log(struct sproc *sp, const char *pattern, size_t from,
    int timeout)
{
	const char	*m;
	long long	 deadline = e2e_now_ms() + timeout, left;

	for (;;) {
		sp_read(sp);
		if (from <= sp->errlen &&
		    (m = strstr(sp->err + from, pattern)) != NULL)
			return ((ssize_t)((size_t)(m - sp->err) +
			    strlen(pattern)));
		if (sp->errfd == -1) {
			fprintf(stderr, "sp: %s (pid %ld) closed stderr "
			    "(exited?) before saying \"%s\"\n", sp->name,
			    (long)sp->pid, pattern);
			return (-1);
		}
		if ((left = deadline - e2e_now_ms()) <= 0) {
			fprintf(stderr, "sp: %s (pid %ld) did not say \"%s\" "
			    "within %d ms\n", sp->name, (long)sp->pid,
			    pattern, timeout);
			return (-1);
		}
		sp_pump((int)left);
	}
}

static int
sp_reap(struct sproc *sp, int flags)
{
	pid_t	r;
	int	status;

	if (sp->reaped)
		return (1);
	do
		r = waitpid(sp->pid, &status, flags);
	while (r == -1 && errno == EINTR);
	if (r == sp->pid) {
		if (WIFEXITED(status))
			sp->code = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			sp->code = 128 + WTERMSIG(status);
		else
			sp->code = -1;
		sp->reaped = 1;
	} else if (r == -1 && errno == ECHILD) {
		sp->code = -1;
		sp->reaped = 1;
	}
	return (sp->reaped);
}

/* Up to timeout ms for sp to exit: its status (128 + signal), or -1. */
static int
sp_wait_exit(struct sproc *sp, int timeout)
{
	long long	deadline = e2e_now_ms() + timeout, left;

	/* A child that exits closes its pipes: wait for that first. */
	while (!sp->reaped && (sp->outfd != -1 || sp->errfd != -1) &&
	    (left = deadline - e2e_now_ms()) > 0)
		sp_pump((int)left);
	for (;;) {
		if (sp_reap(sp, WNOHANG)) {
			sp_read(sp);
			return (sp->code);
		}
		if (deadline - e2e_now_ms() <= 0)
			return (-1);
		sp_pump(5);	/* pipes closed, not gone yet: short */
	}
}

static void
sp_kill(struct sproc *sp)
{
	if (sp->reaped)
		return;
	kill(sp->pid, SIGKILL);
	sp_reap(sp, 0);
	sp_read(sp);
}

/* Print the stdout and stderr of every child here. */
static void
sp_dump(void)
{
	struct sproc	*sp;
	int		 i;

	if (sp_owner != getpid())
		return;
	for (i = 0; i < nsprocs; i++) {
		sp = &sprocs[i];
		sp_read(sp);
		fprintf(stderr, "---- %s (pid %ld, %s %d) stdout ----\n%s"
		    "---- stderr ----\n%s---- end of %s ----\n", sp->name,
		    (long)sp->pid, sp->reaped ? "exit code" : "running, code",
		    sp->reaped ? sp->code : -1, sp->out, sp->err, sp->name);
	}
	fflush(stderr);
}

/* Kill every child here still running, reap it, forget it. */
static void
sp_cleanup(void)
{
	struct sproc	*sp;
	int		 i;

	if (sp_owner != getpid())
		return;
	for (i = 0; i < nsprocs; i++) {
		sp = &sprocs[i];
		sp_kill(sp);
		if (sp->outfd != -1)
			close(sp->outfd);
		if (sp->errfd != -1)
			close(sp->errfd);
		sp->outfd = sp->errfd = -1;
	}
	nsprocs = 0;
}

static void
sp_atexit(void)
{
	if (sp_owner == getpid() && nsprocs > 0) {
		fprintf(stderr, "sp: exiting with processes left\n");
		sp_dump();
		sp_cleanup();
	}
}

/*
 * Run $UOT_BINARY with args to its end (at most timeout ms): its exit
 * status, stdout and stderr are then in sprocs[nsprocs - 1].
 */
static int
sp_run(const char *name, char *const args[], int timeout)
{
	struct sproc	*sp;
	int		 code;

	if ((sp = sp_spawn(name, SP_PLAIN, -1, args)) == NULL)
		return (-1);
	if ((code = sp_wait_exit(sp, timeout)) == -1)
		sp_kill(sp);
	return (code);
}

/*
 * A TCP socket listening on 127.0.0.1 at a port the kernel picks, with
 * neither SO_REUSEADDR nor SO_REUSEPORT: while it is open nobody else can
 * bind that port. Close-on-exec; *port gets the port.
 */
static int
tcp_listener(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	require(fd != -1, "socket: %s", strerror(errno));
	keep_socket(fd);
	e2e_cloexec(fd, 1);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	require(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "bind 127.0.0.1:0: %s", strerror(errno));
	require(listen(fd, 16) == 0, "listen: %s", strerror(errno));
	require(getsockname(fd, (struct sockaddr *)&sin, &len) == 0,
	    "getsockname: %s", strerror(errno));
	*port = ntohs(sin.sin_port);
	return (fd);
}

/*
 * For a process that logs nothing on stderr (syslog): wait up to timeout
 * ms until something accepts connections on 127.0.0.1:port, retrying
 * every 10 ms while p runs. 0 once it does; -1 (p exited, or timeout).
 * The ports the harness hands out are below the ephemeral range, so a
 * refused connect() never turns into a connection to itself.
 */
static int
tcp_wait_listening(int port, struct e2e_proc *p, int timeout)
{
	struct sockaddr_in	sin;
	long long		deadline = e2e_now_ms() + timeout;
	int			fd, r;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	for (;;) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return (-1);
		e2e_cloexec(fd, 1);
		do
			r = connect(fd, (struct sockaddr *)&sin, sizeof sin);
		while (r == -1 && errno == EINTR);
		close(fd);
		if (r == 0)
			return (0);
		if (errno != ECONNREFUSED) {
			fprintf(stderr, "connect 127.0.0.1:%d: %s\n", port,
			    strerror(errno));
			return (-1);
		}
		if (e2e_wait_exit(p, 0) != -1) {
			fprintf(stderr, "%s exited before listening\n",
			    e2e_name(p));
			return (-1);
		}
		if (e2e_now_ms() >= deadline)
			return (-1);
		poll(NULL, 0, 10);
	}
}

/*
 * Linux: 1 when process pid holds a descriptor for the very socket that
 * our fd is (the same inode), 0 when it holds none, -1 when /proc cannot
 * tell.
 */
static int
socket_inode_in(pid_t pid, int fd)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*dir;
	char		 path[320], link[128], want_link[64];
	ssize_t		 n;
	int		 found = 0;

	if (fstat(fd, &st) == -1)
		return (-1);
	snprintf(want_link, sizeof want_link, "socket:[%llu]",
	    (unsigned long long)st.st_ino);
	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return (-1);
	while (!found && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%ld/fd/%s", (long)pid,
		    de->d_name);
		if ((n = readlink(path, link, sizeof link - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, want_link) == 0)
			found = 1;
	}
	closedir(dir);
	return (found);
}

/* An AF_UNIX datagram socket at a fresh path, for NOTIFY_SOCKET. */
static void
notify_open(void)
{
	struct sockaddr_un	sa;
	int			fd;

	snprintf(notify_dir, sizeof notify_dir, "/tmp/uot-e2e-XXXXXX");
	require(mkdtemp(notify_dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(notify_path, sizeof notify_path, "%s/notify", notify_dir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	require(fd != -1, "socket(AF_UNIX): %s", strerror(errno));
	notify_fd = fd;
	e2e_cloexec(fd, 1);
	e2e_nonblock(fd);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", notify_path);
	require(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0,
	    "bind %s: %s", notify_path, strerror(errno));
}

static void
notify_close(void)
{
	if (notify_fd != -1) {
		close(notify_fd);
		notify_fd = -1;
	}
	if (notify_path[0] != '\0') {
		unlink(notify_path);
		notify_path[0] = '\0';
	}
	if (notify_dir[0] != '\0') {
		rmdir(notify_dir);
		notify_dir[0] = '\0';
	}
}

/*
 * One message on the notify socket within timeout ms, NUL-terminated in
 * buf; its length, or -1 (errno ETIMEDOUT when none came).
 */
static ssize_t
notify_recv(char *buf, size_t size, int timeout)
{
	struct pollfd	pfd;
	long long	deadline = e2e_now_ms() + timeout, left;
	ssize_t		n;

	for (;;) {
		n = recv(notify_fd, buf, size - 1, 0);
		if (n >= 0) {
			buf[n] = '\0';
			return (n);
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return (-1);
		if ((left = deadline - e2e_now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		pfd.fd = notify_fd;
		pfd.events = POLLIN;
		poll(&pfd, 1, (int)left);
	}
}

/* 1 when msg has line (newline-separated) exactly. */
static int
has_line(const char *msg, const char *line)
{
	const char	*p = msg, *nl;
	size_t		 len = strlen(line);

	for (;;) {
		nl = strchr(p, '\n');
		if ((nl != NULL ? (size_t)(nl - p) : strlen(p)) == len &&
		    strncmp(p, line, len) == 0)
			return (1);
		if (nl == NULL)
			return (0);
		p = nl + 1;
	}
}

/* The value of the "NAME=value" line of msg, or NULL. */
static char *
field(const char *msg, const char *name, char *buf, size_t size)
{
	const char	*p = msg, *nl;
	size_t		 len = strlen(name);

	for (;;) {
		nl = strchr(p, '\n');
		if (strncmp(p, name, len) == 0 && p[len] == '=') {
			p += len + 1;
			snprintf(buf, size, "%.*s", (int)(nl != NULL ?
			    (size_t)(nl - p) : strlen(p)), p);
			return (buf);
		}
		if (nl == NULL)
			return (NULL);
		p = nl + 1;
	}
}

/* The log line holding start, from start to its end, or NULL. */
static char *
log_line(const char *log, const char *start, char *buf, size_t size)
{
	const char	*p, *nl;

	if ((p = strstr(log, start)) == NULL ||
	    (nl = strchr(p, '\n')) == NULL)
		return (NULL);
	snprintf(buf, size, "%.*s", (int)(nl - p), p);
	return (buf);
}

/* One datagram must arrive on fd, whole, from port fromport. */
static void
expect(int fd, int fromport, const unsigned char *buf, size_t len,
    const char *what)
{
	ssize_t	n;
	int	from = -1, error;

	n = e2e_udp_recv(fd, got, sizeof got, &from, E2E_RECV_MS);
	error = errno;
	require(n != -1, "%s: nothing arrived within %d ms (%s)", what,
	    E2E_RECV_MS, strerror(error));
	require((size_t)n == len && memcmp(got, buf, len) == 0,
	    "%s: %zd bytes arrived, not the %zu sent", what, n, len);
	require(from == fromport, "%s: came from port %d, not from the "
	    "--udp-bind port %d", what, from, fromport);
}

/* A connect side to tcpport, bound at bindport, sending to sendport. */
static struct e2e_proc *
start_connect(const char *name, int tcpport, int bindport, int sendport,
    const char *extra)
{
	struct e2e_proc	*p;
	char		 tcp[32], bind[32], sendto[32];
	char		*argv[16];
	int		 n = 0;

	argv[n++] = "--tcp-connect";
	argv[n++] = e2e_hostport(tcp, sizeof tcp, tcpport);
	argv[n++] = "--udp-bind";
	argv[n++] = e2e_hostport(bind, sizeof bind, bindport);
	argv[n++] = "--udp-sendto";
	argv[n++] = e2e_hostport(sendto, sizeof sendto, sendport);
	argv[n++] = "--backoff-min";
	argv[n++] = "20";
	argv[n++] = "--backoff-max";
	argv[n++] = "200";
	if (extra != NULL)
		argv[n++] = (char *)extra;
	argv[n] = NULL;
	p = e2e_spawnv(name, argv);
	require(p != NULL, "cannot start %s", name);
	return (p);
}

/*
 * sd_notify: READY=1 with the start-up line as STATUS, once; STOPPING=1 on
 * the signal; exit status 0. Without systemd built in: nothing at all.
 * _i: 0 listen side and SIGTERM, 1 listen side and SIGINT, 2 connect side
 * (nothing listening) and SIGTERM.
 */
START_TEST(test_notify)
{
	struct e2e_proc	*p;
	const char	*side = _i == 2 ? "connect" : "listen";
	const char	*start = _i == 2 ? "connecting to" : "listening on";
	const char	*log;
	char		 tcp[32], bind[32], sendto[32], summary[1024];
	char		 msg[4096], status[1024];
	char		*argv[16];
	ssize_t		 n;
	int		 sig = _i == 1 ? SIGINT : SIGTERM;
	int		 sfd, code, ready = 0, stopping = 0, n_argv = 0;

	sfd = test_socket();
	notify_open();
	argv[n_argv++] = _i == 2 ? "--tcp-connect" : "--tcp-listen";
	argv[n_argv++] = e2e_hostport(tcp, sizeof tcp,
	    e2e_free_port(SOCK_STREAM));
	argv[n_argv++] = "--udp-bind";
	argv[n_argv++] = e2e_hostport(bind, sizeof bind,
	    e2e_free_port(SOCK_DGRAM));
	argv[n_argv++] = "--udp-sendto";
	argv[n_argv++] = e2e_hostport(sendto, sizeof sendto, e2e_udp_port(sfd));
	argv[n_argv] = NULL;

	require(setenv("NOTIFY_SOCKET", notify_path, 1) == 0, "setenv: %s",
	    strerror(errno));
	p = e2e_spawnv(side, argv);
	unsetenv("NOTIFY_SOCKET");
	require(p != NULL, "cannot start the %s side", side);
	require(e2e_wait_log(p, " mode\n", 0, E2E_READY_MS) != -1,
	    "the %s side did not log its start-up line", side);
	log = e2e_log(p, NULL);
	require(log_line(log, start, summary, sizeof summary) != NULL,
	    "the %s side's start-up line does not say \"%s\": %s", side,
	    start, log);

	if (!with_systemd) {
		n = notify_recv(msg, sizeof msg, QUIET_MS);
		require(n == -1, "built without systemd, yet the %s side "
		    "sent \"%s\" to NOTIFY_SOCKET", side, n >= 0 ? msg : "");
		printf("check_e2e_service: the binary was built without "
		    "systemd: the sd_notify path is not built, checked that "
		    "nothing is sent\n");
		code = e2e_stop(p, E2E_EXIT_MS);
		require(code == 0, "%s side: exit status %d on signal, not 0",
		    side, code);
		return;
	}

	n = notify_recv(msg, sizeof msg, E2E_READY_MS);
	require(n != -1, "the %s side sent nothing to NOTIFY_SOCKET within "
	    "%d ms (%s)", side, E2E_READY_MS, strerror(errno));
	require(has_line(msg, "READY=1"), "the %s side's first notification "
	    "is not READY=1: \"%s\"", side, msg);
	require(field(msg, "STATUS", status, sizeof status) != NULL,
	    "READY=1 of the %s side comes without STATUS: \"%s\"", side,
	    msg);
	require(strncmp(status, start, strlen(start)) == 0,
	    "STATUS of the %s side does not start \"%s\": \"%s\"", side,
	    start, status);
	require(strcmp(status, summary) == 0, "STATUS of the %s side is not "
	    "its start-up line:\n  STATUS=%s\n  log:   %s", side, status,
	    summary);
	ready = 1;

	require(e2e_signal(p, sig) == 0, "cannot signal the %s side", side);
	while (!stopping) {
		n = notify_recv(msg, sizeof msg, E2E_EXIT_MS);
		require(n != -1, "no STOPPING=1 from the %s side within %d ms "
		    "of signal %d (%s)", side, E2E_EXIT_MS, sig,
		    strerror(errno));
		if (has_line(msg, "READY=1"))
			ready++;
		if (has_line(msg, "STOPPING=1"))
			stopping = 1;
	}
	code = e2e_wait_exit(p, E2E_EXIT_MS);
	require(code == 0, "%s side: exit status %d after signal %d, not 0 "
	    "(-1: still running after %d ms)", side, code, sig, E2E_EXIT_MS);
	while (notify_recv(msg, sizeof msg, 0) != -1) {
		if (has_line(msg, "READY=1"))
			ready++;
	}
	require(ready == 1, "the %s side sent READY=1 %d times", side, ready);
}
END_TEST

/*
 * Socket activation: a listening socket the test made (127.0.0.1:T, kept
 * open here without SO_REUSEADDR, so nobody can bind T while it lives)
 * goes to the listen side as fd 3 with LISTEN_FDS=1 and LISTEN_PID. The
 * binary is first shown unable to bind T itself; then, activated, it
 * must use the socket: say "listening on 127.0.0.1:T", hold that very
 * socket, and carry datagrams both ways with a connect side to T.
 * _i: 0 with -l naming T; 1 with -l naming another, free port X, which
 * it must then neither bind nor report.
 */
START_TEST(test_activation)
{
	struct sproc	*act;
	struct e2e_proc	*plain, *t;
	const char	*log;
	char		 tcp[32], bind1[32], sendto[32], line[128];
	char		*argv[16];
	int		 lfd, port, x, b1, b2, sfd, s, cfd, c, code, held;

	lfd = tcp_listener(&port);
	sfd = test_socket();
	s = e2e_udp_port(sfd);
	cfd = test_socket();
	c = e2e_udp_port(cfd);
	b1 = e2e_free_port(SOCK_DGRAM);
	b2 = e2e_free_port(SOCK_DGRAM);
	x = _i == 1 ? e2e_free_port(SOCK_STREAM) : port;
	require(b1 > 0 && b2 > 0 && x > 0, "no free ports on 127.0.0.1");

	argv[0] = "-l";
	argv[1] = e2e_hostport(tcp, sizeof tcp, port);
	argv[2] = "-u";
	argv[3] = e2e_hostport(bind1, sizeof bind1, b1);
	argv[4] = "-p";
	argv[5] = e2e_hostport(sendto, sizeof sendto, s);
	argv[6] = NULL;

	/* The control: not activated, it cannot have T. */
	plain = e2e_spawnv("listen-plain", argv);
	require(plain != NULL, "cannot start the binary");
	code = e2e_wait_exit(plain, E2E_EXIT_MS);
	log = e2e_log(plain, NULL);
	require(code == 1 && strstr(log, "--tcp-listen") != NULL,
	    "udp-over-tcp -l %s -u %s -p %s with %s held by the test: exit "
	    "status %d, not 1 with a --tcp-listen error; stderr: %s", tcp,
	    bind1, sendto, tcp, code, log);

	if (_i == 1)
		e2e_hostport(tcp, sizeof tcp, x);
	act = sp_spawn("listen-activated", SP_ACTIVATED, lfd, argv);
	require(act != NULL, "cannot start the activated listen side");
	snprintf(line, sizeof line, "listening on 127.0.0.1:%d (tcp)", port);
	require(sp_wait_log(act, line, 0, E2E_READY_MS) != -1,
	    "udp-over-tcp -l %s -u %s -p %s, activated with a socket "
	    "listening on 127.0.0.1:%d as fd 3: it did not say \"%s\"", tcp,
	    bind1, sendto, port, line);
	require(strstr(act->err, "socket activation") == NULL,
	    "the activated listen side complained: %s", act->err);
	held = socket_inode_in(act->pid, lfd);
	require(held != 0, "the activated listen side (pid %ld) holds no "
	    "descriptor for the socket it was passed", (long)act->pid);
	if (held == -1)
		printf("check_e2e_service: /proc cannot show the descriptors "
		    "of pid %ld; the bind control stands alone\n",
		    (long)act->pid);
	if (_i == 1) {
		/* It must not have bound X as well. */
		plain = e2e_spawnv("x-probe", (char *[]){ "-l", tcp, "-u",
		    e2e_hostport(line, sizeof line, e2e_free_port(SOCK_DGRAM)),
		    "-p", sendto, NULL });
		require(plain != NULL, "cannot start the binary");
		require(e2e_wait_log(plain, "listening on", 0, E2E_READY_MS)
		    != -1, "port %d, named by -l of the activated listen "
		    "side, cannot be bound: the activated side bound it",
		    x);
		require(e2e_stop(plain, E2E_EXIT_MS) == 0, "x-probe: exit "
		    "status not 0");
	}

	t = start_connect("connect", port, b2, c, NULL);
	require(e2e_wait_log(t, "-> up", 0, E2E_READY_MS) != -1,
	    "the connect side did not come up with the activated listen "
	    "side");
	require(sp_wait_log(act, "-> up", 0, E2E_READY_MS) != -1,
	    "the activated listen side did not log its peer up");

	e2e_fill(want, 1000, 80);
	require(e2e_udp_send(cfd, b2, want, 1000) == 0, "cannot send to "
	    "the connect side");
	expect(sfd, b1, want, 1000, "client to server through the "
	    "activated listen side");
	e2e_fill(want, 1500, 81);
	require(e2e_udp_send(sfd, b1, want, 1500) == 0, "cannot send to "
	    "the activated listen side");
	expect(cfd, b2, want, 1500, "server to client through the "
	    "activated listen side");

	require(kill(act->pid, SIGTERM) == 0, "cannot signal the activated "
	    "listen side");
	code = sp_wait_exit(act, E2E_EXIT_MS);
	require(code == 0, "the activated listen side: exit status %d on "
	    "SIGTERM, not 0 (-1: still running after %d ms)", code,
	    E2E_EXIT_MS);
	code = e2e_stop(t, E2E_EXIT_MS);
	require(code == 0, "the connect side: exit status %d on SIGTERM",
	    code);
}
END_TEST

/*
 * LISTEN_PID names another process: the socket is not for this one, so
 * it must bind -l itself, which fails here (the test holds the port).
 */
START_TEST(test_activation_other_pid)
{
	struct sproc	*sp;
	char		 tcp[32], bind1[32], sendto[32];
	char		*argv[8];
	int		 lfd, port, code;

	lfd = tcp_listener(&port);
	argv[0] = "-l";
	argv[1] = e2e_hostport(tcp, sizeof tcp, port);
	argv[2] = "-u";
	argv[3] = e2e_hostport(bind1, sizeof bind1, e2e_free_port(SOCK_DGRAM));
	argv[4] = "-p";
	argv[5] = e2e_hostport(sendto, sizeof sendto,
	    e2e_free_port(SOCK_DGRAM));
	argv[6] = NULL;

	sp = sp_spawn("listen-other-pid", SP_OTHER_PID, lfd, argv);
	require(sp != NULL, "cannot start the binary");
	code = sp_wait_exit(sp, E2E_EXIT_MS);
	require(code == 1 && strstr(sp->err, "--tcp-listen") != NULL,
	    "LISTEN_FDS=1 LISTEN_PID=<the test's pid> udp-over-tcp -l %s -u "
	    "%s -p %s, fd 3 a socket listening on %s: exit status %d, not 1 "
	    "with a --tcp-listen error (it used a socket meant for another "
	    "process?); stderr: %s", tcp, bind1, sendto, tcp, code, sp->err);
}
END_TEST

/*
 * fd 3 is a UDP socket, not a listening TCP one: the binary says so and
 * binds --tcp-listen itself.
 */
START_TEST(test_activation_not_listening)
{
	struct sproc	*sp;
	char		 tcp[32], bind1[32], sendto[32], line[128];
	char		*argv[8];
	int		 ufd, port, code;

	ufd = test_socket();
	port = e2e_free_port(SOCK_STREAM);
	argv[0] = "-l";
	argv[1] = e2e_hostport(tcp, sizeof tcp, port);
	argv[2] = "-u";
	argv[3] = e2e_hostport(bind1, sizeof bind1, e2e_free_port(SOCK_DGRAM));
	argv[4] = "-p";
	argv[5] = e2e_hostport(sendto, sizeof sendto,
	    e2e_free_port(SOCK_DGRAM));
	argv[6] = NULL;

	sp = sp_spawn("listen-udp-fd", SP_ACTIVATED, ufd, argv);
	require(sp != NULL, "cannot start the binary");
	snprintf(line, sizeof line, "listening on %s (tcp)", tcp);
	require(sp_wait_log(sp, line, 0, E2E_READY_MS) != -1,
	    "activated with a UDP socket as fd 3, udp-over-tcp -l %s did "
	    "not fall back to binding %s itself", tcp, tcp);
	require(strstr(sp->err, "socket activation") != NULL,
	    "activated with a UDP socket as fd 3, the binary did not warn "
	    "about it; stderr: %s", sp->err);
	require(kill(sp->pid, SIGTERM) == 0, "cannot signal the binary");
	code = sp_wait_exit(sp, E2E_EXIT_MS);
	require(code == 0, "exit status %d on SIGTERM, not 0", code);
}
END_TEST

/*
 * --syslog on both ends: datagrams go both ways and neither writes a byte
 * to stderr, not even on the way out. Readiness: a datagram that makes it
 * through, sent again every 200 ms for at most E2E_READY_MS.
 */
START_TEST(test_syslog)
{
	struct e2e_proc	*l, *t;
	const char	*log;
	char		 tcp[32], bind1[32], sendto[32], ping[32];
	char		*argv[16];
	long long	 deadline;
	ssize_t		 n;
	size_t		 len;
	int		 port, b1, b2, sfd, s, cfd, c, from, code, i;

	sfd = test_socket();
	s = e2e_udp_port(sfd);
	cfd = test_socket();
	c = e2e_udp_port(cfd);
	port = e2e_free_port(SOCK_STREAM);
	b1 = e2e_free_port(SOCK_DGRAM);
	b2 = e2e_free_port(SOCK_DGRAM);
	require(port > 0 && b1 > 0 && b2 > 0, "no free ports on 127.0.0.1");

	argv[0] = "--tcp-listen";
	argv[1] = e2e_hostport(tcp, sizeof tcp, port);
	argv[2] = "--udp-bind";
	argv[3] = e2e_hostport(bind1, sizeof bind1, b1);
	argv[4] = "--udp-sendto";
	argv[5] = e2e_hostport(sendto, sizeof sendto, s);
	argv[6] = "--syslog";
	argv[7] = NULL;
	l = e2e_spawnv("listen", argv);
	require(l != NULL, "cannot start the listen side");
	t = start_connect("connect", port, b2, c, "--syslog");

	deadline = e2e_now_ms() + E2E_READY_MS;
	for (i = 0, n = -1; n == -1; i++) {
		require(e2e_now_ms() < deadline, "no datagram came through the "
		    "--syslog tunnel within %d ms (%d sent)", E2E_READY_MS,
		    i);
		require(e2e_wait_exit(l, 0) == -1 && e2e_wait_exit(t, 0) ==
		    -1, "a --syslog end exited: listen %d, connect %d",
		    e2e_wait_exit(l, 0), e2e_wait_exit(t, 0));
		len = (size_t)snprintf(ping, sizeof ping, "ping %d", i);
		require(e2e_udp_send(cfd, b2, ping, len) == 0,
		    "cannot send to the connect side");
		n = e2e_udp_recv(sfd, got, sizeof got, &from, 200);
	}
	require(n > 5 && memcmp(got, "ping ", 5) == 0 && from == b1,
	    "the server got %zd bytes from port %d, not a ping from %d", n,
	    from, b1);

	e2e_fill(want, 2000, 90);
	require(e2e_udp_send(sfd, b1, want, 2000) == 0,
	    "cannot send to the listen side");
	expect(cfd, b2, want, 2000, "server to client, --syslog");
	e2e_fill(want, 3000, 91);
	require(e2e_udp_send(cfd, b2, want, 3000) == 0,
	    "cannot send to the connect side");
	/* Pings sent before the link was up may still be on their way. */
	for (;;) {
		n = e2e_udp_recv(sfd, got, sizeof got, &from, E2E_RECV_MS);
		require(n != -1, "client to server, --syslog: 3000 bytes did "
		    "not arrive within %d ms", E2E_RECV_MS);
		if (n > 5 && memcmp(got, "ping ", 5) == 0)
			continue;
		require(n == 3000 && memcmp(got, want, 3000) == 0 &&
		    from == b1, "client to server, --syslog: %zd bytes from "
		    "port %d, not 3000 from %d", n, from, b1);
		break;
	}

	log = e2e_log(l, &len);
	require(len == 0, "the --syslog listen side wrote to stderr: %s",
	    log);
	log = e2e_log(t, &len);
	require(len == 0, "the --syslog connect side wrote to stderr: %s",
	    log);

	code = e2e_stop(t, E2E_EXIT_MS);
	require(code == 0, "the --syslog connect side: exit status %d on "
	    "SIGTERM, not 0", code);
	code = e2e_stop(l, E2E_EXIT_MS);
	require(code == 0, "the --syslog listen side: exit status %d on "
	    "SIGTERM, not 0", code);
	log = e2e_log(l, &len);
	require(len == 0, "the --syslog listen side wrote to stderr: %s",
	    log);
	log = e2e_log(t, &len);
	require(len == 0, "the --syslog connect side wrote to stderr: %s",
	    log);
}
END_TEST

/*
 * A run-time error after logging is set up goes to syslog too: with
 * --syslog and its --tcp-listen port taken, exit status 1, stderr empty.
 */
START_TEST(test_syslog_fatal)
{
	struct e2e_proc	*p;
	const char	*log;
	char		 tcp[32], bind1[32], sendto[32];
	size_t		 len;
	int		 port, code;

	(void)tcp_listener(&port);
	p = e2e_spawn("listen", "--syslog", "-l",
	    e2e_hostport(tcp, sizeof tcp, port), "-u",
	    e2e_hostport(bind1, sizeof bind1, e2e_free_port(SOCK_DGRAM)), "-p",
	    e2e_hostport(sendto, sizeof sendto, e2e_free_port(SOCK_DGRAM)),
	    NULL);
	require(p != NULL, "cannot start the binary");
	code = e2e_wait_exit(p, E2E_EXIT_MS);
	log = e2e_log(p, &len);
	require(code == 1, "udp-over-tcp --syslog -l %s -u %s -p %s with %s "
	    "taken: exit status %d, not 1", tcp, bind1, sendto, tcp, code);
	require(len == 0, "udp-over-tcp --syslog -l %s -u %s -p %s: its "
	    "error went to stderr, not to syslog: %s", tcp, bind1, sendto,
	    log);
}
END_TEST

/*
 * Usage errors with --syslog: exit status 2, nothing on stdout, exactly
 * one line on stderr naming the option. "@T", "@U", "@V" stand for
 * addresses.
 */
struct badargs {
	const char	*args[12];
	const char	*name;
};

static const struct badargs badargs[] = {
	{ { "-l", "@T", "-u", "@U", "-p", "@V", "--syslog-facility",
	    "bogus" }, "--syslog-facility" },
	{ { "-l", "@T", "-u", "@U", "-p", "@V", "--syslog-facility",
	    "local8" }, "--syslog-facility" },
	{ { "-l", "@T", "-u", "@U", "-p", "@V", "--syslog-facility", "" },
	  "--syslog-facility" },
	{ { "-l", "@T", "-u", "@U", "-p", "@V", "--syslog-facility=kern" },
	  "--syslog-facility" },
	{ { "-l", "@T", "-u", "@U", "-p", "@V", "--syslog-facility" },
	  "--syslog-facility" },
	{ { "--syslog-facility", "bogus", "-t", "@T", "-u", "@U", "-p",
	    "@V" }, "--syslog-facility" },
	{ { "-l", "@T", "-u", "@U", "-p", "@V", "--syslog=yes" },
	  "--syslog" },
	{ { "--syslog", "-l", "@T", "-u", "@U", "-p", "@V", "--framing",
	    "bogus" }, "--framing" },
	{ { "--syslog-facility", "local3", "-l", "@T", "-u", "@U" },
	  "--udp-sendto" },
};

START_TEST(test_syslog_bad_args)
{
	const struct badargs	*b = &badargs[_i];
	struct sproc		*sp;
	const char		*nl;
	char			 tcp[32], u[32], v[32], cmd[512];
	char			*argv[16];
	size_t			 n;
	int			 code;

	e2e_hostport(tcp, sizeof tcp, e2e_free_port(SOCK_STREAM));
	e2e_hostport(u, sizeof u, e2e_free_port(SOCK_DGRAM));
	e2e_hostport(v, sizeof v, e2e_free_port(SOCK_DGRAM));
	cmd[0] = '\0';
	for (n = 0; b->args[n] != NULL; n++) {
		if (strcmp(b->args[n], "@T") == 0)
			argv[n] = tcp;
		else if (strcmp(b->args[n], "@U") == 0)
			argv[n] = u;
		else if (strcmp(b->args[n], "@V") == 0)
			argv[n] = v;
		else
			argv[n] = (char *)b->args[n];
		strncat(cmd, *argv[n] == '\0' ? " ''" : " ",
		    sizeof cmd - strlen(cmd) - 1);
		strncat(cmd, argv[n], sizeof cmd - strlen(cmd) - 1);
	}
	argv[n] = NULL;

	code = sp_run("bad-args", argv, E2E_EXIT_MS);
	require(code != -1 || nsprocs > 0, "cannot start the binary");
	sp = &sprocs[nsprocs - 1];
	require(code == 2, "udp-over-tcp%s: exit status %d, not 2 (-1: still "
	    "running after %d ms); stderr: %s", cmd, code, E2E_EXIT_MS,
	    sp->err);
	nl = strchr(sp->err, '\n');
	require(sp->errlen > 1 && nl == sp->err + sp->errlen - 1,
	    "udp-over-tcp%s: stderr is not exactly one line: \"%s\"", cmd,
	    sp->err);
	require(strstr(sp->err, b->name) != NULL, "udp-over-tcp%s: the "
	    "error does not name %s: %s", cmd, b->name, sp->err);
	require(sp->outlen == 0, "udp-over-tcp%s: wrote to stdout: %s", cmd,
	    sp->out);
}
END_TEST

static const char *facilities[] = { "local3", "daemon", "user", "local0",
    "local1", "local2", "local4", "local5", "local6", "local7" };

/*
 * --syslog-facility NAME alone (it means --syslog): the listen side
 * starts (its port accepts connections), stays quiet on stderr, and
 * exits with status 0 on SIGTERM.
 */
START_TEST(test_syslog_facility)
{
	struct e2e_proc	*p;
	const char	*log;
	char		 tcp[32], bind1[32], sendto[32];
	size_t		 len;
	int		 port, code;

	port = e2e_free_port(SOCK_STREAM);
	p = e2e_spawn("listen", "--syslog-facility", facilities[_i], "-l",
	    e2e_hostport(tcp, sizeof tcp, port), "-u",
	    e2e_hostport(bind1, sizeof bind1, e2e_free_port(SOCK_DGRAM)), "-p",
	    e2e_hostport(sendto, sizeof sendto, e2e_free_port(SOCK_DGRAM)),
	    NULL);
	require(p != NULL, "cannot start the binary");
	require(tcp_wait_listening(port, p, E2E_READY_MS) == 0,
	    "udp-over-tcp --syslog-facility %s -l %s -u %s -p %s did not "
	    "come up (exit status %d)", facilities[_i], tcp, bind1, sendto,
	    e2e_wait_exit(p, 0));
	code = e2e_stop(p, E2E_EXIT_MS);
	log = e2e_log(p, &len);
	require(code == 0, "udp-over-tcp --syslog-facility %s: exit status "
	    "%d on SIGTERM, not 0", facilities[_i], code);
	require(len == 0, "udp-over-tcp --syslog-facility %s wrote to "
	    "stderr: %s", facilities[_i], log);
}
END_TEST

/* --version and -V: the version line, a "built with:" line, status 0. */
START_TEST(test_version)
{
	static const char	*opt[] = { "--version", "-V" };
	struct sproc		*sp;
	char			 first[256], line[256];
	char			*argv[2];
	size_t			 n;
	int			 code;

	argv[0] = (char *)opt[_i];
	argv[1] = NULL;
	code = sp_run("version", argv, E2E_EXIT_MS);
	require(code != -1 || nsprocs > 0, "cannot start the binary");
	sp = &sprocs[nsprocs - 1];
	require(code == 0, "udp-over-tcp %s: exit status %d, not 0; stderr: "
	    "%s", opt[_i], code, sp->err);
	require(sp->errlen == 0, "udp-over-tcp %s wrote to stderr: %s",
	    opt[_i], sp->err);
	/* Exactly two lines: the version, then what the build has. */
	n = strcspn(sp->out, "\n");
	snprintf(first, sizeof first, "%.*s", (int)n, sp->out);
	snprintf(line, sizeof line, "%s", sp->out[n] == '\n' ?
	    sp->out + n + 1 : "");
	require(sp->outlen > 0 && sp->out[sp->outlen - 1] == '\n' &&
	    strchr(line, '\n') == line + strlen(line) - 1,
	    "udp-over-tcp %s: stdout is not two lines: \"%s\"", opt[_i],
	    sp->out);
	line[strlen(line) - 1] = '\0';
#if defined(PACKAGE_NAME) && defined(PACKAGE_VERSION)
	require(strcmp(first, PACKAGE_NAME " " PACKAGE_VERSION) == 0,
	    "udp-over-tcp %s: the first line is \"%s\", not \"%s\"",
	    opt[_i], first, PACKAGE_NAME " " PACKAGE_VERSION);
#else
	require(strncmp(first, "udp-over-tcp ", 13) == 0 && first[13] != '\0',
	    "udp-over-tcp %s: the first line is \"%s\", not \"udp-over-tcp "
	    "VERSION\"", opt[_i], first);
#endif
	require(strncmp(line, "built with: libevent ", 21) == 0,
	    "udp-over-tcp %s: the second line is \"%s\", not \"built with: "
	    "libevent ...\"", opt[_i], line);
	require(strstr(line, "systemd") == NULL ? with_systemd == 0 :
	    with_systemd == 1, "udp-over-tcp %s: the \"built with:\" line "
	    "changed between two runs", opt[_i]);
}
END_TEST

/*
 * Before any test: does the binary run, and was it built with systemd?
 * 1 or 0; -1 when --version cannot be read.
 */
static int
probe_version(void)
{
	struct sproc	*sp;
	char		*argv[] = { "--version", NULL };
	char		 line[256];
	int		 code, result = -1;

	code = sp_run("probe-version", argv, E2E_EXIT_MS);
	if (nsprocs > 0) {
		sp = &sprocs[nsprocs - 1];
		if (code == 0 && log_line(sp->out, "built with:", line,
		    sizeof line) != NULL)
			result = strstr(line, "systemd") != NULL;
		else
			fprintf(stderr, "check_e2e_service: %s --version: exit "
			    "status %d, stdout \"%s\", stderr \"%s\"\n",
			    e2e_binary(), code, sp->out, sp->err);
	}
	sp_cleanup();
	return (result);
}

static Suite *
e2e_service_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("e2e_service");

	tc = tcase_create("notify");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_loop_test(tc, test_notify, 0, 3);
	suite_add_tcase(s, tc);

	if (with_systemd) {
		tc = tcase_create("activation");
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, TEST_TIMEOUT);
		tcase_add_loop_test(tc, test_activation, 0, 2);
		tcase_add_test(tc, test_activation_other_pid);
		tcase_add_test(tc, test_activation_not_listening);
		suite_add_tcase(s, tc);
	}

	tc = tcase_create("syslog");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_syslog);
	tcase_add_test(tc, test_syslog_fatal);
	tcase_add_loop_test(tc, test_syslog_bad_args, 0,
	    (int)(sizeof badargs / sizeof badargs[0]));
	tcase_add_loop_test(tc, test_syslog_facility, 0,
	    (int)(sizeof facilities / sizeof facilities[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("version");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_loop_test(tc, test_version, 0, 2);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner		*sr;
	const char	*bin;
	int		 failed;

	/* Never pass, or skip, quietly without the binary under test. */
	if ((bin = e2e_need_binary("check_e2e_service")) == NULL)
		return (99);
	if ((with_systemd = probe_version()) == -1)
		return (99);
	if (!with_systemd)
		printf("check_e2e_service: %s was built without systemd: "
		    "the socket activation tests are left out, and the "
		    "sd_notify test checks that nothing is sent\n", bin);
	fflush(stdout);

	sr = srunner_create(e2e_service_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
