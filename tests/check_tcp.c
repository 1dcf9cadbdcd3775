/*
 * check_tcp.c - unit tests for the TCP socket options (tcp.c): every
 * --keepalive the command line accepts is taken by the system, and the
 * probes add up to the budget asked for.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "tcp.h"

/* Budgets around the system's limits, and the largest --keepalive. */
static const unsigned int budgets[] = {
	1, 2, 3, 30, 600, 65534, 65535, 65536, 70000, 86400
};

static int
getint(int fd, int level, int name)
{
	int		v = -1;
	socklen_t	len = sizeof v;

	ck_assert_int_eq(getsockopt(fd, level, name, &v, &len), 0);
	return (v);
}

/* Every budget the options allow passes the start-up check. */
START_TEST(test_keepalive_check)
{
	unsigned int	budget = budgets[_i];
	char		err[256] = "";

	ck_assert_uint_le(budget, 86400);
	ck_assert_msg(tcp_keepalive_check(budget, err, sizeof err) == 0,
	    "--keepalive %u refused: %s", budget, err);
}
END_TEST

/*
 * A tuned socket has keepalive on, and idle time plus probes come to
 * the budget (to the second, give or take the division into probes).
 */
START_TEST(test_keepalive_budget)
{
	unsigned int	budget = budgets[_i];
	int		fd, total;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	tcp_tune(fd, budget, 0);
	ck_assert_int_eq(getint(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
#if HAVE_DECL_TCP_KEEPIDLE && HAVE_DECL_TCP_KEEPINTVL && HAVE_DECL_TCP_KEEPCNT
	total = getint(fd, IPPROTO_TCP, TCP_KEEPIDLE) +
	    getint(fd, IPPROTO_TCP, TCP_KEEPINTVL) *
	    getint(fd, IPPROTO_TCP, TCP_KEEPCNT);
	ck_assert_msg(total <= (int)budget + 3 && total + 3 >= (int)budget,
	    "--keepalive %u: idle %d + %d probes every %d s = %d s", budget,
	    getint(fd, IPPROTO_TCP, TCP_KEEPIDLE),
	    getint(fd, IPPROTO_TCP, TCP_KEEPCNT),
	    getint(fd, IPPROTO_TCP, TCP_KEEPINTVL), total);
#else
	(void)total;
#endif
#if HAVE_DECL_TCP_USER_TIMEOUT
	ck_assert_int_eq(getint(fd, IPPROTO_TCP, TCP_USER_TIMEOUT),
	    (int)budget * 1000);
#endif
	close(fd);
}
END_TEST

/* No budget, no check: --keepalive 0 turns dead-peer detection off. */
START_TEST(test_keepalive_off)
{
	char	err[16] = "";

	ck_assert_int_eq(tcp_keepalive_check(0, err, sizeof err), 0);
	ck_assert_str_eq(err, "");
}
END_TEST

static Suite *
tcp_suite(void)
{
	Suite	*s = suite_create("tcp");
	TCase	*tc = tcase_create("keepalive");
	int	 n = (int)(sizeof budgets / sizeof budgets[0]);

	tcase_add_loop_test(tc, test_keepalive_check, 0, n);
	tcase_add_loop_test(tc, test_keepalive_budget, 0, n);
	tcase_add_test(tc, test_keepalive_off);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(tcp_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
