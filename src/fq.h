/*
 * fq.h - the fair queue in front of a link's TCP connection, in the
 * manner of fq_codel (RFC 8290): frames wait per flow, the flows take
 * turns a quantum of bytes at a time (a flow that just became active
 * goes first), and each flow's own delay is held near a target by
 * CoDel (RFC 8289). Frames are opaque bytes; the flow is named by a
 * fixed slice of each frame (the address field of the flow framing).
 * No I/O, no clock: the caller passes the time, so it can be tested.
 */
#ifndef UOT_FQ_H
#define UOT_FQ_H

#include <stddef.h>
#include <stdint.h>

struct fq;

struct fq_config {
	size_t		key_off;	/* the flow's name in each frame: */
	size_t		key_len;	/* 0: one flow for all */
	uint64_t	target_us;	/* CoDel: acceptable standing delay */
	uint64_t	interval_us;	/* CoDel: how long it may stand */
	uint64_t	max_delay_us;	/* older than this: never sent */
	size_t		limit;		/* bytes of new frames held at most */
	size_t		quantum;	/* bytes a flow sends per turn */
};

/* One frame. The caller fills data[0..len) between new and enqueue. */
struct fq_pkt {
	struct fq_pkt	*next;
	uint64_t	 enq_us;
	size_t		 len;
	size_t		 cap;		/* bytes data[] can hold */
	int		 held;		/* from the reconnect queue */
	unsigned char	 data[];
};

/* Frames dropped, by reason. */
struct fq_drops {
	uint64_t	codel;		/* delay stood above target too long */
	uint64_t	too_old;	/* waited longer than max_delay */
	uint64_t	overlimit;	/* over the link's or process's bytes */
};

#define FQ_KEY_MAX	18

/* fq.c */
struct fq		*fq_new(const struct fq_config *);
void			 fq_free(struct fq *);
struct fq_pkt		*fq_pkt_new(size_t);
void			 fq_pkt_free(struct fq_pkt *);
void			 fq_pkt_cache_clear(void);
void			 fq_enqueue(struct fq *, struct fq_pkt *, uint64_t);
struct fq_pkt		*fq_dequeue(struct fq *, uint64_t);
struct fq_pkt		*fq_pop_any(struct fq *);
int			 fq_empty(const struct fq *);
size_t			 fq_bytes(const struct fq *);
size_t			 fq_frames(const struct fq *);
size_t			 fq_flows(const struct fq *);
const struct fq_drops	*fq_drops(const struct fq *);
void			 fq_set_total_limit(size_t);
size_t			 fq_total_bytes(void);
uint64_t		 fq_now(void);

#endif
