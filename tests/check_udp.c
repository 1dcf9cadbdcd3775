/*
 * check_udp.c - unit tests for the UDP batch I/O (udp.c) on loopback:
 * every datagram queued leaves whole, in order, to its own destination
 * and is counted; runs of equal datagrams leave as one segmented send
 * where the build has UDP_SEGMENT; receives come in batches.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#ifdef HAVE_UDP_GSO
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <sched.h>
#endif

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"
#include "udp.h"

#define WAIT_MS		5000	/* for a datagram sent on loopback */
#define MAXLEN		2000

/* A socket on 127.0.0.1, port chosen by the kernel; its address in sin. */
static int
bound(struct sockaddr_in *sin)
{
	socklen_t	len = sizeof *sin;
	int		fd;

	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = udp_open((struct sockaddr *)sin, sizeof *sin, 1 << 20, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return (fd);
}

/* Datagram i of a test: its bytes depend on i, so a mix-up shows. */
static void
payload(unsigned char *p, size_t len, unsigned int i)
{
	size_t	k;

	for (k = 0; k < len; k++)
		p[k] = (unsigned char)(i * 37 + k * 11 + 5);
}

/* The next datagram on fd, waiting for it; its length. */
static ssize_t
recv_one(int fd, unsigned char *buf, size_t size)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	ssize_t		n;

	ck_assert_msg(poll(&pfd, 1, WAIT_MS) == 1, "no datagram within %d ms",
	    WAIT_MS);
	n = recv(fd, buf, size, MSG_DONTWAIT);
	ck_assert_int_ge(n, 0);
	return (n);
}

/* Nothing more is waiting on fd. */
static void
none_left(int fd)
{
	unsigned char	b[1];

	ck_assert_int_eq(recv(fd, b, sizeof b, MSG_DONTWAIT), -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
}

/*
 * The lengths of a queue to send, and to which of two receivers each
 * goes: equal runs, a shorter one ending a run, a longer one breaking
 * it, zero-length datagrams, and destinations interleaved.
 */
static const struct {
	size_t	len;
	int	dest;
} mix[] = {
	{ 1000, 0 }, { 1000, 0 }, { 1000, 0 }, { 300, 0 }, { 1000, 0 },
	{ 1000, 1 }, { 1000, 0 }, { 1200, 0 }, { 0, 0 }, { 0, 0 },
	{ 64, 1 }, { 64, 1 }, { 64, 1 }, { 64, 1 }, { 64, 1 }, { 1, 0 },
};
#define NMIX	(sizeof mix / sizeof mix[0])

START_TEST(test_sendq_whole_in_order)
{
	static unsigned char	 data[NMIX][MAXLEN];
	unsigned char		 got[MAXLEN + 1];
	struct sockaddr_in	 rx[2], tx;
	struct stats		 st;
	uint64_t		 bytes = 0;
	unsigned int		 i;
	int			 rfd[2], sfd;
	ssize_t			 n;

	memset(&st, 0, sizeof st);
	rfd[0] = bound(&rx[0]);
	rfd[1] = bound(&rx[1]);
	sfd = bound(&tx);
	ck_assert_uint_le(NMIX, UDP_BATCH);
	for (i = 0; i < NMIX; i++) {
		payload(data[i], mix[i].len, i);
		udp_sendq_add(sfd, data[i], mix[i].len,
		    (struct sockaddr *)&rx[mix[i].dest], sizeof rx[0], &st);
		bytes += mix[i].len;
	}
	udp_sendq_flush();

	/* Each receiver gets its own, whole, in the order queued. */
	for (i = 0; i < NMIX; i++) {
		n = recv_one(rfd[mix[i].dest], got, sizeof got);
		ck_assert_msg((size_t)n == mix[i].len, "datagram %u: %zd "
		    "bytes, sent %zu", i, n, mix[i].len);
		ck_assert_mem_eq(got, data[i], mix[i].len);
	}
	none_left(rfd[0]);
	none_left(rfd[1]);
	ck_assert_uint_eq(st.udp_out, NMIX);
	ck_assert_uint_eq(st.udp_out_bytes, bytes);
	ck_assert_uint_eq(st.drop_udp_send, 0);
	close(rfd[0]);
	close(rfd[1]);
	close(sfd);
}
END_TEST

/*
 * A run of equal datagrams for one destination leaves as one segmented
 * send. A receiver that asks for UDP_GRO is handed such a send whole,
 * with its segment size; datagrams sent one by one reach it one by one.
 */
#ifdef HAVE_UDP_GSO
START_TEST(test_sendq_segmented)
{
	static unsigned char	 data[8][1000];
	unsigned char		 got[8 * 1000 + 1];
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	}			 ctl;
	struct sockaddr_in	 rx, tx;
	struct stats		 st;
	struct msghdr		 m;
	struct iovec		 iov = { got, sizeof got };
	struct cmsghdr		*c;
	struct pollfd		 pfd;
	int			 rfd, sfd, one = 1, seg = 0, gro;
	unsigned int		 i;
	ssize_t			 n;

	memset(&st, 0, sizeof st);
	rfd = bound(&rx);
	sfd = bound(&tx);
	/* Without UDP_GRO (kernels 4.18 to 5.0) the send cannot be seen
	 * whole: the datagrams must still arrive, each on its own. */
	gro = setsockopt(rfd, IPPROTO_UDP, UDP_GRO, &one, sizeof one) == 0;
	for (i = 0; i < 8; i++) {
		payload(data[i], sizeof data[i], i);
		udp_sendq_add(sfd, data[i], sizeof data[i],
		    (struct sockaddr *)&rx, sizeof rx, &st);
	}
	udp_sendq_flush();
	ck_assert_uint_eq(st.udp_out, 8);
	ck_assert_uint_eq(st.udp_out_bytes, 8000);
	if (!gro) {
		fprintf(stderr, "check_udp: no UDP_GRO here (%s)\n",
		    strerror(errno));
		for (i = 0; i < 8; i++) {
			ck_assert_int_eq(recv_one(rfd, got, sizeof got), 1000);
			ck_assert_mem_eq(got, data[i], 1000);
		}
		goto done;
	}

	pfd.fd = rfd;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, WAIT_MS), 1);
	memset(&m, 0, sizeof m);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl.buf;
	m.msg_controllen = sizeof ctl.buf;
	n = recvmsg(rfd, &m, MSG_DONTWAIT);
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO)
			memcpy(&seg, CMSG_DATA(c), sizeof seg);
	ck_assert_msg(n == 8000 && seg == 1000, "8 x 1000 bytes arrived as "
	    "%zd bytes, segment size %d: not sent as one segmented send", n,
	    seg);
	for (i = 0; i < 8; i++)
		ck_assert_mem_eq(got + i * 1000, data[i], 1000);
done:
	none_left(rfd);
	close(rfd);
	close(sfd);
}
END_TEST
#endif

#ifdef HAVE_UDP_GSO
/*
 * Segments the path cannot carry: in a network namespace of its own
 * whose loopback has an MTU of 1280, a run of 1400-byte datagrams is
 * refused as one send (each would need fragments). They must all go
 * out one by one and arrive whole, and a later run of small ones must
 * still leave as one send. Root only (a namespace).
 */
START_TEST(test_sendq_segments_refused)
{
	static unsigned char	 data[8][1400];
	unsigned char		 got[4 * 1400 + 1];
	struct sockaddr_in	 rx, tx;
	struct stats		 st;
	struct ifreq		 ifr;
	int			 rfd, sfd, cfd, one = 1;
	unsigned int		 i;

	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_ge(cfd = socket(AF_INET, SOCK_DGRAM, 0), 0);
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	ifr.ifr_mtu = 1280;
	ck_assert_int_eq(ioctl(cfd, SIOCSIFMTU, &ifr), 0);
	ck_assert_int_eq(ioctl(cfd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(cfd, SIOCSIFFLAGS, &ifr), 0);
	close(cfd);

	memset(&st, 0, sizeof st);
	rfd = bound(&rx);
	sfd = bound(&tx);
	ck_assert_int_eq(setsockopt(rfd, IPPROTO_UDP, UDP_GRO, &one,
	    sizeof one), 0);
	for (i = 0; i < 4; i++) {
		payload(data[i], 1400, i);
		udp_sendq_add(sfd, data[i], 1400, (struct sockaddr *)&rx,
		    sizeof rx, &st);
	}
	udp_sendq_flush();
	ck_assert_uint_eq(st.udp_out, 4);
	ck_assert_uint_eq(st.drop_udp_send, 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(recv_one(rfd, got, sizeof got), 1400);
		ck_assert_mem_eq(got, data[i], 1400);
	}

	for (i = 4; i < 8; i++) {
		payload(data[i], 200, i);
		udp_sendq_add(sfd, data[i], 200, (struct sockaddr *)&rx,
		    sizeof rx, &st);
	}
	udp_sendq_flush();
	ck_assert_uint_eq(st.udp_out, 8);
	ck_assert_msg(recv_one(rfd, got, sizeof got) == 800, "small datagrams "
	    "no longer sent as one run after a larger run was refused");
	for (i = 4; i < 8; i++)
		ck_assert_mem_eq(got + (i - 4) * 200, data[i], 200);
	none_left(rfd);
	close(rfd);
	close(sfd);
}
END_TEST
#endif

/* A batch receive takes what is waiting, up to UDP_BATCH, with senders. */
START_TEST(test_recv_batch)
{
	unsigned char		 data[UDP_BATCH + 3][100];
	struct sockaddr_in	 rx, tx;
	struct udp_msg		*msgs;
	struct stats		 st;
	struct pollfd		 pfd;
	int			 rfd, sfd, n, i;

	memset(&st, 0, sizeof st);
	rfd = bound(&rx);
	sfd = bound(&tx);
	ck_assert_int_eq(udp_recv_batch(rfd, &msgs, &st), 0);
	for (i = 0; i < UDP_BATCH + 3; i++) {
		payload(data[i], (size_t)i + 1, (unsigned int)i);
		ck_assert_int_eq(sendto(sfd, data[i], (size_t)i + 1, 0,
		    (struct sockaddr *)&rx, sizeof rx), i + 1);
	}
	pfd.fd = rfd;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, WAIT_MS), 1);
	n = udp_recv_batch(rfd, &msgs, &st);
	ck_assert_int_eq(n, UDP_BATCH);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(msgs[i].len, (size_t)i + 1);
		ck_assert_mem_eq(msgs[i].buf, data[i], (size_t)i + 1);
		ck_assert_int_eq(((struct sockaddr_in *)&msgs[i].from)->sin_port,
		    tx.sin_port);
	}
	ck_assert_int_eq(udp_recv_batch(rfd, &msgs, &st), 3);
	ck_assert_mem_eq(msgs[2].buf, data[UDP_BATCH + 2], UDP_BATCH + 3);
	ck_assert_int_eq(udp_recv_batch(rfd, &msgs, &st), 0);
	close(rfd);
	close(sfd);
}
END_TEST

static Suite *
udp_suite(void)
{
	Suite	*s = suite_create("udp");
	TCase	*tc = tcase_create("batches");

	tcase_add_test(tc, test_sendq_whole_in_order);
#ifdef HAVE_UDP_GSO
	tcase_add_test(tc, test_sendq_segmented);
#endif
	tcase_add_test(tc, test_recv_batch);
#ifdef HAVE_UDP_GSO
	/* Last: without fork mode its namespace would outlive it. */
	if (geteuid() == 0)
		tcase_add_test(tc, test_sendq_segments_refused);
	else
		fprintf(stderr, "check_udp: not root, so the refused-segments "
		    "case (a network namespace) is left out\n");
#endif
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(udp_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
