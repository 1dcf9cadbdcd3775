/*
 * tunnel_private.h - what tunnel.c (the UDP side and the links) and
 * tunnel_listen.c (how the listen side's connections become peers)
 * share. Nothing else includes this.
 */
#ifndef UOT_TUNNEL_PRIVATE_H
#define UOT_TUNNEL_PRIVATE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdint.h>

#include "flow.h"
#include "log.h"
#include "peer.h"
#include "proxy_accept.h"

struct event;
struct link;
struct listener;
struct options;
struct tls_accept;
struct tls_conn;
struct tls_ctx;

struct tunnel {
	struct event_base	*base;
	const struct options	*opts;

	int			 udp_fd;	/* bound at --udp-bind */
	struct event		*udp_ev;
	int			 udp_reading;
	uint32_t		 udp_drops;	/* kernel's count, seen */
	int			 stopped;	/* shutting down */
	struct sockaddr_storage	 dest;		/* --udp-sendto */
	socklen_t		 destlen;

	struct link		*link;		/* all but listen-side auto */
	struct listener		*listener;	/* listen side */
	struct flow_table	*flows;		/* connect-side auto */
	struct flow_limit	 limit;
	struct peer_env		 peers;		/* listen-side auto */
	struct tls_ctx		*tls;		/* main's; NULL: plain TCP */
	struct tls_accept	*tls_gate;	/* listen side with TLS */
	uint64_t		 tls_refused;	/* by a gate since freed */
	struct proxy_accept	*proxy_gate;	/* --proxy-protocol */
	struct proxy_accept_stats proxy_done;	/* of a gate since freed */
	struct log_ratelimit	 udp_rl;
	struct log_ratelimit	 allow_rl;
};

/* tunnel.c */
int	tunnel_is_peer_mode(const struct tunnel *);

/* tunnel_listen.c */
void	tunnel_acceptcb(int, const struct sockaddr *, void *);
void	tunnel_admit(int, const struct sockaddr *, void *);
void	tunnel_take_peer(int, const struct sockaddr *, struct tls_conn *,
	    void *);

#endif
