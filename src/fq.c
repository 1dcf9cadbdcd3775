/*
 * fq.c - per-flow fair queueing with CoDel, after RFC 8290 and 8289.
 *
 * Each flow has two FIFOs: frames held from the reconnect queue (sent
 * first, in order, never dropped for their age: --queue-size already
 * bounds them) and new frames, which CoDel watches. Active flows sit on
 * one of two lists: "new" (just became active, served first, so a
 * sparse flow such as a voice call or a game barely waits) and "old".
 * Each turn a flow may send while its deficit lasts, then earns a
 * quantum and goes to the back of the old list. A flow found empty
 * leaves the lists and is freed: memory follows the active flows.
 *
 * Over the byte limit (the link's, or the process's shared by every
 * link), the flow with the most new bytes loses the oldest half of them:
 * the flow that overloads the path pays, not the others, and the work is
 * amortised over many arrivals. At most FQ_MAX_FLOWS flows have frames
 * at once; past that, newcomers share one more (as fq_codel's hashed
 * buckets would), so that many sources cannot make the search long.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uthash.h>
#include <utlist.h>

#include "fq.h"

/* RFC 8289's state of one flow's CoDel. */
struct codel {
	uint64_t	first_above_us;	/* 0: below target */
	uint64_t	drop_next_us;
	uint32_t	count;
	uint32_t	lastcount;
	int		dropping;
};

struct fq_fifo {
	struct fq_pkt	*head;
	struct fq_pkt	*tail;
	size_t		 bytes;
	size_t		 frames;
};

struct fq_flow {
	unsigned char	 key[FQ_KEY_MAX];
	UT_hash_handle	 hh;
	struct fq_flow	*prev, *next;	/* on new_flows or old_flows */
	int		 list;		/* FQ_LIST_* */
	long		 deficit;
	struct fq_fifo	 held;
	struct fq_fifo	 fresh;
	struct codel	 codel;
};

enum { FQ_LIST_NONE, FQ_LIST_NEW, FQ_LIST_OLD };

#define FQ_MAX_FLOWS	4096

struct fq {
	struct fq_config	 cfg;
	struct fq_flow		*flows;		/* by key */
	struct fq_flow		*new_flows;
	struct fq_flow		*old_flows;
	size_t			 nflows;
	size_t			 bytes;		/* all frames */
	size_t			 fresh_bytes;	/* new frames: the limit's */
	size_t			 frames;
	struct fq_drops		 drops;
};

/* Every link's frames together, against --queue-memory. */
static size_t	fq_total;
static size_t	fq_total_limit = SIZE_MAX;

/*
 * Frames of up to FQ_PKT_CLASS bytes (a datagram of a common MTU) come
 * from buffers of that size, and up to FQ_PKT_CACHE freed ones are kept
 * for the next: a flood that is dropped as fast as it arrives then costs
 * no allocation at all.
 */
#define FQ_PKT_CLASS	2048
#define FQ_PKT_CACHE	2048
static struct fq_pkt	*fq_cache;
static size_t		 fq_ncache;

static void	fq_drop_fattest(struct fq *);

uint64_t
fq_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

void
fq_set_total_limit(size_t limit)
{
	fq_total_limit = limit;
}

size_t
fq_total_bytes(void)
{
	return (fq_total);
}

struct fq *
fq_new(const struct fq_config *cfg)
{
	struct fq	*fq;

	if (cfg->key_len > FQ_KEY_MAX || cfg->quantum == 0)
		return (NULL);
	if ((fq = calloc(1, sizeof *fq)) == NULL)
		return (NULL);
	fq->cfg = *cfg;
	return (fq);
}

void
fq_free(struct fq *fq)
{
	struct fq_pkt	*p;

	if (fq == NULL)
		return;
	while ((p = fq_pop_any(fq)) != NULL)
		fq_pkt_free(p);
	free(fq);
}

struct fq_pkt *
fq_pkt_new(size_t len)
{
	struct fq_pkt	*p;
	size_t		 cap = len <= FQ_PKT_CLASS ? FQ_PKT_CLASS : len;

	if (cap == FQ_PKT_CLASS && (p = fq_cache) != NULL) {
		fq_cache = p->next;
		fq_ncache--;
	} else if ((p = malloc(sizeof *p + cap)) == NULL)
		return (NULL);
	p->cap = cap;
	p->next = NULL;
	p->len = len;
	p->held = 0;
	p->enq_us = 0;
	return (p);
}

void
fq_pkt_free(struct fq_pkt *p)
{
	if (p != NULL && p->cap == FQ_PKT_CLASS && fq_ncache < FQ_PKT_CACHE) {
		p->next = fq_cache;
		fq_cache = p;
		fq_ncache++;
		return;
	}
	free(p);
}

/* At exit: the kept buffers go back too. */
void
fq_pkt_cache_clear(void)
{
	struct fq_pkt	*p;

	while ((p = fq_cache) != NULL) {
		fq_cache = p->next;
		free(p);
	}
	fq_ncache = 0;
}

int
fq_empty(const struct fq *fq)
{
	return (fq->frames == 0);
}

size_t
fq_bytes(const struct fq *fq)
{
	return (fq->bytes);
}

size_t
fq_frames(const struct fq *fq)
{
	return (fq->frames);
}

size_t
fq_flows(const struct fq *fq)
{
	return (fq->nflows);
}

const struct fq_drops *
fq_drops(const struct fq *fq)
{
	return (&fq->drops);
}

static void
fq_fifo_push(struct fq_fifo *q, struct fq_pkt *p)
{
	p->next = NULL;
	if (q->tail != NULL)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->bytes += p->len;
	q->frames++;
}

/* Takes the oldest frame of q off the flow (and the queue's sums). */
static struct fq_pkt *
fq_fifo_pop(struct fq *fq, struct fq_fifo *q)
{
	struct fq_pkt	*p;

	if ((p = q->head) == NULL)
		return (NULL);
	if ((q->head = p->next) == NULL)
		q->tail = NULL;
	p->next = NULL;
	q->bytes -= p->len;
	q->frames--;
	fq->bytes -= p->len;
	fq->frames--;
	fq_total -= p->len;
	if (!p->held)
		fq->fresh_bytes -= p->len;
	return (p);
}

static void
fq_list_del(struct fq *fq, struct fq_flow *f)
{
	if (f->list == FQ_LIST_NEW)
		DL_DELETE(fq->new_flows, f);
	else if (f->list == FQ_LIST_OLD)
		DL_DELETE(fq->old_flows, f);
	f->list = FQ_LIST_NONE;
}

static void
fq_to_old(struct fq *fq, struct fq_flow *f)
{
	fq_list_del(fq, f);
	DL_APPEND(fq->old_flows, f);
	f->list = FQ_LIST_OLD;
}

/* An empty flow leaves the lists, and with it its state. */
static void
fq_flow_retire(struct fq *fq, struct fq_flow *f)
{
	fq_list_del(fq, f);
	HASH_DEL(fq->flows, f);
	fq->nflows--;
	free(f);
}

/*
 * Takes the frame p (a frame of the link's framing, fq_pkt_new'd and
 * filled): onto the back of its flow, stamped with now. Never fails:
 * when memory is short a frame is dropped and counted instead.
 */
void
fq_enqueue(struct fq *fq, struct fq_pkt *p, uint64_t now)
{
	unsigned char	 key[FQ_KEY_MAX];
	struct fq_flow	*f;

	memset(key, 0, sizeof key);
	if (fq->cfg.key_len > 0 && p->len >= fq->cfg.key_off +
	    fq->cfg.key_len)
		memcpy(key, p->data + fq->cfg.key_off, fq->cfg.key_len);
	HASH_FIND(hh, fq->flows, key, sizeof key, f);
	if (f == NULL && fq->nflows >= FQ_MAX_FLOWS) {
		/* The overflow flow's key: all ones (a frame that carries
		 * that address shares it, and nothing worse). */
		memset(key, 0xff, sizeof key);
		HASH_FIND(hh, fq->flows, key, sizeof key, f);
	}
	if (f == NULL) {
		if ((f = calloc(1, sizeof *f)) == NULL) {
			fq->drops.overlimit++;
			fq_pkt_free(p);
			return;
		}
		memcpy(f->key, key, sizeof key);
		HASH_ADD(hh, fq->flows, key, sizeof key, f);
		fq->nflows++;
	}
	p->enq_us = now;
	fq_fifo_push(p->held ? &f->held : &f->fresh, p);
	fq->bytes += p->len;
	fq->frames++;
	fq_total += p->len;
	if (!p->held)
		fq->fresh_bytes += p->len;
	if (f->list == FQ_LIST_NONE) {
		DL_APPEND(fq->new_flows, f);
		f->list = FQ_LIST_NEW;
		f->deficit = (long)fq->cfg.quantum;
	}
	while (fq->fresh_bytes > fq->cfg.limit ||
	    (fq_total > fq_total_limit && fq->fresh_bytes > 0))
		fq_drop_fattest(fq);
}

/*
 * Over a limit: the flow with the most new bytes loses the oldest half
 * of them (at least one frame). A linear search, but once per many
 * arrivals.
 */
static void
fq_drop_fattest(struct fq *fq)
{
	struct fq_flow	*f, *fat = NULL;
	struct fq_pkt	*p;
	size_t		 goal;

	for (f = fq->flows; f != NULL; f = f->hh.next)
		if (fat == NULL || f->fresh.bytes > fat->fresh.bytes)
			fat = f;
	if (fat == NULL || fat->fresh.frames == 0)
		return;		/* cannot be: the caller saw fresh bytes */
	goal = fat->fresh.bytes / 2;
	do {
		p = fq_fifo_pop(fq, &fat->fresh);
		fq_pkt_free(p);
		fq->drops.overlimit++;
	} while (fat->fresh.bytes > goal);
	/* An empty flow stays on its list until its turn finds it empty. */
}

/*
 * RFC 8289's dodequeue: the flow's next frame, and whether its delay
 * has stood above target for an interval (ok to drop). Held frames go
 * first and are never judged; a new frame older than max_delay is
 * dropped here, whatever CoDel thinks.
 */
static struct fq_pkt *
fq_codel_pop(struct fq *fq, struct fq_flow *f, uint64_t now, int *ok_to_drop)
{
	struct codel	*c = &f->codel;
	struct fq_pkt	*p;
	uint64_t	 sojourn;

	*ok_to_drop = 0;
	if (f->held.head != NULL)
		return (fq_fifo_pop(fq, &f->held));
	for (;;) {
		if ((p = fq_fifo_pop(fq, &f->fresh)) == NULL) {
			c->first_above_us = 0;
			return (NULL);
		}
		sojourn = now > p->enq_us ? now - p->enq_us : 0;
		if (sojourn <= fq->cfg.max_delay_us)
			break;
		fq->drops.too_old++;
		fq_pkt_free(p);
	}
	if (sojourn < fq->cfg.target_us || f->fresh.bytes <= fq->cfg.quantum) {
		/* Below target, or too little queued to matter. */
		c->first_above_us = 0;
	} else if (c->first_above_us == 0) {
		c->first_above_us = now + fq->cfg.interval_us;
	} else if (now >= c->first_above_us)
		*ok_to_drop = 1;
	return (p);
}

/* Integer square root (Newton's method): no libm for one formula. */
static uint64_t
fq_isqrt(uint64_t n)
{
	uint64_t	x = n, y;

	if (n < 2)
		return (n);
	y = (x + 1) / 2;
	while (y < x) {
		x = y;
		y = (x + n / x) / 2;
	}
	return (x);
}

/*
 * RFC 8289's control law, interval / sqrt(count) after t: the drops
 * come closer together while the delay stays up. The root is taken of
 * count << 16, which keeps 8 bits after the point.
 */
static uint64_t
fq_codel_next(const struct fq *fq, uint64_t t, uint32_t count)
{
	return (t + fq->cfg.interval_us * 256 /
	    fq_isqrt((uint64_t)(count > 0 ? count : 1) << 16));
}

/* RFC 8289's dequeue, for one flow. */
static struct fq_pkt *
fq_codel_dequeue(struct fq *fq, struct fq_flow *f, uint64_t now)
{
	struct codel	*c = &f->codel;
	struct fq_pkt	*p;
	uint32_t	 delta;
	int		 ok;

	p = fq_codel_pop(fq, f, now, &ok);
	if (p == NULL) {
		c->dropping = 0;
		return (NULL);
	}
	if (p->held)
		return (p);
	if (c->dropping) {
		if (!ok)
			c->dropping = 0;
		while (c->dropping && now >= c->drop_next_us) {
			fq_pkt_free(p);
			fq->drops.codel++;
			c->count++;
			if ((p = fq_codel_pop(fq, f, now, &ok)) == NULL) {
				c->dropping = 0;
				return (NULL);
			}
			if (!ok)
				c->dropping = 0;
			else
				c->drop_next_us = fq_codel_next(fq,
				    c->drop_next_us, c->count);
		}
	} else if (ok) {
		fq_pkt_free(p);
		fq->drops.codel++;
		p = fq_codel_pop(fq, f, now, &ok);
		c->dropping = 1;
		/* Dropping again soon after the last time: resume near the
		 * rate that was needed then. */
		delta = c->count - c->lastcount;
		if (delta > 1 && (int64_t)(now - c->drop_next_us) <
		    (int64_t)(16 * fq->cfg.interval_us))
			c->count = delta;
		else
			c->count = 1;
		c->drop_next_us = fq_codel_next(fq, now, c->count);
		c->lastcount = c->count;
	}
	return (p);
}

/*
 * The next frame to send (the caller frees it), or NULL when nothing
 * is left. RFC 8290's scheduler: new flows first, a quantum a turn.
 */
struct fq_pkt *
fq_dequeue(struct fq *fq, uint64_t now)
{
	struct fq_flow	*f;
	struct fq_pkt	*p;

	for (;;) {
		if ((f = fq->new_flows) == NULL && (f = fq->old_flows) == NULL)
			return (NULL);
		if (f->deficit <= 0) {
			f->deficit += (long)fq->cfg.quantum;
			fq_to_old(fq, f);
			continue;
		}
		if ((p = fq_codel_dequeue(fq, f, now)) == NULL) {
			/* A new flow that emptied has one more turn among
			 * the old (so it cannot come back to the front at
			 * once); an old one that emptied is done. */
			if (f->list == FQ_LIST_NEW && fq->old_flows != NULL)
				fq_to_old(fq, f);
			else
				fq_flow_retire(fq, f);
			continue;
		}
		f->deficit -= (long)p->len;
		return (p);
	}
}

/* Any frame, no judgement (the connection is gone): flow by flow. */
struct fq_pkt *
fq_pop_any(struct fq *fq)
{
	struct fq_flow	*f;
	struct fq_pkt	*p;

	while ((f = fq->flows) != NULL) {
		if ((p = fq_fifo_pop(fq, &f->held)) != NULL ||
		    (p = fq_fifo_pop(fq, &f->fresh)) != NULL)
			return (p);
		fq_flow_retire(fq, f);
	}
	return (NULL);
}
