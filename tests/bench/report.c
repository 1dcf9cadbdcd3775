/*
 * report.c - results of a run: percentiles, CPU per round trip, the
 * table, the JSON lines, medians over runs.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include "bench.h"

static int	 cmp_u32(const void *, const void *);
static double	 pct(const uint32_t *, size_t, double);
static double	 tv_secs(const struct timeval *);
static void	 fmt_num(char *, size_t, double, int);
static double	 ratio(double, double);
static void	 json_result(FILE *, const char *, const struct result *, int);
static int	 cmp_double(const void *, const void *);
static double	 median(double *, int);

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

void
summarise(struct load *L, const struct snap *a, const struct snap *b,
    const struct tunnel *t, struct result *r)
{
	double	rt, ours;
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
	/* What the machine spent beyond us, the echo and the tunnel. */
	r->other_cpu = -1;
	if (a->busy_ok && b->busy_ok && r->secs > 0) {
		ours = (double)(b->self - a->self) * (double)clk_tck;
		if (a->echo_ok && b->echo_ok)
			ours += (double)(b->echo - a->echo);
		if (a->tun_ok && b->tun_ok)
			ours += (double)(b->tun[0] - a->tun[0]) +
			    (double)(b->tun[1] - a->tun[1]);
		r->other_cpu = ((double)(b->busy - a->busy) - ours) * 100 /
		    ((double)clk_tck * (double)ncpu * r->secs);
		if (r->other_cpu < 0)
			r->other_cpu = 0;
	}
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
fmt_num(char *buf, size_t size, double v, int decimals)
{
	if (v < 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.*f", decimals, v);
}

void
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

void
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
	if (r->other_cpu >= 10)
		printf("%-7s other processes used %.0f%% of the CPUs meanwhile\n",
		    "", r->other_cpu);
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

void
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

/*
 * One tunnel against another, on a row labelled label: rate, latency,
 * CPU (the one under test against the baseline's, TLS against plain).
 */
void
print_compare(const char *label, const struct result *base,
    const struct result *t)
{
	char	a[16], b[16], c[16], e[16], f[16], g[16];

	fmt_num(a, sizeof a, ratio(t->rate, base->rate), 3);
	fmt_num(b, sizeof b, ratio(t->p50, base->p50), 2);
	fmt_num(c, sizeof c, ratio(t->p99, base->p99), 2);
	fmt_num(e, sizeof e, ratio(t->p999, base->p999), 2);
	fmt_num(f, sizeof f, ratio(t->max, base->max), 2);
	fmt_num(g, sizeof g, ratio(t->cpu_tun, base->cpu_tun), 2);
	printf("%-7s %10s %10s %6s %6s %6s %8s %8s %8s %9s %19s\n", label,
	    a, "", "", "", "", b, c, e, f, g);
}

void
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
	fputc(',', fp);
	json_num(fp, "other_cpu_pct", r->other_cpu, 1);
	fputc('}', fp);
}

void
json_line(const struct workload *wl, const char *run,
    const struct result *d, const struct result *t)
{
	json_line_vs(wl, run, d, t, NULL, NULL);
}

/* json_line(), and with key, the ratios of t to base under that key. */
void
json_line_vs(const struct workload *wl, const char *run,
    const struct result *d, const struct result *t, const char *key,
    const struct result *base)
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
	fputc('}', stdout);
	if (key != NULL) {
		fprintf(stdout, ",\"%s\":{", key);
		json_num(stdout, "rt_per_s", ratio(t->rate, base->rate), 4);
		fputc(',', stdout);
		json_num(stdout, "cpu_us_per_rt",
		    ratio(t->cpu_tun, base->cpu_tun), 4);
		fputc(',', stdout);
		json_num(stdout, "p50", ratio(t->p50, base->p50), 3);
		fputc(',', stdout);
		json_num(stdout, "p99", ratio(t->p99, base->p99), 3);
		fputc(',', stdout);
		json_num(stdout, "p99.9", ratio(t->p999, base->p999), 3);
		fputc(',', stdout);
		json_num(stdout, "max", ratio(t->max, base->max), 3);
		fputc('}', stdout);
	}
	fputs("}\n", stdout);
	fflush(stdout);
}

/*
 * Issue 13's bounds on TLS: CPU per round trip at most 1.5 times the
 * plain tunnel's for 1200-byte datagrams; round trips/s at least 0.7
 * times plain where that is a throughput, 1200-byte datagrams kept 8 or
 * more in flight (one in flight measures latency; a paced load, the
 * pace). The ratios are the medians of the run-for-run ratios of the
 * runs where both tunnels worked.
 */
#define TLS_CPU_MAX	1.5
#define TLS_RATE_MIN	0.7
void
tls_verdict(const struct workload *wl, const struct result *plain,
    const struct result *tls, int n)
{
	double	rv[MAXRUNS], cv[MAXRUNS], rr, cr;
	char	rs[96], cs[96];
	int	i, k = 0, cpu_bound, rate_bound;

	for (i = 0; i < n; i++) {
		if (!plain[i].ok || !tls[i].ok)
			continue;
		rv[k] = ratio(tls[i].rate, plain[i].rate);
		cv[k] = ratio(tls[i].cpu_tun, plain[i].cpu_tun);
		k++;
	}
	rr = median(rv, k);
	cr = median(cv, k);
	cpu_bound = wl->size == 1200;
	rate_bound = wl->size == 1200 && wl->window > 0 &&
	    wl->flows * wl->window >= 8;
	if (rr < 0)
		snprintf(rs, sizeof rs, "rt/s -");
	else if (rate_bound)
		snprintf(rs, sizeof rs, "rt/s %.3f (>= %.1f: %s)", rr,
		    TLS_RATE_MIN, rr >= TLS_RATE_MIN ? "met" : "NOT MET");
	else
		snprintf(rs, sizeof rs, "rt/s %.3f (no bound: %s)", rr,
		    wl->window == 0 ? "paced" : wl->size != 1200 ?
		    "not 1200 B" : "one in flight");
	if (cr < 0)
		snprintf(cs, sizeof cs, "cpu/rt -");
	else if (cpu_bound)
		snprintf(cs, sizeof cs, "cpu/rt %.2f (<= %.1f: %s)", cr,
		    TLS_CPU_MAX, cr <= TLS_CPU_MAX ? "met" : "NOT MET");
	else
		snprintf(cs, sizeof cs, "cpu/rt %.2f (no bound: not 1200 B)",
		    cr);
	printf("%-10s %s, %s", wl->name, rs, cs);
	if (k == 0)
		printf("; no run where both tunnels worked\n");
	else if (n > 1)
		printf("; median of %d run%s\n", k, k > 1 ? "s" : "");
	else
		printf("\n");
	printf("JSON {\"workload\":\"%s\",\"run\":\"tls verdict\","
	    "\"runs\":%d,\"tls_vs_plain\":{", wl->name, k);
	json_num(stdout, "rt_per_s", rr, 4);
	fputc(',', stdout);
	json_num(stdout, "cpu_us_per_rt", cr, 4);
	fputs("},\"bounds\":{", stdout);
	if (rate_bound)
		printf("\"rt_per_s_min\":%.1f,\"rt_per_s_met\":%s,",
		    TLS_RATE_MIN, rr < 0 ? "null" : rr >= TLS_RATE_MIN ?
		    "true" : "false");
	else
		printf("\"rt_per_s_min\":null,\"rt_per_s_met\":null,");
	if (cpu_bound)
		printf("\"cpu_us_per_rt_max\":%.1f,\"cpu_us_per_rt_met\":%s",
		    TLS_CPU_MAX, cr < 0 ? "null" : cr <= TLS_CPU_MAX ?
		    "true" : "false");
	else
		printf("\"cpu_us_per_rt_max\":null,"
		    "\"cpu_us_per_rt_met\":null");
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
void
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
	MEDIAN_OF(other_cpu);
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
