/*
 * link.c - one TCP connection between the two ends and the state machine
 * that owns its life. Every flow of the link sends through link_send():
 * while up, into the TCP output or the fair queue in front of it; while
 * not, into one bounded queue, which joins the fair queue when the link
 * comes up.
 *
 * Connect side:  BACKOFF -> RESOLVING -> CONNECTING -> UP -> BACKOFF ...
 * Listen side:   CLOSED -> UP (link_attach) -> CLOSED
 *
 * This file is the state machine; the bytes of an up link (reads,
 * frames in and out, the write path) are in link_read.c and
 * link_write.c.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "addr.h"
#include "handshake.h"
#include "link.h"
#include "link_private.h"
#include "log.h"
#include "resolve.h"
#include "tcp.h"


static void	link_set_state(struct link *, enum link_state, const char *);
static void	link_resolve(struct link *);
static void	link_try_next(struct link *);
static void	link_up(struct link *, const char *);
static void	link_drop_connection(struct link *);
static void	link_eventcb(struct bufferevent *, short, void *);
static void	link_connect_failed(struct link *, const char *);
static void	link_dnscb(int, struct addrinfo *, void *);
static void	link_timercb(evutil_socket_t, short, void *);
static void	link_handshakecb(struct handshake *, enum handshake_result,
		    void *);

/*
 * Accepted connections come and go at a stranger's pace: their up and
 * down lines share one limit, a burst and then a count, so that churn
 * cannot fill the disk while the first lines still show.
 */
#define LINK_CONN_LINES		100
#define LINK_CONN_PERIOD_S	60
static struct log_ratelimit	link_conn_rl = { 0, 0, 0, LINK_CONN_LINES,
				    LINK_CONN_PERIOD_S, "connection lines" };

static const char *link_state_names[] = {
	"closed", "backoff", "resolving", "connecting", "up"
};

/* The fair queue's settings, from the link's. */
static void
link_fq_config(const struct link_config *cfg, struct fq_config *fc)
{
	uint64_t	interval_ms;

	memset(fc, 0, sizeof *fc);
	if (frame_has_address(cfg->framing)) {
		/* A flow frame names its client after the length field. */
		fc->key_off = 4;
		fc->key_len = FRAME_FLOW_ADDRLEN;
	}
	interval_ms = (uint64_t)cfg->target_ms * LINK_CODEL_INTERVALS;
	if (interval_ms < LINK_CODEL_INTERVAL_MIN_MS)
		interval_ms = LINK_CODEL_INTERVAL_MIN_MS;
	fc->target_us = (uint64_t)cfg->target_ms * 1000;
	fc->interval_us = interval_ms * 1000;
	fc->max_delay_us = (uint64_t)cfg->max_delay_ms * 1000;
	fc->limit = cfg->queue_size > LINK_FQ_LIMIT_MIN ? cfg->queue_size :
	    LINK_FQ_LIMIT_MIN;
	fc->quantum = LINK_FQ_QUANTUM;
}

struct link *
link_new(struct event_base *base, const struct link_config *cfg,
    const struct link_cbs *cbs, void *arg)
{
	struct link	*link;
	struct fq_config fc;

	if ((link = calloc(1, sizeof *link)) == NULL)
		return (NULL);
	link->base = base;
	link->cfg = *cfg;
	link->cbs = *cbs;
	link->arg = arg;
	link->state = LINK_CLOSED;
	snprintf(link->peer, sizeof link->peer, "(no peer)");
	link_fq_config(cfg, &fc);
	if ((link->queue = evbuffer_new()) == NULL ||
	    (link->fq = fq_new(&fc)) == NULL ||
	    (link->write_ev = event_new(base, -1, 0, link_writablecb, link)) ==
	    NULL ||
	    (link->in = evbuffer_new()) == NULL ||
	    (link->queue_ledger = ledger_new()) == NULL ||
	    (link->out_ledger = ledger_new()) == NULL ||
	    (link->push_ev = event_new(base, -1, 0, link_pushcb, link)) ==
	    NULL ||
	    (link->timer = evtimer_new(base, link_timercb, link)) == NULL ||
	    (link->settle_timer = evtimer_new(base, link_settle_timercb,
	    link)) == NULL) {
		link_free(link);
		return (NULL);
	}
	return (link);
}

/* Frees everything, calling back nobody; safe from the link's callbacks. */
void
link_free(struct link *link)
{
	if (link == NULL)
		return;
	/* Never calls back, even with the loop stopped (issue 11, 5). */
	resolve_cancel(link->dns_req);
	link->dns_req = NULL;
	link_drop_connection(link);
	while (link->nservers > 0)
		free(link->servers[--link->nservers].host);
	if (link->ai_list != NULL)
		evutil_freeaddrinfo(link->ai_list);
	if (link->timer != NULL)
		event_free(link->timer);
	if (link->settle_timer != NULL)
		event_free(link->settle_timer);
	if (link->queue != NULL)
		evbuffer_free(link->queue);
	if (link->in != NULL)
		evbuffer_free(link->in);
	ledger_free(link->queue_ledger);
	ledger_free(link->out_ledger);
	if (link->push_ev != NULL)
		event_free(link->push_ev);
	if (link->write_ev != NULL)
		event_free(link->write_ev);
	fq_free(link->fq);
	free(link);
}

enum link_state
link_state(const struct link *link)
{
	return (link->state);
}

const char *
link_state_name(enum link_state state)
{
	if ((size_t)state >= sizeof link_state_names / sizeof
	    link_state_names[0])
		return ("?");
	return (link_state_names[state]);
}

const char *
link_peer(const struct link *link)
{
	return (link->peer);
}

struct stats *
link_stats(struct link *link)
{
	const struct fq_drops	*d = fq_drops(link->fq);

	if (link->bev != NULL)
		link_out_sync(link);
	link->stats.drop_codel = d->codel;
	link->stats.drop_too_old = d->too_old;
	link->stats.drop_overlimit = d->overlimit;
	return (&link->stats);
}

/*
 * The program is stopping: what is still queued, or framed and not yet
 * taken by the system, will never be sent. Count it, once.
 */
void
link_discard(struct link *link)
{
	struct fq_pkt	*p;

	link_settle_end(link);
	if (link->bev != NULL) {
		link_out_sync(link);
		link->stats.drop_exit += ledger_frames(link->out_ledger);
		ledger_clear(link->out_ledger);
		/* Counted: whatever happens to those bytes now is not. */
		link->out_seen = evbuffer_get_length(
		    bufferevent_get_output(link->bev));
	}
	link->stats.drop_exit += link->queue_frames + fq_frames(link->fq);
	while ((p = fq_pop_any(link->fq)) != NULL)
		fq_pkt_free(p);
	evbuffer_drain(link->queue, evbuffer_get_length(link->queue));
	ledger_clear(link->queue_ledger);
	link->queue_frames = 0;
}

/* Bytes for the peer not yet written to the socket, while up. */
size_t
link_pending(const struct link *link)
{
	if (link->bev == NULL)
		return (0);
	return (evbuffer_get_length(bufferevent_get_output(link->bev)) +
	    fq_bytes(link->fq));
}

/*
 * The one place the state changes. Coming up, going down and backing
 * off are always logged; the steps of a connect attempt only with -v. The owner hears
 * last, and may free the link: callers return right after.
 */
static void
link_set_state(struct link *link, enum link_state state, const char *why)
{
	enum link_state	old = link->state;

	if (old == LINK_UP || state == LINK_UP || state == LINK_BACKOFF) {
		if (link->host != NULL || log_ratelimit(&link_conn_rl))
			log_info("link %s: %s -> %s (%s)", link->peer,
			    link_state_name(old), link_state_name(state), why);
	} else
		log_verbose("link %s: %s -> %s (%s)", link->peer,
		    link_state_name(old), link_state_name(state), why);
	link->state = state;
	if (link->cbs.state != NULL)
		link->cbs.state(link, state, link->arg);
}

/* Connect side: one more server to try, after those added before. */
int
link_add_server(struct link *link, const char *host, uint16_t port)
{
	struct link_server	*sv;

	if (link->nservers == LINK_MAX_SERVERS)
		return (-1);
	sv = &link->servers[link->nservers++];
	if ((sv->host = strdup(host)) == NULL)
		fatal("strdup");
	sv->port = port;
	return (0);
}

/* The server to dial next is this one: it names the link. */
static void
link_use_server(struct link *link, size_t i)
{
	struct link_server	*sv = &link->servers[i];

	link->server = i;
	link->host = sv->host;
	snprintf(link->port, sizeof link->port, "%u", sv->port);
	snprintf(link->peer, sizeof link->peer,
	    strchr(sv->host, ':') != NULL ? "[%s]:%u" : "%s:%u", sv->host,
	    sv->port);
}

/* Connect side: start dialling the first server, and keep at it. */
void
link_start(struct link *link)
{
	if (link->nservers == 0)
		return;
	link_use_server(link, 0);
	link_resolve(link);
}

/* Connect side with one server: host:port. */
void
link_connect(struct link *link, const char *host, uint16_t port)
{
	if (link_add_server(link, host, port) == 0)
		link_start(link);
}

/*
 * Next backoff delay in ms: a ceiling that starts at twice the minimum
 * and doubles to the cap, and a delay drawn at random from its upper
 * half, never below the minimum, so that many clients that lost the same
 * server do not all retry in step.
 */
unsigned int
link_backoff_next(struct link *link)
{
	unsigned long	ceiling = 2UL * link->cfg.backoff_min_ms, delay;
	unsigned int	i, r;

	for (i = 0; i < link->attempts && ceiling < link->cfg.backoff_max_ms;
	    i++)
		ceiling *= 2;
	if (ceiling > link->cfg.backoff_max_ms)
		ceiling = link->cfg.backoff_max_ms;
	if (link->attempts < 32)
		link->attempts++;
	evutil_secure_rng_get_bytes(&r, sizeof r);
	delay = ceiling - (ceiling / 2) * (r % 1001) / 1000;
	if (delay < link->cfg.backoff_min_ms)
		delay = link->cfg.backoff_min_ms;
	return ((unsigned int)delay);
}

static void
link_backoff(struct link *link, const char *why)
{
	struct timeval		 now, tv;
	struct link_server	*next;
	char			 reason[400];
	unsigned int		 ms;

	/* A connection that stayed up a while starts the backoff afresh. */
	if (link->up_since.tv_sec != 0) {
		event_base_gettimeofday_cached(link->base, &now);
		if ((now.tv_sec - link->up_since.tv_sec) * 1000 >=
		    (long)link->cfg.backoff_max_ms)
			link->attempts = 0;
		link->up_since.tv_sec = 0;
	}
	ms = link_backoff_next(link);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(link->timer, &tv);
	if (link->nservers > 1) {
		/* Each failure passes the turn to the next server. */
		next = &link->servers[(link->server + 1) % link->nservers];
		snprintf(reason, sizeof reason, strchr(next->host, ':') !=
		    NULL ? "%s; next: [%s]:%u in %u ms" : "%s; next: %s:%u "
		    "in %u ms", why, next->host, next->port, ms);
	} else
		snprintf(reason, sizeof reason, "%s; retry in %u ms", why, ms);
	link_set_state(link, LINK_BACKOFF, reason);
}

static void
link_timercb(evutil_socket_t fd, short events, void *arg)
{
	struct link	*link = arg;

	(void)fd;
	(void)events;
	if (link->nservers > 1)
		link_use_server(link, (link->server + 1) % link->nservers);
	link_resolve(link);
}

static void
link_resolve(struct link *link)
{
	struct addrinfo	 hints;
	struct resolve	*req;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	link_set_state(link, LINK_RESOLVING, "looking up the host");
	/*
	 * The system's resolver, as for --udp-sendto, so that a name only
	 * a name-service module knows works here too. A numeric host is
	 * answered at once, from inside this call.
	 */
	req = resolve_start(link->base, link->host, link->port, &hints,
	    link_dnscb, link);
	if (link->state == LINK_RESOLVING)
		link->dns_req = req;
}

static void
link_dnscb(int result, struct addrinfo *res, void *arg)
{
	struct link	*link = arg;
	char		 why[256];

	link->dns_req = NULL;
	if (result != 0) {
		snprintf(why, sizeof why, "cannot resolve %s: %s", link->host,
		    gai_strerror(result));
		link_backoff(link, why);
		return;
	}
	link->ai_list = link->ai_next = res;
	link->last_error[0] = '\0';
	link_try_next(link);
}

/* Tries the addresses of the name in turn; backs off when none is left. */
static void
link_try_next(struct link *link)
{
	struct evutil_addrinfo	*ai;
	struct timeval		 tv = { LINK_CONNECT_TIMEOUT_S, 0 };
	char			 why[ADDR_STRLEN + 32];

	while ((ai = link->ai_next) != NULL) {
		link->ai_next = ai->ai_next;
		addr_fmt(ai->ai_addr, link->trying, sizeof link->trying);
		link->bev = bufferevent_socket_new(link->base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
		if (link->bev == NULL)
			break;
		bufferevent_setcb(link->bev, NULL, NULL, link_eventcb, link);
		bufferevent_set_timeouts(link->bev, NULL, &tv);
		evutil_gettimeofday(&link->dial_start, NULL);
		if (bufferevent_socket_connect(link->bev, ai->ai_addr,
		    (int)ai->ai_addrlen) == 0) {
			snprintf(why, sizeof why, "to %s", link->trying);
			link_set_state(link, LINK_CONNECTING, why);
			return;
		}
		snprintf(link->last_error, sizeof link->last_error, "%s: %s",
		    link->trying, strerror(errno));
		log_verbose("link %s: connect to %s", link->peer,
		    link->last_error);
		bufferevent_free(link->bev);
		link->bev = NULL;
	}
	if (link->ai_list != NULL)
		evutil_freeaddrinfo(link->ai_list);
	link->ai_list = link->ai_next = NULL;
	link_backoff(link, link->last_error[0] != '\0' ? link->last_error :
	    "no address to try");
}

/*
 * Listen side: adopt an accepted connection, plain or with its TLS
 * session (handshake done; the link owns it now). A link has one
 * connection; an owner that wants the new peer to replace the old
 * closes it first.
 */
void
link_attach_tls(struct link *link, int fd, const struct sockaddr *peer,
    struct tls_conn *tls)
{
	char	name[ADDR_STRLEN], why[64];

	addr_fmt(peer, name, sizeof name);
	if (link->bev != NULL) {
		log_warnx("link %s: already has a peer, %s refused", link->peer,
		    name);
		tls_conn_free(tls);
		evutil_closesocket(fd);
		return;
	}
	snprintf(link->peer, sizeof link->peer, "%s", name);
	link->bev = bufferevent_socket_new(link->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (link->bev == NULL) {
		log_warnx("link %s: out of memory", name);
		tls_conn_free(tls);
		evutil_closesocket(fd);
		return;
	}
	link->tls = tls;
	bufferevent_setcb(link->bev, NULL, NULL, link_eventcb, link);
	tcp_tune(fd, link->cfg.keepalive_s, link->cfg.tcp_buffer);
	if (tls != NULL)
		snprintf(why, sizeof why, "accepted, %s", tls_conn_version(tls));
	link_up(link, tls != NULL ? why : "accepted");
}

void
link_attach(struct link *link, int fd, const struct sockaddr *peer)
{
	link_attach_tls(link, fd, peer, NULL);
}

/*
 * Connect side: every connection begins with a TLS handshake, the
 * server checked for name (NULL: the host of the server dialled).
 */
void
link_set_tls(struct link *link, struct tls_ctx *ctx, const char *name)
{
	link->tls_ctx = ctx;
	link->tls_name = name;
}

/* Drops the current connection; the connect side will dial again. */
void
link_close(struct link *link, const char *why)
{
	if (link->state == LINK_UP || link->state == LINK_CONNECTING)
		link_down(link, why);
}

/*
 * The bufferevent dials and holds the connection; the I/O of an up link
 * is ours, with fewer system calls than libevent 2.1 spends: reads
 * straight into our input, and one write per batch of frames, attempted
 * as soon as the batch is framed (link_pushcb), or when the socket
 * takes more (link_writablecb, which also times out a stalled peer).
 */
static void
link_up(struct link *link, const char *why)
{
	bufferevent_set_timeouts(link->bev, NULL, NULL);
	bufferevent_disable(link->bev, EV_READ | EV_WRITE);
	link_unsent_start(link);
	link->read_ev = event_new(link->base, bufferevent_getfd(link->bev),
	    EV_READ | EV_PERSIST, link_readcb, link);
	if (link->read_ev == NULL || event_add(link->read_ev, NULL) != 0) {
		link_down(link, "out of memory");
		return;
	}
	/* Records that came with the handshake's last, or of its own not
	 * yet written: no event of the socket's would say. */
	if (link->tls != NULL && tls_conn_buffered(link->tls))
		event_active(link->read_ev, EV_READ, 0);
	if (link->tls != NULL && tls_unsent(link->tls) > 0)
		event_active(link->push_ev, 0, 0);

	link_settle_start(link);
	/* What waited goes out first in each flow, taking turns. */
	if (link->queue_frames > 0) {
		log_verbose("link %s: flushing %zu queued frames (%zu bytes)",
		    link->peer, link->queue_frames,
		    evbuffer_get_length(link->queue));
		link_fq_flush(link);
	}
	if (link->ever_up)
		link->stats.reconnects++;
	link->ever_up = 1;
	event_base_gettimeofday_cached(link->base, &link->up_since);

	link_set_state(link, LINK_UP, why);
}

static void
link_drop_connection(struct link *link)
{
	if (link->read_ev != NULL) {
		event_free(link->read_ev);
		link->read_ev = NULL;
	}
	event_del(link->push_ev);
	event_del(link->write_ev);
	link->waiting = 0;
	evbuffer_drain(link->in, evbuffer_get_length(link->in));
	handshake_free(link->hs);
	link->hs = NULL;
	if (link->bev == NULL)
		return;
	/* Gone at once, ours unread: all it was sent is queued again. Else
	 * frames the system did not take whole are lost with it. */
	link_settle_requeue(link);
	link->reset = 0;
	link_out_sync(link);
	link->stats.drop_unsent += ledger_frames(link->out_ledger);
	ledger_clear(link->out_ledger);
	link->out_seen = 0;
	link_fq_unload(link);
	tls_conn_free(link->tls);
	link->tls = NULL;
	bufferevent_free(link->bev);
	link->bev = NULL;
}

/* The connection is gone: reading resumes (into the queue) and we retry. */
void
link_down(struct link *link, const char *why)
{
	link_drop_connection(link);
	if (link->host != NULL)
		link_backoff(link, why);
	else
		link_set_state(link, LINK_CLOSED, why);
}

/* This address did not work out: the next one, or back off. */
static void
link_connect_failed(struct link *link, const char *why)
{
	snprintf(link->last_error, sizeof link->last_error, "%s: %s",
	    link->trying, why);
	log_verbose("link %s: connect to %s", link->peer, link->last_error);
	link_drop_connection(link);
	link_try_next(link);
}

/* Connected, TLS and all: the link is up. */
static void
link_connected(struct link *link)
{
	char	why[ADDR_STRLEN + 80];

	evutil_freeaddrinfo(link->ai_list);
	link->ai_list = link->ai_next = NULL;
	if (link->tls != NULL)
		snprintf(why, sizeof why, "connected to %s, %s", link->trying,
		    tls_conn_version(link->tls));
	else
		snprintf(why, sizeof why, "connected to %s", link->trying);
	link_up(link, why);
}

/* TCP is connected; TLS begins, still in LINK_CONNECTING. */
static void
link_tls_start(struct link *link)
{
	bufferevent_set_timeouts(link->bev, NULL, NULL);
	bufferevent_disable(link->bev, EV_READ | EV_WRITE);
	if ((link->tls = tls_conn_new(link->tls_ctx)) == NULL ||
	    tls_conn_set_name(link->tls, link->tls_name != NULL ?
	    link->tls_name : link->host) != 0 ||
	    (link->hs = handshake_start(link->base,
	    bufferevent_getfd(link->bev), link->tls, TLS_HANDSHAKE_TIMEOUT_S,
	    link_handshakecb, link)) == NULL) {
		link_connect_failed(link, "TLS: out of memory");
		return;
	}
	log_verbose("link %s: TLS handshake with %s", link->peer,
	    link->trying);
}

static void
link_handshakecb(struct handshake *hs, enum handshake_result r, void *arg)
{
	struct link	*link = arg;
	char		 why[280];

	(void)hs;
	handshake_free(link->hs);
	link->hs = NULL;
	switch (r) {
	case HANDSHAKE_OK:
		link_connected(link);
		return;
	case HANDSHAKE_FAILED:
		snprintf(why, sizeof why, "TLS: %s", tls_conn_error(link->tls));
		break;
	case HANDSHAKE_TIMED_OUT:
		snprintf(why, sizeof why, "TLS: handshake timed out after "
		    "%d s (is TLS on at the server?)",
		    TLS_HANDSHAKE_TIMEOUT_S);
		break;
	}
	link_connect_failed(link, why);
}

static void
link_eventcb(struct bufferevent *bev, short events, void *arg)
{
	struct link	*link = arg;
	char		 why[256];
	int		 error = EVUTIL_SOCKET_ERROR();

	if (events & BEV_EVENT_CONNECTED) {
		tcp_tune(bufferevent_getfd(bev), link->cfg.keepalive_s,
		    link->cfg.tcp_buffer);
		if (link->tls_ctx != NULL)
			link_tls_start(link);
		else
			link_connected(link);
		return;
	}

	if (events & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof why, "%s timed out",
		    link->state == LINK_CONNECTING ? "connect" : "peer");
	else if (events & BEV_EVENT_EOF)
		snprintf(why, sizeof why, "peer closed the connection");
	else {
		if (error == ECONNRESET || error == EPIPE)
			link->reset = 1;
		snprintf(why, sizeof why, "%s",
		    evutil_socket_error_to_string(error));
	}

	if (link->state == LINK_CONNECTING) {
		link_connect_failed(link, why);
		return;
	}
	link_down(link, why);
}
