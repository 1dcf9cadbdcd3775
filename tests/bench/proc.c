/*
 * proc.c - the benchmark's child processes (started, watched, always
 * killed on the way out), their logs, and what /proc says about them.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include "bench.h"

static volatile pid_t	 kids[MAXCHILD];
pid_t			 main_pid;

static void	 kill_kids(void);

/*
 * Children: every one is in kids[] until reaped, and is killed on any
 * way out of this process: exit (atexit), a signal (handler), and on
 * Linux our death (PR_SET_PDEATHSIG in the child).
 */
void
kid_add(pid_t pid)
{
	int	i;

	for (i = 0; i < MAXCHILD; i++) {
		if (kids[i] == 0) {
			kids[i] = pid;
			return;
		}
	}
	kill(pid, SIGKILL);
	die("too many children");
}

void
kid_del(pid_t pid)
{
	int	i;

	for (i = 0; i < MAXCHILD; i++) {
		if (kids[i] == pid)
			kids[i] = 0;
	}
}

/* Async-signal-safe: SIGTERM, up to a second, then SIGKILL. */
static void
kill_kids(void)
{
	struct timespec	ts;
	int		i, left, tries, status;

	for (i = 0; i < MAXCHILD; i++) {
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	}
	for (tries = 0; tries < 100; tries++) {
		left = 0;
		for (i = 0; i < MAXCHILD; i++) {
			if (kids[i] <= 0)
				continue;
			if (waitpid(kids[i], &status, WNOHANG) != 0)
				kids[i] = 0;
			else
				left++;
		}
		if (left == 0)
			break;
		ts.tv_sec = 0;
		ts.tv_nsec = 10000000L;
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < MAXCHILD; i++) {
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], &status, 0);
			kids[i] = 0;
		}
	}
}

void
on_exit_cleanup(void)
{
	if (getpid() == main_pid) {
		kill_kids();
		tls_cleanup();
	}
}

void
on_signal(int sig)
{
	kill_kids();
	if (getpid() == main_pid)
		tls_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * A temporary file without a name: *wfd appends to it (a child's
 * output), the returned fd reads it from the start.
 */
int
tmp_file(int *wfd)
{
	const char	*dir;
	char		 path[64];
	int		 rfd;

	dir = getenv("TMPDIR");
	if (dir == NULL || *dir == '\0' || strlen(dir) > 40)
		dir = "/tmp";
	snprintf(path, sizeof path, "%s/uot-bench.XXXXXX", dir);
	if ((*wfd = mkstemp(path)) == -1)
		die("mkstemp %s: %s", path, strerror(errno));
	rfd = open(path, O_RDONLY);
	unlink(path);
	if (rfd == -1 || fcntl(*wfd, F_SETFL, O_APPEND) == -1 ||
	    set_cloexec(*wfd) == -1 || set_cloexec(rfd) == -1)
		die("%s: %s", path, strerror(errno));
	return (rfd);
}

/*
 * Start argv[0] with stdout and stderr on outfd, stdin on /dev/null,
 * keeping keep1 and keep2 (or -1) open across exec.
 */
pid_t
spawn(char *const argv[], int outfd, int keep1, int keep2)
{
	pid_t	pid, parent = getpid();
	int	fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid > 0) {
		kid_add(pid);
		return (pid);
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
#ifdef BENCH_PRCTL
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_TIMERSLACK, 0UL);	/* back to the default */
#endif
	if (getppid() != parent)
		_exit(127);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, 0);
		if (fd > 2)
			close(fd);
	}
	if (outfd >= 0) {
		dup2(outfd, 1);
		dup2(outfd, 2);
	}
	if (keep1 >= 0)
		fcntl(keep1, F_SETFD, 0);
	if (keep2 >= 0)
		fcntl(keep2, F_SETFD, 0);
	execvp(argv[0], argv);
	fprintf(stderr, "uot-bench: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Wait up to ms for pid; 1 reaped, 0 still running. */
int
wait_exit(pid_t pid, int ms, int *status, struct rusage *ru)
{
	uint64_t	until = now_ns() + (uint64_t)ms * 1000000ULL;
	pid_t		r;

	for (;;) {
		r = wait4(pid, status, WNOHANG, ru);
		if (r == pid || (r == -1 && errno == ECHILD)) {
			kid_del(pid);
			return (1);
		}
		if (now_ns() >= until)
			return (0);
		sleep_ms(2);
	}
}

void
stop_kid(pid_t pid, int *status, struct rusage *ru)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (!wait_exit(pid, STOP_MS, status, ru)) {
		warnx_("pid %ld did not exit after SIGTERM: killed",
		    (long)pid);
		kill(pid, SIGKILL);
		wait_exit(pid, STOP_MS, status, ru);
	}
}

int
log_has(int fd, const char *needle)
{
	char	*s;
	int	 found;

	s = read_all(fd, NULL);
	found = strstr(s, needle) != NULL;
	free(s);
	return (found);
}

/* Print the last lines (all if 0) of a log, each prefixed. */
void
log_show(int fd, const char *who, int lines)
{
	char	*s, *p, *nl;
	size_t	 len;
	int	 n = 0;

	s = read_all(fd, &len);
	p = s + len;
	if (lines > 0) {
		while (p > s) {
			p--;
			if (*p == '\n' && p + 1 < s + len && ++n > lines) {
				p++;
				break;
			}
		}
	} else
		p = s;
	fflush(stdout);
	for (; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL) {
			fprintf(stderr, "  [%s] %s\n", who, p);
			break;
		}
		fprintf(stderr, "  [%s] %.*s\n", who, (int)(nl - p), p);
	}
	free(s);
}

/* utime + stime of pid in clock ticks, from /proc/PID/stat. */
int
proc_ticks(pid_t pid, unsigned long long *ticks)
{
#ifdef __linux__
	char			 path[64], buf[1024], *p, *end;
	unsigned long long	 ut, st;
	ssize_t			 n;
	int			 fd, i;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return (-1);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	/* After the ")" of the name: fields 3 (state) to 13, then 14, 15. */
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	p++;
	for (i = 3; i <= 13; i++) {
		while (*p == ' ')
			p++;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	errno = 0;
	ut = strtoull(p, &end, 10);
	st = strtoull(end, &end, 10);
	if (errno != 0 || end == p)
		return (-1);
	*ticks = ut + st;
	return (0);
#else
	(void)pid;
	(void)ticks;
	return (-1);
#endif
}

/* A "Field:  N kB" line of /proc/PID/status, or -1. */
long
proc_kb(pid_t pid, const char *field)
{
#ifdef __linux__
	char	path[64], buf[4096], *p;
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return (-1);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return (-1);
	buf[n] = '\0';
	if ((p = strstr(buf, field)) == NULL)
		return (-1);
	return (strtol(p + strlen(field), NULL, 10));
#else
	(void)pid;
	(void)field;
	return (-1);
#endif
}

double
self_cpu(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

/* Ticks all CPUs spent busy, whoever ran, from /proc/stat. */
int
proc_busy(unsigned long long *busy)
{
#ifdef __linux__
	unsigned long long	 v[8];
	char			 buf[512], *p, *end;
	ssize_t			 n;
	int			 fd, i;

	if ((fd = open("/proc/stat", O_RDONLY)) == -1)
		return (-1);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0 || strncmp(buf, "cpu ", 4) != 0)
		return (-1);
	buf[n] = '\0';
	/* user nice system idle iowait irq softirq steal */
	for (p = buf + 4, i = 0; i < 8; i++, p = end) {
		v[i] = strtoull(p, &end, 10);
		if (end == p)
			return (-1);
	}
	*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return (0);
#else
	(void)busy;
	return (-1);
#endif
}

/* Say so when other processes keep the CPUs busy: numbers will vary. */
void
busy_warning(void)
{
	unsigned long long	a, b;
	double			pct;

	if (proc_busy(&a) == -1)
		return;
	sleep_ms(500);
	if (proc_busy(&b) == -1)
		return;
	pct = (double)(b - a) * 100 / ((double)clk_tck * (double)ncpu * 0.5);
	if (pct >= 10)
		printf("uot-bench: warning: other processes keep %.0f%% of the"
		    " %ld CPUs busy; the numbers will be noisy\n", pct, ncpu);
}
