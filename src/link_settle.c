/*
 * link_settle.c - the first moments of a connect-side connection. The
 * wire format has no acknowledgement, so nothing tells us whether the
 * peer read what we sent; a peer that closes at once (a listen side
 * that died again, a port taken by something else) would silently eat
 * the queue just flushed into it. So for the first moments after coming
 * up (a few handshake times: long enough for the peer's close to come
 * back), every frame sent also stays in the queue. If the connection is
 * lost in that time with frames of ours unread (the peer reset it, as
 * TCP does when it closes with data unread or when data arrives after
 * it closed, or the system still held frames it had not had
 * acknowledged), they are all queued again for the next one: the peer
 * may have read some, and UDP allows a duplicate, not a silent loss. A
 * peer that read all and closed cleanly gets nothing twice. Once the
 * connection has lasted, the copies go.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#ifdef HAVE_LINUX_SOCKIOS_H
#include <linux/sockios.h>
#endif
/* Linux's SIOCOUTQ is its TIOCOUTQ, where the kernel headers are absent. */
#if !defined(SIOCOUTQ) && defined(__linux__) && defined(TIOCOUTQ)
#define SIOCOUTQ	TIOCOUTQ
#endif

#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "frame.h"
#include "ledger.h"
#include "link.h"
#include "link_private.h"
#include "log.h"

/*
 * Settling starts as the link comes up, before the queue moves into the
 * fair queue; from then on the queue holds the copies of what is sent.
 */
void
link_settle_start(struct link *link)
{
	struct timeval	now, tv;
	long		ms;

	link->reset = 0;	/* a failed attempt's, not this connection's */
	if (link->host == NULL || link->cfg.queue_size == 0)
		return;		/* only the connect side dials again */
	evutil_gettimeofday(&now, NULL);
	evutil_timersub(&now, &link->dial_start, &tv);
	ms = LINK_SETTLE_RTTS * (tv.tv_sec * 1000 + tv.tv_usec / 1000);
	if (ms < LINK_SETTLE_MIN_MS || tv.tv_sec < 0)
		ms = LINK_SETTLE_MIN_MS;
	if (ms > LINK_SETTLE_MAX_MS)
		ms = LINK_SETTLE_MAX_MS;
	link->settle_ms = (int)ms;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	link->settling = 1;
	link->settle_limit = evbuffer_get_length(link->queue) +
	    LINK_SETTLE_NEW_BYTES;
	if (link->settle_limit > link->cfg.queue_size)
		link->settle_limit = link->cfg.queue_size;
	evtimer_add(link->settle_timer, &tv);
}

/*
 * The connection has lasted (or has carried more than the queue can
 * hold): what it was sent stays sent.
 */
void
link_settle_end(struct link *link)
{
	if (!link->settling)
		return;
	link->settling = 0;
	evtimer_del(link->settle_timer);
	evbuffer_drain(link->queue, evbuffer_get_length(link->queue));
	ledger_clear(link->queue_ledger);
	link->queue_frames = 0;
}

void
link_settle_timercb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	link_settle_end(arg);
}

/* A frame just sent while settling: keep a copy, while they fit. */
void
link_settle_keep(struct link *link, const struct sockaddr *src,
    const void *buf, size_t len, size_t wire)
{
	if (!link->settling)
		return;
	if (evbuffer_get_length(link->queue) + wire > link->settle_limit ||
	    ledger_add(link->queue_ledger, wire) != 0) {
		link_settle_end(link);
		return;
	}
	if (frame_encode(link->queue, link->cfg.framing, src, buf, len) !=
	    0) {
		ledger_unadd(link->queue_ledger);
		link_settle_end(link);
		return;
	}
	link->queue_frames++;
}

/* The same, for a frame already framed (from the fair queue). */
void
link_settle_keep_frame(struct link *link, const void *frame, size_t len)
{
	if (!link->settling)
		return;
	if (evbuffer_get_length(link->queue) + len > link->settle_limit ||
	    ledger_add(link->queue_ledger, len) != 0) {
		link_settle_end(link);
		return;
	}
	if (evbuffer_add(link->queue, frame, len) != 0) {
		ledger_unadd(link->queue_ledger);
		link_settle_end(link);
		return;
	}
	link->queue_frames++;
}

/*
 * Did the peer leave frames of ours unread? It reset the connection
 * (seen as an error, or left for SO_ERROR when its close came first),
 * or the system still holds bytes the peer never acknowledged.
 */
static int
link_settle_unread(struct link *link)
{
	int		fd = bufferevent_getfd(link->bev), error = 0, n = 0;
	socklen_t	len = sizeof error;

	if (link->reset)
		return (1);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 &&
	    (error == ECONNRESET || error == EPIPE))
		return (1);
#if defined(SIOCOUTQ)
	if (ioctl(fd, SIOCOUTQ, &n) == 0 && n > 0)
		return (1);
#elif defined(FIONWRITE)
	if (ioctl(fd, FIONWRITE, &n) == 0 && n > 0)
		return (1);
#endif
	(void)n;
	return (0);
}

/*
 * The connection was lost while settling: everything it was sent is still
 * in the queue, in order, for the next one. What it had been counted
 * as sent no longer is; the output left is part of the copy, not lost.
 */
void
link_settle_requeue(struct link *link)
{
	size_t	sent;

	if (!link->settling)
		return;
	if (!link_settle_unread(link)) {
		link_settle_end(link);
		return;
	}
	link->settling = 0;
	evtimer_del(link->settle_timer);
	link_out_sync(link);
	sent = link->queue_frames - ledger_frames(link->out_ledger);
	link->stats.tcp_out -= sent;
	link->stats.requeued += link->queue_frames;
	ledger_clear(link->out_ledger);
	link->out_seen = 0;
	if (link->queue_frames > 0)
		log_verbose("link %s: the connection lasted less than %d ms; "
		    "its %zu frames are queued again", link->peer,
		    link->settle_ms, link->queue_frames);
}
