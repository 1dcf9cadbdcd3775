/*
 * syscalls.c - uot-bench -s: the system calls of each tunnel end over a
 * fixed number of round trips, counted by perf or strace.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include "bench.h"

struct tracer;

static void	 sc_add(struct tracer *, int, const char *, uint64_t);
static int	 cmp_sc(const void *, const void *);
static void	 parse_perf(struct tracer *, int, char *);
static void	 parse_strace(struct tracer *, int, char *);
static int	 perf_ack(int, pid_t);
static int	 tracepoint_exists(const char *);
static int	 tracer_attach(struct tracer *, int);
static int	 tracer_detach(struct tracer *, int);
static int	 tracer_hook(struct load *, int, void *);
static void	 print_sc(const struct tracer *, uint64_t);
static void	 json_sc(const struct tracer *, uint64_t,
		     const struct result *);

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
	int			 log[2];	/* its stderr: the counts too */
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
	int		 wfd, a = 0, cp[2], ap[2];

	snprintf(pidbuf, sizeof pidbuf, "%ld", (long)tr->t->pid[end]);
	/* Both tools write their counts to stderr: a file without a name. */
	tr->log[end] = tmp_file(&wfd);
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
	int		 status, rc = 0;

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
	text = read_all(tr->log[end], &len);
	if (strcmp(tr->tool, "perf") == 0)
		parse_perf(tr, end, text);
	else
		parse_strace(tr, end, text);
	free(text);
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

int
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
			tr.log[i] = tr.ctl[i] = tr.ack[i] = -1;
		load_init(&L, wl);
		L.count = n;
		L.hook = tracer_hook;
		L.hookarg = &tr;
		if (tunnel_start(&t, wl, L.flows[0].port, 0) == -1) {
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
