/*
 * uot-bench.c - the benchmark of udp-over-tcp ('make bench', issue 5).
 *
 *   uot-bench [-b BINARY] [-d SECONDS] [-W SECONDS] [-r RUNS] [-w NAME,...]
 *   uot-bench -s [-b BINARY] [-n ROUNDTRIPS] [-T perf|strace|all]
 *
 * One invocation runs each workload twice: straight against a UDP echo
 * server, then through a fresh tunnel pair of the binary under test
 * ($UOT_BINARY or -b). For each it prints round trips/s, loss, misrouted
 * and corrupted datagrams, RTT p50/p99/p99.9/max, the tunnel's CPU per
 * round trip (both ends, user+sys from /proc/PID/stat), the peak RSS of
 * each end (VmHWM) and the tunnel/direct ratios: a table for people, and
 * one line per workload, starting "JSON ", for machines.
 *
 * The echo server is a forked child (recvmmsg/sendmmsg, blocking). The
 * load generator is this process: one thread, non-blocking sockets, epoll
 * on Linux (poll elsewhere), recvmmsg/sendmmsg where configure found
 * them, one clock read per batch, bodies sent from a shared pattern
 * without copying.
 *
 * Every datagram starts with a header (magic, run, flow, sequence, send
 * time, size, and a check word over them); its body is a slice of a
 * random pattern chosen by flow and sequence. A reply is received (whole,
 * in time, at the socket of its flow, from the expected address),
 * corrupted (header, length or body damaged), misrouted (whole, but at
 * another flow's socket or from an unexpected address), or late (after
 * it was counted lost, or a duplicate). A datagram not back within
 * LOSS_NS is lost. Only datagrams sent in the measured window count.
 *
 * -s counts the system calls of each tunnel end under the w64x8 load over
 * exactly -n round trips: the load is paused, the tracer attached to each
 * end, the round trips run, the tracer detached. perf counts with the
 * raw_syscalls:sys_enter tracepoint (exact, cheap); strace -c -f slows
 * the tunnel a lot, so its batches differ from the real ones.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/timerfd.h>
#define BENCH_EPOLL	1
#endif
#if defined(HAVE_SYS_PRCTL_H) && defined(__linux__)
#include <sys/prctl.h>
#define BENCH_PRCTL	1
#endif
#if defined(HAVE_RECVMMSG) && defined(HAVE_SENDMMSG)
#define BENCH_MMSG	1
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HDRLEN		32		/* struct hdr on the wire */
#define MAGIC		0x55425431U	/* "UBT1" */
#define PATSPAN		4096		/* body offsets into the pattern */
#define MAXSIZE		9000		/* largest datagram we send */
#define RBUFSIZE	(MAXSIZE + 64)	/* so a longer reply shows */
#define BATCH		64		/* datagrams per sendmmsg/recvmmsg */
#define ECHO_BATCH	64
#define LOSS_NS		1000000000ULL	/* no reply within 1 s: lost */
#define TICK_NS		10000000ULL	/* loss scan and retries */
#define MAXCATCHUP	16		/* rate mode: most sends per wakeup */
#define READY_MS	10000		/* for a tunnel end to say "-> up" */
#define STOP_MS		5000		/* for a child to exit after SIGTERM */
#define ATTACH_MS	15000		/* for a tracer to attach */
#define SOCKBUF		(4 * 1024 * 1024)
#define MAXCHILD	16
#define MAXTMP		8
#define MAXRUNS		15
#define NSEC		1000000000ULL
#define UP_LINE		"-> up"

/* The datagram header: host order, never leaves this machine. */
struct hdr {
	uint32_t	magic;
	uint32_t	run;
	uint32_t	flow;
	uint32_t	seq;
	uint64_t	sent;		/* CLOCK_MONOTONIC, ns */
	uint32_t	size;		/* of the whole datagram */
	uint32_t	check;		/* over all the above */
};

struct workload {
	const char	*name;
	int		 flows;
	size_t		 size;
	int		 window;	/* in flight per flow; 0: paced */
	int		 rate;		/* datagrams/s when paced */
	int		 automode;
	const char	*what;
};

static const struct workload workloads[] = {
	{ "w64x8", 1, 64, 8, 0, 0, "1 flow x 64 B, window 8" },
	{ "w1200x8", 1, 1200, 8, 0, 0, "1 flow x 1200 B, window 8" },
	{ "w1200x1", 1, 1200, 1, 0, 0, "1 flow x 1200 B, window 1" },
	{ "rate5k", 1, 200, 0, 5000, 0, "1 flow x 200 B at 5000/s" },
	{ "flows64", 64, 1200, 1, 0, 1, "64 flows x 1200 B, window 1" },
	{ "flows1000", 1000, 200, 1, 0, 1, "1000 flows x 200 B, window 1" },
};
#define NWORKLOADS	((int)(sizeof workloads / sizeof workloads[0]))

/* One sent datagram, until its reply or its loss. */
struct slot {
	uint64_t	sent;
	uint32_t	seq;
	uint32_t	state;		/* 0 free, else 1 + phase index */
};

struct flow {
	int		 fd;
	uint32_t	 id;
	uint32_t	 next_seq;	/* the next to send */
	uint32_t	 oldest;	/* no live slot below this */
	uint32_t	 inflight;
	uint32_t	 mask;		/* ring size - 1 */
	struct slot	*ring;
	int		 retry;		/* a send to retry at the tick */
	int		 port;		/* bound here */
};

struct counts {
	uint64_t	sent;
	uint64_t	received;
	uint64_t	lost;
	uint64_t	late;
	uint64_t	corrupted;
	uint64_t	misrouted;
};

enum phase { PH_WARM, PH_QUIESCE, PH_MEASURE, PH_DRAIN, PH_DONE };

struct load;
typedef int	(*hook_fn)(struct load *, int, void *);

struct load {
	const struct workload	*wl;
	struct flow		*flows;
	int			 nflows;
	struct sockaddr_in	 target;	/* where datagrams go */
	struct sockaddr_in	 from;		/* whence replies come */
	uint32_t		 run;
	uint64_t		 warm_ns;
	uint64_t		 dur_ns;
	uint64_t		 count;		/* > 0: exactly this many */
	hook_fn			 hook;		/* measure start 1, end 0 */
	void			*hookarg;

	enum phase		 phase;
	int			 failed;	/* a hook failed */
	uint64_t		 t0, t_start, t_end, drain_until;
	uint64_t		 msent;		/* sent while measuring */
	uint64_t		 paced;		/* rate mode: slots used */
	uint64_t		 skipped;	/* rate mode: slots missed */
	uint64_t		 inflight;	/* all flows */
	struct counts		 c[2];		/* [1]: the measured window */
	uint32_t		*rtt;		/* ns, measured replies */
	size_t			 nrtt, rttcap;
};

/* CPU of the processes of a run, at the start and end of its window. */
struct snap {
	unsigned long long	tun[2];		/* ticks, listen and connect */
	unsigned long long	echo;
	double			self;		/* seconds */
	int			tun_ok, echo_ok;
};

struct tunnel {
	pid_t		 pid[2];	/* listen, connect */
	int		 tport;		/* TCP, listen side */
	int		 b1, b2;	/* UDP binds; b1 unused in auto mode */
	int		 logfd[2];	/* their stderr, to read */
	int		 status[2];
	int		 reaped[2];
	struct rusage	 ru[2];
	long		 idle_hwm[2];	/* kB, once up */
	long		 peak_hwm[2];	/* kB, at the end of the load */
};

struct result {
	int		 ok;
	double		 secs;
	struct counts	 c;
	uint64_t	 skipped;
	double		 rate;		/* round trips/s */
	double		 p50, p99, p999, max;	/* us */
	double		 cpu[2];	/* us of each end per round trip */
	double		 cpu_tun;	/* both ends */
	double		 cpu_echo, cpu_gen;
	long		 idle_kb[2], peak_kb[2];
};

static const char	*end_name[2] = { "listen", "connect" };

static const char	*binary;
static double		 opt_dur = 3.0, opt_warm = 0.5;
static int		 opt_runs = 1, opt_verbose;
static unsigned char	*pattern;
static long		 clk_tck = 100;
static pid_t		 echo_pid = -1;
static struct sockaddr_in echo_addr;
static uint32_t		 run_counter;

static volatile pid_t	 kids[MAXCHILD];
static char		 tmp_paths[MAXTMP][64];
static pid_t		 main_pid;

static void	 usage(void) __attribute__((__noreturn__));
static void	 die(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)))
		     __attribute__((__noreturn__));
static void	 warnx_(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)));
static uint64_t	 now_ns(void);
static void	 sleep_ms(int);
static void	*xcalloc(size_t, size_t);
static uint32_t	 mix32(uint32_t);
static uint32_t	 hdr_check(const struct hdr *);
static size_t	 body_off(uint32_t, uint32_t);
static void	 pattern_init(void);
static int	 set_cloexec(int);
static int	 set_nonblock(int);
static void	 loopback(struct sockaddr_in *, int);
static int	 udp_socket(int, int);
static int	 sock_port(int);
static int	 free_ports(int, int *, int);
static int	 same_addr(const struct sockaddr_in *,
		     const struct sockaddr_in *);

static void	 kid_add(pid_t);
static void	 kid_del(pid_t);
static void	 kill_kids(void);
static void	 on_exit_cleanup(void);
static void	 on_signal(int);
static int	 tmp_add(const char *);
static void	 tmp_del(int);
static int	 tmp_file(int *, int *);
static pid_t	 spawn(char *const [], int, int, int);
static int	 wait_exit(pid_t, int, int *, struct rusage *);
static void	 stop_kid(pid_t, int *, struct rusage *);
static char	*read_all(int, size_t *);
static int	 log_has(int, const char *);
static void	 log_show(int, const char *, int);
static int	 in_path(const char *);

static int	 proc_ticks(pid_t, unsigned long long *);
static long	 proc_kb(pid_t, const char *);
static double	 self_cpu(void);

static void	 echo_main(int) __attribute__((__noreturn__));
static void	 echo_start(void);

static void	 flows_open(struct load *, int, int);
static void	 flows_close(struct load *);
static void	 flow_advance(struct flow *);
static void	 resolve(struct load *, struct flow *, struct slot *);
static void	 flow_send(struct load *, struct flow *, uint32_t, uint64_t);
static void	 flow_fill(struct load *, struct flow *, uint64_t);
static void	 pace(struct load *, uint64_t);
static void	 reply(struct load *, struct flow *, const unsigned char *,
		     size_t, int, const struct sockaddr_in *, uint64_t);
static void	 flow_input(struct load *, struct flow *);
static void	 scan_losses(struct load *, uint64_t);
static void	 set_phase(struct load *, enum phase, uint64_t);
static void	 push_rtt(struct load *, uint64_t);
static int	 run_load(struct load *);

static int	 tunnel_start(struct tunnel *, const struct workload *,
		     int);
static int	 tunnel_stop(struct tunnel *, int);
static void	 snap_take(struct snap *, const struct tunnel *);
static int	 cmp_u32(const void *, const void *);
static void	 summarise(struct load *, const struct snap *,
		     const struct snap *, const struct tunnel *,
		     struct result *);
static int	 measure_hook(struct load *, int, void *);
static int	 run_one(const struct workload *, int, struct result *);

static void	 fmt_num(char *, size_t, double, int);
static void	 print_head(const struct workload *, const char *);
static void	 print_row(const char *, const struct result *, int);
static void	 print_ratio(const struct result *, const struct result *);
static void	 json_num(FILE *, const char *, double, int);
static void	 json_result(FILE *, const char *, const struct result *,
		     int);
static void	 json_line(const struct workload *, const char *,
		     const struct result *, const struct result *);
static double	 median(double *, int);
static void	 median_result(struct result *, int, struct result *);

static int	 run_syscalls(uint64_t, const char *);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: uot-bench [-v] [-b BINARY] [-d SECONDS] [-W SECONDS]"
	    " [-r RUNS] [-w NAME[,NAME...]]\n"
	    "       uot-bench -s|--syscalls [-b BINARY] [-n ROUNDTRIPS]"
	    " [-T perf|strace|all]\n"
	    "\n"
	    "  -b BINARY   the udp-over-tcp to measure (default $UOT_BINARY)\n"
	    "  -d SECONDS  measured time of each run (default 3)\n"
	    "  -W SECONDS  warm-up before it (default 0.5)\n"
	    "  -r RUNS     run each workload this many times, print medians\n"
	    "  -w NAMES    only these workloads:");
	for (int i = 0; i < NWORKLOADS; i++)
		fprintf(stderr, " %s", workloads[i].name);
	fprintf(stderr, "\n"
	    "  -v          show the tunnel's log after each run\n"
	    "  -s          count each tunnel end's system calls under w64x8\n"
	    "  -n N        ... over N round trips (default 100000)\n"
	    "  -T TOOL     ... counted by perf, strace or all (default)\n");
	exit(2);
}

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("uot-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
warnx_(const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fputs("uot-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec);
}

static void
sleep_ms(int ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		die("out of memory");
	return (p);
}

static uint32_t
mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return (h);
}

static uint32_t
hdr_check(const struct hdr *h)
{
	uint32_t	x;

	x = mix32(h->magic ^ 0x9e3779b9U);
	x = mix32(x ^ h->run);
	x = mix32(x ^ h->flow);
	x = mix32(x ^ h->seq);
	x = mix32(x ^ (uint32_t)h->sent);
	x = mix32(x ^ (uint32_t)(h->sent >> 32));
	x = mix32(x ^ h->size);
	return (x);
}

/* Where in the pattern the body of datagram seq of flow starts. */
static size_t
body_off(uint32_t flow, uint32_t seq)
{
	return (mix32(flow * 0x9e3779b9U ^ seq) & (PATSPAN - 1));
}

static void
pattern_init(void)
{
	uint32_t	x = 0x2545f491U ^ (uint32_t)getpid();
	size_t		i;

	pattern = xcalloc(PATSPAN + MAXSIZE, 1);
	for (i = 0; i < PATSPAN + MAXSIZE; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = (unsigned char)(x >> 11);
	}
}

static int
set_cloexec(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFD)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFD, flags | FD_CLOEXEC));
}

static int
set_nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFL, flags | O_NONBLOCK));
}

static void
loopback(struct sockaddr_in *sin, int port)
{
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons((uint16_t)port);
}

/* A UDP socket bound at 127.0.0.1:0, close-on-exec. */
static int
udp_socket(int nonblock, int bufsize)
{
	struct sockaddr_in	sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (bufsize > 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize,
		    sizeof bufsize);
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize,
		    sizeof bufsize);
	}
	loopback(&sin, 0);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		die("bind 127.0.0.1:0: %s", strerror(errno));
	if (set_cloexec(fd) == -1 || (nonblock && set_nonblock(fd) == -1))
		die("fcntl: %s", strerror(errno));
	return (fd);
}

static int
sock_port(int fd)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		die("getsockname: %s", strerror(errno));
	return (ntohs(sin.sin_port));
}

/* n distinct ports of this type free on 127.0.0.1 a moment ago. */
static int
free_ports(int type, int *ports, int n)
{
	struct sockaddr_in	sin;
	int			fds[8], i;

	if (n > 8)
		return (-1);
	for (i = 0; i < n; i++) {
		loopback(&sin, 0);
		if ((fds[i] = socket(AF_INET, type, 0)) == -1 ||
		    bind(fds[i], (struct sockaddr *)&sin, sizeof sin) == -1)
			die("free port: %s", strerror(errno));
		ports[i] = sock_port(fds[i]);
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	return (0);
}

static int
same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return (a->sin_family == b->sin_family &&
	    a->sin_port == b->sin_port &&
	    a->sin_addr.s_addr == b->sin_addr.s_addr);
}

/*
 * Children: every one is in kids[] until reaped, and is killed on any
 * way out of this process: exit (atexit), a signal (handler), and on
 * Linux our death (PR_SET_PDEATHSIG in the child).
 */
static void
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

static void
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
	for (i = 0; i < MAXTMP; i++) {
		if (tmp_paths[i][0] != '\0')
			unlink(tmp_paths[i]);
	}
}

static void
on_exit_cleanup(void)
{
	if (getpid() == main_pid)
		kill_kids();
}

static void
on_signal(int sig)
{
	kill_kids();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int
tmp_add(const char *path)
{
	int	i;

	for (i = 0; i < MAXTMP; i++) {
		if (tmp_paths[i][0] == '\0') {
			snprintf(tmp_paths[i], sizeof tmp_paths[i], "%s",
			    path);
			return (i);
		}
	}
	die("too many temporary files");
}

static void
tmp_del(int i)
{
	if (i >= 0 && i < MAXTMP && tmp_paths[i][0] != '\0') {
		unlink(tmp_paths[i]);
		tmp_paths[i][0] = '\0';
	}
}

/*
 * A temporary file: *wfd appends to it (for a child's output), the
 * returned fd reads it from the start. Registered, so it goes away on
 * any exit; tmp_paths[*slot] is its name, tmp_del(*slot) unlinks it.
 */
static int
tmp_file(int *wfd, int *slot)
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
	*slot = tmp_add(path);
	if (fcntl(*wfd, F_SETFL, O_APPEND) == -1 || set_cloexec(*wfd) == -1 ||
	    (rfd = open(path, O_RDONLY)) == -1 || set_cloexec(rfd) == -1)
		die("%s: %s", path, strerror(errno));
	return (rfd);
}

/*
 * Start argv[0] with stdout and stderr on outfd, stdin on /dev/null,
 * keeping keep1 and keep2 (or -1) open across exec.
 */
static pid_t
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
static int
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

static void
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

/* The whole file behind fd, NUL-ended. */
static char *
read_all(int fd, size_t *lenp)
{
	char	*buf;
	size_t	 len = 0, size = 4096;
	ssize_t	 n;

	buf = xcalloc(size, 1);
	for (;;) {
		if (len + 1 >= size) {
			size *= 2;
			if ((buf = realloc(buf, size)) == NULL)
				die("out of memory");
		}
		n = pread(fd, buf + len, size - len - 1, (off_t)len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return (buf);
}

static int
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
static void
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

static int
in_path(const char *name)
{
	const char	*path = getenv("PATH"), *p, *e;
	char		 buf[PATH_MAX];

	if (path == NULL)
		path = "/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *e ? e + 1 : e) {
		if ((e = strchr(p, ':')) == NULL)
			e = p + strlen(p);
		snprintf(buf, sizeof buf, "%.*s/%s", (int)(e - p), p, name);
		if (access(buf, X_OK) == 0)
			return (1);
	}
	return (0);
}

/* utime + stime of pid in clock ticks, from /proc/PID/stat. */
static int
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
static long
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

static double
self_cpu(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

/*
 * The echo server: every datagram goes back to where it came from, in
 * batches. Blocking; SIGTERM (default action) ends it.
 */
static void
echo_main(int fd)
{
#ifdef BENCH_MMSG
	static unsigned char	 buf[ECHO_BATCH][RBUFSIZE];
	struct mmsghdr		 m[ECHO_BATCH];
	struct iovec		 iov[ECHO_BATCH];
	struct sockaddr_in	 from[ECHO_BATCH];
	int			 i, n, done, k;

	memset(m, 0, sizeof m);
	for (i = 0; i < ECHO_BATCH; i++) {
		iov[i].iov_base = buf[i];
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_name = &from[i];
	}
	for (;;) {
		for (i = 0; i < ECHO_BATCH; i++) {
			iov[i].iov_len = RBUFSIZE;
			m[i].msg_hdr.msg_namelen = sizeof from[i];
		}
		n = recvmmsg(fd, m, ECHO_BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0) {
			if (n == -1 && errno != EINTR)
				sleep_ms(1);
			continue;
		}
		for (i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		for (done = 0; done < n; ) {
			k = sendmmsg(fd, m + done, (unsigned int)(n - done), 0);
			if (k > 0)
				done += k;
			else if (errno != EINTR)
				done++;		/* drop that one */
		}
	}
#else
	static unsigned char	 buf[RBUFSIZE];
	struct sockaddr_in	 from;
	socklen_t		 len;
	ssize_t			 n;

	for (;;) {
		len = sizeof from;
		n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from,
		    &len);
		if (n >= 0)
			sendto(fd, buf, (size_t)n, 0,
			    (struct sockaddr *)&from, len);
	}
#endif
}

static void
echo_start(void)
{
	pid_t	pid, parent = getpid();
	int	fd;

	fd = udp_socket(0, SOCKBUF);
	loopback(&echo_addr, sock_port(fd));
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
#ifdef BENCH_PRCTL
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_TIMERSLACK, 0UL);
#endif
		if (getppid() != parent)
			_exit(1);
		echo_main(fd);
	}
	kid_add(pid);
	echo_pid = pid;
	close(fd);
}

/* The sockets and rings of the load's flows. */
static void
flows_open(struct load *L, int n, int ringsize)
{
	struct flow	*f;
	uint32_t	 size = 64;
	int		 i;

	while (size < (uint32_t)ringsize)
		size <<= 1;
	L->flows = xcalloc((size_t)n, sizeof *L->flows);
	L->nflows = n;
	for (i = 0; i < n; i++) {
		f = &L->flows[i];
		f->fd = udp_socket(1, n <= 64 ? SOCKBUF : 0);
		f->port = sock_port(f->fd);
		f->id = (uint32_t)i;
		f->mask = size - 1;
		f->ring = xcalloc(size, sizeof *f->ring);
	}
}

static void
flows_close(struct load *L)
{
	int	i;

	for (i = 0; i < L->nflows; i++) {
		close(L->flows[i].fd);
		free(L->flows[i].ring);
	}
	free(L->flows);
	L->flows = NULL;
	L->nflows = 0;
}

/* Move f->oldest past every slot that is no longer live. */
static void
flow_advance(struct flow *f)
{
	struct slot	*s;

	while (f->oldest != f->next_seq) {
		s = &f->ring[f->oldest & f->mask];
		if (s->state != 0 && s->seq == f->oldest)
			break;
		f->oldest++;
	}
}

/* A live slot of f is done with, whatever its outcome. */
static void
resolve(struct load *L, struct flow *f, struct slot *s)
{
	s->state = 0;
	f->inflight--;
	L->inflight--;
	if (s->seq == f->oldest)
		flow_advance(f);
}

static void
push_rtt(struct load *L, uint64_t ns)
{
	if (L->nrtt == L->rttcap) {
		L->rttcap = L->rttcap ? L->rttcap * 2 : 65536;
		if ((L->rtt = realloc(L->rtt, L->rttcap * sizeof *L->rtt)) ==
		    NULL)
			die("out of memory");
	}
	L->rtt[L->nrtt++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/* Send the next n datagrams of f, as far as the socket takes them. */
static void
flow_send(struct load *L, struct flow *f, uint32_t n, uint64_t now)
{
	static struct hdr	 hdrs[BATCH];
	size_t			 size = L->wl->size;
	struct slot		*s;
	struct hdr		*h;
	uint32_t		 m, i, k, seq;
	int			 ph = L->phase == PH_MEASURE;
#ifdef BENCH_MMSG
	static struct mmsghdr	 msgs[BATCH];
	static struct iovec	 iovs[BATCH][2];
	int			 r;
#else
	struct msghdr		 mh;
	struct iovec		 iov[2];
	ssize_t			 r;
#endif

	while (n > 0) {
		m = n < BATCH ? n : BATCH;
		for (i = 0; i < m; i++) {
			h = &hdrs[i];
			seq = f->next_seq + i;
			h->magic = MAGIC;
			h->run = L->run;
			h->flow = f->id;
			h->seq = seq;
			h->sent = now;
			h->size = (uint32_t)size;
			h->check = hdr_check(h);
#ifdef BENCH_MMSG
			iovs[i][0].iov_base = h;
			iovs[i][0].iov_len = HDRLEN;
			iovs[i][1].iov_base = pattern + body_off(f->id, seq);
			iovs[i][1].iov_len = size - HDRLEN;
			memset(&msgs[i], 0, sizeof msgs[i]);
			msgs[i].msg_hdr.msg_name = &L->target;
			msgs[i].msg_hdr.msg_namelen = sizeof L->target;
			msgs[i].msg_hdr.msg_iov = iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 2;
#endif
		}
#ifdef BENCH_MMSG
		do
			r = sendmmsg(f->fd, msgs, m, 0);
		while (r == -1 && errno == EINTR);
		k = r > 0 ? (uint32_t)r : 0;
#else
		for (k = 0; k < m; k++) {
			iov[0].iov_base = &hdrs[k];
			iov[0].iov_len = HDRLEN;
			iov[1].iov_base = pattern + body_off(f->id,
			    f->next_seq + k);
			iov[1].iov_len = size - HDRLEN;
			memset(&mh, 0, sizeof mh);
			mh.msg_name = &L->target;
			mh.msg_namelen = sizeof L->target;
			mh.msg_iov = iov;
			mh.msg_iovlen = 2;
			do
				r = sendmsg(f->fd, &mh, 0);
			while (r == -1 && errno == EINTR);
			if (r == -1)
				break;
		}
#endif
		/* Only what went out is in flight. */
		for (i = 0; i < k; i++) {
			seq = f->next_seq;
			s = &f->ring[seq & f->mask];
			if (s->state != 0) {
				/* Overtaken by a ring of later ones: lost. */
				L->c[s->state - 1].lost++;
				resolve(L, f, s);
			}
			s->sent = now;
			s->seq = seq;
			s->state = (uint32_t)ph + 1;
			f->next_seq++;
			f->inflight++;
			L->inflight++;
			L->c[ph].sent++;
			if (ph)
				L->msent++;
		}
		if (k < m) {
			f->retry = 1;		/* socket full: at the tick */
			return;
		}
		n -= m;
	}
}

static int
can_send(const struct load *L)
{
	return (L->phase == PH_WARM || (L->phase == PH_MEASURE &&
	    (L->count == 0 || L->msent < L->count)));
}

/* Window mode: top f up to its window. */
static void
flow_fill(struct load *L, struct flow *f, uint64_t now)
{
	uint64_t	n;

	f->retry = 0;
	if (L->wl->window <= 0 || !can_send(L) ||
	    f->inflight >= (uint32_t)L->wl->window)
		return;
	n = (uint32_t)L->wl->window - f->inflight;
	if (L->phase == PH_MEASURE && L->count > 0 && n > L->count - L->msent)
		n = L->count - L->msent;
	flow_send(L, f, (uint32_t)n, now);
}

/* Rate mode: send what is due by now, on the one flow. */
static void
pace(struct load *L, uint64_t now)
{
	uint64_t	due;

	if (L->wl->rate <= 0 || !can_send(L))
		return;
	due = (now - L->t0) * (uint64_t)L->wl->rate / NSEC + 1;
	if (due <= L->paced)
		return;
	due -= L->paced;
	if (due > MAXCATCHUP) {
		/* Late by more than a batch: an open loop does not catch up. */
		if (L->phase == PH_MEASURE)
			L->skipped += due - MAXCATCHUP;
		L->paced += due - MAXCATCHUP;
		due = MAXCATCHUP;
	}
	L->paced += due;
	flow_send(L, &L->flows[0], (uint32_t)due, now);
}

/* One datagram that arrived at the socket of flow f. */
static void
reply(struct load *L, struct flow *f, const unsigned char *buf, size_t len,
    int trunc, const struct sockaddr_in *from, uint64_t now)
{
	struct flow	*owner;
	struct slot	*s;
	struct hdr	 h;
	size_t		 size = L->wl->size;
	int		 ph, now_ph;

	now_ph = L->phase == PH_MEASURE || L->phase == PH_DRAIN;
	if (len < HDRLEN) {
		L->c[now_ph].corrupted++;
		return;
	}
	memcpy(&h, buf, HDRLEN);
	if (h.magic != MAGIC || h.run != L->run || h.check != hdr_check(&h) ||
	    h.flow >= (uint32_t)L->nflows) {
		/* Whose it was cannot be told: it will also be lost. */
		L->c[now_ph].corrupted++;
		return;
	}
	owner = &L->flows[h.flow];
	s = &owner->ring[h.seq & owner->mask];
	if (s->state == 0 || s->seq != h.seq || s->sent != h.sent) {
		L->c[now_ph].late++;	/* after its loss, or twice */
		return;
	}
	ph = (int)s->state - 1;
	if (trunc || len != size || h.size != size ||
	    memcmp(buf + HDRLEN, pattern + body_off(h.flow, h.seq),
	    size - HDRLEN) != 0)
		L->c[ph].corrupted++;
	else if (owner != f || !same_addr(from, &L->from))
		L->c[ph].misrouted++;
	else {
		L->c[ph].received++;
		if (ph)
			push_rtt(L, now - h.sent);
	}
	resolve(L, owner, s);
	if (owner != f)
		owner->retry = 1;
}

/* Every reply waiting at the socket of f. */
static void
flow_input(struct load *L, struct flow *f)
{
	static unsigned char	 bufs[BATCH][RBUFSIZE];
	static struct sockaddr_in from[BATCH];
	uint64_t		 now;
#ifdef BENCH_MMSG
	static struct mmsghdr	 msgs[BATCH];
	static struct iovec	 iovs[BATCH];
	int			 i, n;

	do {
		for (i = 0; i < BATCH; i++) {
			iovs[i].iov_base = bufs[i];
			iovs[i].iov_len = RBUFSIZE;
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof from[i];
			msgs[i].msg_hdr.msg_control = NULL;
			msgs[i].msg_hdr.msg_controllen = 0;
			msgs[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(f->fd, msgs, BATCH, 0, NULL);
		if (n <= 0)
			return;
		now = now_ns();
		for (i = 0; i < n; i++)
			reply(L, f, bufs[i], msgs[i].msg_len,
			    (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0,
			    &from[i], now);
	} while (n == BATCH);
#else
	struct msghdr		 mh;
	struct iovec		 iov;
	ssize_t			 r;
	int			 i;

	for (i = 0; i < BATCH; i++) {
		iov.iov_base = bufs[0];
		iov.iov_len = RBUFSIZE;
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_name = &from[0];
		mh.msg_namelen = sizeof from[0];
		if ((r = recvmsg(f->fd, &mh, 0)) < 0)
			return;
		now = now_ns();
		reply(L, f, bufs[0], (size_t)r, (mh.msg_flags & MSG_TRUNC) != 0,
		    &from[0], now);
	}
#endif
}

/* Count as lost what has waited too long; retry stalled sends. */
static void
scan_losses(struct load *L, uint64_t now)
{
	struct flow	*f;
	struct slot	*s;
	int		 i;

	for (i = 0; i < L->nflows; i++) {
		f = &L->flows[i];
		while (f->oldest != f->next_seq) {
			s = &f->ring[f->oldest & f->mask];
			if (s->state != 0 && s->seq == f->oldest) {
				if (now - s->sent < LOSS_NS)
					break;
				L->c[s->state - 1].lost++;
				resolve(L, f, s);
				f->retry = 1;
				continue;
			}
			f->oldest++;
		}
		if (f->retry)
			flow_fill(L, f, now);
	}
}

static void
set_phase(struct load *L, enum phase ph, uint64_t now)
{
	int	i;

	L->phase = ph;
	switch (ph) {
	case PH_MEASURE:
		if (L->hook != NULL && L->hook(L, 1, L->hookarg) == -1) {
			L->failed = 1;
			L->phase = PH_DONE;
			return;
		}
		L->t_start = now_ns();
		for (i = 0; i < L->nflows; i++)
			flow_fill(L, &L->flows[i], L->t_start);
		break;
	case PH_DRAIN:
		if (L->count == 0) {
			L->t_end = now;
			if (L->hook != NULL && L->hook(L, 0, L->hookarg) == -1)
				L->failed = 1;
		}
		L->drain_until = now + LOSS_NS + 2 * TICK_NS;
		break;
	case PH_DONE:
		if (L->count > 0) {
			L->t_end = now;
			if (L->hook != NULL && L->hook(L, 0, L->hookarg) == -1)
				L->failed = 1;
		}
		break;
	default:
		break;
	}
}

/*
 * Run the load: warm up, measure (for dur_ns, or exactly count round
 * trips after a pause with nothing in flight), drain. The hook is called
 * as the measured window opens and closes.
 */
static int
run_load(struct load *L)
{
	uint64_t		 now, next_tick, deadline;
	int64_t			 wait_ns;
	int			 i, n, timeout_ms;
#ifdef BENCH_EPOLL
	struct epoll_event	 ev, evs[256];
	struct itimerspec	 its;
	uint64_t		 expirations;
	int			 ep, tfd = -1;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < L->nflows; i++) {
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, L->flows[i].fd, &ev) == -1)
			die("epoll_ctl: %s", strerror(errno));
	}
	if (L->wl->rate > 0) {
		tfd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_NONBLOCK | TFD_CLOEXEC);
		if (tfd == -1)
			die("timerfd_create: %s", strerror(errno));
		memset(&its, 0, sizeof its);
		its.it_interval.tv_nsec = (long)(NSEC / (uint64_t)L->wl->rate);
		its.it_value = its.it_interval;
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.u32 = UINT32_MAX;
		if (timerfd_settime(tfd, 0, &its, NULL) == -1 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) == -1)
			die("timerfd: %s", strerror(errno));
	}
#else
	struct pollfd		*pfd;

	pfd = xcalloc((size_t)L->nflows, sizeof *pfd);
	for (i = 0; i < L->nflows; i++) {
		pfd[i].fd = L->flows[i].fd;
		pfd[i].events = POLLIN;
	}
#endif

	memset(L->c, 0, sizeof L->c);
	L->msent = L->paced = L->skipped = L->inflight = 0;
	L->nrtt = 0;
	L->failed = 0;
	L->t0 = now = now_ns();
	next_tick = now + TICK_NS;
	L->phase = PH_WARM;
	if (L->warm_ns == 0)
		set_phase(L, L->count > 0 ? PH_QUIESCE : PH_MEASURE, now);
	for (i = 0; i < L->nflows; i++)
		flow_fill(L, &L->flows[i], now);

	while (L->phase != PH_DONE) {
		now = now_ns();
		switch (L->phase) {
		case PH_WARM:
			if (now - L->t0 >= L->warm_ns)
				set_phase(L, L->count > 0 ? PH_QUIESCE :
				    PH_MEASURE, now);
			break;
		case PH_QUIESCE:
			if (L->inflight == 0)
				set_phase(L, PH_MEASURE, now);
			break;
		case PH_MEASURE:
			if (L->count > 0 ? L->msent >= L->count :
			    now - L->t_start >= L->dur_ns)
				set_phase(L, PH_DRAIN, now);
			break;
		case PH_DRAIN:
			if (L->inflight == 0 || now >= L->drain_until)
				set_phase(L, PH_DONE, now);
			break;
		default:
			break;
		}
		if (L->phase == PH_DONE)
			break;
		if (now >= next_tick) {
			scan_losses(L, now);
			next_tick = now + TICK_NS;
		}
		pace(L, now);

		deadline = next_tick;
		if (L->phase == PH_WARM && L->t0 + L->warm_ns < deadline)
			deadline = L->t0 + L->warm_ns;
		if (L->phase == PH_MEASURE && L->count == 0 &&
		    L->t_start + L->dur_ns < deadline)
			deadline = L->t_start + L->dur_ns;
		wait_ns = (int64_t)(deadline - now);
		timeout_ms = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) /
		    1000000);
#ifdef BENCH_EPOLL
		n = epoll_wait(ep, evs, 256, timeout_ms);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (evs[i].data.u32 == UINT32_MAX) {
				if (read(tfd, &expirations,
				    sizeof expirations) < 0)
					expirations = 0;
				continue;
			}
			flow_input(L, &L->flows[evs[i].data.u32]);
		}
		if (n > 0) {
			now = now_ns();
			for (i = 0; i < n; i++) {
				if (evs[i].data.u32 != UINT32_MAX)
					flow_fill(L,
					    &L->flows[evs[i].data.u32], now);
			}
		}
#else
		if (L->wl->rate > 0) {
			/* ms resolution: sends come in small bursts. */
			timeout_ms = 1;
		}
		n = poll(pfd, (nfds_t)L->nflows, timeout_ms);
		if (n == -1 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; n > 0 && i < L->nflows; i++) {
			if (pfd[i].revents != 0)
				flow_input(L, &L->flows[i]);
		}
		if (n > 0) {
			now = now_ns();
			for (i = 0; i < L->nflows; i++) {
				if (pfd[i].revents != 0)
					flow_fill(L, &L->flows[i], now);
			}
		}
#endif
	}
	/* What is still out after the drain is lost. */
	scan_losses(L, now_ns() + LOSS_NS);
#ifdef BENCH_EPOLL
	if (tfd != -1)
		close(tfd);
	close(ep);
#else
	free(pfd);
#endif
	return (L->failed ? -1 : 0);
}

/*
 * A tunnel pair of the binary under test. Fixed mode: the listen side
 * sends from B1 to the echo server, the connect side from B2 to the
 * generator's one socket (cport). Auto mode: one socket per flow on the
 * listen side, replies back to each client on the connect side.
 */
static int
tunnel_start(struct tunnel *t, const struct workload *wl, int cport)
{
	char		 tl[32], tc[32], ul[32], uc[32], pl[32], pc[32];
	char		*argv[2][8];
	uint64_t	 until;
	int		 ports[3], wfd, slot, i, up[2] = { 0, 0 }, status;

	memset(t, 0, sizeof *t);
	t->logfd[0] = t->logfd[1] = -1;
	free_ports(SOCK_STREAM, &ports[0], 1);
	free_ports(SOCK_DGRAM, &ports[1], 2);
	t->tport = ports[0];
	t->b1 = ports[1];
	t->b2 = ports[2];
	snprintf(tl, sizeof tl, "127.0.0.1:%d", t->tport);
	snprintf(tc, sizeof tc, "127.0.0.1:%d", t->tport);
	snprintf(pl, sizeof pl, "127.0.0.1:%d", ntohs(echo_addr.sin_port));
	snprintf(uc, sizeof uc, "127.0.0.1:%d", t->b2);
	if (wl->automode) {
		snprintf(ul, sizeof ul, "auto");
		snprintf(pc, sizeof pc, "127.0.0.1:auto");
	} else {
		snprintf(ul, sizeof ul, "127.0.0.1:%d", t->b1);
		snprintf(pc, sizeof pc, "127.0.0.1:%d", cport);
	}
	argv[0][0] = argv[1][0] = (char *)binary;
	argv[0][1] = (char *)"-l";
	argv[1][1] = (char *)"-t";
	argv[0][2] = tl;
	argv[1][2] = tc;
	argv[0][3] = argv[1][3] = (char *)"-u";
	argv[0][4] = ul;
	argv[1][4] = uc;
	argv[0][5] = argv[1][5] = (char *)"-p";
	argv[0][6] = pl;
	argv[1][6] = pc;
	argv[0][7] = argv[1][7] = NULL;

	until = now_ns() + (uint64_t)READY_MS * 1000000ULL;
	for (i = 0; i < 2; i++) {
		t->logfd[i] = tmp_file(&wfd, &slot);
		tmp_del(slot);		/* the open files stay */
		t->pid[i] = spawn(argv[i], wfd, -1, -1);
		close(wfd);
		/* The connect side first tries once the listener is there. */
		while (i == 0 && !log_has(t->logfd[0], "listening") &&
		    now_ns() < until - (uint64_t)READY_MS * 800000ULL)
			sleep_ms(2);
	}
	/* Both ends up: each has logged a state change "-> up". */
	for (;;) {
		for (i = 0; i < 2; i++) {
			if (!up[i] && log_has(t->logfd[i], UP_LINE))
				up[i] = 1;
			if (!t->reaped[i] &&
			    wait4(t->pid[i], &status, WNOHANG, &t->ru[i]) ==
			    t->pid[i]) {
				kid_del(t->pid[i]);
				t->reaped[i] = 1;
				t->status[i] = status;
				warnx_("%s side exited before it was up",
				    end_name[i]);
				return (-1);
			}
		}
		if (up[0] && up[1])
			break;
		if (now_ns() >= until) {
			warnx_("the tunnel was not up within %d ms (%s %s)",
			    READY_MS, binary, wl->name);
			return (-1);
		}
		sleep_ms(2);
	}
	for (i = 0; i < 2; i++)
		t->idle_hwm[i] = proc_kb(t->pid[i], "VmHWM:");
	return (0);
}

/* SIGTERM both ends and wait; -1 if either ended badly. */
static int
tunnel_stop(struct tunnel *t, int failed)
{
	int	i, bad, st, rc = 0;

	for (i = 0; i < 2; i++) {
		if (t->pid[i] > 0 && !t->reaped[i])
			t->peak_hwm[i] = proc_kb(t->pid[i], "VmHWM:");
	}
	for (i = 0; i < 2; i++) {
		if (t->pid[i] > 0 && !t->reaped[i]) {
			stop_kid(t->pid[i], &t->status[i], &t->ru[i]);
			t->reaped[i] = 1;
		}
	}
	for (i = 0; i < 2; i++) {
		if (t->pid[i] <= 0)
			continue;
		st = t->status[i];
		bad = failed;
		if (WIFSIGNALED(st)) {
			warnx_("%s side died of signal %d", end_name[i],
			    WTERMSIG(st));
			bad = 1;
		} else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
			warnx_("%s side exited with status %d", end_name[i],
			    WEXITSTATUS(st));
			bad = 1;
		}
		if (bad)
			rc = -1;
		if ((bad || opt_verbose) && t->logfd[i] != -1)
			log_show(t->logfd[i], end_name[i], bad ? 30 : 0);
	}
	for (i = 0; i < 2; i++) {
		if (t->logfd[i] != -1)
			close(t->logfd[i]);
		t->logfd[i] = -1;
	}
	return (rc);
}

static void
snap_take(struct snap *s, const struct tunnel *t)
{
	memset(s, 0, sizeof *s);
	s->tun_ok = t != NULL && proc_ticks(t->pid[0], &s->tun[0]) == 0 &&
	    proc_ticks(t->pid[1], &s->tun[1]) == 0;
	s->echo_ok = proc_ticks(echo_pid, &s->echo) == 0;
	s->self = self_cpu();
}

struct measure_ctx {
	struct snap		 start, end;
	const struct tunnel	*tunnel;
};

static int
measure_hook(struct load *L, int start, void *arg)
{
	struct measure_ctx	*m = arg;

	(void)L;
	snap_take(start ? &m->start : &m->end, m->tunnel);
	return (0);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return ((x > y) - (x < y));
}

/* Nearest rank, in us; -1 without samples. */
static double
pct(const uint32_t *v, size_t n, double q)
{
	size_t	i;

	if (n == 0)
		return (-1);
	i = (size_t)(q * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (v[i - 1] / 1000.0);
}

static double
tv_secs(const struct timeval *tv)
{
	return ((double)tv->tv_sec + (double)tv->tv_usec / 1e6);
}

static void
summarise(struct load *L, const struct snap *a, const struct snap *b,
    const struct tunnel *t, struct result *r)
{
	double	rt;
	int	i;

	memset(r, 0, sizeof *r);
	r->ok = 1;
	r->c = L->c[1];
	r->skipped = L->skipped;
	r->secs = (double)(L->t_end - L->t_start) / 1e9;
	r->rate = r->secs > 0 ? (double)r->c.received / r->secs : 0;
	qsort(L->rtt, L->nrtt, sizeof *L->rtt, cmp_u32);
	r->p50 = pct(L->rtt, L->nrtt, 0.50);
	r->p99 = pct(L->rtt, L->nrtt, 0.99);
	r->p999 = pct(L->rtt, L->nrtt, 0.999);
	r->max = L->nrtt ? L->rtt[L->nrtt - 1] / 1000.0 : -1;
	rt = (double)r->c.received;
	r->cpu[0] = r->cpu[1] = r->cpu_tun = -1;
	r->cpu_echo = r->cpu_gen = -1;
	for (i = 0; i < 2; i++) {
		r->idle_kb[i] = t != NULL ? t->idle_hwm[i] : -1;
		r->peak_kb[i] = t != NULL ? t->peak_hwm[i] : -1;
#if !defined(__linux__)
		/* No /proc: the peak from wait4(), in kB (bytes on macOS). */
		if (t != NULL && r->peak_kb[i] < 0)
#if defined(__APPLE__)
			r->peak_kb[i] = t->ru[i].ru_maxrss / 1024;
#else
			r->peak_kb[i] = t->ru[i].ru_maxrss;
#endif
#endif
	}
	if (rt <= 0)
		return;
	if (t != NULL && a->tun_ok && b->tun_ok) {
		for (i = 0; i < 2; i++)
			r->cpu[i] = (double)(b->tun[i] - a->tun[i]) * 1e6 /
			    (double)clk_tck / rt;
		r->cpu_tun = r->cpu[0] + r->cpu[1];
	} else if (t != NULL && L->c[0].received + L->c[1].received > 0) {
		/* No /proc: each end's whole life, from wait4(). */
		for (i = 0; i < 2; i++)
			r->cpu[i] = (tv_secs(&t->ru[i].ru_utime) +
			    tv_secs(&t->ru[i].ru_stime)) * 1e6 /
			    (double)(L->c[0].received + L->c[1].received);
		r->cpu_tun = r->cpu[0] + r->cpu[1];
	}
	if (a->echo_ok && b->echo_ok)
		r->cpu_echo = (double)(b->echo - a->echo) * 1e6 /
		    (double)clk_tck / rt;
	r->cpu_gen = (b->self - a->self) * 1e6 / rt;
}

static void
load_init(struct load *L, const struct workload *wl)
{
	int	ring;

	memset(L, 0, sizeof *L);
	L->wl = wl;
	L->run = mix32(++run_counter ^ (uint32_t)getpid() * 2654435761U ^
	    (uint32_t)now_ns());
	L->warm_ns = (uint64_t)(opt_warm * 1e9);
	L->dur_ns = (uint64_t)(opt_dur * 1e9);
	/* Deep enough that only a datagram long gone is overtaken. */
	ring = wl->window > 0 ? wl->window * 64 :
	    (int)((uint64_t)wl->rate * 2 * LOSS_NS / NSEC);
	flows_open(L, wl->flows, ring);
}

/* One run of a workload: straight to the echo server, or tunneled. */
static int
run_one(const struct workload *wl, int tunneled, struct result *r)
{
	struct measure_ctx	 m;
	struct tunnel		 t;
	struct load		 L;
	int			 rc;

	memset(&m, 0, sizeof m);
	memset(r, 0, sizeof *r);
	load_init(&L, wl);
	L.hook = measure_hook;
	L.hookarg = &m;
	if (tunneled) {
		if (tunnel_start(&t, wl, L.flows[0].port) == -1) {
			tunnel_stop(&t, 1);
			flows_close(&L);
			return (-1);
		}
		m.tunnel = &t;
		/* Requests go in at B2, replies come out of it. */
		loopback(&L.target, t.b2);
	} else
		L.target = echo_addr;
	L.from = L.target;
	rc = run_load(&L);
	if (tunneled && tunnel_stop(&t, 0) == -1)
		rc = -1;
	summarise(&L, &m.start, &m.end, tunneled ? &t : NULL, r);
	r->ok = rc == 0;
	free(L.rtt);
	flows_close(&L);
	return (rc);
}

static void
fmt_num(char *buf, size_t size, double v, int decimals)
{
	if (v < 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.*f", decimals, v);
}

static void
print_head(const struct workload *wl, const char *run)
{
	printf("\n== %s: %s, %s mode; %.1f s after %.1f s warm-up%s ==\n",
	    wl->name, wl->what, wl->automode ? "auto" : "fixed", opt_dur,
	    opt_warm, run);
	printf("%-7s %10s %10s %6s %6s %6s %8s %8s %8s %9s %19s %13s\n",
	    "path", "rt/s", "sent", "lost", "misrt", "corrupt", "p50 us",
	    "p99 us", "p99.9 us", "max us", "cpu us/rt (L+C)",
	    "rss kB L/C");
}

static void
print_row(const char *label, const struct result *r, int tunneled)
{
	char	p50[16], p99[16], p999[16], max[16], cpu[48], rss[32];

	if (!r->ok && r->secs <= 0) {
		printf("%-7s  failed\n", label);
		return;
	}
	fmt_num(p50, sizeof p50, r->p50, 1);
	fmt_num(p99, sizeof p99, r->p99, 1);
	fmt_num(p999, sizeof p999, r->p999, 1);
	fmt_num(max, sizeof max, r->max, 1);
	if (tunneled && r->cpu_tun >= 0)
		snprintf(cpu, sizeof cpu, "%.2f (%.2f+%.2f)", r->cpu_tun,
		    r->cpu[0], r->cpu[1]);
	else
		snprintf(cpu, sizeof cpu, "-");
	if (tunneled)
		snprintf(rss, sizeof rss, "%ld/%ld", r->peak_kb[0],
		    r->peak_kb[1]);
	else
		snprintf(rss, sizeof rss, "-");
	printf("%-7s %10.0f %10llu %6llu %6llu %6llu %8s %8s %8s %9s %19s"
	    " %13s%s\n", label, r->rate, (unsigned long long)r->c.sent,
	    (unsigned long long)r->c.lost,
	    (unsigned long long)r->c.misrouted,
	    (unsigned long long)r->c.corrupted, p50, p99, p999, max, cpu, rss,
	    r->ok ? "" : "  (FAILED)");
	if (r->c.late > 0 || r->skipped > 0)
		printf("%-7s late or duplicate replies %llu, pacing slots"
		    " missed %llu\n", "", (unsigned long long)r->c.late,
		    (unsigned long long)r->skipped);
}

static double
ratio(double t, double d)
{
	return (t >= 0 && d > 0 ? t / d : -1);
}

static void
print_ratio(const struct result *d, const struct result *t)
{
	char	a[16], b[16], c[16], e[16], f[16];

	fmt_num(a, sizeof a, ratio(t->rate, d->rate), 3);
	fmt_num(b, sizeof b, ratio(t->p50, d->p50), 2);
	fmt_num(c, sizeof c, ratio(t->p99, d->p99), 2);
	fmt_num(e, sizeof e, ratio(t->p999, d->p999), 2);
	fmt_num(f, sizeof f, ratio(t->max, d->max), 2);
	printf("%-7s %10s %10s %6s %6s %6s %8s %8s %8s %9s\n", "t/d", a, "",
	    "", "", "", b, c, e, f);
}

static void
json_num(FILE *fp, const char *key, double v, int decimals)
{
	if (v < 0)
		fprintf(fp, "\"%s\":null", key);
	else
		fprintf(fp, "\"%s\":%.*f", key, decimals, v);
}

static void
json_result(FILE *fp, const char *key, const struct result *r, int tunneled)
{
	fprintf(fp, "\"%s\":{\"ok\":%s,", key, r->ok ? "true" : "false");
	json_num(fp, "seconds", r->secs, 3);
	fputc(',', fp);
	json_num(fp, "rt_per_s", r->rate, 1);
	fprintf(fp, ",\"sent\":%llu,\"received\":%llu,\"lost\":%llu,"
	    "\"misrouted\":%llu,\"corrupted\":%llu,\"late\":%llu,",
	    (unsigned long long)r->c.sent, (unsigned long long)r->c.received,
	    (unsigned long long)r->c.lost, (unsigned long long)r->c.misrouted,
	    (unsigned long long)r->c.corrupted, (unsigned long long)r->c.late);
	if (r->skipped > 0)
		fprintf(fp, "\"pacing_missed\":%llu,",
		    (unsigned long long)r->skipped);
	fputs("\"rtt_us\":{", fp);
	json_num(fp, "p50", r->p50, 1);
	fputc(',', fp);
	json_num(fp, "p99", r->p99, 1);
	fputc(',', fp);
	json_num(fp, "p99.9", r->p999, 1);
	fputc(',', fp);
	json_num(fp, "max", r->max, 1);
	fputs("},", fp);
	if (tunneled) {
		json_num(fp, "cpu_us_per_rt", r->cpu_tun, 3);
		fputc(',', fp);
		json_num(fp, "cpu_us_per_rt_listen", r->cpu[0], 3);
		fputc(',', fp);
		json_num(fp, "cpu_us_per_rt_connect", r->cpu[1], 3);
		fprintf(fp, ",\"rss_peak_kb_listen\":%ld,"
		    "\"rss_peak_kb_connect\":%ld,\"rss_idle_kb_listen\":%ld,"
		    "\"rss_idle_kb_connect\":%ld,", r->peak_kb[0],
		    r->peak_kb[1], r->idle_kb[0], r->idle_kb[1]);
	}
	json_num(fp, "echo_cpu_us_per_rt", r->cpu_echo, 3);
	fputc(',', fp);
	json_num(fp, "gen_cpu_us_per_rt", r->cpu_gen, 3);
	fputc('}', fp);
}

static void
json_line(const struct workload *wl, const char *run,
    const struct result *d, const struct result *t)
{
	printf("JSON {\"workload\":\"%s\",\"run\":%s,\"flows\":%d,"
	    "\"size\":%zu,\"window\":%d,\"rate\":%d,\"mode\":\"%s\",",
	    wl->name, run, wl->flows, wl->size, wl->window, wl->rate,
	    wl->automode ? "auto" : "fixed");
	json_result(stdout, "direct", d, 0);
	fputc(',', stdout);
	json_result(stdout, "tunnel", t, 1);
	fputs(",\"ratio\":{", stdout);
	json_num(stdout, "rt_per_s", ratio(t->rate, d->rate), 4);
	fputc(',', stdout);
	json_num(stdout, "p50", ratio(t->p50, d->p50), 3);
	fputc(',', stdout);
	json_num(stdout, "p99", ratio(t->p99, d->p99), 3);
	fputc(',', stdout);
	json_num(stdout, "p99.9", ratio(t->p999, d->p999), 3);
	fputc(',', stdout);
	json_num(stdout, "max", ratio(t->max, d->max), 3);
	fputs("}}\n", stdout);
	fflush(stdout);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* The median of the values that are known (>= 0), or -1. */
static double
median(double *v, int n)
{
	int	i, k = 0;

	for (i = 0; i < n; i++) {
		if (v[i] >= 0)
			v[k++] = v[i];
	}
	if (k == 0)
		return (-1);
	qsort(v, (size_t)k, sizeof *v, cmp_double);
	return (k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2);
}

#define MEDIAN_OF(field) do {						\
	for (i = 0; i < n; i++)						\
		v[i] = (double)rs[i].field;				\
	out->field = median(v, n);					\
} while (0)
#define MEDIAN_OF_INT(field, type) do {					\
	for (i = 0; i < n; i++)						\
		v[i] = (double)rs[i].field;				\
	out->field = (type)(median(v, n) + 0.5);			\
} while (0)
#define MAX_OF(field) do {						\
	for (i = 0; i < n; i++)						\
		if (rs[i].field > out->field)				\
			out->field = rs[i].field;			\
} while (0)

/*
 * Medians over the runs that worked; loss, misroutes, corruption and
 * late replies are the worst run's, so no bad run hides behind two good.
 */
static void
median_result(struct result *all, int nall, struct result *out)
{
	struct result	rs[MAXRUNS];
	double		v[MAXRUNS];
	int		i, n = 0;

	memset(out, 0, sizeof *out);
	for (i = 0; i < nall; i++) {
		if (all[i].ok)
			rs[n++] = all[i];
	}
	if (n == 0)
		return;
	out->ok = 1;
	MEDIAN_OF(secs);
	MEDIAN_OF(rate);
	MEDIAN_OF(p50);
	MEDIAN_OF(p99);
	MEDIAN_OF(p999);
	MEDIAN_OF(max);
	MEDIAN_OF(cpu[0]);
	MEDIAN_OF(cpu[1]);
	MEDIAN_OF(cpu_tun);
	MEDIAN_OF(cpu_echo);
	MEDIAN_OF(cpu_gen);
	MEDIAN_OF_INT(c.sent, uint64_t);
	MEDIAN_OF_INT(c.received, uint64_t);
	MEDIAN_OF_INT(idle_kb[0], long);
	MEDIAN_OF_INT(idle_kb[1], long);
	MEDIAN_OF_INT(peak_kb[0], long);
	MEDIAN_OF_INT(peak_kb[1], long);
	MAX_OF(c.lost);
	MAX_OF(c.misrouted);
	MAX_OF(c.corrupted);
	MAX_OF(c.late);
	MAX_OF(skipped);
}

/*
 * -s: the system calls of each tunnel end over exactly N round trips of
 * the w64x8 load, with the load paused while the tracer attaches.
 */
struct sc_count {
	char		name[40];
	uint64_t	calls;
};

struct tracer {
	const char		*tool;		/* "perf" or "strace" */
	const struct tunnel	*t;
	pid_t			 pid[2];
	int			 log[2];	/* its stderr */
	int			 out[2];	/* tmp slot of its -o file */
	int			 ctl[2], ack[2];	/* perf: ours */
	struct sc_count		*sc[2];
	int			 nsc[2];
	uint64_t		 total[2];
	int			 have[2];
};

static void
sc_add(struct tracer *tr, int end, const char *name, uint64_t calls)
{
	struct sc_count	*s;

	if (calls == 0)
		return;
	if ((tr->sc[end] = realloc(tr->sc[end], (size_t)(tr->nsc[end] + 1) *
	    sizeof *tr->sc[end])) == NULL)
		die("out of memory");
	s = &tr->sc[end][tr->nsc[end]++];
	snprintf(s->name, sizeof s->name, "%s", name);
	s->calls = calls;
}

static int
cmp_sc(const void *a, const void *b)
{
	const struct sc_count	*x = a, *y = b;

	return ((x->calls < y->calls) - (x->calls > y->calls));
}

/* perf stat -x, output: "count,unit,event,...". */
static void
parse_perf(struct tracer *tr, int end, char *text)
{
	char		*line, *next, *f[4];
	uint64_t	 v;
	int		 i;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '#' || *line == '\0')
			continue;
		f[0] = line;
		for (i = 1; i < 4; i++) {
			f[i] = f[i - 1] ? strchr(f[i - 1], ',') : NULL;
			if (f[i] != NULL)
				*f[i]++ = '\0';
		}
		if (f[2] == NULL)
			continue;
		v = *f[0] >= '0' && *f[0] <= '9' ? strtoull(f[0], NULL, 10) : 0;
		if (strcmp(f[2], "raw_syscalls:sys_enter") == 0) {
			tr->total[end] = v;
			tr->have[end] = 1;
		} else if (strncmp(f[2], "syscalls:sys_enter_", 19) == 0)
			sc_add(tr, end, f[2] + 19, v);
	}
}

/* strace -c: the table between two dashed lines, then "total". */
static void
parse_strace(struct tracer *tr, int end, char *text)
{
	char		*line, *next, *tok[8], *p;
	int		 dashes = 0, n;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "------", 6) == 0) {
			dashes++;
			continue;
		}
		if (dashes == 0)
			continue;
		n = 0;
		for (p = strtok(line, " \t"); p != NULL && n < 8;
		    p = strtok(NULL, " \t"))
			tok[n++] = p;
		if (n < 5)
			continue;
		if (dashes == 1)
			sc_add(tr, end, tok[n - 1],
			    strtoull(tok[3], NULL, 10));
		else if (strcmp(tok[n - 1], "total") == 0) {
			tr->total[end] = strtoull(tok[3], NULL, 10);
			tr->have[end] = 1;
		}
	}
}

/* Wait for "ack" from a perf control pipe. */
static int
perf_ack(int fd, pid_t pid)
{
	struct pollfd	pfd;
	char		buf[16];
	uint64_t	until = now_ns() + (uint64_t)ATTACH_MS * 1000000ULL;
	ssize_t		n;
	int		status;

	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) == 1) {
			n = read(fd, buf, sizeof buf - 1);
			if (n > 0) {
				buf[n] = '\0';
				return (strstr(buf, "ack") != NULL ? 0 : -1);
			}
			return (-1);
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			kid_del(pid);
			return (-1);
		}
		if (now_ns() >= until)
			return (-1);
	}
}

/*
 * The calls perf counts one by one, where the kernel has their
 * tracepoint; raw_syscalls:sys_enter counts them all. Not every call:
 * closing hundreds of tracepoint events takes the kernel seconds.
 */
static const char *perf_calls[] = {
	"read", "readv", "write", "writev", "recvfrom", "sendto", "recvmsg",
	"sendmsg", "recvmmsg", "sendmmsg", "epoll_wait", "epoll_pwait",
	"epoll_pwait2", "epoll_ctl", "poll", "ppoll", "select", "pselect6",
	"getsockopt", "setsockopt", "ioctl", "fcntl", "accept4", "close",
	"gettimeofday", "clock_gettime", "futex", "getpid", "timerfd_settime",
};
#define NPERF_CALLS	((int)(sizeof perf_calls / sizeof perf_calls[0]))

static int
tracepoint_exists(const char *call)
{
	char	path[128];

	snprintf(path, sizeof path,
	    "/sys/kernel/tracing/events/syscalls/sys_enter_%s", call);
	if (access(path, F_OK) == 0)
		return (1);
	snprintf(path, sizeof path,
	    "/sys/kernel/debug/tracing/events/syscalls/sys_enter_%s", call);
	return (access(path, F_OK) == 0);
}

static int
tracer_attach(struct tracer *tr, int end)
{
	static char	 evnames[NPERF_CALLS][64];
	char		 pidbuf[16], ctlarg[64], *argv[2 * NPERF_CALLS + 24];
	int		 c;
	char		*text;
	uint64_t	 until;
	int		 wfd, slot, a = 0, cp[2], ap[2], fd;

	snprintf(pidbuf, sizeof pidbuf, "%ld", (long)tr->t->pid[end]);
	/* The tool writes its own -o file: we only need the name. */
	fd = tmp_file(&wfd, &tr->out[end]);
	close(fd);
	close(wfd);
	tr->log[end] = tmp_file(&wfd, &slot);
	tmp_del(slot);
	if (strcmp(tr->tool, "perf") == 0) {
		if (pipe(cp) == -1 || pipe(ap) == -1)
			die("pipe: %s", strerror(errno));
		set_cloexec(cp[0]);
		set_cloexec(cp[1]);
		set_cloexec(ap[0]);
		set_cloexec(ap[1]);
		snprintf(ctlarg, sizeof ctlarg, "--control=fd:%d,%d", cp[0],
		    ap[1]);
		argv[a++] = (char *)"perf";
		argv[a++] = (char *)"stat";
		argv[a++] = (char *)"-x,";
		argv[a++] = (char *)"-o";
		argv[a++] = tmp_paths[tr->out[end]];
		argv[a++] = (char *)"--delay=-1";
		argv[a++] = ctlarg;
		argv[a++] = (char *)"-e";
		argv[a++] = (char *)"raw_syscalls:sys_enter";
		for (c = 0; c < NPERF_CALLS; c++) {
			if (!tracepoint_exists(perf_calls[c]))
				continue;
			snprintf(evnames[c], sizeof evnames[c],
			    "syscalls:sys_enter_%s", perf_calls[c]);
			argv[a++] = (char *)"-e";
			argv[a++] = evnames[c];
		}
		argv[a++] = (char *)"-p";
		argv[a++] = pidbuf;
		argv[a] = NULL;
		tr->pid[end] = spawn(argv, wfd, cp[0], ap[1]);
		close(wfd);
		close(cp[0]);
		close(ap[1]);
		tr->ctl[end] = cp[1];
		tr->ack[end] = ap[0];
		if (write(tr->ctl[end], "enable\n", 7) != 7 ||
		    perf_ack(tr->ack[end], tr->pid[end]) == -1) {
			warnx_("perf stat did not start counting on the %s"
			    " side", end_name[end]);
			log_show(tr->log[end], "perf", 10);
			return (-1);
		}
		return (0);
	}
	argv[a++] = (char *)"strace";
	argv[a++] = (char *)"-c";
	argv[a++] = (char *)"-f";
	argv[a++] = (char *)"-o";
	argv[a++] = tmp_paths[tr->out[end]];
	argv[a++] = (char *)"-p";
	argv[a++] = pidbuf;
	argv[a] = NULL;
	tr->pid[end] = spawn(argv, wfd, -1, -1);
	close(wfd);
	until = now_ns() + (uint64_t)ATTACH_MS * 1000000ULL;
	for (;;) {
		text = read_all(tr->log[end], NULL);
		a = strstr(text, "attached") != NULL;
		free(text);
		if (a)
			return (0);
		if (waitpid(tr->pid[end], &wfd, WNOHANG) == tr->pid[end]) {
			kid_del(tr->pid[end]);
			tr->pid[end] = 0;
			break;
		}
		if (now_ns() >= until)
			break;
		sleep_ms(5);
	}
	warnx_("strace did not attach to the %s side", end_name[end]);
	log_show(tr->log[end], "strace", 10);
	return (-1);
}

static int
tracer_detach(struct tracer *tr, int end)
{
	struct rusage	 ru;
	char		*text;
	size_t		 len;
	int		 status, fd, rc = 0;

	if (tr->pid[end] <= 0)
		return (-1);
	if (tr->ack[end] > 0) {
		if (write(tr->ctl[end], "disable\n", 8) != 8 ||
		    perf_ack(tr->ack[end], tr->pid[end]) == -1)
			rc = -1;
		close(tr->ctl[end]);
		close(tr->ack[end]);
		tr->ctl[end] = tr->ack[end] = -1;
	}
	/* Both tools print their summary on SIGINT; closing takes a while. */
	kill(tr->pid[end], SIGINT);
	if (!wait_exit(tr->pid[end], ATTACH_MS, &status, &ru)) {
		kill(tr->pid[end], SIGKILL);
		wait_exit(tr->pid[end], STOP_MS, &status, &ru);
		rc = -1;
	}
	tr->pid[end] = 0;
	if ((fd = open(tmp_paths[tr->out[end]], O_RDONLY)) != -1) {
		text = read_all(fd, &len);
		close(fd);
		if (strcmp(tr->tool, "perf") == 0)
			parse_perf(tr, end, text);
		else
			parse_strace(tr, end, text);
		free(text);
	}
	tmp_del(tr->out[end]);
	if (!tr->have[end]) {
		warnx_("%s: no count for the %s side", tr->tool,
		    end_name[end]);
		log_show(tr->log[end], tr->tool, 10);
		rc = -1;
	}
	close(tr->log[end]);
	tr->log[end] = -1;
	return (rc);
}

static int
tracer_hook(struct load *L, int start, void *arg)
{
	struct tracer	*tr = arg;
	int		 i, rc = 0;

	(void)L;
	for (i = 0; i < 2; i++) {
		if (start) {
			if (tracer_attach(tr, i) == -1)
				return (-1);
		} else if (tracer_detach(tr, i) == -1)
			rc = -1;
	}
	return (rc);
}

static void
print_sc(const struct tracer *tr, uint64_t n)
{
	double	dg = 2.0 * (double)n;
	int	end, i;

	for (end = 0; end < 2; end++) {
		printf("  %-7s %9llu calls  %6.3f per datagram  %6.3f per"
		    " round trip   ", end_name[end],
		    (unsigned long long)tr->total[end],
		    (double)tr->total[end] / dg, (double)tr->total[end] /
		    (double)n);
		for (i = 0; i < tr->nsc[end] && i < 6; i++)
			printf("%s%s %.3f", i ? ", " : "", tr->sc[end][i].name,
			    (double)tr->sc[end][i].calls / dg);
		printf("\n");
	}
}

static void
json_sc(const struct tracer *tr, uint64_t n, const struct result *r)
{
	double	dg = 2.0 * (double)n;
	int	end, i;

	printf("JSON {\"syscalls\":{\"tool\":\"%s\",\"workload\":\"w64x8\","
	    "\"round_trips\":%llu,\"datagrams_per_end\":%llu,", tr->tool,
	    (unsigned long long)n, (unsigned long long)(2 * n));
	json_num(stdout, "rt_per_s_traced", r->rate, 1);
	printf(",\"lost\":%llu", (unsigned long long)r->c.lost);
	for (end = 0; end < 2; end++) {
		printf(",\"%s\":{\"total\":%llu,\"per_datagram\":%.4f,"
		    "\"per_rt\":%.4f,\"by_call\":{", end_name[end],
		    (unsigned long long)tr->total[end],
		    (double)tr->total[end] / dg,
		    (double)tr->total[end] / (double)n);
		for (i = 0; i < tr->nsc[end]; i++)
			printf("%s\"%s\":%llu", i ? "," : "",
			    tr->sc[end][i].name,
			    (unsigned long long)tr->sc[end][i].calls);
		printf("}}");
	}
	printf("}}\n");
	fflush(stdout);
}

static int
run_syscalls(uint64_t n, const char *tools)
{
	const struct workload	*wl = &workloads[0];	/* w64x8 */
	const char		*names[2] = { "perf", "strace" };
	struct tracer		 tr;
	struct tunnel		 t;
	struct load		 L;
	struct snap		 none;
	struct result		 r;
	int			 k, i, rc, failures = 0, tried = 0;

	memset(&none, 0, sizeof none);
	for (k = 0; k < 2; k++) {
		if (strcmp(tools, "all") != 0 && strcmp(tools, names[k]) != 0)
			continue;
		if (!in_path(names[k])) {
			printf("\n%s: not installed, skipped\n", names[k]);
			continue;
		}
		tried++;
		memset(&tr, 0, sizeof tr);
		tr.tool = names[k];
		tr.t = &t;
		for (i = 0; i < 2; i++)
			tr.log[i] = tr.ctl[i] = tr.ack[i] = tr.out[i] = -1;
		load_init(&L, wl);
		L.count = n;
		L.hook = tracer_hook;
		L.hookarg = &tr;
		if (tunnel_start(&t, wl, L.flows[0].port) == -1) {
			tunnel_stop(&t, 1);
			flows_close(&L);
			failures++;
			continue;
		}
		loopback(&L.target, t.b2);
		L.from = L.target;
		rc = run_load(&L);
		for (i = 0; i < 2; i++) {
			if (tr.pid[i] > 0)
				tracer_detach(&tr, i);
		}
		if (tunnel_stop(&t, 0) == -1)
			rc = -1;
		summarise(&L, &none, &none, NULL, &r);
		printf("\nsystem calls of each tunnel end under %s (%s), %s"
		    " mode, over %llu round trips = %llu datagrams through"
		    " each end (request and reply), counted by %s:\n",
		    wl->name, wl->what, wl->automode ? "auto" : "fixed",
		    (unsigned long long)n, (unsigned long long)(2 * n),
		    strcmp(tr.tool, "perf") == 0 ?
		    "perf stat -e raw_syscalls:sys_enter (exact, low overhead)"
		    : "strace -c -f (slows the tunnel: batches differ)");
		if (rc == 0 && tr.have[0] && tr.have[1]) {
			for (i = 0; i < 2; i++)
				qsort(tr.sc[i], (size_t)tr.nsc[i],
				    sizeof *tr.sc[i], cmp_sc);
			print_sc(&tr, r.c.received ? r.c.received : n);
			printf("  load while traced: %.0f round trips/s, %llu"
			    " lost, %llu misrouted, %llu corrupted\n", r.rate,
			    (unsigned long long)r.c.lost,
			    (unsigned long long)r.c.misrouted,
			    (unsigned long long)r.c.corrupted);
			json_sc(&tr, r.c.received ? r.c.received : n, &r);
		} else {
			printf("  failed\n");
			failures++;
		}
		for (i = 0; i < 2; i++)
			free(tr.sc[i]);
		free(L.rtt);
		flows_close(&L);
	}
	if (tried == 0) {
		warnx_("no tracer to count with (perf or strace)");
		return (1);
	}
	return (failures ? 1 : 0);
}

static double
parse_secs(const char *opt, const char *s, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !(v >= min) ||
	    !(v <= max))
		die("%s: bad value \"%s\" (%g to %g)", opt, s, min, max);
	return (v);
}

static void
raise_nofile(rlim_t want)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;
	struct result		 res[NWORKLOADS][MAXRUNS][2], med[2];
	const char		*tools = "all";
	char			*list = NULL, *name, runbuf[16];
	uint64_t		 count = 100000;
	int			 ch, i, k, run, selected[NWORKLOADS];
	int			 syscalls = 0, failures = 0, any;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--syscalls") == 0)
			argv[i] = (char *)"-s";
		else if (strcmp(argv[i], "--help") == 0)
			argv[i] = (char *)"-h";
		else if (strcmp(argv[i], "--") == 0)
			break;
	}
	binary = getenv("UOT_BINARY");
	while ((ch = getopt(argc, argv, "b:d:W:r:w:vsn:T:h")) != -1) {
		switch (ch) {
		case 'b':
			binary = optarg;
			break;
		case 'd':
			opt_dur = parse_secs("-d", optarg, 0.1, 3600);
			break;
		case 'W':
			opt_warm = parse_secs("-W", optarg, 0, 600);
			break;
		case 'r':
			opt_runs = (int)parse_secs("-r", optarg, 1, MAXRUNS);
			break;
		case 'w':
			list = optarg;
			break;
		case 'v':
			opt_verbose = 1;
			break;
		case 's':
			syscalls = 1;
			break;
		case 'n':
			count = (uint64_t)parse_secs("-n", optarg, 1, 1e9);
			break;
		case 'T':
			tools = optarg;
			if (strcmp(tools, "perf") != 0 &&
			    strcmp(tools, "strace") != 0 &&
			    strcmp(tools, "all") != 0)
				die("-T: bad value \"%s\" (perf, strace or"
				    " all)", tools);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (binary == NULL || *binary == '\0')
		die("no binary to measure: set UOT_BINARY or give -b");
	if (access(binary, X_OK) == -1)
		die("%s: %s", binary, strerror(errno));

	for (i = 0; i < NWORKLOADS; i++)
		selected[i] = list == NULL;
	if (list != NULL) {
		if ((list = strdup(list)) == NULL)
			die("out of memory");
		for (name = strtok(list, ","); name != NULL;
		    name = strtok(NULL, ",")) {
			for (i = 0; i < NWORKLOADS; i++) {
				if (strcmp(name, workloads[i].name) == 0)
					break;
			}
			if (i == NWORKLOADS)
				die("-w: no workload \"%s\"", name);
			selected[i] = 1;
		}
		free(list);
	}

	main_pid = getpid();
	atexit(on_exit_cleanup);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((clk_tck = sysconf(_SC_CLK_TCK)) <= 0)
		clk_tck = 100;
	/* 1000 flows: ours, and (inherited) the listen side's. */
	raise_nofile(8192);

	pattern_init();
	echo_start();
#ifdef BENCH_PRCTL
	/* Our timers to the microsecond; children go back to the default. */
	prctl(PR_SET_TIMERSLACK, 1UL);
#endif
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("uot-bench: %s; echo at 127.0.0.1:%d; generator: %s, %s;"
	    " %ld CPUs online\n", binary, ntohs(echo_addr.sin_port),
#ifdef BENCH_EPOLL
	    "epoll",
#else
	    "poll",
#endif
#ifdef BENCH_MMSG
	    "recvmmsg/sendmmsg",
#else
	    "recvmsg/sendmsg",
#endif
	    sysconf(_SC_NPROCESSORS_ONLN));

	if (syscalls) {
		failures = run_syscalls(count, tools);
		stop_kid(echo_pid, &ch, NULL);
		return (failures);
	}

	for (i = 0; i < NWORKLOADS; i++) {
		if (!selected[i])
			continue;
		for (run = 0; run < opt_runs; run++) {
			if (run_one(&workloads[i], 0, &res[i][run][0]) == -1)
				failures++;
			if (run_one(&workloads[i], 1, &res[i][run][1]) == -1)
				failures++;
			snprintf(runbuf, sizeof runbuf, "; run %d", run + 1);
			print_head(&workloads[i], opt_runs > 1 ? runbuf : "");
			snprintf(runbuf, sizeof runbuf, "%d", run + 1);
			print_row("direct", &res[i][run][0], 0);
			print_row("tunnel", &res[i][run][1], 1);
			print_ratio(&res[i][run][0], &res[i][run][1]);
			json_line(&workloads[i], runbuf, &res[i][run][0],
			    &res[i][run][1]);
			if (res[i][run][1].c.misrouted > 0 ||
			    res[i][run][1].c.corrupted > 0)
				failures++;
		}
	}
	if (opt_runs > 1) {
		printf("\n==== medians of %d runs (loss, misrouted, corrupted:"
		    " the worst run) ====\n", opt_runs);
		any = 0;
		for (i = 0; i < NWORKLOADS; i++) {
			if (!selected[i])
				continue;
			any++;
			for (k = 0; k < 2; k++) {
				struct result	col[MAXRUNS];

				for (run = 0; run < opt_runs; run++)
					col[run] = res[i][run][k];
				median_result(col, opt_runs, &med[k]);
			}
			print_head(&workloads[i], "; median");
			print_row("direct", &med[0], 0);
			print_row("tunnel", &med[1], 1);
			print_ratio(&med[0], &med[1]);
			json_line(&workloads[i], "\"median\"", &med[0],
			    &med[1]);
		}
		(void)any;
	}
	stop_kid(echo_pid, &ch, NULL);
	return (failures ? 1 : 0);
}
