/*
 * check_ledger.c - unit tests for the frame ledger (ledger.c): bytes
 * consumed from the front complete frames in order, a started frame
 * still counts as left, and the ring grows past its first size.
 */

#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "ledger.h"

START_TEST(test_consume_whole_and_partial)
{
	struct ledger	*l = ledger_new();

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(ledger_add(l, 10), 0);
	ck_assert_int_eq(ledger_add(l, 20), 0);
	ck_assert_int_eq(ledger_add(l, 30), 0);
	ck_assert_uint_eq(ledger_frames(l), 3);
	ck_assert_uint_eq(ledger_bytes(l), 60);

	/* Part of the first: nothing whole yet, and it still counts. */
	ck_assert_uint_eq(ledger_consume(l, 4), 0);
	ck_assert_uint_eq(ledger_frames(l), 3);
	ck_assert_uint_eq(ledger_bytes(l), 56);
	/* The rest of the first and part of the second. */
	ck_assert_uint_eq(ledger_consume(l, 7), 1);
	ck_assert_uint_eq(ledger_frames(l), 2);
	/* Exactly to the end of the second. */
	ck_assert_uint_eq(ledger_consume(l, 19), 1);
	ck_assert_uint_eq(ledger_frames(l), 1);
	ck_assert_uint_eq(ledger_bytes(l), 30);
	/* More than there is: all of it. */
	ck_assert_uint_eq(ledger_consume(l, 1000), 1);
	ck_assert_uint_eq(ledger_frames(l), 0);
	ck_assert_uint_eq(ledger_bytes(l), 0);
	ck_assert_uint_eq(ledger_consume(l, 5), 0);
	ledger_free(l);
}
END_TEST

/* Zero-length frames (len16 with an empty datagram cannot be, but a
 * caller's 0 must not stall the ring). */
START_TEST(test_empty_frames)
{
	struct ledger	*l = ledger_new();

	ck_assert_int_eq(ledger_add(l, 0), 0);
	ck_assert_int_eq(ledger_add(l, 2), 0);
	ck_assert_uint_eq(ledger_consume(l, 2), 2);
	ck_assert_uint_eq(ledger_frames(l), 0);
	ledger_free(l);
}
END_TEST

/* Many frames, consumed in odd pieces while more are added: the ring
 * wraps and grows, and every frame is counted once. */
START_TEST(test_grow_and_wrap)
{
	struct ledger	*l = ledger_new();
	size_t		 added = 0, done = 0, bytes = 0, i;

	for (i = 0; i < 5000; i++) {
		ck_assert_int_eq(ledger_add(l, i % 300 + 3), 0);
		added++;
		bytes += i % 300 + 3;
		if (i % 7 == 0) {
			size_t	take = bytes / 3;

			done += ledger_consume(l, take);
			bytes -= take;
		}
		ck_assert_uint_eq(ledger_bytes(l), bytes);
	}
	done += ledger_consume(l, bytes);
	ck_assert_uint_eq(done, added);
	ck_assert_uint_eq(ledger_frames(l), 0);
	ledger_free(l);
}
END_TEST

/* unadd takes back the newest; append moves all, in order. */
START_TEST(test_unadd_and_append)
{
	struct ledger	*a = ledger_new(), *b = ledger_new();

	ck_assert_int_eq(ledger_add(a, 5), 0);
	ck_assert_int_eq(ledger_add(a, 6), 0);
	ledger_unadd(a);
	ck_assert_uint_eq(ledger_frames(a), 1);
	ck_assert_uint_eq(ledger_bytes(a), 5);

	ck_assert_int_eq(ledger_add(b, 7), 0);
	ck_assert_int_eq(ledger_add(b, 8), 0);
	ck_assert_int_eq(ledger_append(a, b), 0);
	ck_assert_uint_eq(ledger_frames(b), 0);
	ck_assert_uint_eq(ledger_frames(a), 3);
	ck_assert_uint_eq(ledger_consume(a, 5), 1);
	ck_assert_uint_eq(ledger_consume(a, 7), 1);
	ck_assert_uint_eq(ledger_consume(a, 8), 1);

	ledger_free(a);
	ledger_free(b);
	ledger_free(NULL);
}
END_TEST

static Suite *
ledger_suite(void)
{
	Suite	*s = suite_create("ledger");
	TCase	*tc = tcase_create("frames");

	tcase_add_test(tc, test_consume_whole_and_partial);
	tcase_add_test(tc, test_empty_frames);
	tcase_add_test(tc, test_grow_and_wrap);
	tcase_add_test(tc, test_unadd_and_append);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(ledger_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
