/*
 * peer.c - the listen side in auto mode. Each accepted connection is a
 * peer: a link plus a flow table. A frame from the peer names its
 * client; the first frame of a client opens that flow's own UDP socket
 * (so the server sees one source per client), and whatever the server
 * sends back to that socket is framed with the client's address the
 * moment it arrives. When the peer's link goes, its flows go with it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>
#include <utlist.h>

#include "addr.h"
#include "flow.h"
#include "link.h"
#include "log.h"
#include "peer.h"
#include "stats.h"
#include "tls.h"
#include "udp.h"

struct peer {
	struct peer_env		*env;
	struct link		*link;
	struct flow_table	*flows;
	struct timeval		 heard;		/* last frame, or the accept */
	struct peer		*prev, *next;
};

static void	peer_framecb(struct link *, const struct frame *, void *);
static void	peer_statecb(struct link *, enum link_state, void *);
static void	peer_flushcb(struct link *, void *);
static void	peer_flow_readcb(struct flow *, void *);
static void	peer_free(struct peer *);
static void	peer_make_room(struct peer_env *, const struct sockaddr *);
static void	peer_share_flows(struct peer *);

/*
 * The table of peers is full: the peer silent longest that has no
 * flows, silent for PEER_IDLE_S at least, goes. A connection that never
 * sends, or sent long ago and has nothing going on, cannot keep out one
 * that comes with traffic; a peer with flows is never the one to go.
 */
static void
peer_make_room(struct peer_env *env, const struct sockaddr *sa)
{
	struct peer	*peer, *victim = NULL;
	struct timeval	 now, idle;
	char		 a[ADDR_STRLEN], why[ADDR_STRLEN + 64];

	event_base_gettimeofday_cached(env->base, &now);
	DL_FOREACH(env->peers, peer) {
		if (flow_table_count(peer->flows) > 0)
			continue;
		timersub(&now, &peer->heard, &idle);
		if (idle.tv_sec < PEER_IDLE_S)
			continue;
		if (victim == NULL || timercmp(&peer->heard, &victim->heard, <))
			victim = peer;
	}
	if (victim == NULL)
		return;
	timersub(&now, &victim->heard, &idle);
	snprintf(why, sizeof why, "silent for %ld s with no flows; room made "
	    "for peer %s", (long)idle.tv_sec, addr_fmt(sa, a, sizeof a));
	if (log_ratelimit(&env->evict_rl))
		log_warnx("peer %s: closed: %s", link_peer(victim->link), why);
	link_close(victim->link, why);	/* frees it (peer_statecb) */
}

/*
 * Every flow is taken, but this peer holds less than its share of them
 * (--max-flows over the peers connected): the peer most over its share
 * gives up its oldest flow, so that one peer opening flows fast cannot
 * keep the others from opening any.
 */
static void
peer_share_flows(struct peer *peer)
{
	struct peer_env	*env = peer->env;
	struct peer	*p, *fattest = NULL;
	size_t		 share = env->limit->max / (env->npeers > 0 ?
			    env->npeers : 1);
	char		 why[ADDR_STRLEN + 48];

	if (env->limit->active < env->limit->max ||
	    flow_table_count(peer->flows) >= share)
		return;
	DL_FOREACH(env->peers, p)
		if (p != peer && (fattest == NULL ||
		    flow_table_count(p->flows) >
		    flow_table_count(fattest->flows)))
			fattest = p;
	if (fattest == NULL || flow_table_count(fattest->flows) <= share)
		return;
	snprintf(why, sizeof why, "evicted for peer %s, below its share",
	    link_peer(peer->link));
	if (log_ratelimit(&env->evict_rl))
		log_warnx("peer %s: %zu flows, over its share of %zu: its "
		    "oldest flow is closed for peer %s",
		    link_peer(fattest->link), flow_table_count(fattest->flows),
		    share, link_peer(peer->link));
	(void)flow_evict_oldest(fattest->flows, why);
}

void
peer_accept(struct peer_env *env, int fd, const struct sockaddr *sa,
    struct tls_conn *tls)
{
	static const struct link_cbs	 cbs = {
		peer_framecb, peer_statecb, peer_flushcb
	};
	struct peer			*peer;
	char				 a[ADDR_STRLEN];

	if (env->npeers >= env->max_peers)
		peer_make_room(env, sa);
	if (env->npeers >= env->max_peers) {
		if (log_ratelimit(&env->refuse_rl))
			log_warnx("peer %s: refused, already %zu peers "
			    "(--max-peers)", addr_fmt(sa, a, sizeof a),
			    env->npeers);
		tls_conn_free(tls);
		evutil_closesocket(fd);
		return;
	}
	if ((peer = calloc(1, sizeof *peer)) == NULL) {
		log_warnx("peer %s: out of memory", addr_fmt(sa, a, sizeof a));
		tls_conn_free(tls);
		evutil_closesocket(fd);
		return;
	}
	peer->env = env;
	addr_fmt(sa, a, sizeof a);
	peer->link = link_new(env->base, &env->link_cfg, &cbs, peer);
	peer->flows = flow_table_new(env->base, env->flow_timeout_s,
	    env->limit, a, peer);
	if (peer->link == NULL || peer->flows == NULL) {
		log_warnx("peer %s: out of memory", a);
		tls_conn_free(tls);
		evutil_closesocket(fd);
		peer_free(peer);
		return;
	}
	DL_APPEND(env->peers, peer);
	env->npeers++;
	event_base_gettimeofday_cached(env->base, &peer->heard);
	link_attach_tls(peer->link, fd, sa, tls);
}

/* Frees the peer, its link and its flows; safe from the link's callbacks. */
static void
peer_free(struct peer *peer)
{
	struct peer_env	*env = peer->env;

	if (peer->prev != NULL) {
		DL_DELETE(env->peers, peer);
		env->npeers--;
	}
	if (peer->link != NULL)
		stats_add(&env->closed, link_stats(peer->link));
	flow_table_free(peer->flows);
	link_free(peer->link);
	free(peer);
}

void
peer_free_all(struct peer_env *env)
{
	struct peer	*peer, *tmp;

	DL_FOREACH_SAFE(env->peers, peer, tmp)
		peer_free(peer);
}

/* Shutting down: no more reading from any flow socket. */
void
peer_stop_input(struct peer_env *env)
{
	struct peer	*peer;

	env->stopped = 1;
	DL_FOREACH(env->peers, peer)
		flow_pause(peer->flows, 1);
}

/* Stopping: what every peer's link still holds is counted as dropped. */
void
peer_discard_all(struct peer_env *env)
{
	struct peer	*peer;

	DL_FOREACH(env->peers, peer)
		link_discard(peer->link);
}

size_t
peer_pending(struct peer_env *env)
{
	struct peer	*peer;
	size_t		 n = 0;

	DL_FOREACH(env->peers, peer)
		n += link_pending(peer->link);
	return (n);
}

void
peer_log_stats(struct peer_env *env)
{
	struct peer	*peer;
	char		 who[ADDR_HOSTLEN + 32];

	DL_FOREACH(env->peers, peer) {
		snprintf(who, sizeof who, "%s (%zu flows)",
		    link_peer(peer->link), flow_table_count(peer->flows));
		stats_log(who, link_stats(peer->link));
	}
	stats_log("of closed peers", &env->closed);
}

/* Every peer's counters, the gone ones' too, into sum. */
void
peer_stats_sum(struct peer_env *env, struct stats *sum)
{
	struct peer	*peer;

	stats_add(sum, &env->closed);
	DL_FOREACH(env->peers, peer)
		stats_add(sum, link_stats(peer->link));
}

/* The peer's link is gone: so are its flows (the seed's rule). */
static void
peer_statecb(struct link *link, enum link_state state, void *arg)
{
	struct peer	*peer = arg;

	(void)link;
	if (state == LINK_CLOSED)
		peer_free(peer);
}

/* A flow's own socket towards the server: bound to IP:0, connected. */
static struct flow *
peer_flow_open(struct peer *peer, const struct sockaddr *client)
{
	struct peer_env		*env = peer->env;
	struct flow		*flow;
	struct sockaddr_storage	 local;
	socklen_t		 locallen = sizeof local;
	char			 a[ADDR_STRLEN], b[ADDR_STRLEN];
	int			 fd;

	peer_share_flows(peer);
	if (flow_admit(peer->flows, client) != 0)
		return (NULL);
	fd = udp_open((struct sockaddr *)&env->flow_bind, env->flow_bindlen,
	    env->udp_buffer, env->udp_buffer_given);
	if (fd == -1 || connect(fd, (struct sockaddr *)&env->dest,
	    env->destlen) != 0) {
		if (log_ratelimit(&env->socket_rl))
			log_warn("flow %s (peer %s): no socket, datagram "
			    "dropped", addr_fmt(client, a, sizeof a),
			    link_peer(peer->link));
		if (fd != -1)
			close(fd);
		link_stats(peer->link)->drop_no_socket++;
		return (NULL);
	}
	if ((flow = flow_create(peer->flows, client, fd,
	    peer_flow_readcb)) == NULL)
		return (NULL);
	if (log_verbose_enabled()) {
		if (getsockname(fd, (struct sockaddr *)&local, &locallen) != 0)
			memset(&local, 0, sizeof local);
		log_verbose("flow %s (peer %s): new, socket %s",
		    addr_fmt(client, a, sizeof a), link_peer(peer->link),
		    addr_fmt((struct sockaddr *)&local, b, sizeof b));
	}
	return (flow);
}

/* A frame from the peer: to the server, from its client's own socket. */
static void
peer_framecb(struct link *link, const struct frame *f, void *arg)
{
	struct peer	*peer = arg;
	struct flow	*flow;
	char		 a[ADDR_STRLEN];

	event_base_gettimeofday_cached(peer->env->base, &peer->heard);
	flow = flow_lookup(peer->flows, (const struct sockaddr *)&f->src);
	if (flow == NULL &&
	    (flow = peer_flow_open(peer, (const struct sockaddr *)&f->src)) ==
	    NULL)
		return;
	if (log_debug_enabled())
		log_debug("flow %s (peer %s): %zu bytes -> server",
		    addr_fmt(flow_client(flow), a, sizeof a), link_peer(link),
		    f->len);
	flow_touch(flow);
	udp_sendq_add(flow_fd(flow), f->payload, f->len, NULL, 0,
	    link_stats(link));
}

/* All frames of one TCP read are in: send them in one go. */
static void
peer_flushcb(struct link *link, void *arg)
{
	(void)link;
	(void)arg;
	udp_sendq_flush();
}

/* The server answered on a flow's socket: frame it back at once. */
static void
peer_flow_readcb(struct flow *flow, void *arg)
{
	struct peer	*peer = arg;
	struct udp_msg	*msgs;
	int		 i, n = UDP_BATCH, round;
	char		 a[ADDR_STRLEN];

	/* Until the socket is empty, as tunnel.c reads its own. */
	for (round = 0; round < UDP_READ_ROUNDS && n == UDP_BATCH; round++) {
		if ((n = udp_recv_batch(flow_fd(flow), &msgs,
		    link_stats(peer->link), flow_rx_drops(flow))) <= 0)
			return;
		flow_touch(flow);
		for (i = 0; i < n; i++) {
			if (log_debug_enabled())
				log_debug("flow %s (peer %s): %zu bytes <- "
				    "server", addr_fmt(flow_client(flow), a,
				    sizeof a), link_peer(peer->link),
				    msgs[i].len);
			link_send(peer->link, flow_client(flow), msgs[i].buf,
			    msgs[i].len);
		}
	}
}
