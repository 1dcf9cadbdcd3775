/*
 * main.c - parse the command line, set up logging and the event loop,
 * run the tunnel, and tear down in reverse order.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>

#ifdef HAVE_MALLOC_H
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fq.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "pin.h"
#include "tcp.h"
#include "tls.h"
#include "tunnel.h"
#include "workers.h"

/* How long a shutdown may spend writing out what is already framed. */
#define MAIN_FLUSH_MS		2000
#define MAIN_FLUSH_POLL_MS	20

struct main_ctx {
	struct event_base	*base;
	const struct options	*opts;
	struct tunnel		*tunnel;
	struct event		*flush;
	int			 flush_left_ms;
	struct event		*drain;		/* --drain-timeout */
	long long		 drain_left_ms;	/* > 0: draining */
	struct event		*publish;	/* a worker's counters */
};

/* What main_run needs: the command line and the TLS context. */
struct main_run {
	const struct options	*opts;
	struct tls_ctx		*tls;
};

/* How often a worker publishes its counters for the supervisor. */
#define MAIN_PUBLISH_S		1

/* How often a drain looks whether the peers are all gone. */
#define MAIN_DRAIN_POLL_MS	100

/*
 * Auto mode on the listen side spends one descriptor per flow: raise the
 * soft limit towards what --max-flows needs, as far as the hard limit
 * allows, and say so when it falls short.
 */
static void
main_raise_nofile(const struct options *opts)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)opts->max_flows + 64;

	if (!opts->udp_bind.is_auto || getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_cur >= want)
		return;
	rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want) ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_warnx("open files limited to %llu: fewer than --max-flows "
		    "%zu flows may get a socket", (unsigned long long)
		    rl.rlim_cur, opts->max_flows);
}

/* --print-pin: what the connect side's --tls-pin takes. */
static int
main_print_pin(const struct options *opts)
{
	unsigned char	pin[PIN_LEN];
	char		err[512], s[PIN_STRLEN];

	if (tls_library() == NULL) {
		fprintf(stderr, "udp-over-tcp: --print-pin: this build has no "
		    "TLS support (configure --with-openssl)\n");
		return (2);
	}
	if (tls_cert_pin(opts->tls_cert, pin, err, sizeof err) != 0) {
		fprintf(stderr, "udp-over-tcp: %s\n", err);
		return (2);
	}
	printf("%s\n", pin_format(pin, s, sizeof s));
	return (0);
}

/* The TLS context of the command line's files. */
static struct tls_ctx *
main_tls(const struct options *opts, char *err, size_t errlen)
{
	struct tls_config	tc;

	memset(&tc, 0, sizeof tc);
	tc.server = opts->side == SIDE_LISTEN;
	tc.cert_file = opts->tls_cert;
	tc.key_file = opts->tls_key;
	tc.ca_file = tc.server ? opts->tls_client_ca : opts->tls_ca;
	/* Without --tls-name, each server's own host (link.c). */
	tc.name = tc.server ? NULL : opts->tls_name;
	memcpy(tc.pins, opts->tls_pins, sizeof tc.pins);
	tc.npins = opts->ntls_pins;
	return (tls_ctx_new(&tc, err, errlen));
}

/*
 * Buffers of tens of KiB come and go with every batch (a read, its
 * records decrypted, a batch of records written). glibc would give the
 * top of the heap back to the system each time it frees them and take
 * it again on the next batch: brk(2) and page faults were a third of
 * the TLS path's CPU. Keep a few MiB of the top instead.
 */
static void
main_tune_malloc(void)
{
#if defined(HAVE_MALLOPT) && defined(M_TRIM_THRESHOLD) && defined(M_TOP_PAD)
	(void)mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
	(void)mallopt(M_TOP_PAD, 1024 * 1024);
#endif
}

static void
main_flushcb(evutil_socket_t fd, short events, void *arg)
{
	struct main_ctx	*ctx = arg;
	struct timeval	 tv = { 0, MAIN_FLUSH_POLL_MS * 1000 };

	(void)fd;
	(void)events;
	if (tunnel_pending(ctx->tunnel) == 0 || ctx->flush_left_ms <= 0) {
		event_base_loopexit(ctx->base, NULL);
		return;
	}
	ctx->flush_left_ms -= MAIN_FLUSH_POLL_MS;
	evtimer_add(ctx->flush, &tv);
}

/* A worker's counters, for the supervisor's sums (workers.c). */
static void
main_publishcb(evutil_socket_t fd, short events, void *arg)
{
	struct main_ctx		*ctx = arg;
	struct tunnel_totals	 tt;

	(void)fd;
	(void)events;
	tunnel_totals(ctx->tunnel, &tt);
	workers_publish(&tt);
}

/* Stopping: no more input, and a short while to write out the rest. */
static void
main_shutdown(struct main_ctx *ctx, const char *why)
{
	if (why != NULL)
		log_info("%s: shutting down", why);
	event_del(ctx->drain);
	ctx->drain_left_ms = 0;
	notify_stopping();
	tunnel_stop_input(ctx->tunnel);
	ctx->flush_left_ms = MAIN_FLUSH_MS;
	main_flushcb(-1, 0, ctx);
}

static void
main_draincb(evutil_socket_t fd, short events, void *arg)
{
	struct main_ctx	*ctx = arg;
	struct timeval	 tv = { 0, MAIN_DRAIN_POLL_MS * 1000 };
	size_t		 peers = tunnel_peers(ctx->tunnel);

	(void)fd;
	(void)events;
	if (peers == 0) {
		log_info("drain: every peer has gone");
		main_shutdown(ctx, NULL);
		return;
	}
	ctx->drain_left_ms -= MAIN_DRAIN_POLL_MS;
	if (ctx->drain_left_ms <= 0) {
		log_info("drain: --drain-timeout is over; the %zu peers still "
		    "here are closed", peers);
		main_shutdown(ctx, NULL);
		return;
	}
	evtimer_add(ctx->drain, &tv);
}

/*
 * SIGTERM with --drain-timeout: new peers go elsewhere, those here
 * have that long to leave (each connect side moves on when its link
 * closes, its queue kept), then the usual shutdown.
 */
static void
main_drain_start(struct main_ctx *ctx, int sig)
{
	log_info("%s: draining: no new peers; the %zu here have up to %u s",
	    strsignal(sig), tunnel_peers(ctx->tunnel),
	    ctx->opts->drain_timeout_s);
	notify_stopping();
	tunnel_drain(ctx->tunnel);
	ctx->drain_left_ms = (long long)ctx->opts->drain_timeout_s * 1000 +
	    MAIN_DRAIN_POLL_MS;
	main_draincb(-1, 0, ctx);
}

static void
main_signalcb(evutil_socket_t sig, short events, void *arg)
{
	struct main_ctx	*ctx = arg;

	(void)events;
	if (sig == SIGUSR1) {
		tunnel_log_stats(ctx->tunnel);
		main_publishcb(-1, 0, ctx);
		return;
	}
	if (sig == SIGHUP) {
		tunnel_reload(ctx->tunnel);
		return;
	}
	if (ctx->flush_left_ms > 0) {
		/* A second signal: stop now. */
		event_base_loopexit(ctx->base, NULL);
		return;
	}
	if (ctx->drain_left_ms > 0) {
		/* A second signal: the rest of the drain is skipped. */
		log_info("%s: drain cut short, %zu peers still here",
		    strsignal((int)sig), tunnel_peers(ctx->tunnel));
		main_shutdown(ctx, NULL);
		return;
	}
	if (ctx->opts->drain_timeout_s > 0) {
		main_drain_start(ctx, (int)sig);
		return;
	}
	main_shutdown(ctx, strsignal((int)sig));
}

/*
 * One whole tunnel: the program, or one of its --workers. Returns the
 * exit status.
 */
static int
main_run(void *arg)
{
	static const int	 sigs[] = { SIGINT, SIGTERM, SIGUSR1, SIGHUP };
	struct main_run		*run = arg;
	struct event		*sigev[sizeof sigs / sizeof sigs[0]];
	struct main_ctx		 ctx;
	struct tunnel_totals	 tt;
	struct timeval		 tv = { MAIN_PUBLISH_S, 0 };
	size_t			 i;
	int			 status = 1;

	memset(&ctx, 0, sizeof ctx);
	ctx.opts = run->opts;
	if ((ctx.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	/* Signals first: the tunnel starts working as soon as it exists. */
	if ((ctx.flush = evtimer_new(ctx.base, main_flushcb, &ctx)) == NULL ||
	    (ctx.drain = evtimer_new(ctx.base, main_draincb, &ctx)) == NULL ||
	    (ctx.publish = event_new(ctx.base, -1, EV_PERSIST, main_publishcb,
	    &ctx)) == NULL)
		fatalx("evtimer_new");
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigev[i] = evsignal_new(ctx.base, sigs[i], main_signalcb, &ctx);
		if (sigev[i] == NULL || event_add(sigev[i], NULL) != 0)
			fatalx("cannot catch signal %d", sigs[i]);
	}
	/* A tunnel that cannot start has said why; tear down all the same. */
	fq_set_total_limit(run->opts->queue_memory);
	if ((ctx.tunnel = tunnel_new(ctx.base, run->opts, run->tls)) != NULL) {
		if (run->opts->workers > 1)
			evtimer_add(ctx.publish, &tv);
		event_base_dispatch(ctx.base);
		tunnel_discard(ctx.tunnel);
		tunnel_log_stats(ctx.tunnel);
		tunnel_totals(ctx.tunnel, &tt);
		tt.peers = 0;
		tt.flows_active = 0;
		workers_publish(&tt);
		status = 0;
	}

	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		event_free(sigev[i]);
	event_free(ctx.flush);
	event_free(ctx.drain);
	event_free(ctx.publish);
	tunnel_free(ctx.tunnel);
	fq_pkt_cache_clear();
	event_base_free(ctx.base);
	return (status);
}

int
main(int argc, char *argv[])
{
	struct options		 opts;
	struct main_run		 run;
	struct tls_ctx		*tls = NULL;
	char			 err[512];
	int			 status;

	switch (options_parse(&opts, argc, argv, err, sizeof err)) {
	case OPTIONS_HELP:
		options_usage(stdout);
		return (0);
	case OPTIONS_VERSION:
		printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		/* What this build can do, for packagers and bug reports. */
		printf("built with: libevent %s", event_get_version());
#ifdef HAVE_LIBSYSTEMD
		printf(", systemd");
#endif
#if defined(HAVE_RECVMMSG) && defined(HAVE_SENDMMSG)
		printf(", recvmmsg/sendmmsg");
#endif
#if HAVE_DECL_TCP_USER_TIMEOUT
		printf(", TCP_USER_TIMEOUT");
#endif
#if HAVE_DECL_TCP_NOTSENT_LOWAT
		printf(", TCP_NOTSENT_LOWAT");
#endif
#if HAVE_DECL_SO_REUSEPORT
		printf(", SO_REUSEPORT");
#endif
		if (tls_library() != NULL)
			printf(", %s", tls_library());
		printf("\n");
		return (0);
	case OPTIONS_PRINT_PIN:
		return (main_print_pin(&opts));
	case OPTIONS_ERROR:
		fprintf(stderr, "udp-over-tcp: %s\n", err);
		return (2);
	case OPTIONS_RUN:
		break;
	}
	/* Refused now, not by every link: the limits are the system's. */
	if (tcp_keepalive_check(opts.keepalive_s, err, sizeof err) != 0) {
		fprintf(stderr, "udp-over-tcp: %s\n", err);
		return (2);
	}
	/* Wrong TLS files are found now, with one line, not by a peer. */
	if (opts.tls && tls_library() == NULL) {
		fprintf(stderr, "udp-over-tcp: --%s: this build has no TLS "
		    "support (configure --with-openssl)\n", opts.tls_cert !=
		    NULL ? "tls-cert" : "tls");
		return (2);
	}
	if (opts.tls && (tls = main_tls(&opts, err, sizeof err)) == NULL) {
		fprintf(stderr, "udp-over-tcp: %s\n", err);
		return (2);
	}
	log_init("udp-over-tcp", opts.verbosity, opts.syslog_facility);

	/* A peer that vanishes must not kill us on the next write. */
	signal(SIGPIPE, SIG_IGN);
	main_raise_nofile(&opts);
	main_tune_malloc();

	run.opts = &opts;
	run.tls = tls;
	if (opts.workers == 0)
		opts.workers = workers_count_auto();
	if (opts.workers > 1)
		status = workers_run(&opts, opts.workers, main_run, &run);
	else
		status = main_run(&run);
	tls_ctx_free(tls);
	return (status);
}
