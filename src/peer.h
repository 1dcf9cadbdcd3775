/*
 * peer.h - the listen side in auto mode: every accepted connection is a
 * peer with its own link and its own flows, each flow with its own UDP
 * socket towards --udp-sendto.
 *
 * Room is shared fairly: a newcomer past --max-peers takes the place of
 * the peer silent longest that has no flows, once it has been silent for
 * PEER_IDLE_S; and a peer below its share of --max-flows (the limit over
 * the peers connected) gets a flow even when all are taken, the oldest
 * flow of the peer most over its share making room.
 */
#ifndef UOT_PEER_H
#define UOT_PEER_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>

#include "flow.h"
#include "link.h"

/* Silent this long, with no flows, a peer may make room for another. */
#define PEER_IDLE_S	5

struct event_base;
struct peer;

/* What every peer shares; owned by the tunnel. */
struct peer_env {
	struct event_base	*base;
	struct link_config	 link_cfg;
	struct sockaddr_storage	 dest;		/* --udp-sendto */
	socklen_t		 destlen;
	struct sockaddr_storage	 flow_bind;	/* IP:0 for flow sockets */
	socklen_t		 flow_bindlen;
	unsigned int		 flow_timeout_s;
	size_t			 udp_buffer;	/* --udp-buffer for flow sockets */
	int			 udp_buffer_given;
	struct flow_limit	*limit;
	size_t			 max_peers;
	struct peer		*peers;		/* utlist */
	size_t			 npeers;
	int			 stopped;
	struct log_ratelimit	 refuse_rl;
	struct log_ratelimit	 socket_rl;
	struct log_ratelimit	 evict_rl;
	struct stats		 closed;	/* counters of gone peers */
};

/* peer.c */
void	peer_accept(struct peer_env *, int, const struct sockaddr *,
	    struct tls_conn *);
void	peer_free_all(struct peer_env *);
void	peer_stop_input(struct peer_env *);
void	peer_discard_all(struct peer_env *);
size_t	peer_pending(struct peer_env *);
void	peer_log_stats(struct peer_env *);
void	peer_stats_sum(struct peer_env *, struct stats *);

#endif
