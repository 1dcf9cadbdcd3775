/*
 * uot-bench.c - the benchmark of udp-over-tcp ('make bench', issue 5).
 *
 *   uot-bench [-t] [-b BINARY] [-c BASELINE] [-d SECONDS] [-W SECONDS]
 *       [-r RUNS] [-w NAME,...]
 *   uot-bench -s [-b BINARY] [-n ROUNDTRIPS] [-T perf|strace|all]
 *
 * One invocation runs each workload twice: straight against a UDP echo
 * server, then through a fresh tunnel pair of the binary under test
 * ($UOT_BINARY or -b). For each it prints round trips/s, loss, misrouted
 * and corrupted datagrams, RTT p50/p99/p99.9/max, the tunnel's CPU per
 * round trip (both ends, user+sys from /proc/PID/stat), the peak RSS of
 * each end (VmHWM) and the tunnel/direct ratios: a table for people, and
 * one line per workload, starting "JSON ", for machines. With -c, each
 * run also goes through a tunnel of the BASELINE binary (an older build,
 * say), right after the one under test, and a row of new/baseline
 * ratios follows: the two are measured on the same machine at the same
 * time, so the ratios hold even where the machine is busy.
 *
 * With -t ('make bench' gives it), each run also goes through a TLS
 * tunnel of the binary under test (issue 13), right before or after the
 * plain one (the order alternates from run to run): the listen side has
 * a self-signed P-256 certificate made once per invocation by the
 * openssl command (tls.c), the connect side accepts it by --tls-pin.
 * A row of TLS/plain ratios follows (round trips/s, latency, CPU per
 * round trip), a JSON line "tls N" with them under "tls_vs_plain", and
 * at the end one verdict line per workload against issue 13's bounds:
 * CPU per round trip with TLS at most 1.5 times plain for 1200-byte
 * datagrams, round trips/s at least 0.7 times plain where that is a
 * throughput (1200-byte datagrams, 8 or more in flight: w1200x8,
 * flows64, bulk1200). Numbers only: a bound not met does not change the
 * exit status. If the binary has no TLS (its --version names no
 * OpenSSL) or openssl is missing, one line says so and the plain
 * results print as ever.
 *
 * peers8x64 (issue 14) is a many-peers workload, part of the default
 * set (about 10 s of a run with the default -d 3): one listen side in
 * auto mode, 8 connect sides (--udp-sendto 127.0.0.1:auto, each its own
 * --udp-bind), the generator's 512 flows spread over them (flow i to
 * connect side i % 8), run with --workers 1 and --workers 2 in turn
 * first from run to run (peers.c; -c and -t add no runs to it). Rows w1
 * and w2: round trips/s, and CPU per round trip of every process of the
 * tunnel (L: the supervisor and each worker, found as its children in
 * /proc; C: the 8 connect sides); a row of w2/w1 ratios; each worker's
 * share of the CPU, its peers and its datagrams (udp in + tcp in, from
 * the listen side's stats lines after a SIGUSR1 as the window opens and
 * another as it closes) and its CPU per datagram; the listen side's CPU
 * per datagram; JSON lines "workers1 N", "workers2 N" (with
 * workers2_vs_workers1) and "spread N"; at the end the run-for-run
 * ratios. On a machine of few CPUs the generator, echo server and
 * connect sides share them with the workers, so w2 cannot be twice w1:
 * one line says so, and one line, labelled an extrapolation, gives what
 * a 16-core relay would carry at the measured CPU per datagram (16 /
 * that, the listen side alone on the machine).
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
 *
 * Files: this one (options, a run, main), load.c (the generator),
 * tunnel.c (echo server, tunnel pair), report.c (table, JSON, medians,
 * the TLS verdict), tls.c (-t: certificate, key, pin), peers.c (the
 * many-peers workload, --workers 1 against 2), syscalls.c (-s),
 * proc.c (children, /proc), util.c, bench.h.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include "bench.h"

/*
 * The six workloads of issue 5, and bulk1200 (issue 13): a window of 64
 * lets each end batch, so its round trips/s are the tunnel's throughput
 * (w1200x8 and flows64 keep too few in flight to show what a full batch
 * costs); the figure TLS is held to. peers8x64 (issue 14): 8 connect
 * sides against one listen side, --workers 1 against 2.
 */
const struct workload workloads[] = {
	{ "w64x8", 1, 64, 8, 0, 0, "1 flow x 64 B, window 8", 0 },
	{ "w1200x8", 1, 1200, 8, 0, 0, "1 flow x 1200 B, window 8", 0 },
	{ "w1200x1", 1, 1200, 1, 0, 0, "1 flow x 1200 B, window 1", 0 },
	{ "bulk1200", 1, 1200, 64, 0, 0, "1 flow x 1200 B, window 64", 0 },
	{ "rate5k", 1, 200, 0, 5000, 0, "1 flow x 200 B at 5000/s", 0 },
	{ "flows64", 64, 1200, 1, 0, 1, "64 flows x 1200 B, window 1", 0 },
	{ "flows1000", 1000, 200, 1, 0, 1, "1000 flows x 200 B, window 1", 0 },
	{ "peers8x64", 512, 1200, 1, 0, 1, "8 connect sides x 64 flows x"
	    " 1200 B, window 1", 8 },
};
#define NWORKLOADS	((int)(sizeof workloads / sizeof workloads[0]))

const char		*binary;
static const char	*baseline;
static int		 opt_tls;
double			 opt_dur = 3.0, opt_warm = 0.5;
int			 opt_runs = 1, opt_verbose;
long			 clk_tck = 100, ncpu = 1;

static void	 usage(void) __attribute__((__noreturn__));
static int	 measure_hook(struct load *, int, void *);
static int	 run_one(const struct workload *, int, struct result *);
static double	 parse_secs(const char *, const char *, double, double);
static void	 raise_nofile(rlim_t);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: uot-bench [-tv] [-b BINARY] [-c BASELINE] [-d SECONDS]"
	    " [-W SECONDS] [-r RUNS] [-w NAME[,NAME...]]\n"
	    "       uot-bench -s|--syscalls [-b BINARY] [-n ROUNDTRIPS]"
	    " [-T perf|strace|all]\n"
	    "\n"
	    "  -b BINARY   the udp-over-tcp to measure (default $UOT_BINARY)\n"
	    "  -c BINARY   also measure this one, run for run, and compare\n"
	    "  -t          also measure BINARY with TLS on the link, run for"
	    " run,\n"
	    "              and compare with plain (issue 13's bounds)\n"
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

/*
 * One run of a workload: straight to the echo server (tunneled 0), or
 * through a tunnel, plain (1) or TLS (2).
 */
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
		if (tunnel_start(&t, wl, L.flows[0].port, tunneled == 2) ==
		    -1) {
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
	/* Columns: direct, tunnel, baseline (-c), TLS (-t), workers 2. */
	static struct result	 res[NWORKLOADS][MAXRUNS][5];
	static struct spread	 spr[NWORKLOADS][MAXRUNS][2];
	struct spread		 smed[2];
	struct result		 med[5];
	const char		*under_test;
	int			 col_used[4] = { 1, 1, 0, 0 };
	const char		*tools = "all";
	char			*list = NULL, *name, runbuf[16];
	uint64_t		 count = 100000;
	int			 ch, i, k, run, selected[NWORKLOADS];
	int			 syscalls = 0, failures = 0, many = 0, few = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--syscalls") == 0)
			argv[i] = (char *)"-s";
		else if (strcmp(argv[i], "--help") == 0)
			argv[i] = (char *)"-h";
		else if (strcmp(argv[i], "--") == 0)
			break;
	}
	binary = getenv("UOT_BINARY");
	while ((ch = getopt(argc, argv, "b:c:d:W:r:w:tvsn:T:h")) != -1) {
		switch (ch) {
		case 'b':
			binary = optarg;
			break;
		case 'c':
			baseline = optarg;
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
		case 't':
			opt_tls = 1;
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
	if (baseline != NULL && access(baseline, X_OK) == -1)
		die("%s: %s", baseline, strerror(errno));
	col_used[2] = baseline != NULL;
	under_test = binary;

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
	for (i = 0; i < NWORKLOADS; i++)
		if (selected[i] && workloads[i].peers > 0)
			many = 1;
		else if (selected[i])
			few = 1;

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
	if ((ncpu = sysconf(_SC_NPROCESSORS_ONLN)) <= 0)
		ncpu = 1;
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
	    ncpu);
	busy_warning();

	if (syscalls) {
		failures = run_syscalls(count, tools);
		stop_kid(echo_pid, &ch, NULL);
		return (failures);
	}
	if (opt_tls && tls_setup(binary) == -1)
		opt_tls = -1;		/* said why: left out */
	else if (opt_tls) {
		col_used[3] = 1;
		printf("uot-bench: TLS: each run also through a TLS tunnel"
		    " (--tls-cert, --tls-pin %s)\n", tls_pin);
	}
	if (many)
		peers_caveat();

	for (i = 0; i < NWORKLOADS; i++) {
		if (!selected[i])
			continue;
		for (run = 0; run < opt_runs; run++) {
			if (run_one(&workloads[i], 0, &res[i][run][0]) == -1)
				failures++;
			if (workloads[i].peers > 0) {
				/* --workers 1 and 2, in turn first. */
				for (k = 0; k < 2; k++) {
					int	w = (k + run) % 2;

					if (run_peers(&workloads[i], w + 1,
					    &res[i][run][w ? 4 : 1],
					    &spr[i][run][w]) == -1)
						failures++;
				}
				peers_print(&workloads[i], run + 1, opt_runs,
				    &res[i][run][0], &res[i][run][1],
				    &res[i][run][4], &spr[i][run][0],
				    &spr[i][run][1]);
				for (k = 1; k < 5; k += 3)
					if (res[i][run][k].c.misrouted > 0 ||
					    res[i][run][k].c.corrupted > 0)
						failures++;
				continue;
			}
			/* Plain and TLS one after the other, in turn first. */
			for (k = 0; k < 2; k++) {
				int	tls = (k + run) % 2 == 1;

				if (tls && !col_used[3])
					continue;
				if (run_one(&workloads[i], tls ? 2 : 1,
				    &res[i][run][tls ? 3 : 1]) == -1)
					failures++;
			}
			if (baseline != NULL) {
				binary = baseline;
				if (run_one(&workloads[i], 1, &res[i][run][2]) ==
				    -1)
					failures++;
				binary = under_test;
			}
			snprintf(runbuf, sizeof runbuf, "; run %d", run + 1);
			print_head(&workloads[i], opt_runs > 1 ? runbuf : "");
			snprintf(runbuf, sizeof runbuf, "%d", run + 1);
			print_row("direct", &res[i][run][0], 0);
			print_row("tunnel", &res[i][run][1], 1);
			if (baseline != NULL)
				print_row("base", &res[i][run][2], 1);
			if (col_used[3])
				print_row("tls", &res[i][run][3], 1);
			print_ratio(&res[i][run][0], &res[i][run][1]);
			if (baseline != NULL)
				print_compare("t/base", &res[i][run][2],
				    &res[i][run][1]);
			if (col_used[3])
				print_compare("tls/pl", &res[i][run][1],
				    &res[i][run][3]);
			json_line(&workloads[i], runbuf, &res[i][run][0],
			    &res[i][run][1]);
			if (baseline != NULL) {
				snprintf(runbuf, sizeof runbuf,
				    "\"baseline %d\"", run + 1);
				json_line(&workloads[i], runbuf,
				    &res[i][run][0], &res[i][run][2]);
			}
			if (col_used[3]) {
				snprintf(runbuf, sizeof runbuf, "\"tls %d\"",
				    run + 1);
				json_line_vs(&workloads[i], runbuf,
				    &res[i][run][0], &res[i][run][3],
				    "tls_vs_plain", &res[i][run][1]);
			}
			if (res[i][run][1].c.misrouted > 0 ||
			    res[i][run][1].c.corrupted > 0)
				failures++;
			if (col_used[3] && (res[i][run][3].c.misrouted > 0 ||
			    res[i][run][3].c.corrupted > 0))
				failures++;
		}
	}
	if (opt_runs > 1) {
		printf("\n==== medians of %d runs (loss, misrouted, corrupted:"
		    " the worst run) ====\n", opt_runs);
		for (i = 0; i < NWORKLOADS; i++) {
			if (!selected[i])
				continue;
			for (k = 0; k < 5; k++) {
				struct result	col[MAXRUNS];

				if (k < 4 ? !col_used[k] :
				    workloads[i].peers == 0)
					continue;
				for (run = 0; run < opt_runs; run++)
					col[run] = res[i][run][k];
				median_result(col, opt_runs, &med[k]);
			}
			if (workloads[i].peers > 0) {
				for (k = 0; k < 2; k++) {
					struct spread	col[MAXRUNS];

					for (run = 0; run < opt_runs; run++)
						col[run] = spr[i][run][k];
					spread_median(col, opt_runs, &smed[k]);
				}
				peers_print(&workloads[i], 0, opt_runs, &med[0],
				    &med[1], &med[4], &smed[0], &smed[1]);
				continue;
			}
			print_head(&workloads[i], "; median");
			print_row("direct", &med[0], 0);
			print_row("tunnel", &med[1], 1);
			if (baseline != NULL)
				print_row("base", &med[2], 1);
			if (col_used[3])
				print_row("tls", &med[3], 1);
			print_ratio(&med[0], &med[1]);
			if (baseline != NULL)
				print_compare("t/base", &med[2], &med[1]);
			if (col_used[3])
				print_compare("tls/pl", &med[1], &med[3]);
			json_line(&workloads[i], "\"median\"", &med[0],
			    &med[1]);
			if (baseline != NULL)
				json_line(&workloads[i], "\"baseline median\"",
				    &med[0], &med[2]);
			if (col_used[3])
				json_line_vs(&workloads[i], "\"tls median\"",
				    &med[0], &med[3], "tls_vs_plain", &med[1]);
		}
	}
	if (col_used[3] && few) {
		printf("\n==== TLS against plain, issue 13's bounds: cpu/rt <="
		    " 1.5 for 1200 B; rt/s >= 0.7 for 1200 B, 8+ in flight"
		    " ====\n");
		for (i = 0; i < NWORKLOADS; i++) {
			struct result	pl[MAXRUNS], tl[MAXRUNS];

			if (!selected[i] || workloads[i].peers > 0)
				continue;
			for (run = 0; run < opt_runs; run++) {
				pl[run] = res[i][run][1];
				tl[run] = res[i][run][3];
			}
			tls_verdict(&workloads[i], pl, tl, opt_runs);
		}
	}
	if (many) {
		printf("\n==== --workers 2 against --workers 1, many peers"
		    " ====\n");
		for (i = 0; i < NWORKLOADS; i++) {
			struct result	w1[MAXRUNS], w2[MAXRUNS];

			if (!selected[i] || workloads[i].peers == 0)
				continue;
			for (run = 0; run < opt_runs; run++) {
				w1[run] = res[i][run][1];
				w2[run] = res[i][run][4];
			}
			peers_verdict(&workloads[i], w1, w2, opt_runs);
		}
		peers_caveat();
	}
	if (opt_tls == -1)
		printf("\n==== TLS against plain: left out (see the TLS line at"
		    " the top) ====\n");
	stop_kid(echo_pid, &ch, NULL);
	return (failures ? 1 : 0);
}
