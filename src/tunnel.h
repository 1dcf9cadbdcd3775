/* tunnel.h - what ties the UDP side to the links, for either side. */
#ifndef UOT_TUNNEL_H
#define UOT_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct options;
struct tls_ctx;
struct tunnel;

#include "stats.h"

/* What one process has carried (a worker's share, workers.c). */
struct tunnel_totals {
	struct stats	stats;
	uint64_t	peers;
	uint64_t	flows_active;
	uint64_t	flows_created;
};

/* tunnel.c */
struct tunnel	*tunnel_new(struct event_base *, const struct options *,
		    struct tls_ctx *);
void		 tunnel_reload(struct tunnel *);
void		 tunnel_drain(struct tunnel *);
size_t		 tunnel_peers(struct tunnel *);
void		 tunnel_totals(struct tunnel *, struct tunnel_totals *);
void		 tunnel_free(struct tunnel *);
void		 tunnel_stop_input(struct tunnel *);
void		 tunnel_discard(struct tunnel *);
size_t		 tunnel_pending(struct tunnel *);
void		 tunnel_log_stats(struct tunnel *);

#endif
