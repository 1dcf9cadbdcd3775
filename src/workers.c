/*
 * workers.c - the listen side on every core (--workers N): a supervisor
 * process and N worker processes, each a whole tunnel of its own (its
 * event loop, peers, flows, counters), so nothing is shared and nothing
 * locked, and a worker that crashes takes only its own peers with it.
 *
 * Each worker listens on the same address with SO_REUSEPORT, so the
 * system spreads the connections; where there is none (or systemd
 * passed the socket), the supervisor opens the one listening socket
 * and every worker accepts from it.
 *
 * The supervisor forwards SIGTERM, SIGINT, SIGHUP and SIGUSR1, restarts
 * a worker that dies (and gives up, stopping all, on one that keeps
 * dying), and sums the counters the workers publish in a shared page.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "addr.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "stats.h"
#include "tunnel.h"
#include "workers.h"

/* A worker dying this often in this long is not restarted again. */
#define WORKERS_DEATHS		5
#define WORKERS_DEATHS_S	60
/* After SIGUSR1, how long the workers have to publish their counters. */
#define WORKERS_REPORT_MS	300

/* What a worker publishes; the supervisor only reads. */
struct worker_slot {
	struct tunnel_totals	totals;
};

struct worker {
	pid_t			 pid;		/* 0: not running */
	time_t			 deaths[WORKERS_DEATHS];
	unsigned int		 ndeaths;
};

struct supervisor {
	struct event_base	*base;
	const struct options	*opts;
	workers_runfn		 run;
	void			*arg;
	struct worker		*w;
	unsigned int		 n;
	int			 stopping;
	int			 status;
	struct event		*report;
	struct tunnel_totals	 gone;		/* of workers since replaced */
	int			 activated_fd;	/* systemd's socket, or -1 */
};

/* In a worker: which one, its slot, and where it listens. */
static struct worker_slot	*workers_slots;
static unsigned int		 workers_self;	/* 1..N; 0: no workers */
static int			 workers_fd = -1;	/* shared socket */

int
workers_listen_fd(void)
{
	return (workers_self != 0 ? workers_fd : notify_listen_fd());
}

int
workers_reuseport(void)
{
	return (workers_self != 0 && workers_fd == -1);
}

/* In a worker: its counters, for the supervisor's sums. */
void
workers_publish(const struct tunnel_totals *tt)
{
	if (workers_self != 0)
		workers_slots[workers_self - 1].totals = *tt;
}

unsigned int
workers_count_auto(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	return (n < 1 ? 1 : n > OPTIONS_MAX_WORKERS ? OPTIONS_MAX_WORKERS :
	    (unsigned int)n);
}

static void
totals_add(struct tunnel_totals *sum, const struct tunnel_totals *tt)
{
	stats_add(&sum->stats, &tt->stats);
	sum->peers += tt->peers;
	sum->flows_active += tt->flows_active;
	sum->flows_created += tt->flows_created;
}

/* The sums, and each worker's share of what matters most. */
static void
supervisor_log_totals(struct supervisor *sv)
{
	struct tunnel_totals	 sum = sv->gone;
	const struct tunnel_totals *tt;
	char			 peers[512], in[512], out[512];
	size_t			 pl, il, ol;
	unsigned int		 i;

	pl = (size_t)snprintf(peers, sizeof peers, " (");
	il = (size_t)snprintf(in, sizeof in, " (");
	ol = (size_t)snprintf(out, sizeof out, " (");
	for (i = 0; i < sv->n; i++) {
		tt = &workers_slots[i].totals;
		totals_add(&sum, tt);
		if (pl < sizeof peers)
			pl += (size_t)snprintf(peers + pl, sizeof peers - pl,
			    "%s%u: %llu", i ? ", " : "", i + 1,
			    (unsigned long long)tt->peers);
		if (il < sizeof in)
			il += (size_t)snprintf(in + il, sizeof in - il,
			    "%s%u: %llu", i ? ", " : "", i + 1,
			    (unsigned long long)tt->stats.udp_in);
		if (ol < sizeof out)
			ol += (size_t)snprintf(out + ol, sizeof out - ol,
			    "%s%u: %llu", i ? ", " : "", i + 1,
			    (unsigned long long)tt->stats.tcp_in);
	}
	log_info("stats workers: peers %llu%s), udp in %llu%s), tcp in %llu%s)",
	    (unsigned long long)sum.peers, peers,
	    (unsigned long long)sum.stats.udp_in, in,
	    (unsigned long long)sum.stats.tcp_in, out);
	stats_log("total", &sum.stats);
	log_info("stats flows total: active %llu, created %llu",
	    (unsigned long long)sum.flows_active,
	    (unsigned long long)sum.flows_created);
}

static void
supervisor_reportcb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	supervisor_log_totals(arg);
}

static void
supervisor_forward(struct supervisor *sv, int sig)
{
	unsigned int	i;

	for (i = 0; i < sv->n; i++)
		if (sv->w[i].pid > 0)
			(void)kill(sv->w[i].pid, sig);
}

/* In the child: become worker i (0-based) and run the tunnel. */
static void
worker_main(struct supervisor *sv, unsigned int i)
{
	char	prefix[32];

	workers_self = i + 1;
	/* The supervisor's handlers stay with the supervisor. */
	signal(SIGCHLD, SIG_DFL);
	/* It alone speaks to systemd, which hears the main PID only. */
	(void)unsetenv("NOTIFY_SOCKET");
	snprintf(prefix, sizeof prefix, "worker %u: ", i + 1);
	log_set_prefix(prefix);
	memset(&workers_slots[i], 0, sizeof workers_slots[i]);
#if defined(HAVE_SYS_PRCTL_H) && defined(PR_SET_PDEATHSIG)
	/* A supervisor gone (even killed) takes its workers with it. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(1);
#endif
	/*
	 * The supervisor's loop is not ours: reinitialised first (its epoll
	 * set is the supervisor's too), then freed, its signals with it.
	 */
	if (event_reinit(sv->base) != 0)
		_exit(1);
	event_free(sv->report);
	event_base_free(sv->base);
	exit(sv->run(sv->arg));
}

static int
supervisor_start(struct supervisor *sv, unsigned int i)
{
	pid_t	pid;

	if ((pid = fork()) == -1) {
		log_warn("worker %u: fork", i + 1);
		return (-1);
	}
	if (pid == 0)
		worker_main(sv, i);
	sv->w[i].pid = pid;
	return (0);
}

/* A worker ended: expected while stopping; else say so and restart. */
static void
supervisor_reap(struct supervisor *sv, pid_t pid, int status)
{
	struct worker	*w = NULL;
	time_t		 now = time(NULL);
	char		 how[64];
	unsigned int	 i, recent;

	for (i = 0; i < sv->n; i++)
		if (sv->w[i].pid == pid) {
			w = &sv->w[i];
			break;
		}
	if (w == NULL)
		return;
	w->pid = 0;
	if (sv->stopping)
		return;
	/*
	 * A clean exit is a stop someone asked of the worker itself (a
	 * kill of the whole group, say): it is not restarted, and the
	 * supervisor ends with the last of them.
	 */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_info("worker %u (pid %ld) stopped; not restarted",
		    (unsigned int)(w - sv->w) + 1, (long)pid);
		return;
	}
	if (WIFSIGNALED(status))
		snprintf(how, sizeof how, "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof how, "exit status %d",
		    WEXITSTATUS(status));
	/* Its counters up to its last report stay in the sums. */
	totals_add(&sv->gone, &workers_slots[i].totals);
	sv->gone.peers -= workers_slots[i].totals.peers;
	sv->gone.flows_active -= workers_slots[i].totals.flows_active;
	memset(&workers_slots[i], 0, sizeof workers_slots[i]);

	w->deaths[w->ndeaths++ % WORKERS_DEATHS] = now;
	for (recent = 0, i = 0; i < WORKERS_DEATHS && i < w->ndeaths; i++)
		if (now - w->deaths[i] < WORKERS_DEATHS_S)
			recent++;
	i = (unsigned int)(w - sv->w);
	if (recent >= WORKERS_DEATHS) {
		log_warnx("worker %u (pid %ld) died: %s; it keeps dying: "
		    "stopping all", i + 1, (long)pid, how);
		sv->status = 1;
		sv->stopping = 1;
		supervisor_forward(sv, SIGTERM);
		return;
	}
	log_warnx("worker %u (pid %ld) died: %s; restarting it", i + 1,
	    (long)pid, how);
	if (supervisor_start(sv, i) != 0) {
		sv->status = 1;
		sv->stopping = 1;
		supervisor_forward(sv, SIGTERM);
	}
}

static void
supervisor_signalcb(evutil_socket_t sig, short events, void *arg)
{
	struct supervisor	*sv = arg;
	struct timeval		 tv = { 0, WORKERS_REPORT_MS * 1000 };
	unsigned int		 i, alive;
	pid_t			 pid;
	int			 status;

	(void)events;
	switch (sig) {
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			supervisor_reap(sv, pid, status);
		for (alive = 0, i = 0; i < sv->n; i++)
			alive += sv->w[i].pid > 0;
		if (alive == 0)
			event_base_loopexit(sv->base, NULL);
		return;
	case SIGUSR1:
		supervisor_forward(sv, SIGUSR1);
		evtimer_add(sv->report, &tv);
		return;
	case SIGHUP:
		supervisor_forward(sv, SIGHUP);
		return;
	default:	/* SIGTERM, SIGINT: each worker stops (or drains) */
		if (!sv->stopping)
			log_info("%s: stopping %u workers", strsignal((int)sig),
			    sv->n);
		sv->stopping = 1;
		/* Ours, the shared socket must close too for a drain. */
		if (workers_fd != -1 && workers_fd != sv->activated_fd) {
			close(workers_fd);
			workers_fd = -1;
		}
		supervisor_forward(sv, (int)sig);
		return;
	}
}

/* Where SO_REUSEPORT is not to be had: one socket, all workers on it. */
static int
workers_shared_socket(const struct options *opts)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			fd, one = 1;

	if (addr_numeric(&opts->tcp, &ss, &len) != 0)
		return (-1);
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		return (-1);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, 128) != 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/*
 * Runs n workers, each calling run(arg), until they have all stopped.
 * Returns the supervisor's exit status.
 */
int
workers_run(const struct options *opts, unsigned int n, workers_runfn run,
    void *arg)
{
	static const int	 sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGUSR1,
				    SIGHUP };
	struct event		*sigev[sizeof sigs / sizeof sigs[0]];
	struct supervisor	 sv;
	size_t			 i;
	const char		*how;
	char			 a[ADDR_HOSTLEN + 8];
	int			 activated;

	memset(&sv, 0, sizeof sv);
	sv.opts = opts;
	sv.run = run;
	sv.arg = arg;
	sv.n = n;
	if ((sv.w = calloc(n, sizeof *sv.w)) == NULL)
		fatal("calloc");
	workers_slots = mmap(NULL, n * sizeof *workers_slots, PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANON, -1, 0);
	if (workers_slots == MAP_FAILED)
		fatal("mmap");
	memset(workers_slots, 0, n * sizeof *workers_slots);

	how = "SO_REUSEPORT";
	activated = sv.activated_fd = notify_listen_fd();
#if HAVE_DECL_SO_REUSEPORT
	if (activated != -1)
#endif
	{
		snprintf(a, sizeof a, "%s:%u", opts->tcp.host, opts->tcp.port);
		if ((workers_fd = activated != -1 ? activated :
		    workers_shared_socket(opts)) == -1) {
			log_warn("--tcp-listen %s", a);
			return (1);
		}
		how = activated != -1 ? "the socket systemd passed" :
		    "one shared socket";
	}

	if ((sv.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((sv.report = evtimer_new(sv.base, supervisor_reportcb, &sv)) ==
	    NULL)
		fatalx("evtimer_new");
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigev[i] = evsignal_new(sv.base, sigs[i], supervisor_signalcb,
		    &sv);
		if (sigev[i] == NULL || event_add(sigev[i], NULL) != 0)
			fatalx("cannot catch signal %d", sigs[i]);
	}
	for (i = 0; i < n; i++)
		if (supervisor_start(&sv, (unsigned int)i) != 0) {
			sv.status = 1;
			sv.stopping = 1;
			supervisor_forward(&sv, SIGTERM);
			break;
		}
	if (!sv.stopping) {
		log_info("%u workers started (%s)", n, how);
		notify_ready("workers started");
	}
	event_base_dispatch(sv.base);

	supervisor_log_totals(&sv);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		event_free(sigev[i]);
	event_free(sv.report);
	event_base_free(sv.base);
	if (workers_fd != -1)
		close(workers_fd);
	munmap(workers_slots, n * sizeof *workers_slots);
	free(sv.w);
	return (sv.status);
}
