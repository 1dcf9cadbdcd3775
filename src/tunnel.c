/*
 * tunnel.c - ties the UDP side to the link. In fixed mode each end has
 * one UDP socket bound at --udp-bind: what arrives there is framed onto
 * the link, and what the link delivers leaves that socket for
 * --udp-sendto. The connect side dials its link; the listen side keeps
 * one link and hands it each accepted peer, the newest replacing the old.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "link.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "stats.h"
#include "tunnel.h"
#include "udp.h"

struct tunnel {
	struct event_base	*base;
	const struct options	*opts;

	int			 udp_fd;	/* bound at --udp-bind */
	struct event		*udp_ev;
	int			 udp_reading;
	int			 stopped;	/* shutting down */
	struct sockaddr_storage	 dest;		/* --udp-sendto */
	socklen_t		 destlen;

	struct link		*link;
	struct listener		*listener;	/* listen side */
	struct log_ratelimit	 udp_rl;
};

static void	tunnel_udp_readcb(evutil_socket_t, short, void *);
static void	tunnel_framecb(struct link *, const struct frame *, void *);
static void	tunnel_pausecb(struct link *, int, void *);
static void	tunnel_acceptcb(int, const struct sockaddr *, void *);

/* One buffer for every datagram read: the loop handles one at a time. */
static unsigned char	tunnel_buf[UDP_MAX_PAYLOAD];

static void
tunnel_link_config(const struct options *opts, struct link_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->framing = opts->framing;
	cfg->queue_size = opts->queue_size;
	cfg->backoff_min_ms = opts->backoff_min_ms;
	cfg->backoff_max_ms = opts->backoff_max_ms;
	cfg->keepalive_s = opts->keepalive_s;
	cfg->high_water = LINK_HIGH_WATER;
	cfg->low_water = LINK_LOW_WATER;
}

struct tunnel *
tunnel_new(struct event_base *base, struct evdns_base *dns,
    const struct options *opts)
{
	static const struct link_cbs	 cbs = {
		tunnel_framecb, NULL, tunnel_pausecb
	};
	struct tunnel			*t;
	struct link_config		 cfg;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen;
	const char			*why;
	char				 a[ADDR_STRLEN], b[ADDR_STRLEN];

	if ((t = calloc(1, sizeof *t)) == NULL)
		fatal("calloc");
	t->base = base;
	t->opts = opts;
	t->udp_fd = -1;

	if (opts->auto_mode) {
		log_warnx("auto mode is not available yet");
		goto fail;
	}
	if (addr_resolve(&opts->udp_sendto, AF_UNSPEC, &t->dest, &t->destlen,
	    &why) != 0) {
		log_warnx("--udp-sendto %s: %s", opts->udp_sendto.host, why);
		goto fail;
	}
	if (addr_numeric(&opts->udp_bind, &ss, &sslen) != 0 ||
	    (t->udp_fd = udp_open((struct sockaddr *)&ss, sslen)) == -1) {
		log_warn("--udp-bind %s", addr_fmt((struct sockaddr *)&ss, a,
		    sizeof a));
		goto fail;
	}
	t->udp_ev = event_new(base, t->udp_fd, EV_READ | EV_PERSIST,
	    tunnel_udp_readcb, t);
	if (t->udp_ev == NULL)
		fatalx("event_new");
	event_add(t->udp_ev, NULL);
	t->udp_reading = 1;

	tunnel_link_config(opts, &cfg);
	if ((t->link = link_new(base, dns, &cfg, &cbs, t)) == NULL)
		fatalx("link_new");

	if (opts->side == SIDE_LISTEN) {
		if (addr_numeric(&opts->tcp, &ss, &sslen) != 0)
			fatalx("--tcp-listen is not numeric");
		t->listener = listener_new(base, (struct sockaddr *)&ss, sslen,
		    tunnel_acceptcb, t);
		if (t->listener == NULL) {
			log_warn("--tcp-listen %s", addr_fmt(
			    (struct sockaddr *)&ss, a, sizeof a));
			goto fail;
		}
	}

	addr_numeric(&opts->udp_bind, &ss, &sslen);
	addr_fmt((struct sockaddr *)&ss, a, sizeof a);
	addr_fmt((struct sockaddr *)&t->dest, b, sizeof b);
	if (opts->side == SIDE_LISTEN)
		log_info("listening on %s (tcp), udp %s -> %s, framing %s, "
		    "fixed mode", listener_name(t->listener), a, b,
		    frame_name(opts->framing));
	else
		log_info("connecting to %s:%u (tcp), udp %s -> %s, framing "
		    "%s, fixed mode", opts->tcp.host, opts->tcp.port, a, b,
		    frame_name(opts->framing));

	if (opts->side == SIDE_CONNECT)
		link_connect(t->link, opts->tcp.host, opts->tcp.port);
	return (t);

fail:
	tunnel_free(t);
	return (NULL);
}

void
tunnel_free(struct tunnel *t)
{
	if (t == NULL)
		return;
	listener_free(t->listener);
	link_free(t->link);
	if (t->udp_ev != NULL)
		event_free(t->udp_ev);
	if (t->udp_fd != -1)
		close(t->udp_fd);
	free(t);
}

/* Shutting down: take no more datagrams and no more peers. */
void
tunnel_stop_input(struct tunnel *t)
{
	t->stopped = 1;
	if (t->udp_reading) {
		event_del(t->udp_ev);
		t->udp_reading = 0;
	}
	if (t->listener != NULL)
		listener_pause(t->listener);
}

/* Bytes still on their way to the peer. */
size_t
tunnel_pending(struct tunnel *t)
{
	return (link_pending(t->link));
}

void
tunnel_log_stats(struct tunnel *t)
{
	stats_log(link_peer(t->link), link_stats(t->link));
}

/* Datagrams in: read a batch, frame each onto the link. */
static void
tunnel_udp_readcb(evutil_socket_t fd, short events, void *arg)
{
	struct tunnel		*t = arg;
	struct stats		*st = link_stats(t->link);
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	ssize_t			 n;
	int			 i;
	char			 a[ADDR_STRLEN];

	(void)events;
	for (i = 0; i < UDP_READ_BATCH && t->udp_reading; i++) {
		n = udp_recv(fd, tunnel_buf, sizeof tunnel_buf, &from,
		    &fromlen, st);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    log_ratelimit(&t->udp_rl))
				log_warn("udp receive");
			return;
		}
		if (log_debug_enabled())
			log_debug("udp %s: %zd bytes -> link %s",
			    addr_fmt((struct sockaddr *)&from, a, sizeof a), n,
			    link_peer(t->link));
		link_send(t->link, (struct sockaddr *)&from, tunnel_buf,
		    (size_t)n);
	}
}

/* A frame from the peer leaves the bound socket for --udp-sendto. */
static void
tunnel_framecb(struct link *link, const struct frame *f, void *arg)
{
	struct tunnel	*t = arg;
	char		 a[ADDR_STRLEN];

	if (log_debug_enabled())
		log_debug("link %s: %zu bytes -> udp %s", link_peer(link),
		    f->len, addr_fmt((struct sockaddr *)&t->dest, a, sizeof a));
	udp_send(t->udp_fd, f->payload, f->len, (struct sockaddr *)&t->dest,
	    t->destlen, link_stats(link));
}

/* Backpressure: the TCP output is full, so stop reading UDP for now. */
static void
tunnel_pausecb(struct link *link, int paused, void *arg)
{
	struct tunnel	*t = arg;

	(void)link;
	if (paused && t->udp_reading) {
		event_del(t->udp_ev);
		t->udp_reading = 0;
	} else if (!paused && !t->udp_reading && !t->stopped) {
		event_add(t->udp_ev, NULL);
		t->udp_reading = 1;
	}
}

/* Fixed mode has one peer: the newest connection replaces the old. */
static void
tunnel_acceptcb(int fd, const struct sockaddr *sa, void *arg)
{
	struct tunnel	*t = arg;

	link_attach(t->link, fd, sa);
}
