/*
 * link.c - one TCP connection between the two ends and the state machine
 * that owns its life. Every flow of the link sends through link_send():
 * framed straight into the TCP output while up, into one bounded queue
 * while not, and the queue goes out first when the link comes up.
 *
 * Connect side:  BACKOFF -> RESOLVING -> CONNECTING -> UP -> BACKOFF ...
 * Listen side:   CLOSED -> UP (link_attach) -> CLOSED
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "addr.h"
#include "link.h"
#include "log.h"
#include "tcp.h"

/* Our reads: this much each, this many per wakeup at most. */
#define LINK_READ_SIZE		(64 * 1024)
#define LINK_READ_ROUNDS	4

struct link {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct link_config	 cfg;
	struct link_cbs		 cbs;
	void			*arg;

	enum link_state		 state;
	struct bufferevent	*bev;		/* the connection, when any */
	char			 peer[ADDR_HOSTLEN + 8];
	int			 paused;	/* told the owner to stop */
	int			 ever_up;
	struct evbuffer		*in;		/* bytes read, not yet frames */
	struct event		*read_ev;	/* ours: see link_up() */
	struct event		*push_ev;	/* writes the batch just framed */
	int			 writing;	/* bufferevent owns the writes */

	struct evbuffer		*queue;		/* frames held while down */
	size_t			 queue_frames;

	/* Connect side only. */
	char			*host;
	char			 port[8];
	struct evdns_getaddrinfo_request *dns_req;
	struct evutil_addrinfo	*ai_list;	/* addresses of this attempt */
	struct evutil_addrinfo	*ai_next;	/* the next one to try */
	char			 trying[ADDR_STRLEN];
	char			 last_error[ADDR_STRLEN + 264];	/* of this attempt */
	struct event		*timer;		/* backoff */
	unsigned int		 attempts;
	struct timeval		 up_since;

	struct stats		 stats;
};

static void	link_set_state(struct link *, enum link_state, const char *);
static void	link_resolve(struct link *);
static void	link_try_next(struct link *);
static void	link_up(struct link *, const char *);
static void	link_down(struct link *, const char *);
static void	link_drop_connection(struct link *);
static void	link_pause(struct link *, int);
static void	link_readcb(evutil_socket_t, short, void *);
static void	link_pushcb(evutil_socket_t, short, void *);
static void	link_writecb(struct bufferevent *, void *);
static void	link_eventcb(struct bufferevent *, short, void *);
static void	link_dnscb(int, struct evutil_addrinfo *, void *);
static void	link_timercb(evutil_socket_t, short, void *);

/*
 * Warnings about what peers send share one limit across all links: a
 * flood of connections each sending garbage must not flood the log.
 */
static struct log_ratelimit	link_badinput_rl;

static const char *link_state_names[] = {
	"closed", "backoff", "resolving", "connecting", "up"
};

struct link *
link_new(struct event_base *base, struct evdns_base *dns,
    const struct link_config *cfg, const struct link_cbs *cbs, void *arg)
{
	struct link	*link;

	if ((link = calloc(1, sizeof *link)) == NULL)
		return (NULL);
	link->base = base;
	link->dns = dns;
	link->cfg = *cfg;
	link->cbs = *cbs;
	link->arg = arg;
	link->state = LINK_CLOSED;
	snprintf(link->peer, sizeof link->peer, "(no peer)");
	if ((link->queue = evbuffer_new()) == NULL ||
	    (link->in = evbuffer_new()) == NULL ||
	    (link->push_ev = event_new(base, -1, 0, link_pushcb, link)) ==
	    NULL ||
	    (link->timer = evtimer_new(base, link_timercb, link)) == NULL) {
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
	if (link->dns_req != NULL) {
		struct evdns_getaddrinfo_request *req = link->dns_req;

		link->dns_req = NULL;
		evdns_getaddrinfo_cancel(req);
	}
	link_drop_connection(link);
	if (link->ai_list != NULL)
		evutil_freeaddrinfo(link->ai_list);
	if (link->timer != NULL)
		event_free(link->timer);
	if (link->queue != NULL)
		evbuffer_free(link->queue);
	if (link->in != NULL)
		evbuffer_free(link->in);
	if (link->push_ev != NULL)
		event_free(link->push_ev);
	free(link->host);
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
	return (&link->stats);
}

/* Bytes framed for the peer and not yet written to the socket. */
size_t
link_pending(const struct link *link)
{
	if (link->bev == NULL)
		return (0);
	return (evbuffer_get_length(bufferevent_get_output(link->bev)));
}

int
link_paused(const struct link *link)
{
	return (link->paused);
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

	if (old == LINK_UP || state == LINK_UP || state == LINK_BACKOFF)
		log_info("link %s: %s -> %s (%s)", link->peer,
		    link_state_name(old), link_state_name(state), why);
	else
		log_verbose("link %s: %s -> %s (%s)", link->peer,
		    link_state_name(old), link_state_name(state), why);
	link->state = state;
	if (link->cbs.state != NULL)
		link->cbs.state(link, state, link->arg);
}

/* Backpressure: tells the owner to stop (1) or resume (0) feeding us. */
static void
link_pause(struct link *link, int paused)
{
	link->paused = paused;
	if (link->cbs.pause != NULL)
		link->cbs.pause(link, paused, link->arg);
}

/* Connect side: start dialling host:port, and keep at it. */
void
link_connect(struct link *link, const char *host, uint16_t port)
{
	free(link->host);
	if ((link->host = strdup(host)) == NULL)
		fatal("strdup");
	snprintf(link->port, sizeof link->port, "%u", port);
	snprintf(link->peer, sizeof link->peer,
	    strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u", host, port);
	link_resolve(link);
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
	struct timeval	now, tv;
	char		reason[256];
	unsigned int	ms;

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
	snprintf(reason, sizeof reason, "%s; retry in %u ms", why, ms);
	link_set_state(link, LINK_BACKOFF, reason);
}

static void
link_timercb(evutil_socket_t fd, short events, void *arg)
{
	struct link	*link = arg;

	(void)fd;
	(void)events;
	link_resolve(link);
}

static void
link_resolve(struct link *link)
{
	struct evutil_addrinfo			 hints;
	struct evdns_getaddrinfo_request	*req;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	link_set_state(link, LINK_RESOLVING, "looking up the host");
	/* A numeric host is answered at once, from inside this call. */
	req = evdns_getaddrinfo(link->dns, link->host, link->port, &hints,
	    link_dnscb, link);
	if (link->state == LINK_RESOLVING)
		link->dns_req = req;
}

static void
link_dnscb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct link	*link = arg;
	char		 why[256];

	if (result == EVUTIL_EAI_CANCEL)
		return;		/* link_free() is under way */
	link->dns_req = NULL;
	if (result != 0) {
		snprintf(why, sizeof why, "cannot resolve %s: %s", link->host,
		    evutil_gai_strerror(result));
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
		bufferevent_setcb(link->bev, NULL, link_writecb,
		    link_eventcb, link);
		bufferevent_set_timeouts(link->bev, NULL, &tv);
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
 * Listen side: adopt an accepted connection. A link has one connection;
 * an owner that wants the new peer to replace the old closes it first.
 */
void
link_attach(struct link *link, int fd, const struct sockaddr *peer)
{
	char	name[ADDR_STRLEN];

	addr_fmt(peer, name, sizeof name);
	if (link->bev != NULL) {
		log_warnx("link %s: already has a peer, %s refused", link->peer,
		    name);
		evutil_closesocket(fd);
		return;
	}
	snprintf(link->peer, sizeof link->peer, "%s", name);
	link->bev = bufferevent_socket_new(link->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (link->bev == NULL) {
		log_warnx("link %s: out of memory", name);
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(link->bev, NULL, link_writecb, link_eventcb, link);
	tcp_tune(fd, link->cfg.keepalive_s, link->cfg.tcp_buffer);
	link_up(link, "accepted");
}

/* Drops the current connection; the connect side will dial again. */
void
link_close(struct link *link, const char *why)
{
	if (link->state == LINK_UP || link->state == LINK_CONNECTING)
		link_down(link, why);
}

/*
 * The bufferevent dials, times out a stalled peer and writes what the
 * socket would not take at once; the rest of the I/O is ours, with
 * fewer system calls than libevent 2.1 spends: reads of 64 KiB straight
 * into our input, and one write per batch of frames, attempted as soon
 * as the batch is framed (link_pushcb).
 */
static void
link_up(struct link *link, const char *why)
{
	struct evbuffer	*out = bufferevent_get_output(link->bev);
	struct timeval	 tv = { link->cfg.keepalive_s, 0 };

	/* Output that makes no progress for the whole budget: dead peer. */
	bufferevent_set_timeouts(link->bev, NULL,
	    link->cfg.keepalive_s > 0 ? &tv : NULL);
	bufferevent_setwatermark(link->bev, EV_WRITE, link->cfg.low_water, 0);
	bufferevent_disable(link->bev, EV_READ | EV_WRITE);
	link->writing = 0;
	link->read_ev = event_new(link->base, bufferevent_getfd(link->bev),
	    EV_READ | EV_PERSIST, link_readcb, link);
	if (link->read_ev == NULL || event_add(link->read_ev, NULL) != 0) {
		link_down(link, "out of memory");
		return;
	}

	/* What waited goes out first, in order, before anything newer. */
	if (link->queue_frames > 0) {
		log_verbose("link %s: flushing %zu queued frames (%zu bytes)",
		    link->peer, link->queue_frames,
		    evbuffer_get_length(link->queue));
		link->stats.tcp_out += link->queue_frames;
		evbuffer_add_buffer(out, link->queue);
		link->queue_frames = 0;
		event_active(link->push_ev, 0, 0);
	}
	if (link->ever_up)
		link->stats.reconnects++;
	link->ever_up = 1;
	event_base_gettimeofday_cached(link->base, &link->up_since);

	link_set_state(link, LINK_UP, why);
	if (link->state == LINK_UP && !link->paused &&
	    evbuffer_get_length(out) >= link->cfg.high_water) {
		link_pause(link, 1);
	}
}

static void
link_drop_connection(struct link *link)
{
	if (link->read_ev != NULL) {
		event_free(link->read_ev);
		link->read_ev = NULL;
	}
	event_del(link->push_ev);
	evbuffer_drain(link->in, evbuffer_get_length(link->in));
	if (link->bev == NULL)
		return;
	link->stats.drop_unsent_bytes +=
	    evbuffer_get_length(bufferevent_get_output(link->bev));
	bufferevent_free(link->bev);
	link->bev = NULL;
	link->writing = 0;
}

/* The connection is gone: reading resumes (into the queue) and we retry. */
static void
link_down(struct link *link, const char *why)
{
	link_drop_connection(link);
	if (link->paused)
		link_pause(link, 0);
	if (link->host != NULL)
		link_backoff(link, why);
	else
		link_set_state(link, LINK_CLOSED, why);
}

/*
 * Runs once the callback that framed a batch returns: one write for all
 * of it. What the socket does not take, the bufferevent writes when it
 * can (and its low-water callback lifts the backpressure).
 */
static void
link_pushcb(evutil_socket_t fd, short events, void *arg)
{
	struct link	*link = arg;
	struct evbuffer	*out;

	(void)fd;
	(void)events;
	if (link->state != LINK_UP || link->writing)
		return;
	out = bufferevent_get_output(link->bev);
	if (evbuffer_get_length(out) > 0) {
		/* The bufferevent keeps the output's start frozen but for its
		 * own writes (it thaws it on a connect, so only accepted links
		 * fell back to its slower path); do as it does. */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, bufferevent_getfd(link->bev));
		evbuffer_freeze(out, 1);
	}
	if (evbuffer_get_length(out) > 0) {
		/* Full socket, or an error the bufferevent will report. */
		link->writing = 1;
		bufferevent_enable(link->bev, EV_WRITE);
	} else if (link->paused)
		link_pause(link, 0);
}

/*
 * Frames one datagram for the peer. While up it goes straight into the
 * TCP output; otherwise into the queue, whose oldest frames make room.
 * Returns -1 when the datagram was dropped (and counted).
 */
int
link_send(struct link *link, const struct sockaddr *src, const void *buf,
    size_t len)
{
	struct evbuffer	*out;
	size_t		 wire, have;

	link->stats.udp_in++;
	link->stats.udp_in_bytes += len;
	if (link->state == LINK_UP) {
		out = bufferevent_get_output(link->bev);
		if (frame_encode(out, link->cfg.framing, src, buf, len) != 0)
			return (-1);
		link->stats.tcp_out++;
		if (!link->writing)
			event_active(link->push_ev, 0, 0);
		if (!link->paused &&
		    evbuffer_get_length(out) >= link->cfg.high_water) {
			link_pause(link, 1);
		}
		return (0);
	}

	wire = frame_header_len(link->cfg.framing) + len;
	if (wire > link->cfg.queue_size) {
		link->stats.drop_link_down++;
		return (-1);
	}
	while ((have = evbuffer_get_length(link->queue)) > 0 &&
	    have + wire > link->cfg.queue_size) {
		size_t	oldest;

		if (frame_peek_len(link->queue, link->cfg.framing, &oldest) !=
		    FRAME_OK)
			break;	/* cannot happen: we framed it ourselves */
		evbuffer_drain(link->queue, oldest);
		link->queue_frames--;
		link->stats.drop_queue_full++;
	}
	if (frame_encode(link->queue, link->cfg.framing, src, buf, len) != 0)
		return (-1);
	link->queue_frames++;
	link->stats.queued++;
	return (0);
}

/*
 * Delivers every complete frame in the input, in one pass over flat
 * memory, then lets the owner flush what it batched, then drains.
 * Returns -1 when the link was closed (and may be freed).
 */
static int
link_deliver(struct link *link, struct evbuffer *in)
{
	const unsigned char	*p;
	struct frame		 f;
	size_t			 len, off = 0, first;
	char			 why[160];

	len = evbuffer_get_length(in);
	switch (frame_peek_len(in, link->cfg.framing, &first)) {
	case FRAME_PARTIAL:
		return (0);
	case FRAME_OVERSIZED:
		goto oversized;
	default:
		break;
	}
	if ((p = evbuffer_pullup(in, -1)) == NULL) {
		link_close(link, "out of memory");
		return (-1);
	}
	while (off < len) {
		switch (frame_parse(p + off, len - off, link->cfg.framing, &f)) {
		case FRAME_PARTIAL:
			goto done;
		case FRAME_OK:
			link->stats.tcp_in++;
			link->cbs.frame(link, &f, link->arg);
			break;
		case FRAME_MALFORMED:
			link->stats.drop_malformed++;
			if (log_ratelimit(&link_badinput_rl))
				log_warnx("link %s: malformed frame (%zu "
				    "bytes) skipped; is the peer using the "
				    "same --framing (%s)?", link->peer,
				    f.wire_len, frame_name(link->cfg.framing));
			break;
		case FRAME_OVERSIZED:
			if (link->cbs.flush != NULL)
				link->cbs.flush(link, link->arg);
			goto oversized;
		}
		off += f.wire_len;
	}
done:
	if (link->cbs.flush != NULL)
		link->cbs.flush(link, link->arg);
	evbuffer_drain(in, off);
	return (0);

oversized:
	snprintf(why, sizeof why, "oversized frame; is the peer using the "
	    "same --framing (%s)?", frame_name(link->cfg.framing));
	if (log_ratelimit(&link_badinput_rl))
		log_warnx("link %s: %s", link->peer, why);
	link_close(link, why);
	return (-1);
}

/*
 * Reads what the socket has, in pieces of LINK_READ_SIZE. Returns the
 * bytes read (0: none now), or -1 when the link was closed (and may be
 * freed).
 */
static ssize_t
link_read(struct link *link)
{
	struct evbuffer_iovec	v[2];
	ssize_t			n;
	int			nv, i;
	size_t			left;
	char			why[128];

	nv = evbuffer_reserve_space(link->in, LINK_READ_SIZE, v, 2);
	if (nv <= 0) {
		link_close(link, "out of memory");
		return (-1);
	}
	n = readv(bufferevent_getfd(link->bev), (struct iovec *)v, nv);
	if (n <= 0) {
		evbuffer_commit_space(link->in, v, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return (0);
		snprintf(why, sizeof why, "%s", n == 0 ?
		    "peer closed the connection" : strerror(errno));
		link_down(link, why);
		return (-1);
	}
	for (i = 0, left = (size_t)n; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(link->in, v, nv);
	return (n);
}

/*
 * The socket is readable: every complete frame of each read is
 * delivered now, not next time; a full read is followed by another.
 */
static void
link_readcb(evutil_socket_t fd, short events, void *arg)
{
	struct link	*link = arg;
	ssize_t		 n;
	int		 round;

	(void)fd;
	(void)events;
	for (round = 0; round < LINK_READ_ROUNDS; round++) {
		if ((n = link_read(link)) <= 0)
			return;
		if (link_deliver(link, link->in) != 0)
			return;
		if (n < LINK_READ_SIZE)
			return;
	}
}

/*
 * The bufferevent wrote some of what the socket would not take and the
 * output is down to the low-water mark: the UDP side may read again, and
 * once all is out, writes are ours again.
 */
static void
link_writecb(struct bufferevent *bev, void *arg)
{
	struct link	*link = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		bufferevent_disable(bev, EV_WRITE);
		link->writing = 0;
	}
	if (link->paused)
		link_pause(link, 0);
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
		evutil_freeaddrinfo(link->ai_list);
		link->ai_list = link->ai_next = NULL;
		snprintf(why, sizeof why, "connected to %s", link->trying);
		link_up(link, why);
		return;
	}

	if (events & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof why, "%s timed out",
		    link->state == LINK_CONNECTING ? "connect" : "peer");
	else if (events & BEV_EVENT_EOF)
		snprintf(why, sizeof why, "peer closed the connection");
	else
		snprintf(why, sizeof why, "%s",
		    evutil_socket_error_to_string(error));

	if (link->state == LINK_CONNECTING) {
		snprintf(link->last_error, sizeof link->last_error, "%s: %s",
		    link->trying, why);
		log_verbose("link %s: connect to %s", link->peer,
		    link->last_error);
		bufferevent_free(link->bev);
		link->bev = NULL;
		link_try_next(link);
		return;
	}
	link_down(link, why);
}
