/*
 * check_findings.c - regression tests for what fuzzing turned up in src/
 * (tests/fuzz/README lists them). Each test states what must hold, so it
 * fails while the bug it is about is there.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static void
sa4(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof *ss);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(7000);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static void
sa6(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(7000);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
}

/*
 * Finding 1: addr_cidr_parse() accepted an IPv4-mapped IPv6 range such
 * as --allow ::ffff:10.0.0.0/104, but addr_cidr_match() judges every
 * IPv4-mapped peer as IPv4 (addr_key_make) and an IPv4 range is not an
 * IPv6 one, so the range matched no peer at all, not even its own
 * address: every peer was refused. Either the range is refused when it
 * is parsed, with a reason, or it holds the peers it names (fixed in
 * b861b04: it is taken as the IPv4 range it names).
 * Input (tests/fuzz/corpus/fuzz_addr/cidr-v4-mapped): ::ffff:10.0.0.0/104
 */
START_TEST(test_cidr_v4_mapped)
{
	static const char	*ranges[] = {
		"::ffff:10.0.0.0/104", "::ffff:10.0.0.1", "::ffff:0:0/96"
	};
	static const char	*inside[] = {
		"10.0.0.1", "10.0.0.1", "10.0.0.1"
	};
	struct addr_cidr	 c;
	struct sockaddr_storage	 ss;
	const char		*why = NULL;
	char			 mapped[64];

	if (addr_cidr_parse(&c, ranges[_i], &why) != 0) {
		ck_assert_ptr_nonnull(why);
		return;		/* refused, with a reason: fine */
	}
	sa4(&ss, inside[_i]);
	ck_assert_msg(addr_cidr_match(&c, (struct sockaddr *)&ss),
	    "--allow %s accepted, but the IPv4 peer %s is not in it",
	    ranges[_i], inside[_i]);
	snprintf(mapped, sizeof mapped, "::ffff:%s", inside[_i]);
	sa6(&ss, mapped);
	ck_assert_msg(addr_cidr_match(&c, (struct sockaddr *)&ss),
	    "--allow %s accepted, but the peer %s is not in it",
	    ranges[_i], mapped);
}
END_TEST

static Suite *
findings_suite(void)
{
	Suite	*s = suite_create("findings");
	TCase	*tc = tcase_create("addr");

	tcase_add_loop_test(tc, test_cidr_v4_mapped, 0, 3);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(findings_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
