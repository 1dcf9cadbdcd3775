/*
 * link_read.c - what an up link receives: reads whose complete frames
 * are all delivered in one pass, malformed ones counted and skipped.
 * Writes are link_write.c; the state machine, link.c.
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
 * bytes read (with TLS: decrypted; 0: none now), or -1 when the link
 * was closed (and may be freed).
 */
static ssize_t
link_read(struct link *link)
{
	struct evbuffer_iovec	v[2];
	ssize_t			n;
	int			nv, i;
	size_t			left;
	char			why[128];

	if (link->tls != NULL) {
		/* Records decrypted straight into the input, in one pass. */
		if ((n = tls_recv(link->tls, bufferevent_getfd(link->bev),
		    link->in, LINK_READ_SIZE)) >= 0)
			return (n);
		link->reset = tls_conn_reset(link->tls);
		snprintf(why, sizeof why, "%s", tls_conn_error(link->tls));
		link_down(link, why);
		return (-1);
	}
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
		if ((n = link_read(link)) < 0)
			return;
		if (n == 0)
			break;
		if (link_deliver(link, link->in) != 0)
			return;
		if (n < LINK_READ_SIZE)
			break;
	}
	/* A record to answer (a TLS key update, say) goes out now. */
	if (link->tls != NULL && tls_unsent(link->tls) > 0 && !link->waiting)
		event_active(link->push_ev, 0, 0);
}
