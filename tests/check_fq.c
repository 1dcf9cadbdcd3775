/*
 * check_fq.c - unit tests for the fair queue (fq.c), on a clock of the
 * test's own: each flow keeps its order, a flow that just became active
 * goes first, busy flows share bytes evenly, the flow over the byte
 * limit pays for it, CoDel drops only a standing delay, nothing older
 * than the bound goes out, and held frames go first and are never
 * dropped for their age.
 */

#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fq.h"

#define MS	1000ULL		/* the clock is in microseconds */
#define KEYOFF	4
#define KEYLEN	2

static void
cfg_init(struct fq_config *c)
{
	memset(c, 0, sizeof *c);
	c->key_off = KEYOFF;
	c->key_len = KEYLEN;
	c->target_us = 5 * MS;
	c->interval_us = 100 * MS;
	c->max_delay_us = 10000 * MS;
	c->limit = 1024 * 1024;
	c->quantum = 1514;
}

/* A frame of len bytes (at least 8) of flow `flow`, numbered seq. */
static struct fq_pkt *
pkt(unsigned int flow, unsigned int seq, size_t len, int held)
{
	struct fq_pkt	*p = fq_pkt_new(len);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(len, 8);
	memset(p->data, 0, len);
	p->data[0] = seq & 0xff;
	p->data[1] = (seq >> 8) & 0xff;
	p->data[2] = (seq >> 16) & 0xff;
	p->data[KEYOFF] = flow & 0xff;
	p->data[KEYOFF + 1] = (flow >> 8) & 0xff;
	p->held = held;
	return (p);
}

static unsigned int
pkt_flow(const struct fq_pkt *p)
{
	return (p->data[KEYOFF] | p->data[KEYOFF + 1] << 8);
}

static unsigned int
pkt_seq(const struct fq_pkt *p)
{
	return (p->data[0] | p->data[1] << 8 | p->data[2] << 16);
}

static void
put(struct fq *fq, unsigned int flow, unsigned int seq, size_t len,
    uint64_t now)
{
	fq_enqueue(fq, pkt(flow, seq, len, 0), now);
}

/* One flow: first in, first out; the sums follow. */
START_TEST(test_one_flow_fifo)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	unsigned int		 i;

	cfg_init(&c);
	fq = fq_new(&c);
	ck_assert_ptr_nonnull(fq);
	ck_assert(fq_empty(fq));
	ck_assert_ptr_null(fq_dequeue(fq, 0));
	for (i = 0; i < 100; i++)
		put(fq, 7, i, 100 + i, 0);
	ck_assert_uint_eq(fq_frames(fq), 100);
	ck_assert_uint_eq(fq_flows(fq), 1);
	ck_assert_uint_eq(fq_bytes(fq), 100 * 100 + 99 * 100 / 2);
	ck_assert_uint_eq(fq_total_bytes(), fq_bytes(fq));
	for (i = 0; i < 100; i++) {
		p = fq_dequeue(fq, 1 * MS);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(pkt_seq(p), i);
		ck_assert_uint_eq(p->len, 100 + i);
		fq_pkt_free(p);
	}
	ck_assert_ptr_null(fq_dequeue(fq, 1 * MS));
	ck_assert(fq_empty(fq));
	ck_assert_uint_eq(fq_bytes(fq), 0);
	ck_assert_uint_eq(fq_flows(fq), 0);
	ck_assert_uint_eq(fq_total_bytes(), 0);
	ck_assert_uint_eq(fq_drops(fq)->codel + fq_drops(fq)->too_old +
	    fq_drops(fq)->overlimit, 0);
	fq_free(fq);
}
END_TEST

/* Without a key every frame is one flow, whatever its bytes say. */
START_TEST(test_no_key_one_flow)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	unsigned int		 i;

	cfg_init(&c);
	c.key_len = 0;
	fq = fq_new(&c);
	for (i = 0; i < 10; i++)
		put(fq, i, i, 50, 0);
	ck_assert_uint_eq(fq_flows(fq), 1);
	for (i = 0; i < 10; i++) {
		p = fq_dequeue(fq, 0);
		ck_assert_uint_eq(pkt_seq(p), i);
		fq_pkt_free(p);
	}
	fq_free(fq);
}
END_TEST

/*
 * A flow that sends now and then finds a long queue of another: it goes
 * next, not behind it.
 */
START_TEST(test_sparse_flow_first)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	unsigned int		 i, at = 0;

	cfg_init(&c);
	fq = fq_new(&c);
	for (i = 0; i < 200; i++)
		put(fq, 1, i, 1200, 0);
	/* The bulk flow has had its first turn... */
	p = fq_dequeue(fq, 0);
	ck_assert_uint_eq(pkt_flow(p), 1);
	fq_pkt_free(p);
	/* ... and now the light one arrives. */
	put(fq, 2, 0, 100, 0);
	for (i = 1; (p = fq_dequeue(fq, 0)) != NULL; i++) {
		if (pkt_flow(p) == 2)
			at = i;
		fq_pkt_free(p);
	}
	ck_assert_msg(at >= 1 && at <= 2, "the light frame went out %u-th",
	    at);
	fq_free(fq);
}
END_TEST

/* Two busy flows get the same bytes, whatever their frame sizes. */
START_TEST(test_busy_flows_share_bytes)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	size_t			 bytes[3] = { 0, 0, 0 }, sent = 0;
	unsigned int		 i;

	cfg_init(&c);
	c.limit = 8 * 1024 * 1024;
	fq = fq_new(&c);
	for (i = 0; i < 2000; i++)
		put(fq, 1, i, 1400, 0);
	for (i = 0; i < 20000; i++)
		put(fq, 2, i, 100, 0);
	while (sent < 1000000 && (p = fq_dequeue(fq, 0)) != NULL) {
		bytes[pkt_flow(p)] += p->len;
		sent += p->len;
		fq_pkt_free(p);
	}
	ck_assert_uint_ge(sent, 1000000);
	/* Within two quanta of each other. */
	ck_assert_msg(bytes[1] < bytes[2] + 2 * c.quantum &&
	    bytes[2] < bytes[1] + 2 * c.quantum, "flow 1 %zu bytes, flow 2 "
	    "%zu", bytes[1], bytes[2]);
	fq_free(fq);
}
END_TEST

/*
 * Over the limit, the fattest flow loses its oldest frames; a small
 * flow loses nothing, and the queue stays within the limit.
 */
START_TEST(test_limit_fattest_pays)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	unsigned int		 i, got2 = 0, last1 = 0;

	cfg_init(&c);
	c.limit = 20000;
	fq = fq_new(&c);
	put(fq, 2, 0, 100, 0);
	for (i = 0; i < 1000; i++) {
		put(fq, 1, i, 1000, 0);
		ck_assert_uint_le(fq_bytes(fq), c.limit);
	}
	put(fq, 2, 1, 100, 0);
	ck_assert_uint_gt(fq_drops(fq)->overlimit, 900);
	ck_assert_uint_eq(fq_drops(fq)->overlimit + fq_frames(fq), 1002);
	while ((p = fq_dequeue(fq, 0)) != NULL) {
		if (pkt_flow(p) == 2)
			got2++;
		else
			last1 = pkt_seq(p);
		fq_pkt_free(p);
	}
	ck_assert_uint_eq(got2, 2);
	ck_assert_uint_eq(last1, 999);	/* the newest stayed */
	fq_free(fq);
}
END_TEST

/* The process's limit is shared: a queue over it drops its own frames. */
START_TEST(test_total_limit_shared)
{
	struct fq_config	 c;
	struct fq		*a, *b;
	unsigned int		 i;

	cfg_init(&c);
	a = fq_new(&c);
	b = fq_new(&c);
	fq_set_total_limit(30000);
	for (i = 0; i < 20; i++)
		put(a, 1, i, 1000, 0);
	ck_assert_uint_eq(fq_drops(a)->overlimit, 0);
	for (i = 0; i < 20; i++)
		put(b, 1, i, 1000, 0);
	ck_assert_uint_le(fq_total_bytes(), 30000);
	ck_assert_uint_eq(fq_frames(a), 20);
	ck_assert_uint_gt(fq_drops(b)->overlimit, 0);
	ck_assert_uint_eq(fq_frames(b) + fq_drops(b)->overlimit, 20);
	fq_set_total_limit(SIZE_MAX);
	fq_free(a);
	fq_free(b);
	ck_assert_uint_eq(fq_total_bytes(), 0);
}
END_TEST

/* Older than the bound: never sent, counted; held frames are exempt. */
START_TEST(test_too_old)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;

	cfg_init(&c);
	c.max_delay_us = 50 * MS;
	fq = fq_new(&c);
	put(fq, 1, 0, 100, 0);
	put(fq, 1, 1, 100, 0);
	fq_enqueue(fq, pkt(2, 0, 100, 1), 0);
	put(fq, 1, 2, 100, 40 * MS);
	p = fq_dequeue(fq, 60 * MS);
	ck_assert_ptr_nonnull(p);
	/* Flows 1 and 2 both became active; 1 first: its two old frames
	 * are dropped, the third goes. */
	ck_assert_uint_eq(pkt_flow(p), 1);
	ck_assert_uint_eq(pkt_seq(p), 2);
	fq_pkt_free(p);
	p = fq_dequeue(fq, 60 * MS);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(pkt_flow(p), 2);	/* held, 60 ms old: still goes */
	fq_pkt_free(p);
	ck_assert_ptr_null(fq_dequeue(fq, 60 * MS));
	ck_assert_uint_eq(fq_drops(fq)->too_old, 2);
	fq_free(fq);
}
END_TEST

/* In a flow, what was held goes before anything new. */
START_TEST(test_held_first)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	unsigned int		 i;

	cfg_init(&c);
	fq = fq_new(&c);
	put(fq, 1, 100, 100, 0);
	for (i = 0; i < 3; i++)
		fq_enqueue(fq, pkt(1, i, 100, 1), 0);
	for (i = 0; i < 3; i++) {
		p = fq_dequeue(fq, 0);
		ck_assert(p->held);
		ck_assert_uint_eq(pkt_seq(p), i);
		fq_pkt_free(p);
	}
	p = fq_dequeue(fq, 0);
	ck_assert_uint_eq(pkt_seq(p), 100);
	fq_pkt_free(p);
	fq_free(fq);
}
END_TEST

/*
 * Runs one flow through a link that carries `per_ms` frames a ms while
 * `arrive` arrive a ms, for ms milliseconds; returns the CoDel drops.
 */
static uint64_t
codel_run(unsigned int arrive, unsigned int per_ms, unsigned int ms,
    uint64_t *max_sojourn)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	uint64_t		 now, drops;
	unsigned int		 t, k, seq = 0;

	cfg_init(&c);
	fq = fq_new(&c);
	*max_sojourn = 0;
	for (t = 0; t < ms; t++) {
		now = t * MS;
		for (k = 0; k < arrive; k++)
			put(fq, 1, seq++, 1000, now);
		for (k = 0; k < per_ms; k++) {
			if ((p = fq_dequeue(fq, now)) == NULL)
				break;
			if (t >= ms / 2 && now - p->enq_us > *max_sojourn)
				*max_sojourn = now - p->enq_us;
			fq_pkt_free(p);
		}
	}
	drops = fq_drops(fq)->codel;
	fq_free(fq);
	return (drops);
}

/*
 * CoDel: a queue that drains keeps everything; a standing queue (a
 * flow sending more than the link carries, and not slowing down when
 * it loses some) is held by drops that come closer together while the
 * delay stays up. RFC 8289 is made for senders that slow down: against
 * one that does not, the delay swings below a few hundred ms instead
 * of growing without end (6 s here by the end, without it).
 */
START_TEST(test_codel)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	uint64_t		 now, maxs = 0;
	unsigned int		 t, k, seq = 0, n = 0;

	ck_assert_uint_eq(codel_run(1, 2, 5000, &maxs), 0);
	ck_assert_uint_le(maxs, 1 * MS);
	ck_assert_uint_eq(codel_run(2, 2, 5000, &maxs), 0);

	/* 11 in, 9 out each 10 ms, 30 s long. */
	cfg_init(&c);
	fq = fq_new(&c);
	maxs = 0;
	for (t = 0; t < 30000; t++) {
		now = t * MS;
		for (k = 0; k < (t % 10 == 0 ? 2 : 1); k++)
			put(fq, 1, seq++, 1000, now);
		if (t % 10 != 9 && (p = fq_dequeue(fq, now)) != NULL) {
			if (t >= 20000 && now - p->enq_us > maxs)
				maxs = now - p->enq_us;
			n++;
			fq_pkt_free(p);
		}
	}
	/* 33000 in, 27000 slots: about 6000 had to go, and no more. */
	ck_assert_uint_gt(fq_drops(fq)->codel, 5000);
	ck_assert_uint_lt(fq_drops(fq)->codel, 6200);
	ck_assert_uint_eq(fq_drops(fq)->codel + n + fq_frames(fq), seq);
	ck_assert_msg(maxs < 400 * MS, "the last 10 s saw a delay of %ju ms",
	    (uintmax_t)(maxs / MS));
	fq_free(fq);
}
END_TEST

/* Taking all out without judgement: every frame, no flow left. */
START_TEST(test_pop_any)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	unsigned int		 i, n = 0;

	cfg_init(&c);
	fq = fq_new(&c);
	for (i = 0; i < 50; i++)
		put(fq, i % 5, i, 100, 0);
	fq_enqueue(fq, pkt(9, 0, 100, 1), 0);
	ck_assert_uint_eq(fq_flows(fq), 6);
	while ((p = fq_pop_any(fq)) != NULL) {
		n++;
		fq_pkt_free(p);
	}
	ck_assert_uint_eq(n, 51);
	ck_assert_uint_eq(fq_flows(fq), 0);
	ck_assert(fq_empty(fq));
	fq_free(fq);
	fq_free(NULL);
}
END_TEST

/*
 * Many sources at once: past a few thousand flows the rest share one,
 * so a flood of sources cannot make the over-limit search long; every
 * frame still comes out.
 */
START_TEST(test_many_flows_capped)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	unsigned int		 i, n = 0;

	cfg_init(&c);
	c.limit = 8 * 1024 * 1024;
	fq = fq_new(&c);
	for (i = 0; i < 20000; i++)
		put(fq, i, i, 100, 0);
	ck_assert_uint_le(fq_flows(fq), 4097);
	ck_assert_uint_ge(fq_flows(fq), 4096);
	while ((p = fq_dequeue(fq, 0)) != NULL) {
		n++;
		fq_pkt_free(p);
	}
	ck_assert_uint_eq(n, 20000);
	ck_assert_uint_eq(fq_flows(fq), 0);
	fq_free(fq);
}
END_TEST

/*
 * Frames of every size come out whole, through buffers that are kept
 * and used again (small ones) or not (large ones).
 */
START_TEST(test_sizes_whole)
{
	static const size_t	 sizes[] = { 8, 100, 2047, 2048, 2049, 65557 };
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;
	unsigned int		 round, i, k;

	cfg_init(&c);
	fq = fq_new(&c);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			p = pkt(1, i, sizes[i], 0);
			for (k = 8; k < sizes[i]; k++)
				p->data[k] = (unsigned char)(k * 7 + i);
			fq_enqueue(fq, p, 0);
		}
		for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			p = fq_dequeue(fq, 0);
			ck_assert_ptr_nonnull(p);
			ck_assert_uint_eq(p->len, sizes[i]);
			ck_assert_uint_ge(p->cap, p->len);
			for (k = 8; k < sizes[i]; k++)
				ck_assert_uint_eq(p->data[k],
				    (unsigned char)(k * 7 + i));
			fq_pkt_free(p);
		}
	}
	fq_free(fq);
	fq_pkt_cache_clear();
}
END_TEST

/* Bad settings are refused, not trusted. */
START_TEST(test_bad_config)
{
	struct fq_config	c;

	cfg_init(&c);
	c.key_len = FQ_KEY_MAX + 1;
	ck_assert_ptr_null(fq_new(&c));
	cfg_init(&c);
	c.quantum = 0;
	ck_assert_ptr_null(fq_new(&c));
}
END_TEST

/* A frame too short to hold a key is the keyless flow, not a crash. */
START_TEST(test_short_frame)
{
	struct fq_config	 c;
	struct fq		*fq;
	struct fq_pkt		*p;

	cfg_init(&c);
	c.key_off = 100;
	fq = fq_new(&c);
	put(fq, 1, 0, 8, 0);
	p = fq_dequeue(fq, 0);
	ck_assert_ptr_nonnull(p);
	fq_pkt_free(p);
	fq_free(fq);
}
END_TEST

static Suite *
fq_suite(void)
{
	Suite	*s = suite_create("fq");
	TCase	*tc = tcase_create("fq");

	tcase_add_test(tc, test_one_flow_fifo);
	tcase_add_test(tc, test_no_key_one_flow);
	tcase_add_test(tc, test_sparse_flow_first);
	tcase_add_test(tc, test_busy_flows_share_bytes);
	tcase_add_test(tc, test_limit_fattest_pays);
	tcase_add_test(tc, test_total_limit_shared);
	tcase_add_test(tc, test_too_old);
	tcase_add_test(tc, test_held_first);
	tcase_add_test(tc, test_codel);
	tcase_add_test(tc, test_pop_any);
	tcase_add_test(tc, test_many_flows_capped);
	tcase_add_test(tc, test_sizes_whole);
	tcase_add_test(tc, test_bad_config);
	tcase_add_test(tc, test_short_frame);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(fq_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
