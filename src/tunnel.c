/*
 * tunnel.c - ties the UDP side to the link. In fixed mode each end has
 * one UDP socket bound at --udp-bind: what arrives there is framed onto
 * the link, and what the link delivers leaves that socket for
 * --udp-sendto. The connect side dials its link; the listen side keeps
 * one link and hands it each accepted peer, the newest replacing the old.
 *
 * Auto mode, connect side (--udp-sendto IP:auto): every client of the
 * bound socket is a flow, and a frame coming back is sent to its flow's
 * client, and only to a live flow. Auto mode, listen side (--udp-bind
 * auto): each accepted peer is handed to peer.c. How a connection
 * becomes a peer is tunnel_listen.c's.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "flow.h"
#include "link.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "peer.h"
#include "proxy_accept.h"
#include "stats.h"
#include "tls.h"
#include "tls_accept.h"
#include "tunnel.h"
#include "tunnel_private.h"
#include "udp.h"
#include "workers.h"


static void	tunnel_udp_readcb(evutil_socket_t, short, void *);
static void	tunnel_udp_batch(struct tunnel *, struct udp_msg *, int);
static int	tunnel_scope_clash(struct tunnel *, struct flow *,
		    const struct sockaddr *);
static void	tunnel_framecb(struct link *, const struct frame *, void *);
static void	tunnel_flushcb(struct link *, void *);
static int	tunnel_resolve_dest(struct tunnel *);
static int	tunnel_open_udp(struct tunnel *);
static int	tunnel_flow_bind(struct tunnel *);
static void	tunnel_summary(struct tunnel *);

static void
tunnel_link_config(const struct options *opts, struct link_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->framing = opts->framing;
	cfg->queue_size = opts->queue_size;
	cfg->backoff_min_ms = opts->backoff_min_ms;
	cfg->backoff_max_ms = opts->backoff_max_ms;
	cfg->keepalive_s = opts->keepalive_s;
	cfg->tcp_buffer = opts->tcp_buffer;
	cfg->target_ms = opts->target_delay_ms;
	cfg->max_delay_ms = opts->max_delay_ms;
}

/* Listen side with --udp-bind auto: each accepted peer gets its flows. */
int
tunnel_is_peer_mode(const struct tunnel *t)
{
	return (t->opts->side == SIDE_LISTEN && t->opts->udp_bind.is_auto);
}

struct tunnel *
tunnel_new(struct event_base *base, const struct options *opts,
    struct tls_ctx *tls)
{
	static const struct link_cbs	 cbs = {
		tunnel_framecb, NULL, tunnel_flushcb
	};
	struct tunnel			*t;
	struct link_config		 cfg;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen;
	char				 a[ADDR_STRLEN];
	char				 name[ADDR_HOSTLEN + 8];
	size_t				 i;

	if ((t = calloc(1, sizeof *t)) == NULL)
		fatal("calloc");
	t->base = base;
	t->opts = opts;
	t->udp_fd = -1;
	t->tls = tls;
	t->limit.max = opts->max_flows;
	tunnel_link_config(opts, &cfg);

	if (!opts->udp_sendto.is_auto && tunnel_resolve_dest(t) != 0)
		goto fail;

	if (tunnel_is_peer_mode(t)) {
		if (tunnel_flow_bind(t) != 0)
			goto fail;
		t->peers.base = base;
		t->peers.link_cfg = cfg;
		memcpy(&t->peers.dest, &t->dest, sizeof t->dest);
		t->peers.destlen = t->destlen;
		t->peers.flow_timeout_s = opts->flow_timeout_s;
		t->peers.udp_buffer = opts->udp_buffer;
		t->peers.udp_buffer_given = opts->udp_buffer_given;
		t->peers.limit = &t->limit;
		t->peers.max_peers = opts->max_peers;
	} else {
		if (tunnel_open_udp(t) != 0)
			goto fail;
		if ((t->link = link_new(base, &cfg, &cbs, t)) == NULL)
			fatalx("link_new");
		/* Flows are logged by the link they go through. */
		snprintf(name, sizeof name, strchr(opts->tcp.host, ':') ?
		    "[%s]:%u" : "%s:%u", opts->tcp.host, opts->tcp.port);
		if (opts->udp_sendto.is_auto && (t->flows = flow_table_new(base,
		    opts->flow_timeout_s, &t->limit, name, t)) == NULL)
			fatalx("flow_table_new");
	}

	if (opts->proxy_protocol && (t->proxy_gate = proxy_accept_new(base,
	    tunnel_admit, t)) == NULL)
		fatalx("proxy_accept_new");
	if (tls != NULL && opts->side == SIDE_LISTEN && (t->tls_gate =
	    tls_accept_new(base, tls, tunnel_take_peer, t)) == NULL)
		fatalx("tls_accept_new");
	if (tls != NULL && t->link != NULL)
		link_set_tls(t->link, tls, opts->tls_name);

	if (opts->side == SIDE_LISTEN) {
		if (addr_numeric(&opts->tcp, &ss, &sslen) != 0)
			fatalx("--tcp-listen is not numeric");
		t->listener = listener_new(base, (struct sockaddr *)&ss, sslen,
		    workers_listen_fd(), workers_reuseport(), tunnel_acceptcb,
		    t);
		if (t->listener == NULL) {
			log_warn("--tcp-listen %s", addr_fmt(
			    (struct sockaddr *)&ss, a, sizeof a));
			goto fail;
		}
	}
	tunnel_summary(t);
	if (opts->side == SIDE_CONNECT) {
		for (i = 0; i < opts->nservers; i++)
			(void)link_add_server(t->link, opts->servers[i].host,
			    opts->servers[i].port);
		link_start(t->link);
	}
	return (t);

fail:
	tunnel_free(t);
	return (NULL);
}

/*
 * --udp-sendto, resolved to an address the bound socket can reach: a
 * name in the family of --udp-bind's IP when one is given (else in any,
 * and the socket follows it). Two literals of different families never
 * get here: options_parse refuses them.
 */
static int
tunnel_resolve_dest(struct tunnel *t)
{
	const struct options	*opts = t->opts;
	struct sockaddr_storage	 bind;
	socklen_t		 bindlen;
	const char		*why;
	int			 family = AF_UNSPEC;

	if (!opts->udp_bind.host_default && opts->udp_bind.host[0] != '\0' &&
	    addr_numeric(&opts->udp_bind, &bind, &bindlen) == 0)
		family = bind.ss_family;
	if (addr_resolve(&opts->udp_sendto, family, &t->dest, &t->destlen,
	    &why) != 0) {
		log_warnx("--udp-sendto %s: %s%s", opts->udp_sendto.host, why,
		    family == AF_INET ? " (as an IPv4 address, the family of "
		    "--udp-bind)" : family == AF_INET6 ? " (as an IPv6 "
		    "address, the family of --udp-bind)" : "");
		return (-1);
	}
	return (0);
}

/*
 * Where the bound socket goes: --udp-bind, or for PORT alone the
 * wildcard of --udp-sendto's family; an IPv6 wildcard takes IPv4 too
 * (dual-stack, where the system allows), so local IPv4 senders still
 * reach it.
 */
static void
tunnel_bind_addr(struct tunnel *t, struct sockaddr_storage *ss,
    socklen_t *sslen, int *dual)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	*dual = 0;
	if (addr_numeric(&t->opts->udp_bind, ss, sslen) != 0)
		fatalx("--udp-bind is not numeric");
	if (!t->opts->udp_bind.host_default || t->opts->udp_sendto.is_auto ||
	    t->dest.ss_family != AF_INET6)
		return;
	memset(ss, 0, sizeof *ss);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = in6addr_any;
	sin6->sin6_port = htons(t->opts->udp_bind.port);
	*sslen = sizeof *sin6;
	*dual = 1;
}

/* The socket bound at --udp-bind, read with one persistent event. */
static int
tunnel_open_udp(struct tunnel *t)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	char			a[ADDR_STRLEN];
	int			dual;

	tunnel_bind_addr(t, &ss, &sslen, &dual);
	if ((t->udp_fd = udp_open_dual((struct sockaddr *)&ss, sslen, dual,
	    t->opts->udp_buffer, t->opts->udp_buffer_given)) == -1) {
		log_warn("--udp-bind %s", addr_fmt((struct sockaddr *)&ss, a,
		    sizeof a));
		return (-1);
	}
	t->udp_ev = event_new(t->base, t->udp_fd, EV_READ | EV_PERSIST,
	    tunnel_udp_readcb, t);
	if (t->udp_ev == NULL)
		fatalx("event_new");
	event_add(t->udp_ev, NULL);
	t->udp_reading = 1;
	return (0);
}

/*
 * Where flow sockets bind: the IP of --udp-bind IP:auto, or the
 * wildcard of --udp-sendto's family; always port 0 (the kernel picks).
 */
static int
tunnel_flow_bind(struct tunnel *t)
{
	struct sockaddr_storage	*ss = &t->peers.flow_bind;
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	int			 family = t->dest.ss_family;

	memset(ss, 0, sizeof *ss);
	if (t->opts->udp_bind.host[0] != '\0') {
		if (addr_numeric(&t->opts->udp_bind, ss,
		    &t->peers.flow_bindlen) != 0)
			fatalx("--udp-bind is not numeric");
		if (ss->ss_family != family) {
			log_warnx("--udp-bind %s:auto: not the address family "
			    "of --udp-sendto", t->opts->udp_bind.host);
			return (-1);
		}
		return (0);
	}
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		t->peers.flow_bindlen = sizeof *sin6;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		t->peers.flow_bindlen = sizeof *sin;
	}
	return (0);
}

/* One line at start-up: side, addresses, framing and mode. */
static void
tunnel_summary(struct tunnel *t)
{
	const struct options	*opts = t->opts;
	char			 tcp[ADDR_HOSTLEN + 64];
	char			 bind[ADDR_HOSTLEN + 8];
	char			 dest[ADDR_STRLEN];
	char			 line[1024];
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;

	if (opts->side == SIDE_LISTEN)
		snprintf(tcp, sizeof tcp, "listening on %s",
		    listener_name(t->listener));
	else {
		snprintf(tcp, sizeof tcp, strchr(opts->tcp.host, ':') ?
		    "connecting to [%s]:%u" : "connecting to %s:%u",
		    opts->tcp.host, opts->tcp.port);
		if (opts->nservers > 1)
			snprintf(tcp + strlen(tcp), sizeof tcp - strlen(tcp),
			    " (and %zu more in turn)", opts->nservers - 1);
	}
	if (opts->udp_bind.is_auto)
		snprintf(bind, sizeof bind, "%s:auto", opts->udp_bind.host[0] ?
		    opts->udp_bind.host : "*");
	else {
		/* The bound address: with port 0, the one the system chose. */
		sslen = sizeof ss;
		if (getsockname(t->udp_fd, (struct sockaddr *)&ss, &sslen) !=
		    0)
			addr_numeric(&opts->udp_bind, &ss, &sslen);
		addr_fmt((struct sockaddr *)&ss, bind, sizeof bind);
	}
	if (opts->udp_sendto.is_auto)
		snprintf(dest, sizeof dest, "each client");
	else
		addr_fmt((struct sockaddr *)&t->dest, dest, sizeof dest);
	snprintf(line, sizeof line, "%s (tcp), udp %s -> %s, framing %s, %s "
	    "mode", tcp, bind, dest, frame_name(opts->framing),
	    opts->auto_mode ? "auto" : "fixed");
	log_info("%s", line);
	notify_ready(line);
}

void
tunnel_free(struct tunnel *t)
{
	if (t == NULL)
		return;
	listener_free(t->listener);
	proxy_accept_free(t->proxy_gate);
	tls_accept_free(t->tls_gate);
	peer_free_all(&t->peers);
	flow_table_free(t->flows);
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
	peer_stop_input(&t->peers);
	if (t->listener != NULL)
		listener_pause(t->listener);
}

/* Stopping for good: what was never sent is counted as dropped. */
void
tunnel_discard(struct tunnel *t)
{
	if (t->link != NULL)
		link_discard(t->link);
	peer_discard_all(&t->peers);
}

/* Bytes still on their way to the peers. */
size_t
tunnel_pending(struct tunnel *t)
{
	return ((t->link != NULL ? link_pending(t->link) : 0) +
	    peer_pending(&t->peers));
}

void
tunnel_log_stats(struct tunnel *t)
{
	const struct proxy_accept_stats	*ps;

	if (t->link != NULL)
		stats_log(link_peer(t->link), link_stats(t->link));
	else
		peer_log_stats(&t->peers);
	if (t->opts->proxy_protocol) {
		ps = t->proxy_gate != NULL ? proxy_accept_stats(t->proxy_gate) :
		    &t->proxy_done;
		log_info("stats proxy: clients %llu, health checks %llu, "
		    "refused %llu", (unsigned long long)ps->clients,
		    (unsigned long long)ps->checks,
		    (unsigned long long)ps->refused);
	}
	if (t->tls != NULL && t->opts->side == SIDE_LISTEN)
		log_info("stats tls: handshakes refused %llu",
		    (unsigned long long)(t->tls_refused +
		    tls_accept_refused(t->tls_gate)));
	if (t->opts->auto_mode)
		log_info("stats flows: active %zu, created %llu, expired %llu, "
		    "refused %llu, evicted %llu", t->limit.active,
		    (unsigned long long)t->limit.created,
		    (unsigned long long)t->limit.expired,
		    (unsigned long long)t->limit.refused,
		    (unsigned long long)t->limit.evicted);
}

/*
 * Datagrams in on the bound socket: read batches until the socket is
 * empty (or UDP_READ_ROUNDS are done), framing each datagram onto the
 * link, whose fair queue decides what goes when the path is full.
 * In auto mode each client is a flow, made on its first datagram.
 */
static void
tunnel_udp_readcb(evutil_socket_t fd, short events, void *arg)
{
	struct tunnel	*t = arg;
	struct stats	*st = link_stats(t->link);
	struct udp_msg	*msgs;
	int		 n, round;

	(void)events;
	for (round = 0; round < UDP_READ_ROUNDS && t->udp_reading; round++) {
		if ((n = udp_recv_batch(fd, &msgs, st, &t->udp_drops)) < 0) {
			if (log_ratelimit(&t->udp_rl))
				log_warn("udp receive");
			return;
		}
		tunnel_udp_batch(t, msgs, n);
		if (n < UDP_BATCH)
			return;
	}
}

/*
 * The flow of sa's address and port belongs to a client on another
 * interface (link-local addresses repeat across links): the wire cannot
 * tell the two apart, so the newcomer is refused rather than have its
 * replies go to the other. Returns 1 when it was.
 */
static int
tunnel_scope_clash(struct tunnel *t, struct flow *flow,
    const struct sockaddr *sa)
{
	const struct sockaddr_in6	*a = (const void *)sa;
	const struct sockaddr_in6	*b = (const void *)flow_client(flow);
	char				 s[ADDR_STRLEN];

	if (sa->sa_family != AF_INET6 || b->sin6_family != AF_INET6 ||
	    a->sin6_scope_id == b->sin6_scope_id)
		return (0);
	t->limit.refused++;
	if (log_ratelimit(&t->limit.rl))
		log_warnx("flow %s: refused, a live flow has the same address "
		    "on another interface", addr_fmt(sa, s, sizeof s));
	return (1);
}

/* One batch from the bound socket onto the link. */
static void
tunnel_udp_batch(struct tunnel *t, struct udp_msg *msgs, int n)
{
	struct sockaddr	*sa;
	struct flow	*flow;
	int		 i;
	char		 a[ADDR_STRLEN];

	for (i = 0; i < n; i++) {
		sa = (struct sockaddr *)&msgs[i].from;
		if (t->flows != NULL) {
			if ((flow = flow_lookup(t->flows, sa)) != NULL &&
			    tunnel_scope_clash(t, flow, sa))
				continue;
			if (flow == NULL) {
				flow = flow_create(t->flows, sa, -1, NULL);
				if (flow == NULL)
					continue;	/* over --max-flows */
				log_verbose("flow %s (peer %s): new",
				    addr_fmt(sa, a, sizeof a),
				    link_peer(t->link));
			}
			flow_touch(flow);
		}
		if (log_debug_enabled())
			log_debug("udp %s: %zu bytes -> link %s",
			    addr_fmt(sa, a, sizeof a), msgs[i].len,
			    link_peer(t->link));
		link_send(t->link, sa, msgs[i].buf, msgs[i].len);
	}
}

/*
 * A frame from the peer leaves the bound socket: for --udp-sendto, or
 * in auto mode for the client of its flow, if that flow is live.
 */
static void
tunnel_framecb(struct link *link, const struct frame *f, void *arg)
{
	struct tunnel		*t = arg;
	const struct sockaddr	*to = (const struct sockaddr *)&t->dest;
	socklen_t		 tolen = t->destlen;
	struct flow		*flow;
	char			 a[ADDR_STRLEN];

	if (t->flows != NULL) {
		flow = flow_lookup(t->flows, (const struct sockaddr *)&f->src);
		if (flow == NULL) {
			link_stats(link)->drop_no_flow++;
			if (log_debug_enabled())
				log_debug("link %s: %zu bytes for %s, which "
				    "is no live flow: dropped",
				    link_peer(link), f->len, addr_fmt(
				    (const struct sockaddr *)&f->src, a,
				    sizeof a));
			return;
		}
		flow_touch(flow);
		to = flow_client(flow);
		tolen = flow_client_len(flow);
	}
	if (log_debug_enabled())
		log_debug("link %s: %zu bytes -> udp %s", link_peer(link),
		    f->len, addr_fmt(to, a, sizeof a));
	udp_sendq_add(t->udp_fd, f->payload, f->len, to, tolen,
	    link_stats(link));
}

/* All frames of one TCP read are in: send them in one go. */
static void
tunnel_flushcb(struct link *link, void *arg)
{
	(void)link;
	(void)arg;
	udp_sendq_flush();
}

/* What this process has carried: for the supervisor of --workers. */
void
tunnel_totals(struct tunnel *t, struct tunnel_totals *tt)
{
	memset(tt, 0, sizeof *tt);
	if (t->link != NULL)
		stats_add(&tt->stats, link_stats(t->link));
	else
		peer_stats_sum(&t->peers, &tt->stats);
	if (t->opts->side == SIDE_LISTEN)
		tt->peers = tunnel_peers(t);
	tt->flows_active = t->limit.active;
	tt->flows_created = t->limit.created;
}
