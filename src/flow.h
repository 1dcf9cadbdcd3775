/*
 * flow.h - the flows of auto mode: one per client address (and per
 * peer on the listen side) in a uthash table, each with an idle timer
 * and, on the listen side, its own UDP socket and read event.
 */
#ifndef UOT_FLOW_H
#define UOT_FLOW_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct event_base;
struct flow;
struct flow_table;

/* Shared by every table of a process: the one bound on flows. */
struct flow_limit {
	size_t			active;
	size_t			max;
	uint64_t		created;
	uint64_t		expired;
	uint64_t		refused;
	uint64_t		evicted;	/* to make room for another peer */
	struct log_ratelimit	rl;
};

/* A datagram arrived on a flow's own socket. */
typedef void (*flow_readfn)(struct flow *, void *);

/* flow.c */
struct flow_table	*flow_table_new(struct event_base *, unsigned int,
			    struct flow_limit *, const char *, void *);
void			 flow_table_free(struct flow_table *);
size_t			 flow_table_count(const struct flow_table *);
struct flow		*flow_lookup(struct flow_table *,
			    const struct sockaddr *);
int			 flow_admit(struct flow_table *,
			    const struct sockaddr *);
struct flow		*flow_create(struct flow_table *,
			    const struct sockaddr *, int, flow_readfn);
void			 flow_free(struct flow *, const char *);
int			 flow_evict_oldest(struct flow_table *, const char *);
void			 flow_touch(struct flow *);
void			 flow_pause(struct flow_table *, int);
const struct sockaddr	*flow_client(const struct flow *);
socklen_t		 flow_client_len(const struct flow *);
int			 flow_fd(const struct flow *);
uint32_t		*flow_rx_drops(struct flow *);
void			*flow_table_arg(const struct flow_table *);

#endif
