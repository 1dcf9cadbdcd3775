/* bench.h - the parts of uot-bench shared between its files. */
#ifndef UOT_BENCH_H
#define UOT_BENCH_H

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

/* -DBENCH_NO_EPOLL, -DBENCH_NO_MMSG: try the portable paths on Linux. */
#if defined(__linux__) && !defined(BENCH_NO_EPOLL)
#define BENCH_EPOLL	1
#endif
#if defined(HAVE_SYS_PRCTL_H) && defined(__linux__)
#include <sys/prctl.h>
#define BENCH_PRCTL	1
#endif
#if defined(HAVE_RECVMMSG) && defined(HAVE_SENDMMSG) && !defined(BENCH_NO_MMSG)
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

#define MAXSIZE		9000		/* largest datagram we send */
#define RBUFSIZE	(MAXSIZE + 64)	/* so a longer reply shows */
#define BATCH		64		/* datagrams per sendmmsg/recvmmsg */
#define ECHO_BATCH	64
#define LOSS_NS		1000000000ULL	/* no reply within 1 s: lost */
#define READY_MS	10000		/* for a tunnel end to say "-> up" */
#define STOP_MS		5000		/* for a child to exit after SIGTERM */
#define ATTACH_MS	15000		/* for a tracer to attach, or leave */
#define SOCKBUF		(4 * 1024 * 1024)
#define MAXCHILD	16
#define MAXRUNS		15
#define NSEC		1000000000ULL
#define UP_LINE		"-> up"

struct workload {
	const char	*name;
	int		 flows;
	size_t		 size;
	int		 window;	/* in flight per flow; 0: paced */
	int		 rate;		/* datagrams/s when paced */
	int		 automode;
	const char	*what;
	int		 peers;		/* > 0: that many connect sides, */
					/* --workers 1 against 2 (peers.c) */
};

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
	struct sockaddr_in	*targets;	/* ntargets > 0: flow i sends */
	int			 ntargets;	/* to targets[i % ntargets] */
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
	unsigned long long	busy;		/* ticks, all CPUs, anyone */
	int			tun_ok, echo_ok, busy_ok;
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
	double		 other_cpu;	/* % of all CPUs used by others */
};

/* uot-bench.c */
extern const struct workload	 workloads[];
extern const char		*binary;
extern double			 opt_dur, opt_warm;
extern int			 opt_runs, opt_verbose;
extern long			 clk_tck, ncpu;

/* util.c */
void	 die(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)))
		     __attribute__((__noreturn__));
void	 warnx_(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)));
uint64_t	 now_ns(void);
void	 sleep_ms(int);
void	*xcalloc(size_t, size_t);
uint32_t	 mix32(uint32_t);
int	 set_cloexec(int);
void	 loopback(struct sockaddr_in *, int);
int	 udp_socket(int, int);
int	 sock_port(int);
int	 free_ports(int, int *, int);
int	 same_addr(const struct sockaddr_in *, const struct sockaddr_in *);
char	*read_all(int, size_t *);
int	 in_path(const char *);

/* proc.c */
extern pid_t			 main_pid;
void	 kid_add(pid_t);
void	 kid_del(pid_t);
void	 on_exit_cleanup(void);
void	 on_signal(int);
int	 tmp_file(int *);
pid_t	 spawn(char *const [], int, int, int);
int	 wait_exit(pid_t, int, int *, struct rusage *);
void	 stop_kid(pid_t, int *, struct rusage *);
int	 log_has(int, const char *);
void	 log_show(int, const char *, int);
int	 proc_ticks(pid_t, unsigned long long *);
long	 proc_kb(pid_t, const char *);
double	 self_cpu(void);
int	 proc_busy(unsigned long long *);
void	 busy_warning(void);

/* tunnel.c */
extern pid_t			 echo_pid;
extern struct sockaddr_in	 echo_addr;
extern const char		*end_name[2];
void	 echo_start(void);
int	 tunnel_start(struct tunnel *, const struct workload *, int, int);
int	 tunnel_stop(struct tunnel *, int);
void	 snap_take(struct snap *, const struct tunnel *);

/* load.c */
void	 pattern_init(void);
void	 flows_close(struct load *);
int	 run_load(struct load *);
void	 load_init(struct load *, const struct workload *);

/* report.c */
void	 summarise(struct load *, const struct snap *, const struct snap *,
		     const struct tunnel *, struct result *);
void	 print_head(const struct workload *, const char *);
void	 print_row(const char *, const struct result *, int);
void	 print_ratio(const struct result *, const struct result *);
void	 print_compare(const char *, const struct result *,
		     const struct result *);
void	 json_num(FILE *, const char *, double, int);
void	 json_line(const struct workload *, const char *,
		     const struct result *, const struct result *);
void	 json_line_vs(const struct workload *, const char *,
		     const struct result *, const struct result *,
		     const char *, const struct result *);
void	 tls_verdict(const struct workload *, const struct result *,
		     const struct result *, int);
void	 median_result(struct result *, int, struct result *);

/* peers.c */
#define MAXPEERS	8		/* connect sides of one workload */
#define MAXWORKERS	8		/* listen-side workers measured */
struct spread {
	int		 n;		/* workers found */
	pid_t		 pid[MAXWORKERS];	/* in the order of their numbers */
	double		 cpu_us[MAXWORKERS];	/* per round trip */
	double		 sup_us;	/* the supervisor, per round trip */
	int		 peers[MAXWORKERS];	/* from its stats lines */
	double		 dgrams[MAXWORKERS];	/* udp in + tcp in, window */
	double		 us_dgram[MAXWORKERS];	/* CPU per datagram, or -1 */
	double		 us_per_dgram;	/* the listen side, all of it */
	double		 top_share;	/* largest worker's share of them */
};
int	 run_peers(const struct workload *, int, struct result *,
		     struct spread *);
void	 spread_median(const struct spread *, int, struct spread *);
void	 peers_print(const struct workload *, int, int,
		     const struct result *, const struct result *,
		     const struct result *, const struct spread *,
		     const struct spread *);
void	 peers_verdict(const struct workload *, const struct result *,
		     const struct result *, int);
void	 peers_caveat(void);

/* tls.c */
extern char			 tls_cert[], tls_key[], tls_pin[];
int	 tls_setup(const char *);
void	 tls_cleanup(void);

/* syscalls.c */
int	 run_syscalls(uint64_t, const char *);

#endif
