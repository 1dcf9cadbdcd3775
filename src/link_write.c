/*
 * link_write.c - what an up link sends: datagrams framed straight into
 * the TCP output while the path keeps up, else into the fair queue
 * (fq.c) that fills the output each time the socket takes more; the
 * system's unsent queue kept short; the reconnect queue while down.
 * Reads are link_read.c; the state machine, link.c.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "fq.h"
#include "frame.h"
#include "link.h"
#include "link_private.h"
#include "log.h"
#include "tcp.h"

/*
 * The write path of an up link. A datagram goes straight into the TCP
 * output while nothing waits and the system holds little of ours; else
 * into the fair queue (fq.c), which the output is filled from each time
 * the socket takes more. With TCP_NOTSENT_LOWAT the socket says it
 * takes more only while it holds less than unsent_target unsent, and we
 * hand it at most that much before asking again: so at most about twice
 * unsent_target waits where we cannot choose, and the rest waits where
 * CoDel and the flows' turns decide what goes and what is dropped.
 */

/* Records of ours waiting for the socket (TLS only). */
static size_t
link_tls_unsent(const struct link *link)
{
	return (link->tls != NULL ? tls_unsent(link->tls) : 0);
}

/* Frames from the fair queue into the output, up to what may go now. */
static void
link_fill(struct link *link, struct evbuffer *out, uint64_t now)
{
	struct fq_pkt	*p;

	while (evbuffer_get_length(out) + link->unchecked <
	    link->unsent_target && (p = fq_dequeue(link->fq, now)) != NULL) {
		if (ledger_add(link->out_ledger, p->len) != 0) {
			link->stats.drop_unsent++;
			fq_pkt_free(p);
			continue;
		}
		if (evbuffer_add(out, p->data, p->len) != 0) {
			ledger_unadd(link->out_ledger);
			link->stats.drop_unsent++;
			fq_pkt_free(p);
			continue;
		}
		link->out_seen += p->len;
		link_settle_keep_frame(link, p->data, p->len);
		fq_pkt_free(p);
	}
}

/*
 * One write of what the output holds; the system takes what it will.
 * Returns -1 when the link went down (and may be freed).
 */
static int
link_write(struct link *link, struct evbuffer *out)
{
	char	why[300];
	int	fd = bufferevent_getfd(link->bev);
	ssize_t	n;

	/* The bufferevent keeps the output's start frozen but for its own
	 * writes; do as it does. */
	evbuffer_unfreeze(out, 1);
	if (link->tls != NULL)
		n = tls_send(link->tls, fd, out);
	else
		n = evbuffer_write(out, fd);
	evbuffer_freeze(out, 1);
	if (n < 0 && link->tls != NULL) {
		link->reset = tls_conn_reset(link->tls);
		snprintf(why, sizeof why, "%s", tls_conn_error(link->tls));
		link_down(link, why);
		return (-1);
	}
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) {
		if (errno == ECONNRESET || errno == EPIPE)
			link->reset = 1;
		link_down(link, strerror(errno));
		return (-1);
	}
	if (n > 0)
		link->unchecked += (size_t)n;
	link_out_sync(link);
	return (0);
}

/*
 * Sends what may go now, and waits for the socket when more is left.
 * Waiting for a socket that takes nothing for the --keepalive budget
 * declares the peer dead.
 */
static void
link_push(struct link *link, uint64_t now)
{
	struct evbuffer	*out = bufferevent_get_output(link->bev);
	struct timeval	 tv = { link->cfg.keepalive_s, 0 };
	int		 busy;

	link_fill(link, out, now);
	if ((evbuffer_get_length(out) > 0 || link_tls_unsent(link) > 0) &&
	    link_write(link, out) != 0)
		return;
	busy = evbuffer_get_length(out) > 0 || link_tls_unsent(link) > 0 ||
	    !fq_empty(link->fq);
	if (busy && !link->waiting) {
		if (event_add(link->write_ev, link->cfg.keepalive_s > 0 ?
		    &tv : NULL) != 0) {
			link_down(link, "out of memory");
			return;
		}
		link->waiting = 1;
	} else if (!busy && link->waiting) {
		event_del(link->write_ev);
		link->waiting = 0;
	}
}

/* Runs once the callback that framed a batch returns: one write. */
void
link_pushcb(evutil_socket_t fd, short events, void *arg)
{
	struct link	*link = arg;

	(void)fd;
	(void)events;
	if (link->state == LINK_UP && !link->waiting)
		link_push(link, fq_now());
}

/*
 * How fast the connection can take our bytes: the most it took in any
 * window of LINK_RATE_WINDOW_MS over the last LINK_RATE_WINDOWS of them
 * (a window with a loss to repair in it says little of the path, and
 * two writable events close together say nothing). The next unsent
 * target is LINK_UNSENT_MS of that rate.
 */
static void
link_rate_sample(struct link *link, uint64_t now)
{
	uint64_t	sample, rate, target;
	size_t		i;

	link->rate_bytes += link->unchecked;
	if (link->rate_since_us == 0 || now < link->rate_since_us) {
		link->rate_since_us = now;
		link->rate_bytes = 0;
		return;
	}
	if (now < link->rate_since_us + LINK_RATE_WINDOW_MS * 1000)
		return;
	sample = link->rate_bytes * 1000000 / (now - link->rate_since_us);
	link->rate_since_us = now;
	link->rate_bytes = 0;
	link->rate_win[link->rate_next++ % LINK_RATE_WINDOWS] = sample;
	for (rate = 0, i = 0; i < LINK_RATE_WINDOWS; i++)
		if (link->rate_win[i] > rate)
			rate = link->rate_win[i];
	target = rate * LINK_UNSENT_MS / 1000;
	if (target < LINK_UNSENT_MIN)
		target = LINK_UNSENT_MIN;
	if (target > LINK_UNSENT_MAX)
		target = LINK_UNSENT_MAX;
	link->unsent_target = (size_t)target;
	/* Tell the system only of a change that matters. */
	if (target > link->unsent_set + link->unsent_set / 4 ||
	    target < link->unsent_set - link->unsent_set / 4) {
		(void)tcp_unsent_limit(bufferevent_getfd(link->bev),
		    (size_t)target);
		link->unsent_set = (size_t)target;
	}
}

/* The socket takes more (or took nothing for the whole budget). */
void
link_writablecb(evutil_socket_t fd, short events, void *arg)
{
	struct link	*link = arg;
	uint64_t	 now;

	(void)fd;
	if (events & EV_TIMEOUT) {
		link_down(link, "peer timed out");
		return;
	}
	now = fq_now();
	link_rate_sample(link, now);
	link->unchecked = 0;
	link_push(link, now);
}

/* A connection is up: it starts with a short unsent queue. */
void
link_unsent_start(struct link *link)
{
	link->waiting = 0;
	link->unchecked = 0;
	memset(link->rate_win, 0, sizeof link->rate_win);
	link->rate_next = 0;
	link->rate_bytes = 0;
	link->rate_since_us = 0;
	link->unsent_target = LINK_UNSENT_MIN;
	link->unsent_set = LINK_UNSENT_MIN;
	(void)tcp_unsent_limit(bufferevent_getfd(link->bev), LINK_UNSENT_MIN);
	event_assign(link->write_ev, link->base, bufferevent_getfd(link->bev),
	    EV_WRITE | EV_PERSIST, link_writablecb, link);
}

/*
 * The reconnect queue joins the fair queue as the link comes up: each
 * flow sends what it held first, in order, taking turns with the
 * others, so a long flush does not shut new traffic out. Held frames
 * are never dropped for their age; --queue-size bounded them already.
 */
void
link_fq_flush(struct link *link)
{
	struct fq_pkt	*p;
	uint64_t	 now = fq_now();
	size_t		 len;

	while (link->queue_frames > 0) {
		if (frame_peek_len(link->queue, link->cfg.framing, &len) !=
		    FRAME_OK || (p = fq_pkt_new(len)) == NULL)
			break;
		(void)evbuffer_remove(link->queue, p->data, len);
		(void)ledger_consume(link->queue_ledger, len);
		link->queue_frames--;
		p->held = 1;
		fq_enqueue(link->fq, p, now);
	}
	/* Cannot be (we framed them) unless memory ran out: counted. */
	link->stats.drop_unsent += link->queue_frames;
	evbuffer_drain(link->queue, evbuffer_get_length(link->queue));
	ledger_clear(link->queue_ledger);
	link->queue_frames = 0;
	if (!fq_empty(link->fq))
		event_active(link->push_ev, 0, 0);
}

/* Drops the oldest queued frames until len more bytes fit. */
static void
link_queue_room(struct link *link, size_t len)
{
	size_t	have, oldest;

	while ((have = evbuffer_get_length(link->queue)) > 0 &&
	    have + len > link->cfg.queue_size) {
		if (frame_peek_len(link->queue, link->cfg.framing, &oldest) !=
		    FRAME_OK)
			break;	/* cannot happen: we framed it ourselves */
		evbuffer_drain(link->queue, oldest);
		(void)ledger_consume(link->queue_ledger, oldest);
		link->queue_frames--;
		link->stats.drop_queue_full++;
	}
}

/*
 * The connection is gone with frames still in the fair queue. The
 * connect side keeps them for the next connection (behind what
 * link_settle.c kept); the listen side's peer is gone, and so are they.
 */
void
link_fq_unload(struct link *link)
{
	struct fq_pkt	*p;

	while ((p = fq_pop_any(link->fq)) != NULL) {
		if (link->host == NULL || p->len > link->cfg.queue_size) {
			link->stats.drop_unsent++;
			fq_pkt_free(p);
			continue;
		}
		link_queue_room(link, p->len);
		if (ledger_add(link->queue_ledger, p->len) != 0 ||
		    evbuffer_add(link->queue, p->data, p->len) != 0) {
			link->stats.drop_unsent++;
			fq_pkt_free(p);
			continue;
		}
		link->queue_frames++;
		link->stats.queued++;
		fq_pkt_free(p);
	}
}

/*
 * What the system took of the output since we last looked: each frame
 * it took whole counts as sent.
 */
void
link_out_sync(struct link *link)
{
	size_t	now = evbuffer_get_length(bufferevent_get_output(link->bev));

	if (now < link->out_seen)
		link->stats.tcp_out += ledger_consume(link->out_ledger,
		    link->out_seen - now);
	link->out_seen = now;
}

/* Into the fair queue; it drops (and counts) what it must. */
static int
link_enqueue(struct link *link, const struct sockaddr *src, const void *buf,
    size_t len, size_t wire)
{
	struct fq_pkt	*p;
	size_t		 hlen;

	if ((p = fq_pkt_new(wire)) == NULL) {
		link->stats.drop_unsent++;
		return (-1);
	}
	hlen = frame_write_header(p->data, link->cfg.framing, src, len);
	if (len > 0)
		memcpy(p->data + hlen, buf, len);
	fq_enqueue(link->fq, p, fq_now());
	return (0);
}

/*
 * Frames one datagram for the peer. While up: straight into the TCP
 * output when nothing waits and there is room, else into the fair
 * queue; while down, into the reconnect queue, whose oldest frames make
 * room. Returns -1 when the datagram was dropped (and counted).
 */
int
link_send(struct link *link, const struct sockaddr *src, const void *buf,
    size_t len)
{
	struct evbuffer	*out;
	size_t		 wire;

	link->stats.udp_in++;
	link->stats.udp_in_bytes += len;
	if (len > FRAME_MAX_PAYLOAD)
		return (-1);
	wire = frame_header_len(link->cfg.framing) + len;
	if (link->state == LINK_UP) {
		out = bufferevent_get_output(link->bev);
		if (link->waiting || !fq_empty(link->fq) ||
		    evbuffer_get_length(out) + link->unchecked >=
		    link->unsent_target) {
			if (link_enqueue(link, src, buf, len, wire) != 0)
				return (-1);
		} else {
			if (ledger_add(link->out_ledger, wire) != 0)
				return (-1);
			if (frame_encode(out, link->cfg.framing, src, buf,
			    len) != 0) {
				ledger_unadd(link->out_ledger);
				return (-1);
			}
			link->out_seen += wire;
			link_settle_keep(link, src, buf, len, wire);
		}
		if (!link->waiting)
			event_active(link->push_ev, 0, 0);
		return (0);
	}

	if (wire > link->cfg.queue_size) {
		link->stats.drop_link_down++;
		return (-1);
	}
	link_queue_room(link, wire);
	if (ledger_add(link->queue_ledger, wire) != 0)
		return (-1);
	if (frame_encode(link->queue, link->cfg.framing, src, buf, len) != 0) {
		ledger_unadd(link->queue_ledger);
		return (-1);
	}
	link->queue_frames++;
	link->stats.queued++;
	return (0);
}
