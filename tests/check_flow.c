/*
 * check_flow.c - unit tests for the flow table (flow.c): canonical
 * keys, counts, the shared limit, idle expiry and per-flow sockets, on
 * a real event base with loopback UDP sockets.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "flow.h"

#define TEST_TIMEOUT	30	/* seconds per test, a backstop only */
#define WAIT_MS		5000	/* the longest anything expected may take */
#define TICK_MS		10	/* the longest one turn of the loop blocks */
#define GARBAGE		0xa5
/* A 1 s idle timeout has struck by then, even on a loaded machine. */
#define EXPIRE_MS	2000

static struct {
	struct event_base	*base;
	struct event		*tick;
	struct flow_limit	 limit;
	struct flow_table	*table;
	struct flow_table	*table2;

	/* What the read function saw. */
	size_t			 nreads;
	struct flow		*last_flow;
	char			 last_data[64];
	ssize_t			 last_len;

	/* The flow kept alive from a timer. */
	struct flow		*busy;
	struct sockaddr_storage	 busy_ss;
	struct event		*toucher;
	uint64_t		 last_touch;
	size_t			 ntouch;
} h;

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void
h_tickcb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
}

/* The loop, one turn at a time, until cond holds (1) or ms pass (0). */
static int
run_until(int (*cond)(void *), void *arg, unsigned int ms)
{
	uint64_t	deadline = now_ms() + ms;

	for (;;) {
		if (cond(arg))
			return (1);
		if (now_ms() >= deadline)
			return (0);
		ck_assert_int_ne(event_base_loop(h.base, EVLOOP_ONCE), -1);
	}
}

/* Only where a test must show that something does not happen. */
static void
run_for(unsigned int ms)
{
	uint64_t	deadline = now_ms() + ms;

	while (now_ms() < deadline)
		ck_assert_int_ne(event_base_loop(h.base, EVLOOP_ONCE), -1);
}

/*
 * A client address in storage full of garbage (or zeroes): only the
 * fields that name the client are set. IPv4 "a.b.c.d", IPv6 otherwise.
 */
static struct sockaddr *
client(struct sockaddr_storage *ss, const char *ip, uint16_t port,
    int garbage)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, garbage ? GARBAGE : 0, sizeof *ss);
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_scope_id = 0;
		/* sin6_flowinfo stays garbage: it names no client. */
	}
	return ((struct sockaddr *)ss);
}

/* A UDP socket on 127.0.0.1, port chosen by the kernel. */
static int
udp_bound(struct sockaddr_in *sin)
{
	socklen_t	len = sizeof *sin;
	int		fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ne(fd, -1);
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sin, sizeof *sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	ck_assert_int_ne(sin->sin_port, 0);
	ck_assert_int_eq(evutil_make_socket_nonblocking(fd), 0);
	return (fd);
}

static int
fd_closed(int fd)
{
	return (fcntl(fd, F_GETFD) == -1 && errno == EBADF);
}

/* Waits, without running the loop, until fd has something to read. */
static void
wait_readable(int fd)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };

	ck_assert_msg(poll(&pfd, 1, WAIT_MS) == 1, "nothing came to fd %d",
	    fd);
}

static void
send_to(int from, const struct sockaddr_in *to, const char *msg)
{
	ck_assert_int_eq(sendto(from, msg, strlen(msg), 0,
	    (const struct sockaddr *)to, sizeof *to), (ssize_t)strlen(msg));
}

/* The read function of a flow with its own socket: takes one datagram. */
static void
h_readfn(struct flow *flow, void *arg)
{
	ck_assert_ptr_eq(arg, &h);
	h.nreads++;
	h.last_flow = flow;
	h.last_len = recv(flow_fd(flow), h.last_data, sizeof h.last_data - 1,
	    MSG_DONTWAIT);
	ck_assert_int_ge(h.last_len, 0);
	h.last_data[h.last_len] = '\0';
}

static int
cond_nreads(void *arg)
{
	return (h.nreads >= *(size_t *)arg);
}

static void
wait_nreads(size_t n)
{
	ck_assert_msg(run_until(cond_nreads, &n, WAIT_MS),
	    "%zu reads, not %zu", h.nreads, n);
	ck_assert_uint_eq(h.nreads, n);
}

static struct flow_table *
new_table(unsigned int timeout_s, const char *owner)
{
	struct flow_table	*t;

	t = flow_table_new(h.base, timeout_s, &h.limit, owner, &h);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(flow_table_count(t), 0);
	ck_assert_ptr_eq(flow_table_arg(t), &h);
	return (t);
}

static void
setup(void)
{
	struct timeval	tv = { 0, TICK_MS * 1000 };

	memset(&h, 0, sizeof h);
	h.limit.max = 1000;
	h.base = event_base_new();
	ck_assert_ptr_nonnull(h.base);
	h.tick = event_new(h.base, -1, EV_PERSIST, h_tickcb, NULL);
	ck_assert_ptr_nonnull(h.tick);
	ck_assert_int_eq(event_add(h.tick, &tv), 0);
}

static void
teardown(void)
{
	flow_table_free(h.table);
	flow_table_free(h.table2);
	if (h.toucher != NULL)
		event_free(h.toucher);
	event_free(h.tick);
	event_base_free(h.base);
}

/*
 * One client, however its address was built, is one flow: garbage in
 * the unused bytes, or the IPv4 address mapped into IPv6.
 */
START_TEST(test_key_canonical_v4)
{
	struct sockaddr_storage	 a, b;
	const struct sockaddr_in	*sin;
	struct flow		*f;

	h.table = new_table(600, "test");
	f = flow_create(h.table, client(&a, "192.0.2.1", 5000, 1), -1, NULL);
	ck_assert_ptr_nonnull(f);

	ck_assert_ptr_eq(flow_lookup(h.table, client(&b, "192.0.2.1", 5000, 0)),
	    f);
	ck_assert_ptr_eq(flow_lookup(h.table, client(&b, "192.0.2.1", 5000, 1)),
	    f);
	ck_assert_ptr_eq(flow_lookup(h.table,
	    client(&b, "::ffff:192.0.2.1", 5000, 0)), f);
	ck_assert_ptr_eq(flow_lookup(h.table,
	    client(&b, "::ffff:192.0.2.1", 5000, 1)), f);

	/* Another port, another address, or not mapped: another client. */
	ck_assert_ptr_null(flow_lookup(h.table,
	    client(&b, "192.0.2.1", 5001, 1)));
	ck_assert_ptr_null(flow_lookup(h.table,
	    client(&b, "192.0.2.2", 5000, 1)));
	ck_assert_ptr_null(flow_lookup(h.table,
	    client(&b, "::ffff:192.0.2.2", 5000, 1)));
	ck_assert_ptr_null(flow_lookup(h.table,
	    client(&b, "::c000:201", 5000, 1)));
	ck_assert_ptr_null(flow_lookup(h.table,
	    client(&b, "c000:201::", 5000, 1)));
	ck_assert_ptr_null(flow_lookup(h.table,
	    client(&b, "::ffff:192.0.2.1", 4999, 1)));

	/* The flow keeps the client's address as it was given. */
	ck_assert_uint_eq(flow_client_len(f), sizeof(struct sockaddr_in));
	sin = (const struct sockaddr_in *)flow_client(f);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin->sin_port), 5000);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0xc0000201);
	ck_assert_int_eq(flow_fd(f), -1);
	ck_assert_uint_eq(flow_table_count(h.table), 1);
}
END_TEST

/* Made from the mapped form, found from the plain one. */
START_TEST(test_key_canonical_mapped_first)
{
	struct sockaddr_storage	 a, b;
	struct flow		*f;

	h.table = new_table(600, "test");
	f = flow_create(h.table, client(&a, "::ffff:198.51.100.7", 53, 1), -1,
	    NULL);
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_eq(flow_lookup(h.table,
	    client(&b, "198.51.100.7", 53, 1)), f);
	ck_assert_ptr_eq(flow_lookup(h.table,
	    client(&b, "198.51.100.7", 53, 0)), f);
	ck_assert_ptr_null(flow_lookup(h.table,
	    client(&b, "198.51.100.8", 53, 0)));
	ck_assert_uint_eq(flow_client_len(f), sizeof(struct sockaddr_in6));
}
END_TEST

START_TEST(test_key_canonical_v6)
{
	struct sockaddr_storage	 a, b;
	const struct sockaddr_in6	*sin6;
	struct flow		*f, *g;

	h.table = new_table(600, "test");
	f = flow_create(h.table, client(&a, "2001:db8::1", 4500, 1), -1, NULL);
	ck_assert_ptr_nonnull(f);
	g = flow_create(h.table, client(&a, "192.0.2.1", 4500, 1), -1, NULL);
	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_ne(f, g);

	ck_assert_ptr_eq(flow_lookup(h.table,
	    client(&b, "2001:db8::1", 4500, 0)), f);
	ck_assert_ptr_eq(flow_lookup(h.table,
	    client(&b, "2001:db8::1", 4500, 1)), f);
	ck_assert_ptr_eq(flow_lookup(h.table,
	    client(&b, "2001:0db8:0:0::0:1", 4500, 1)), f);
	ck_assert_ptr_null(flow_lookup(h.table,
	    client(&b, "2001:db8::2", 4500, 1)));
	ck_assert_ptr_null(flow_lookup(h.table,
	    client(&b, "2001:db8::1", 4501, 1)));
	ck_assert_ptr_null(flow_lookup(h.table,
	    client(&b, "2001:db9::1", 4500, 1)));
	ck_assert_ptr_null(flow_lookup(h.table, client(&b, "::1", 4500, 1)));
	ck_assert_ptr_eq(flow_lookup(h.table,
	    client(&b, "192.0.2.1", 4500, 0)), g);

	ck_assert_uint_eq(flow_client_len(f), sizeof(struct sockaddr_in6));
	sin6 = (const struct sockaddr_in6 *)flow_client(f);
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(sin6->sin6_port), 4500);
	client(&b, "2001:db8::1", 4500, 0);
	ck_assert_int_eq(memcmp(&sin6->sin6_addr,
	    &((struct sockaddr_in6 *)&b)->sin6_addr, 16), 0);
	ck_assert_uint_eq(flow_table_count(h.table), 2);
}
END_TEST

/* Create, find, free: the table and the limit count alike. */
START_TEST(test_create_lookup_free)
{
	struct sockaddr_storage	 ss;
	struct flow		*f[10];
	unsigned int		 i;

	h.table = new_table(600, "test");
	for (i = 0; i < 10; i++) {
		f[i] = flow_create(h.table, client(&ss, "10.0.0.1",
		    (uint16_t)(1000 + i), 1), -1, NULL);
		ck_assert_ptr_nonnull(f[i]);
		ck_assert_uint_eq(flow_table_count(h.table), i + 1);
		ck_assert_uint_eq(h.limit.active, i + 1);
		ck_assert_uint_eq(h.limit.created, i + 1);
	}
	for (i = 0; i < 10; i++)
		ck_assert_ptr_eq(flow_lookup(h.table, client(&ss, "10.0.0.1",
		    (uint16_t)(1000 + i), 0)), f[i]);
	ck_assert_ptr_null(flow_lookup(h.table, client(&ss, "10.0.0.1",
	    1010, 0)));

	flow_free(f[3], "test");
	ck_assert_uint_eq(flow_table_count(h.table), 9);
	ck_assert_uint_eq(h.limit.active, 9);
	ck_assert_uint_eq(h.limit.created, 10);
	ck_assert_ptr_null(flow_lookup(h.table, client(&ss, "10.0.0.1", 1003,
	    0)));
	for (i = 0; i < 10; i++)
		if (i != 3)
			ck_assert_ptr_eq(flow_lookup(h.table, client(&ss,
			    "10.0.0.1", (uint16_t)(1000 + i), 0)), f[i]);

	f[3] = flow_create(h.table, client(&ss, "10.0.0.1", 1003, 0), -1,
	    NULL);
	ck_assert_ptr_nonnull(f[3]);
	ck_assert_ptr_eq(flow_lookup(h.table, client(&ss, "10.0.0.1", 1003,
	    1)), f[3]);
	ck_assert_uint_eq(flow_table_count(h.table), 10);
	ck_assert_uint_eq(h.limit.active, 10);
	ck_assert_uint_eq(h.limit.created, 11);

	for (i = 0; i < 10; i++)
		flow_free(f[i], NULL);
	ck_assert_uint_eq(flow_table_count(h.table), 0);
	ck_assert_uint_eq(h.limit.active, 0);
	ck_assert_uint_eq(h.limit.expired, 0);
	ck_assert_uint_eq(h.limit.refused, 0);
}
END_TEST

/*
 * The limit is one for all tables: past it, flow_create refuses (and
 * closes the socket it was given); a freed flow makes room again.
 */
START_TEST(test_limit_shared)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	 sin;
	struct flow		*f[3];
	unsigned int		 i;
	int			 fd;

	h.limit.max = 5;
	h.table = new_table(600, "peer-a");
	h.table2 = new_table(600, "peer-b");
	for (i = 0; i < 3; i++) {
		f[i] = flow_create(h.table, client(&ss, "10.0.0.1",
		    (uint16_t)(2000 + i), 0), -1, NULL);
		ck_assert_ptr_nonnull(f[i]);
	}
	for (i = 0; i < 2; i++)
		ck_assert_ptr_nonnull(flow_create(h.table2, client(&ss,
		    "10.0.0.2", (uint16_t)(2000 + i), 0), -1, NULL));
	ck_assert_uint_eq(h.limit.active, 5);
	ck_assert_uint_eq(h.limit.refused, 0);

	/* The sixth, in either table. */
	ck_assert_ptr_null(flow_create(h.table, client(&ss, "10.0.0.1", 2005,
	    0), -1, NULL));
	ck_assert_uint_eq(h.limit.refused, 1);
	fd = udp_bound(&sin);
	ck_assert_ptr_null(flow_create(h.table2, client(&ss, "10.0.0.2", 2005,
	    0), fd, h_readfn));
	ck_assert_uint_eq(h.limit.refused, 2);
	ck_assert_msg(fd_closed(fd), "a refused flow's socket is left open");
	ck_assert_uint_eq(h.limit.active, 5);
	ck_assert_uint_eq(h.limit.created, 5);
	ck_assert_uint_eq(flow_table_count(h.table), 3);
	ck_assert_uint_eq(flow_table_count(h.table2), 2);
	ck_assert_ptr_null(flow_lookup(h.table, client(&ss, "10.0.0.1", 2005,
	    0)));
	ck_assert_ptr_null(flow_lookup(h.table2, client(&ss, "10.0.0.2", 2005,
	    0)));

	/* Room made in one table is room for the other. */
	flow_free(f[0], "test");
	ck_assert_uint_eq(h.limit.active, 4);
	ck_assert_ptr_nonnull(flow_create(h.table2, client(&ss, "10.0.0.2",
	    2005, 0), -1, NULL));
	ck_assert_uint_eq(h.limit.active, 5);
	ck_assert_uint_eq(flow_table_count(h.table2), 3);
	ck_assert_ptr_null(flow_create(h.table, client(&ss, "10.0.0.1", 2000,
	    0), -1, NULL));
	ck_assert_uint_eq(h.limit.refused, 3);
	ck_assert_uint_eq(h.limit.created, 6);
}
END_TEST

static void
h_touchcb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	/* Never touch a flow that is no longer there. */
	ck_assert_ptr_eq(flow_lookup(h.table, (struct sockaddr *)&h.busy_ss),
	    h.busy);
	flow_touch(h.busy);
	h.last_touch = now_ms();
	h.ntouch++;
}

static int
cond_expired(void *arg)
{
	return (h.limit.expired >= *(uint64_t *)arg);
}

static int
cond_time(void *arg)
{
	return (now_ms() >= *(uint64_t *)arg);
}

/*
 * Expiry, 1 s: a flow left alone is gone after about that; one touched
 * every 200 ms is not, until it is left alone in its turn.
 */
START_TEST(test_expiry)
{
	struct sockaddr_storage	 ss;
	struct timeval		 tv = { 0, 200 * 1000 };
	struct flow		*idle;
	uint64_t		 t0, t, n;

	h.table = new_table(1, "test");
	t0 = now_ms();
	idle = flow_create(h.table, client(&ss, "10.0.0.1", 1, 0), -1, NULL);
	ck_assert_ptr_nonnull(idle);
	h.busy = flow_create(h.table, client(&h.busy_ss, "10.0.0.1", 2, 0), -1,
	    NULL);
	ck_assert_ptr_nonnull(h.busy);
	h.toucher = event_new(h.base, -1, EV_PERSIST, h_touchcb, NULL);
	ck_assert_ptr_nonnull(h.toucher);
	ck_assert_int_eq(event_add(h.toucher, &tv), 0);

	n = 1;
	ck_assert_msg(run_until(cond_expired, &n, EXPIRE_MS),
	    "the idle flow lived past %u ms", EXPIRE_MS);
	t = now_ms() - t0;
	ck_assert_msg(t >= 900, "the idle flow expired after %llu ms",
	    (unsigned long long)t);
	ck_assert_ptr_null(flow_lookup(h.table, client(&ss, "10.0.0.1", 1,
	    0)));
	ck_assert_ptr_eq(flow_lookup(h.table, client(&ss, "10.0.0.1", 2, 0)),
	    h.busy);
	ck_assert_uint_eq(flow_table_count(h.table), 1);
	ck_assert_uint_eq(h.limit.active, 1);

	/* Touched, it lives on well past its timeout. */
	t = t0 + 2500;
	ck_assert(run_until(cond_time, &t, WAIT_MS));
	ck_assert_uint_eq(h.limit.expired, 1);
	ck_assert_ptr_eq(flow_lookup(h.table, client(&ss, "10.0.0.1", 2, 0)),
	    h.busy);
	ck_assert_uint_ge(h.ntouch, 5);

	/* Left alone, it goes too, no sooner than its timeout. */
	event_del(h.toucher);
	t = h.last_touch;
	n = 2;
	ck_assert_msg(run_until(cond_expired, &n, EXPIRE_MS),
	    "the flow left alone lived past %u ms", EXPIRE_MS);
	t = now_ms() - t;
	ck_assert_msg(t >= 900, "expired %llu ms after the last touch",
	    (unsigned long long)t);
	h.busy = NULL;
	ck_assert_ptr_null(flow_lookup(h.table, client(&ss, "10.0.0.1", 2,
	    0)));
	ck_assert_uint_eq(flow_table_count(h.table), 0);
	ck_assert_uint_eq(h.limit.active, 0);
	ck_assert_uint_eq(h.limit.created, 2);
}
END_TEST

/*
 * A flow with its own socket: a datagram to it calls the read function
 * with the flow; a paused table is not read; freeing closes the socket.
 */
START_TEST(test_own_socket)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	 sin, other;
	struct flow		*f;
	int			 fd, tx;

	h.table = new_table(600, "test");
	fd = udp_bound(&sin);
	tx = udp_bound(&other);
	f = flow_create(h.table, client(&ss, "10.0.0.1", 7, 0), fd, h_readfn);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(flow_fd(f), fd);

	send_to(tx, &sin, "one");
	wait_nreads(1);
	ck_assert_ptr_eq(h.last_flow, f);
	ck_assert_str_eq(h.last_data, "one");

	flow_pause(h.table, 1);
	send_to(tx, &sin, "two");
	wait_readable(fd);
	run_for(300);
	ck_assert_uint_eq(h.nreads, 1);
	flow_pause(h.table, 1);			/* twice is once */
	run_for(50);
	ck_assert_uint_eq(h.nreads, 1);

	flow_pause(h.table, 0);
	wait_nreads(2);
	ck_assert_ptr_eq(h.last_flow, f);
	ck_assert_str_eq(h.last_data, "two");
	flow_pause(h.table, 0);			/* twice is once */
	send_to(tx, &sin, "three");
	wait_nreads(3);
	ck_assert_str_eq(h.last_data, "three");

	flow_free(f, "test");
	ck_assert_msg(fd_closed(fd), "flow_free left the socket open");
	ck_assert_uint_eq(h.limit.active, 0);
	close(tx);
}
END_TEST

/* A flow made while its table is paused waits for the resume too. */
START_TEST(test_own_socket_created_paused)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	 sin1, sin2, other;
	struct flow		*f1, *f2;
	int			 fd1, fd2, tx;

	h.table = new_table(600, "test");
	fd1 = udp_bound(&sin1);
	fd2 = udp_bound(&sin2);
	tx = udp_bound(&other);
	f1 = flow_create(h.table, client(&ss, "10.0.0.1", 1, 0), fd1, h_readfn);
	ck_assert_ptr_nonnull(f1);
	flow_pause(h.table, 1);
	f2 = flow_create(h.table, client(&ss, "10.0.0.1", 2, 0), fd2, h_readfn);
	ck_assert_ptr_nonnull(f2);

	send_to(tx, &sin2, "b");
	send_to(tx, &sin1, "a");
	wait_readable(fd2);
	wait_readable(fd1);
	run_for(300);
	ck_assert_uint_eq(h.nreads, 0);

	flow_pause(h.table, 0);
	wait_nreads(2);
	run_for(50);
	ck_assert_uint_eq(h.nreads, 2);
	close(tx);
}
END_TEST

/* Freeing a table frees its flows, their sockets, their share of limit. */
START_TEST(test_table_free)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	 sin;
	struct flow		*f;
	uint64_t		 n;
	unsigned int		 i;
	int			 fds[2];

	h.table = new_table(1, "peer-a");
	h.table2 = new_table(1, "peer-b");
	for (i = 0; i < 4; i++) {
		int	fd = -1;

		if (i < 2)
			fd = fds[i] = udp_bound(&sin);
		f = flow_create(h.table, client(&ss, "10.0.0.1",
		    (uint16_t)(100 + i), 0), fd, fd == -1 ? NULL : h_readfn);
		ck_assert_ptr_nonnull(f);
	}
	for (i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(flow_create(h.table2, client(&ss,
		    "10.0.0.1", (uint16_t)(100 + i), 0), -1, NULL));
	ck_assert_uint_eq(h.limit.active, 7);

	flow_table_free(h.table);
	h.table = NULL;
	ck_assert_uint_eq(h.limit.active, 3);
	ck_assert_uint_eq(flow_table_count(h.table2), 3);
	for (i = 0; i < 2; i++)
		ck_assert_msg(fd_closed(fds[i]), "socket %u left open", i);

	/* Only the live table's flows expire: the freed ones' timers went
	 * with them (were they left, they would fire at the same time). */
	n = 3;
	ck_assert_msg(run_until(cond_expired, &n, WAIT_MS),
	    "%llu flows expired", (unsigned long long)h.limit.expired);
	run_for(200);
	ck_assert_uint_eq(h.limit.expired, 3);
	ck_assert_uint_eq(h.limit.active, 0);
	ck_assert_uint_eq(flow_table_count(h.table2), 0);

	ck_assert_ptr_nonnull(flow_create(h.table2, client(&ss, "10.0.0.9", 9,
	    0), -1, NULL));
	flow_table_free(h.table2);
	h.table2 = NULL;
	ck_assert_uint_eq(h.limit.active, 0);
	ck_assert_uint_eq(h.limit.created, 8);
	flow_table_free(NULL);
}
END_TEST

static Suite *
flow_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("flow");

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_key_canonical_v4);
	tcase_add_test(tc, test_key_canonical_mapped_first);
	tcase_add_test(tc, test_key_canonical_v6);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_create_lookup_free);
	tcase_add_test(tc, test_limit_shared);
	tcase_add_test(tc, test_table_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("events");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_own_socket);
	tcase_add_test(tc, test_own_socket_created_paused);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(flow_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
