/*
 * link_io.c - the bytes of an up link: datagrams framed into the TCP
 * output (or the queue while down) and written once per batch; reads
 * of 64 KiB whose complete frames are all delivered in one pass.
 * The state machine that opens and closes the connection is link.c.
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

#include "frame.h"
#include "link.h"
#include "link_private.h"
#include "log.h"

/*
 * Warnings about what peers send share one limit across all links: a
 * flood of connections each sending garbage must not flood the log.
 */
static struct log_ratelimit	link_badinput_rl;

/*
 * Runs once the callback that framed a batch returns: one write for all
 * of it. What the socket does not take, the bufferevent writes when it
 * can (and its low-water callback lifts the backpressure).
 */
void
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
		link_out_sync(link);
	}
	if (evbuffer_get_length(out) > 0) {
		/* Full socket, or an error the bufferevent will report. */
		link->writing = 1;
		bufferevent_enable(link->bev, EV_WRITE);
	} else if (link->paused)
		link_pause(link, 0);
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
	wire = frame_header_len(link->cfg.framing) + len;
	if (link->state == LINK_UP) {
		out = bufferevent_get_output(link->bev);
		if (ledger_add(link->out_ledger, wire) != 0)
			return (-1);
		if (frame_encode(out, link->cfg.framing, src, buf, len) != 0) {
			ledger_unadd(link->out_ledger);
			return (-1);
		}
		link->out_seen += wire;
		link_settle_keep(link, src, buf, len, wire);
		if (!link->writing)
			event_active(link->push_ev, 0, 0);
		if (!link->paused &&
		    evbuffer_get_length(out) >= link->cfg.high_water) {
			link_pause(link, 1);
		}
		return (0);
	}

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
		(void)ledger_consume(link->queue_ledger, oldest);
		link->queue_frames--;
		link->stats.drop_queue_full++;
	}
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

/* One frame from the peer: to the owner, or counted and skipped. */
static void
link_framecb(const struct frame *f, enum frame_result r, void *arg)
{
	struct link	*link = arg;

	if (r == FRAME_OK) {
		link->stats.tcp_in++;
		link->cbs.frame(link, f, link->arg);
		return;
	}
	link->stats.drop_malformed++;
	if (log_ratelimit(&link_badinput_rl))
		log_warnx("link %s: malformed frame (%zu bytes) skipped; is "
		    "the peer using the same --framing (%s)?", link->peer,
		    f->wire_len, frame_name(link->cfg.framing));
}

/* A batch of frames is in: the owner sends them in one go. */
static void
link_flushcb(void *arg)
{
	struct link	*link = arg;

	if (link->cbs.flush != NULL)
		link->cbs.flush(link, link->arg);
}

/*
 * Delivers every complete frame in the input, in place. Returns -1 when
 * the link was closed (and may be freed).
 */
static int
link_deliver(struct link *link, struct evbuffer *in)
{
	char	why[160];

	switch (frame_deliver_all(in, link->cfg.framing, link_framecb,
	    link_flushcb, link)) {
	case FRAME_OVERSIZED:
		snprintf(why, sizeof why, "oversized frame; is the peer "
		    "using the same --framing (%s)?",
		    frame_name(link->cfg.framing));
		if (log_ratelimit(&link_badinput_rl))
			log_warnx("link %s: %s", link->peer, why);
		link_close(link, why);
		return (-1);
	case FRAME_MALFORMED:
		link_close(link, "out of memory");
		return (-1);
	default:
		return (0);
	}
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
		if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
			link->reset = 1;
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
void
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
void
link_writecb(struct bufferevent *bev, void *arg)
{
	struct link	*link = arg;

	link_out_sync(link);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		bufferevent_disable(bev, EV_WRITE);
		link->writing = 0;
	}
	if (link->paused)
		link_pause(link, 0);
}
