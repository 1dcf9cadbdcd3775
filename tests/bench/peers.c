/*
 * peers.c - the many-peers workload (issue 14): one listen side with
 * --workers N, several connect sides, the generator's flows spread over
 * them (flow i to connect side i % peers), all in auto mode.
 *
 * CPU is counted over the measured window for every process of the
 * tunnel: the listen side (with N > 1 the supervisor and each worker,
 * found as the supervisor's children, in the order it started them,
 * which is the order of their numbers) and each connect side. The
 * spread over workers comes from the listen side's own counters: a
 * SIGUSR1 as the window opens and another as it closes, and each
 * worker's stats lines of each (its peers, and udp in + tcp in summed
 * over them) taken one from the other.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include <dirent.h>

#include "bench.h"

#define ESTIMATE_CORES	16

struct farm {
	int		 nworkers, npeers;
	pid_t		 pid[1 + MAXPEERS];	/* listen, connect sides */
	int		 logfd[1 + MAXPEERS];
	int		 status[1 + MAXPEERS];
	int		 reaped[1 + MAXPEERS];
	int		 tport, bport[MAXPEERS];
	pid_t		 wpid[MAXWORKERS];	/* workers, or the listen side */
	int		 nw;
	long		 idle_kb[2], peak_kb[2];	/* sums, listen/connect */
};

struct fsnap {
	struct snap		 s;		/* tun[0]: listen, [1]: connect */
	unsigned long long	 sup, w[MAXWORKERS];
};

struct farm_ctx {
	struct farm	*f;
	struct fsnap	 start, end;
};

static int	 log_count(int, const char *);
static int	 children(pid_t, pid_t *, int);
static void	 farm_kb(struct farm *, long *);
static int	 farm_start(struct farm *, const struct workload *, int);
static int	 farm_stop(struct farm *, int);
static void	 farm_snap(struct fsnap *, const struct farm *);
static int	 farm_hook(struct load *, int, void *);
static int	 worker_counts(const char *, int, int, double *, int *);
static double	 med(double *, int);

/* How often needle is in the log behind fd. */
static int
log_count(int fd, const char *needle)
{
	char	*s, *p;
	int	 n = 0;

	s = read_all(fd, NULL);
	for (p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(s);
	return (n);
}

/* The children of pid, in the order they were started (Linux). */
static int
children(pid_t pid, pid_t *out, int max)
{
	char	 path[80], buf[512], *p, *end;
	ssize_t	 r;
	long	 v;
	int	 fd, n = 0;

	snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid,
	    (long)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return (0);
	r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return (0);
	buf[r] = '\0';
	for (p = buf; n < max; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		out[n++] = (pid_t)v;
	}
	return (n);
}

/* VmHWM summed over the listen side's processes, and the connect sides'. */
static void
farm_kb(struct farm *f, long *kb)
{
	long	v;
	int	i;

	kb[0] = kb[1] = 0;
	for (i = 0; i < f->nw; i++)
		if ((v = proc_kb(f->wpid[i], "VmHWM:")) > 0)
			kb[0] += v;
	if (f->nw > 0 && f->wpid[0] != f->pid[0] &&
	    (v = proc_kb(f->pid[0], "VmHWM:")) > 0)
		kb[0] += v;
	for (i = 1; i <= f->npeers; i++)
		if ((v = proc_kb(f->pid[i], "VmHWM:")) > 0)
			kb[1] += v;
}

/*
 * The listen side with --workers n, every worker listening before the
 * first connect side starts (else SO_REUSEPORT would give them all to
 * the first), then the connect sides, each with its own UDP port; up
 * when every connect side and the listen side (once per peer) says so.
 */
static int
farm_start(struct farm *f, const struct workload *wl, int n)
{
	char		 tl[32], nw[16], pl[32], uc[MAXPEERS][32];
	char		*argv[12];
	uint64_t	 until;
	int		 ports[MAXPEERS], wfd, i, ok, status;

	memset(f, 0, sizeof *f);
	f->nworkers = n;
	f->npeers = wl->peers;
	for (i = 0; i <= MAXPEERS; i++)
		f->logfd[i] = -1;
	free_ports(SOCK_STREAM, &f->tport, 1);
	free_ports(SOCK_DGRAM, ports, f->npeers);
	snprintf(tl, sizeof tl, "127.0.0.1:%d", f->tport);
	snprintf(pl, sizeof pl, "127.0.0.1:%d", ntohs(echo_addr.sin_port));
	snprintf(nw, sizeof nw, "%d", n);

	until = now_ns() + (uint64_t)READY_MS * 1000000ULL;
	argv[0] = (char *)binary;
	argv[1] = (char *)"-l";
	argv[2] = tl;
	argv[3] = (char *)"-u";
	argv[4] = (char *)"auto";
	argv[5] = (char *)"-p";
	argv[6] = pl;
	argv[7] = (char *)"--workers";
	argv[8] = nw;
	argv[9] = NULL;
	f->logfd[0] = tmp_file(&wfd);
	f->pid[0] = spawn(argv, wfd, -1, -1);
	close(wfd);
	while (log_count(f->logfd[0], "listening on") < n) {
		if (wait4(f->pid[0], &status, WNOHANG, NULL) == f->pid[0]) {
			kid_del(f->pid[0]);
			f->reaped[0] = 1;
			f->status[0] = status;
			warnx_("listen side (--workers %d) exited before it"
			    " listened", n);
			return (-1);
		}
		if (now_ns() >= until) {
			warnx_("listen side (--workers %d): not listening"
			    " within %d ms", n, READY_MS);
			return (-1);
		}
		sleep_ms(2);
	}

	for (i = 0; i < f->npeers; i++) {
		f->bport[i] = ports[i];
		snprintf(uc[i], sizeof uc[i], "127.0.0.1:%d", ports[i]);
		argv[1] = (char *)"-t";
		argv[2] = tl;
		argv[3] = (char *)"-u";
		argv[4] = uc[i];
		argv[5] = (char *)"-p";
		argv[6] = (char *)"127.0.0.1:auto";
		argv[7] = NULL;
		f->logfd[1 + i] = tmp_file(&wfd);
		f->pid[1 + i] = spawn(argv, wfd, -1, -1);
		close(wfd);
	}
	for (;;) {
		ok = log_count(f->logfd[0], UP_LINE) >= f->npeers;
		for (i = 0; i <= f->npeers; i++) {
			if (i > 0 && !log_has(f->logfd[i], UP_LINE))
				ok = 0;
			if (!f->reaped[i] && wait4(f->pid[i], &status,
			    WNOHANG, NULL) == f->pid[i]) {
				kid_del(f->pid[i]);
				f->reaped[i] = 1;
				f->status[i] = status;
				warnx_("%s side %d exited before it was up",
				    i ? "connect" : "listen", i);
				return (-1);
			}
		}
		if (ok)
			break;
		if (now_ns() >= until) {
			warnx_("%d connect sides and --workers %d: not all up"
			    " within %d ms", f->npeers, n, READY_MS);
			return (-1);
		}
		sleep_ms(2);
	}
	if (n > 1) {
		f->nw = children(f->pid[0], f->wpid, MAXWORKERS);
#ifndef __linux__
		/* No /proc: no per-worker CPU or spread, the rest stands. */
		if (f->nw == 0)
			return (0);
#endif
		if (f->nw != n) {
			warnx_("--workers %d: found %d workers under pid %ld",
			    n, f->nw, (long)f->pid[0]);
			return (-1);
		}
	} else {
		f->wpid[0] = f->pid[0];
		f->nw = 1;
	}
	farm_kb(f, f->idle_kb);
	return (0);
}

/* SIGTERM to all at once, then wait for each; -1 if one ended badly. */
static int
farm_stop(struct farm *f, int failed)
{
	uint64_t	 until;
	int		 i, st, bad, rc = 0;

	if (f->nw > 0)
		farm_kb(f, f->peak_kb);
	for (i = 0; i <= f->npeers; i++)
		if (f->pid[i] > 0 && !f->reaped[i])
			kill(f->pid[i], SIGTERM);
	until = now_ns() + (uint64_t)STOP_MS * 1000000ULL;
	for (i = 0; i <= f->npeers; i++) {
		if (f->pid[i] <= 0 || f->reaped[i])
			continue;
		if (!wait_exit(f->pid[i], (int)((until - now_ns()) / 1000000),
		    &f->status[i], NULL)) {
			warnx_("pid %ld did not exit after SIGTERM: killed",
			    (long)f->pid[i]);
			kill(f->pid[i], SIGKILL);
			wait_exit(f->pid[i], STOP_MS, &f->status[i], NULL);
		}
		f->reaped[i] = 1;
	}
	for (i = 0; i <= f->npeers; i++) {
		char	who[32];

		if (f->pid[i] <= 0)
			continue;
		if (i == 0)
			snprintf(who, sizeof who, "listen w%d", f->nworkers);
		else
			snprintf(who, sizeof who, "connect %d", i);
		st = f->status[i];
		bad = failed;
		if (WIFSIGNALED(st)) {
			warnx_("%s side died of signal %d", who, WTERMSIG(st));
			bad = 1;
		} else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
			warnx_("%s side exited with status %d", who,
			    WEXITSTATUS(st));
			bad = 1;
		}
		if (bad)
			rc = -1;
		if ((bad || opt_verbose) && f->logfd[i] != -1 &&
		    (i == 0 || bad))
			log_show(f->logfd[i], who, bad ? 30 : 0);
	}
	for (i = 0; i <= MAXPEERS; i++) {
		if (f->logfd[i] != -1)
			close(f->logfd[i]);
		f->logfd[i] = -1;
	}
	return (rc);
}

static void
farm_snap(struct fsnap *fs, const struct farm *f)
{
	unsigned long long	v;
	int			i, ok = 1;

	memset(fs, 0, sizeof *fs);
	if (proc_ticks(f->pid[0], &fs->sup) == -1)
		ok = 0;
	if (f->nw > 1)
		fs->s.tun[0] = fs->sup;
	for (i = 0; i < f->nw; i++) {
		if (proc_ticks(f->wpid[i], &fs->w[i]) == -1)
			ok = 0;
		fs->s.tun[0] += fs->w[i];
	}
	for (i = 1; i <= f->npeers; i++) {
		if (proc_ticks(f->pid[i], &v) == -1)
			ok = 0;
		fs->s.tun[1] += v;
	}
	fs->s.tun_ok = ok;
	fs->s.echo_ok = proc_ticks(echo_pid, &fs->s.echo) == 0;
	fs->s.self = self_cpu();
	fs->s.busy_ok = proc_busy(&fs->s.busy) == 0;
}

/* The window opens: counters, then CPU; it closes: CPU, then counters. */
static int
farm_hook(struct load *L, int start, void *arg)
{
	struct farm_ctx	*c = arg;

	(void)L;
	if (start) {
		kill(c->f->pid[0], SIGUSR1);
		farm_snap(&c->start, c->f);
	} else {
		farm_snap(&c->end, c->f);
		kill(c->f->pid[0], SIGUSR1);
	}
	return (0);
}

/*
 * From the listen side's log, worker w's (1-based; 0: no workers, no
 * prefix) stats of its k-th SIGUSR1 (0-based): udp in + tcp in summed
 * over its lines (each peer's, and its closed peers'), and its peers.
 * -1 if that report is not (yet) in the log.
 */
static int
worker_counts(const char *log, int w, int k, double *dgrams, int *peers)
{
	char		 prefix[48];
	const char	*p, *nl, *q;
	size_t		 plen;
	double		 sum = 0;
	int		 npeers = 0, batch = 0;

	if (w > 0)
		snprintf(prefix, sizeof prefix, "worker %d: stats ", w);
	else
		snprintf(prefix, sizeof prefix, "udp-over-tcp: stats ");
	plen = strlen(prefix);
	for (p = log; *p != '\0'; p = *nl ? nl + 1 : nl) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if ((q = strstr(p, prefix)) == NULL || q > nl)
			continue;
		q += plen;
		if (strncmp(q, "flows:", 6) == 0) {
			/* The last line of one report. */
			if (batch++ == k) {
				*dgrams = sum;
				*peers = npeers;
				return (0);
			}
			sum = 0;
			npeers = 0;
			continue;
		}
		if (strncmp(q, "workers:", 8) == 0 ||
		    strncmp(q, "total:", 6) == 0 ||
		    strncmp(q, "proxy:", 6) == 0)
			continue;
		if (strncmp(q, "of closed peers:", 16) != 0)
			npeers++;
		if ((q = strstr(q, "udp in ")) != NULL && q < nl)
			sum += strtod(q + 7, NULL);
		if ((q = strstr(p, "tcp in ")) != NULL && q < nl)
			sum += strtod(q + 7, NULL);
	}
	return (-1);
}

/*
 * One run of a many-peers workload through the binary under test with
 * --workers n: the result as for any tunnel (cpu[0] the listen side,
 * all its processes; cpu[1] all connect sides), and the spread.
 */
int
run_peers(const struct workload *wl, int n, struct result *r,
    struct spread *sp)
{
	struct sockaddr_in	 to[MAXPEERS];
	struct farm_ctx		 c;
	struct farm		 f;
	struct tunnel		 t;
	struct load		 L;
	uint64_t		 until;
	double			 rt, secs, d0, d1, total = 0;
	char			*log;
	int			 rc, i, p0, p1, counted = 1;

	memset(&c, 0, sizeof c);
	memset(r, 0, sizeof *r);
	memset(sp, 0, sizeof *sp);
	sp->us_per_dgram = sp->top_share = sp->sup_us = -1;
	load_init(&L, wl);
	if (farm_start(&f, wl, n) == -1) {
		farm_stop(&f, 1);
		flows_close(&L);
		return (-1);
	}
	c.f = &f;
	L.hook = farm_hook;
	L.hookarg = &c;
	for (i = 0; i < f.npeers; i++)
		loopback(&to[i], f.bport[i]);
	L.targets = to;
	L.ntargets = f.npeers;
	L.target = to[0];
	L.from = to[0];
	rc = run_load(&L);

	/* Every worker's second report: soon after the window closed. */
	until = now_ns() + 2 * NSEC;
	for (;;) {
		log = read_all(f.logfd[0], NULL);
		for (i = 0; i < f.nw; i++)
			if (worker_counts(log, n > 1 ? i + 1 : 0, 1, &d1,
			    &p1) == -1)
				break;
		if (i == f.nw || now_ns() >= until)
			break;
		free(log);
		sleep_ms(10);
	}
	sp->n = f.nw;
	for (i = 0; i < f.nw; i++) {
		sp->pid[i] = f.wpid[i];
		sp->cpu_us[i] = sp->us_dgram[i] = -1;
		if (worker_counts(log, n > 1 ? i + 1 : 0, 0, &d0, &p0) ==
		    -1 || worker_counts(log, n > 1 ? i + 1 : 0, 1, &d1,
		    &p1) == -1) {
			sp->dgrams[i] = -1;
			sp->peers[i] = -1;
			counted = 0;
			continue;
		}
		sp->dgrams[i] = d1 - d0;
		sp->peers[i] = p1;
		total += d1 - d0;
	}
	free(log);

	memset(&t, 0, sizeof t);
	t.pid[0] = f.pid[0];
	t.pid[1] = f.pid[1];
	if (farm_stop(&f, rc == -1) == -1)
		rc = -1;
	for (i = 0; i < 2; i++) {
		t.idle_hwm[i] = f.idle_kb[i];
		t.peak_hwm[i] = f.peak_kb[i];
	}
	summarise(&L, &c.start.s, &c.end.s, &t, r);
	r->ok = rc == 0;
	rt = (double)r->c.received;
	secs = 1.0 / (double)clk_tck;
	if (rt > 0 && c.start.s.tun_ok && c.end.s.tun_ok) {
		for (i = 0; i < f.nw; i++) {
			double	s = (double)(c.end.w[i] - c.start.w[i]) * secs;

			sp->cpu_us[i] = s * 1e6 / rt;
			if (sp->dgrams[i] > 0)
				sp->us_dgram[i] = s * 1e6 / sp->dgrams[i];
		}
		sp->sup_us = f.nw > 1 ? (double)(c.end.sup - c.start.sup) *
		    secs * 1e6 / rt : 0;
		/* Each round trip: a request and a reply through it. */
		sp->us_per_dgram = r->cpu[0] / 2;
	}
	if (counted && total > 0) {
		for (i = 0; i < f.nw; i++)
			if (sp->dgrams[i] / total > sp->top_share)
				sp->top_share = sp->dgrams[i] / total;
	}
	free(L.rtt);
	flows_close(&L);
	return (rc);
}

static double
med(double *v, int n)
{
	double	t;
	int	i, j, k = 0;

	for (i = 0; i < n; i++)
		if (v[i] >= 0)
			v[k++] = v[i];
	if (k == 0)
		return (-1);
	for (i = 1; i < k; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return (k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2);
}

/* The medians of what is not per worker (which worker gets what varies). */
void
spread_median(const struct spread *all, int n, struct spread *out)
{
	double	a[MAXRUNS], b[MAXRUNS], s[MAXRUNS];
	int	i;

	memset(out, 0, sizeof *out);
	for (i = 0; i < n; i++) {
		a[i] = all[i].us_per_dgram;
		b[i] = all[i].top_share;
		s[i] = all[i].sup_us;
	}
	out->us_per_dgram = med(a, n);
	out->top_share = med(b, n);
	out->sup_us = med(s, n);
}

void
peers_caveat(void)
{
	printf("uot-bench: many peers: %ld CPUs shared by the generator, the"
	    " echo server, the connect sides and the workers, so --workers 2"
	    " cannot be twice --workers 1 here: w2/w1 shows what splitting"
	    " the listen side costs (CPU per round trip) and how the"
	    " kernel's SO_REUSEPORT hash spreads the peers, not how far it"
	    " scales; that is extrapolated from the listen side's CPU per"
	    " datagram\n", ncpu);
}

/* One worker count's spread, on a line of its own. */
static void
spread_line(const char *label, const struct spread *sp)
{
	double	cpu = 0, dg = 0;
	int	i;

	for (i = 0; i < sp->n; i++) {
		if (sp->cpu_us[i] > 0)
			cpu += sp->cpu_us[i];
		if (sp->dgrams[i] > 0)
			dg += sp->dgrams[i];
	}
	printf("%-7s", label);
	for (i = 0; i < sp->n; i++) {
		printf("%s worker %d (pid %ld): cpu %.0f%%, peers %d,"
		    " datagrams %.0f%%, %.2f us/datagram", i ? ";" : "", i + 1,
		    (long)sp->pid[i], cpu > 0 && sp->cpu_us[i] >= 0 ?
		    sp->cpu_us[i] * 100 / cpu : -1.0, sp->peers[i],
		    dg > 0 && sp->dgrams[i] >= 0 ? sp->dgrams[i] * 100 / dg :
		    -1.0, sp->us_dgram[i]);
	}
	if (sp->n > 1)
		printf("; supervisor %.3f us/rt", sp->sup_us);
	printf("\n");
}

static void
estimate_line(const char *what, int workers, double us, size_t size)
{
	double	dps;

	if (us <= 0) {
		printf("extrapolation (--workers %d): no CPU per datagram\n",
		    workers);
		return;
	}
	dps = ESTIMATE_CORES / (us / 1e6);
	printf("extrapolation, not a measurement: a %d-core relay running"
	    " only the listen side (--workers %d), at the %s %.2f us of CPU"
	    " per datagram of --workers %d here, would carry about %.2f"
	    " million datagrams/s (%d / %.2f us), %.2f million round trips/s,"
	    " %.1f Gbit/s of %zu-byte datagrams both ways together; if the"
	    " cost per datagram stays flat up to %d workers (it need not:"
	    " memory, NIC queues and interrupts are not in it)\n",
	    ESTIMATE_CORES, ESTIMATE_CORES, what, us, workers, dps / 1e6,
	    ESTIMATE_CORES, us, dps / 2e6, dps * (double)size * 8 / 1e9, size,
	    ESTIMATE_CORES);
}

static void
json_spread(const char *key, const struct spread *sp)
{
	int	i;

	printf("\"%s\":{", key);
	json_num(stdout, "listen_cpu_us_per_datagram", sp->us_per_dgram, 3);
	putchar(',');
	json_num(stdout, "supervisor_cpu_us_per_rt", sp->sup_us, 3);
	putchar(',');
	json_num(stdout, "top_worker_datagram_share", sp->top_share, 3);
	putchar(',');
	json_num(stdout, "estimate_16core_datagrams_per_s",
	    sp->us_per_dgram > 0 ? ESTIMATE_CORES / (sp->us_per_dgram / 1e6) :
	    -1, 0);
	printf(",\"per_worker\":[");
	for (i = 0; i < sp->n; i++) {
		printf("%s{\"worker\":%d,\"pid\":%ld,\"peers\":%d,", i ? "," :
		    "", i + 1, (long)sp->pid[i], sp->peers[i]);
		json_num(stdout, "cpu_us_per_rt", sp->cpu_us[i], 3);
		putchar(',');
		json_num(stdout, "datagrams", sp->dgrams[i], 0);
		putchar(',');
		json_num(stdout, "cpu_us_per_datagram", sp->us_dgram[i], 3);
		putchar('}');
	}
	printf("]}");
}

/*
 * The table of a many-peers run (or of the medians: median > 0 runs):
 * direct, workers 1, workers 2, their ratios, the spread over workers,
 * the extrapolation; JSON lines "workers1 RUN", "workers2 RUN" (with
 * workers2_vs_workers1) and "spread RUN".
 */
void
peers_print(const struct workload *wl, int run, int runs,
    const struct result *d, const struct result *w1, const struct result *w2,
    const struct spread *s1, const struct spread *s2)
{
	char	lab[48], head[32], num[16];
	int	median = run == 0;

	snprintf(head, sizeof head, "; run %d", run);
	snprintf(num, sizeof num, "%d", run);
	print_head(wl, median ? "; median" : runs > 1 ? head : "");
	printf("(w1, w2: --workers 1, 2, one listen side; cpu L: the"
	    " supervisor and the workers, C: the %d connect sides; rss: sums)\n",
	    wl->peers);
	print_row("direct", d, 0);
	print_row("w1", w1, 1);
	print_row("w2", w2, 1);
	print_ratio(d, w1);
	print_compare("w2/w1", w1, w2);
	if (median) {
		printf("%-7s largest worker's share of the datagrams, median of"
		    " %d run%s: %.0f%%; supervisor %.3f us/rt\n", "spread",
		    runs, runs > 1 ? "s" : "", s2->top_share * 100,
		    s2->sup_us);
	} else {
		spread_line("w1", s1);
		spread_line("w2", s2);
	}
	printf("%-7s listen side's CPU per datagram (all its processes, a"
	    " round trip is 2): w1 %.2f us, w2 %.2f us\n", "listen",
	    s1->us_per_dgram, s2->us_per_dgram);
	estimate_line(median ? "median" : "measured", 2, s2->us_per_dgram,
	    wl->size);

	snprintf(lab, sizeof lab, "\"workers1 %s\"", median ? "median" : num);
	json_line(wl, lab, d, w1);
	snprintf(lab, sizeof lab, "\"workers2 %s\"", median ? "median" : num);
	json_line_vs(wl, lab, d, w2, "workers2_vs_workers1", w1);
	printf("JSON {\"workload\":\"%s\",\"run\":\"spread %s\",\"peers\":%d,"
	    "\"flows\":%d,", wl->name, median ? "median" : num, wl->peers,
	    wl->flows);
	json_spread("workers1", s1);
	putchar(',');
	json_spread("workers2", s2);
	printf("}\n");
	fflush(stdout);
}

/*
 * Workers 2 against workers 1, run for run: the medians of the ratios of
 * the runs where both worked (the machine is shared: the ratios of one
 * run hold better than the ratio of the medians).
 */
void
peers_verdict(const struct workload *wl, const struct result *w1,
    const struct result *w2, int n)
{
	double	rv[MAXRUNS], cv[MAXRUNS], rr, cr;
	int	i, k = 0;

	for (i = 0; i < n; i++) {
		if (!w1[i].ok || !w2[i].ok || w1[i].rate <= 0 ||
		    w1[i].cpu_tun <= 0 || w2[i].cpu_tun < 0)
			continue;
		rv[k] = w2[i].rate / w1[i].rate;
		cv[k] = w2[i].cpu_tun / w1[i].cpu_tun;
		k++;
	}
	rr = med(rv, k);
	cr = med(cv, k);
	printf("%-10s --workers 2 / --workers 1, run for run: rt/s %.3f,"
	    " cpu/rt %.2f (all processes of the tunnel); median of %d"
	    " run%s\n", wl->name, rr, cr, k, k == 1 ? "" : "s");
	printf("JSON {\"workload\":\"%s\",\"run\":\"workers verdict\","
	    "\"runs\":%d,\"workers2_vs_workers1\":{", wl->name, k);
	json_num(stdout, "rt_per_s", rr, 4);
	putchar(',');
	json_num(stdout, "cpu_us_per_rt", cr, 4);
	printf("}}\n");
	fflush(stdout);
}
