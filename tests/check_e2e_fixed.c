/*
 * check_e2e_fixed.c - end-to-end tests of fixed mode: both ends of the real
 * binary on 127.0.0.1, real datagrams through them.
 *
 * The picture every test uses (ports are picked afresh for each test):
 *
 *   client app C --> connect side --TCP--> listen side --> server app S
 *   (cfd)          -u B2  -p C           -l T -u B1 -p S    (sfd)
 *
 * A datagram C sends to B2 must leave B1 for S; one S sends to B1 must
 * leave B2 for C. Readiness is the "-> up" line each end logs; nothing
 * here sleeps for a fixed time where a line can be waited for.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <check.h>
#include <poll.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define TEST_TIMEOUT	60	/* seconds per test, a backstop only */

#define BURST		100
#define MAXSOCKS	16

/* One tunnel: the two ends and the two applications around them. */
struct tunnel {
	int		 tcp;		/* T: the listen side's TCP port */
	int		 b1;		/* B1: the listen side's --udp-bind */
	int		 b2;		/* B2: the connect side's --udp-bind */
	int		 sfd, s;	/* the server app and its port */
	int		 cfd, c;	/* the client app and its port */
	const char	*framing;	/* NULL: the default */
	struct e2e_proc	*l;		/* listen side */
	struct e2e_proc	*t;		/* connect side */
	size_t		 lup, tup;	/* log offsets past the last "-> up" */
};

static int			 socks[MAXSOCKS];
static int			 nsocks;
static unsigned char		 want[E2E_BUFSIZE];
static unsigned char		 got[E2E_BUFSIZE];

static void	 setup(void);
static void	 teardown(void);
static int	 test_socket(void);
static void	 tunnel_init(struct tunnel *, const char *);
static struct e2e_proc *start_listen(struct tunnel *, const char *);
static struct e2e_proc *start_connect(const char *, int, int, int,
		     const char *, int);
static void	 wait_up(struct tunnel *);
static void	 tunnel_start(struct tunnel *, const char *);
static void	 expect(int, int, const unsigned char *, size_t,
		     const char *);
static void	 forward(struct tunnel *, const unsigned char *, size_t,
		     const char *);
static void	 reply(struct tunnel *, const unsigned char *, size_t,
		     const char *);
static void	 both_ways(struct tunnel *, size_t, uint32_t);
static size_t	 burst_size(int, uint32_t *);
static void	 burst_payload(unsigned char *, size_t, int, uint32_t);
static void	 burst_check(int, int, ssize_t, int, uint32_t);
static void	 burst(struct tunnel *, int, uint32_t);
static Suite	*e2e_fixed_suite(void);

static void
setup(void)
{
	/* Left over by a failed test in CK_NOFORK mode: show and kill. */
	e2e_cleanup(1);
	while (nsocks > 0)
		close(socks[--nsocks]);
}

static void
teardown(void)
{
	e2e_cleanup(0);
	while (nsocks > 0)
		close(socks[--nsocks]);
}

/* A UDP socket on 127.0.0.1:0, closed by teardown. */
static int
test_socket(void)
{
	int	fd;

	require(nsocks < MAXSOCKS, "more than %d test sockets", MAXSOCKS);
	fd = e2e_udp_socket(0);
	require(fd != -1, "cannot open a UDP socket on 127.0.0.1");
	socks[nsocks++] = fd;
	return (fd);
}

static void
tunnel_init(struct tunnel *t, const char *framing)
{
	memset(t, 0, sizeof *t);
	t->framing = framing;
	/* Ours first: then no port for the binary can be one of them. */
	t->sfd = test_socket();
	t->s = e2e_udp_port(t->sfd);
	t->cfd = test_socket();
	t->c = e2e_udp_port(t->cfd);
	t->tcp = e2e_free_port(SOCK_STREAM);
	t->b1 = e2e_free_port(SOCK_DGRAM);
	t->b2 = e2e_free_port(SOCK_DGRAM);
	require(t->tcp > 0 && t->b1 > 0 && t->b2 > 0,
	    "no free ports on 127.0.0.1");
}

/* The listen side of t, started and listening. */
static struct e2e_proc *
start_listen(struct tunnel *t, const char *name)
{
	struct e2e_proc	*p;
	char		 tcp[32], bind[32], sendto[32];
	char		*argv[16];
	int		 n = 0;

	argv[n++] = "--tcp-listen";
	argv[n++] = e2e_hostport(tcp, sizeof tcp, t->tcp);
	argv[n++] = "--udp-bind";
	argv[n++] = e2e_hostport(bind, sizeof bind, t->b1);
	argv[n++] = "--udp-sendto";
	argv[n++] = e2e_hostport(sendto, sizeof sendto, t->s);
	if (t->framing != NULL) {
		argv[n++] = "--framing";
		argv[n++] = (char *)t->framing;
	}
	argv[n] = NULL;
	p = e2e_spawnv(name, argv);
	require(p != NULL, "cannot start %s", name);
	require(e2e_wait_log(p, "listening on", 0, E2E_READY_MS) != -1,
	    "%s did not say \"listening on\"", name);
	return (p);
}

/*
 * A connect side to tcpport, bound at bindport, sending to sendport; with
 * verbose, -v, so its connect attempts are logged too.
 */
static struct e2e_proc *
start_connect(const char *name, int tcpport, int bindport, int sendport,
    const char *framing, int verbose)
{
	struct e2e_proc	*p;
	char		 tcp[32], bind[32], sendto[32];
	char		*argv[20];
	int		 n = 0;

	argv[n++] = "--tcp-connect";
	argv[n++] = e2e_hostport(tcp, sizeof tcp, tcpport);
	argv[n++] = "--udp-bind";
	argv[n++] = e2e_hostport(bind, sizeof bind, bindport);
	argv[n++] = "--udp-sendto";
	argv[n++] = e2e_hostport(sendto, sizeof sendto, sendport);
	argv[n++] = "--backoff-min";
	argv[n++] = "20";
	argv[n++] = "--backoff-max";
	argv[n++] = "200";
	if (framing != NULL) {
		argv[n++] = "--framing";
		argv[n++] = (char *)framing;
	}
	if (verbose)
		argv[n++] = "-v";
	argv[n] = NULL;
	p = e2e_spawnv(name, argv);
	require(p != NULL, "cannot start %s", name);
	return (p);
}

/* Wait for the next "-> up" of both ends. */
static void
wait_up(struct tunnel *t)
{
	ssize_t	off;

	off = e2e_wait_log(t->t, "-> up", t->tup, E2E_READY_MS);
	require(off != -1, "the connect side did not come up");
	t->tup = (size_t)off;
	off = e2e_wait_log(t->l, "-> up", t->lup, E2E_READY_MS);
	require(off != -1, "the listen side did not log its peer up");
	t->lup = (size_t)off;
}

/* Both ends, listen side first, and wait until the link is up. */
static void
tunnel_start(struct tunnel *t, const char *framing)
{
	tunnel_init(t, framing);
	t->l = start_listen(t, "listen");
	t->t = start_connect("connect", t->tcp, t->b2, t->c, t->framing,
	    0);
	wait_up(t);
}

/* One datagram must arrive on fd, whole, from port fromport. */
static void
expect(int fd, int fromport, const unsigned char *buf, size_t len,
    const char *what)
{
	ssize_t	n;
	size_t	i;
	int	from = -1, error;

	n = e2e_udp_recv(fd, got, sizeof got, &from, E2E_RECV_MS);
	error = errno;
	require(n != -1, "%s: nothing arrived within %d ms (%s)", what,
	    E2E_RECV_MS, strerror(error));
	require((size_t)n == len, "%s: %zd bytes arrived instead", what, n);
	for (i = 0; i < len && got[i] == buf[i]; i++)
		;
	require(i == len, "%s: byte %zu differs", what, i);
	require(from == fromport, "%s: came from port %d, not from the "
	    "--udp-bind port %d", what, from, fromport);
}

/* Client app to B2; it must leave the listen side from B1 to S. */
static void
forward(struct tunnel *t, const unsigned char *buf, size_t len,
    const char *what)
{
	require(e2e_udp_send(t->cfd, t->b2, buf, len) == 0,
	    "%s: cannot send %zu bytes", what, len);
	expect(t->sfd, t->b1, buf, len, what);
}

/* Server app to B1; it must leave the connect side from B2 to C. */
static void
reply(struct tunnel *t, const unsigned char *buf, size_t len,
    const char *what)
{
	require(e2e_udp_send(t->sfd, t->b1, buf, len) == 0,
	    "%s: cannot send %zu bytes", what, len);
	expect(t->cfd, t->b2, buf, len, what);
}

static void
both_ways(struct tunnel *t, size_t len, uint32_t seed)
{
	char	what[64];

	e2e_fill(want, len, seed);
	snprintf(what, sizeof what, "client to server, %zu bytes", len);
	forward(t, want, len, what);
	e2e_fill(want, len, seed + 1);
	snprintf(what, sizeof what, "server to client, %zu bytes", len);
	reply(t, want, len, what);
}

START_TEST(test_both_ways)
{
	struct tunnel	t;

	tunnel_start(&t, NULL);
	forward(&t, (const unsigned char *)"ping", 4,
	    "client to server, 4 bytes");
	reply(&t, (const unsigned char *)"pong", 4,
	    "server to client, 4 bytes");
	forward(&t, (const unsigned char *)"again", 5,
	    "client to server again, 5 bytes");
}
END_TEST

/*
 * The listen side bound at port 0 (issue 11, defect 2): the system picks
 * the port, the start-up line says which, and the server sees the
 * datagrams come from it and answers there.
 */
START_TEST(test_bind_port_zero)
{
	struct tunnel	 t;
	char		 tcp[32], sendto[32], line[256];
	const char	*log, *at;
	size_t		 len;
	ssize_t		 off;

	tunnel_init(&t, NULL);
	t.l = e2e_spawn("listen", "--tcp-listen", e2e_hostport(tcp,
	    sizeof tcp, t.tcp), "--udp-bind", "127.0.0.1:0", "--udp-sendto",
	    e2e_hostport(sendto, sizeof sendto, t.s), NULL);
	require(t.l != NULL, "cannot start the listen side");
	off = e2e_wait_log(t.l, "listening on", 0, E2E_READY_MS);
	require(off != -1, "--udp-bind 127.0.0.1:0 did not start");
	log = e2e_log(t.l, &len);
	snprintf(line, sizeof line, "%.*s", (int)(len > 255 ? 255 : len),
	    log);
	at = strstr(line, "udp 127.0.0.1:");
	require(at != NULL, "no bound address in the start-up line: %s",
	    line);
	t.b1 = atoi(at + strlen("udp 127.0.0.1:"));
	require(t.b1 > 0 && t.b1 < 65536, "the start-up line says port %d: "
	    "%s", t.b1, line);
	t.t = start_connect("connect", t.tcp, t.b2, t.c, NULL, 0);
	wait_up(&t);
	both_ways(&t, 100, 7);
}
END_TEST

/*
 * --udp-bind PORT alone with an IPv6 --udp-sendto (issue 11, defect 1):
 * the socket must be bound in the destination's family. It was bound on
 * 0.0.0.0, and every datagram failed to leave, silently.
 */
START_TEST(test_dest_family)
{
	struct tunnel		 t;
	struct sockaddr_in6	 sin6;
	socklen_t		 len = sizeof sin6;
	struct pollfd		 pfd;
	char			 tcp[32], bindarg[16], dest[64];
	ssize_t			 n;
	int			 fd;

	tunnel_init(&t, NULL);
	require(nsocks < MAXSOCKS, "more than %d test sockets", MAXSOCKS);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	require(fd != -1, "no IPv6 UDP socket: %s", strerror(errno));
	socks[nsocks++] = fd;
	e2e_cloexec(fd, 1);
	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	require(bind(fd, (struct sockaddr *)&sin6, sizeof sin6) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin6, &len) == 0,
	    "cannot bind [::1]: %s", strerror(errno));
	snprintf(dest, sizeof dest, "[::1]:%u", ntohs(sin6.sin6_port));
	snprintf(bindarg, sizeof bindarg, "%d", t.b1);
	t.l = e2e_spawn("listen", "--tcp-listen", e2e_hostport(tcp,
	    sizeof tcp, t.tcp), "--udp-bind", bindarg, "--udp-sendto", dest,
	    NULL);
	require(t.l != NULL && e2e_wait_log(t.l, "listening on", 0,
	    E2E_READY_MS) != -1, "the listen side did not start");
	t.t = start_connect("connect", t.tcp, t.b2, t.c, NULL, 0);
	wait_up(&t);

	/* Client to the IPv6 server, which answers where it came from. */
	require(e2e_udp_send(t.cfd, t.b2, "v6?", 3) == 0, "cannot send");
	pfd.fd = fd;
	pfd.events = POLLIN;
	require(poll(&pfd, 1, E2E_RECV_MS) == 1, "nothing reached the IPv6 "
	    "server within %d ms", E2E_RECV_MS);
	len = sizeof sin6;
	n = recvfrom(fd, got, sizeof got, 0, (struct sockaddr *)&sin6, &len);
	require(n == 3 && memcmp(got, "v6?", 3) == 0, "the server got %zd "
	    "other bytes", n);
	require(ntohs(sin6.sin6_port) == t.b1, "it came from port %u, not "
	    "%d", ntohs(sin6.sin6_port), t.b1);
	require(sendto(fd, "v6!", 3, 0, (struct sockaddr *)&sin6, len) == 3,
	    "the server cannot answer: %s", strerror(errno));
	expect(t.cfd, t.b2, (const unsigned char *)"v6!", 3,
	    "the IPv6 server's answer");
}
END_TEST

static const size_t sizes[] = { 0, 1, 1400, 1472, 8192, E2E_MAX_DGRAM };

START_TEST(test_sizes)
{
	struct tunnel	t;
	size_t		i;

	tunnel_start(&t, NULL);
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		both_ways(&t, sizes[i], (uint32_t)(100 + 2 * i));
}
END_TEST

/*
 * The size of datagram i of a burst: mostly small and middling, some
 * large, always 0, 1, 1472 and the maximum among them.
 */
static size_t
burst_size(int i, uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	switch (i) {
	case 0:
	case BURST - 1:
		return (0);
	case 33:
		return (1);
	case 50:
		return (1472);
	case 7:
	case 66:
		return (E2E_MAX_DGRAM);
	}
	if (*x % 100 < 70)
		return ((*x >> 8) % 1473);
	if (*x % 100 < 92)
		return (1473 + (*x >> 8) % 7000);
	return (8473 + (*x >> 8) % 24000);
}

/* Datagram i of a burst: seeded bytes, its number in the first two. */
static void
burst_payload(unsigned char *buf, size_t len, int i, uint32_t seed)
{
	e2e_fill(buf, len, seed * 1000 + (uint32_t)i);
	if (len >= 2) {
		buf[0] = (unsigned char)(i >> 8);
		buf[1] = (unsigned char)i;
	}
}

/* The k-th arrival (n bytes in got, from port from) must be datagram k. */
static void
burst_check(int k, int from, ssize_t n, int fromport, uint32_t seed)
{
	uint32_t	x = seed;
	size_t		len = 0;
	int		i;

	for (i = 0; i <= k; i++)
		len = burst_size(i, &x);
	burst_payload(want, len, k, seed);
	require(n >= 0 && (size_t)n == len &&
	    memcmp(got, want, len) == 0,
	    "burst: arrival %d is not datagram %d (%zu bytes) but %zd bytes"
	    " starting #%d: lost, reordered or damaged", k, k, len, n,
	    n >= 2 ? got[0] << 8 | got[1] : -1);
	require(from == fromport, "burst: arrival %d came from port %d,"
	    " not %d", k, from, fromport);
}

/* BURST datagrams back to back one way; all must arrive, whole, in order. */
static void
burst(struct tunnel *t, int up, uint32_t seed)
{
	static unsigned char	 out[E2E_BUFSIZE];
	uint32_t		 x = seed;
	ssize_t			 n;
	size_t			 len;
	int			 i, k = 0, from, error;
	int			 sfd = up ? t->cfd : t->sfd;
	int			 rfd = up ? t->sfd : t->cfd;
	int			 to = up ? t->b2 : t->b1;
	int			 via = up ? t->b1 : t->b2;

	for (i = 0; i < BURST; i++) {
		len = burst_size(i, &x);
		burst_payload(out, len, i, seed);
		require(e2e_udp_send(sfd, to, out, len) == 0,
		    "burst: cannot send datagram %d (%zu bytes)", i, len);
		/* Take what has come through already; do not wait. */
		while (k < BURST &&
		    (n = e2e_udp_recv(rfd, got, sizeof got, &from, 0)) != -1)
			burst_check(k++, from, n, via, seed);
	}
	while (k < BURST) {
		n = e2e_udp_recv(rfd, got, sizeof got, &from, E2E_RECV_MS);
		error = errno;
		require(n != -1, "burst %s: only %d of %d datagrams "
		    "arrived (%s)", up ? "client to server" :
		    "server to client", k, BURST, strerror(error));
		burst_check(k++, from, n, via, seed);
	}
	n = e2e_udp_recv(rfd, got, sizeof got, &from, 100);
	require(n == -1, "burst: a datagram beyond the %d sent arrived "
	    "(%zd bytes)", BURST, n);
}

START_TEST(test_burst)
{
	struct tunnel	t;

	tunnel_start(&t, NULL);
	burst(&t, 1, 7);
	burst(&t, 0, 8);
	both_ways(&t, 100, 9);
}
END_TEST

/* The connect side starts first and retries until the listen side is up. */
START_TEST(test_connect_first)
{
	struct tunnel	t;
	ssize_t		off;

	tunnel_init(&t, NULL);
	t.t = start_connect("connect", t.tcp, t.b2, t.c, NULL, 1);
	/* A second attempt proves it retries. */
	off = e2e_wait_log(t.t, "-> connecting", 0, E2E_READY_MS);
	require(off != -1, "the connect side never tried to connect");
	off = e2e_wait_log(t.t, "-> connecting", (size_t)off, E2E_READY_MS);
	require(off != -1, "the connect side did not retry");
	require(strstr(e2e_log(t.t, NULL), "-> up") == NULL,
	    "the connect side says up with nothing listening");

	t.l = start_listen(&t, "listen");
	wait_up(&t);
	both_ways(&t, 1000, 20);
	both_ways(&t, 0, 22);
}
END_TEST

/* A datagram sent while the link is down is held and delivered on up. */
START_TEST(test_queue_while_down)
{
	struct tunnel	t;
	ssize_t		off;

	tunnel_init(&t, NULL);
	t.t = start_connect("connect", t.tcp, t.b2, t.c, NULL, 1);
	off = e2e_wait_log(t.t, "-> connecting", 0, E2E_READY_MS);
	require(off != -1, "the connect side never tried to connect");
	off = e2e_wait_log(t.t, "-> connecting", (size_t)off, E2E_READY_MS);
	require(off != -1, "the connect side did not retry");

	e2e_fill(want, 1200, 30);
	require(e2e_udp_send(t.cfd, t.b2, want, 1200) == 0,
	    "cannot send to the connect side");
	t.l = start_listen(&t, "listen");
	wait_up(&t);
	expect(t.sfd, t.b1, want, 1200,
	    "1200 bytes held while the link was down");
	both_ways(&t, 64, 31);
}
END_TEST

/* The listen side dies (SIGKILL) and comes back; the connect side follows. */
START_TEST(test_listen_restart)
{
	struct tunnel	t;
	ssize_t		off;

	tunnel_start(&t, NULL);
	both_ways(&t, 500, 40);

	e2e_kill(t.l);
	t.l = start_listen(&t, "listen-again");
	t.lup = 0;
	off = e2e_wait_log(t.t, "-> up", t.tup, E2E_READY_MS);
	require(off != -1, "the connect side did not come up again "
	    "after the listen side was restarted");
	t.tup = (size_t)off;
	off = e2e_wait_log(t.l, "-> up", 0, E2E_READY_MS);
	require(off != -1, "the restarted listen side did not log its "
	    "peer up");
	t.lup = (size_t)off;

	both_ways(&t, 500, 42);
	both_ways(&t, E2E_MAX_DGRAM, 44);
}
END_TEST

/* Fixed mode: a second connect side replaces the first as the peer. */
START_TEST(test_replace_peer)
{
	struct tunnel	 t;
	struct e2e_proc	*second;
	ssize_t		 off;
	int		 b3, c2fd, c2;

	tunnel_start(&t, NULL);
	both_ways(&t, 300, 50);

	/*
	 * Freeze the first connect side so it cannot reconnect and take the
	 * peer back: its TCP connection stays open, which is the point.
	 */
	require(e2e_signal(t.t, SIGSTOP) == 0,
	    "cannot stop the first connect side");

	c2fd = test_socket();
	c2 = e2e_udp_port(c2fd);
	b3 = e2e_free_port(SOCK_DGRAM);
	second = start_connect("connect-2", t.tcp, b3, c2, NULL, 0);
	off = e2e_wait_log(second, "-> up", 0, E2E_READY_MS);
	require(off != -1, "the second connect side did not come up");
	off = e2e_wait_log(t.l, "-> up", t.lup, E2E_READY_MS);
	require(off != -1, "the listen side did not log the second "
	    "peer up");
	require(e2e_wait_log(t.l, "replac", 0, E2E_READY_MS) != -1,
	    "the listen side did not log that the old peer was replaced");

	/* Through the new peer, both ways. */
	e2e_fill(want, 700, 52);
	require(e2e_udp_send(c2fd, b3, want, 700) == 0,
	    "cannot send to the second connect side");
	expect(t.sfd, t.b1, want, 700, "client 2 to server, 700 bytes");
	e2e_fill(want, 900, 53);
	require(e2e_udp_send(t.sfd, t.b1, want, 900) == 0,
	    "cannot send to the listen side");
	expect(c2fd, b3, want, 900, "server to client 2, 900 bytes");
}
END_TEST

static const char *framings[] = { "flow", "len32", "len16" };

START_TEST(test_framing)
{
	static const size_t	 fsizes[] = { 0, 1, 1400, 8192, E2E_MAX_DGRAM };
	struct tunnel		 t;
	size_t			 i;

	tunnel_start(&t, framings[_i]);
	for (i = 0; i < sizeof fsizes / sizeof fsizes[0]; i++)
		both_ways(&t, fsizes[i], (uint32_t)(60 + 2 * i));
}
END_TEST

/* SIGTERM and SIGINT end either side with exit status 0. */
START_TEST(test_signal_exit)
{
	static const int	 sigs[] = { SIGTERM, SIGINT };
	struct tunnel		 t;
	int			 code;

	tunnel_start(&t, NULL);
	both_ways(&t, 200, 70);

	/* The listen side with its peer up, then the connect side retrying. */
	if (sigs[_i] == SIGTERM)
		code = e2e_stop(t.l, E2E_EXIT_MS);
	else {
		require(e2e_signal(t.l, sigs[_i]) == 0,
		    "cannot signal the listen side");
		code = e2e_wait_exit(t.l, E2E_EXIT_MS);
	}
	require(code == 0, "listen side: exit status %d after signal %d,"
	    " not 0 (-1: still running after %d ms)", code, sigs[_i],
	    E2E_EXIT_MS);
	require(e2e_wait_log(t.t, "up ->", 0, E2E_READY_MS) != -1,
	    "the connect side did not notice the listen side leaving");
	require(e2e_signal(t.t, sigs[_i]) == 0,
	    "cannot signal the connect side");
	code = e2e_wait_exit(t.t, E2E_EXIT_MS);
	require(code == 0, "connect side: exit status %d after signal "
	    "%d, not 0 (-1: still running after %d ms)", code, sigs[_i],
	    E2E_EXIT_MS);
}
END_TEST

/*
 * Bad command lines: "@T" stands for a TCP address, "@U" and "@V" for
 * UDP ones. Each must give exit status 2 and one line on stderr naming
 * the option (one of the '|'-separated names).
 */
struct badargs {
	const char	*args[12];
	const char	*names;
};

static const struct badargs badargs[] = {
	{ { "--tcp-connect", "@T", "--udp-bind", "0", "--udp-sendto", "@U" },
	  "udp-bind" },
	{ { "--tcp-connect", "@T", "--udp-bind", "127.0.0.1:0",
	    "--udp-sendto", "@U" }, "udp-bind" },
	{ { "--tcp-listen", "@T", "--udp-bind", "@U", "--udp-sendto",
	    "[::1]:8888" }, "udp-sendto" },
	{ { "--tcp-listen", "abc", "--udp-bind", "@U", "--udp-sendto", "@V" },
	  "tcp-listen" },
	{ { "-l", "@T", "-t", "@T", "-u", "@U", "-p", "@V" },
	  "tcp-listen|tcp-connect" },
	{ { "--tcp-connect", "@T", "--udp-bind", "auto", "--udp-sendto",
	    "@U" }, "udp-bind" },
	{ { "--tcp-listen", "@T", "--udp-bind", "auto", "--udp-sendto", "@U",
	    "--framing", "len16" }, "framing" },
	{ { "--tcp-listen", "@T", "--udp-bind", "@U", "--udp-sendto", "@V",
	    "--no-such-option" }, "no-such-option" },
	{ { "--tcp-listen", "@T", "--udp-bind", "@U", "--udp-sendto", "@V",
	    "--framing", "bogus" }, "framing" },
	{ { "--tcp-listen", "@T", "--udp-bind", "@U", "--udp-sendto",
	    "127.0.0.1:70000" }, "udp-sendto" },
	{ { "--tcp-listen", "@T", "--udp-bind", "@U", "--udp-sendto",
	    "127.0.0.1:auto" }, "udp-sendto" },
	{ { "--tcp-listen", "@T", "--udp-bind", "@U" }, "udp-sendto" },
	{ { "--tcp-connect", "@T", "--udp-bind", "@U", "--udp-sendto", "@V",
	    "--backoff-min", "abc" }, "backoff-min" },
};

START_TEST(test_bad_args)
{
	const struct badargs	*b = &badargs[_i];
	struct e2e_proc		*p;
	const char		*log, *nl, *name, *bar;
	char			 tcp[32], u[32], v[32], cmd[512], opt[64];
	char			*argv[16];
	size_t			 len, n;
	int			 code, named = 0;

	e2e_hostport(tcp, sizeof tcp, e2e_free_port(SOCK_STREAM));
	e2e_hostport(u, sizeof u, e2e_free_port(SOCK_DGRAM));
	e2e_hostport(v, sizeof v, e2e_free_port(SOCK_DGRAM));
	cmd[0] = '\0';
	for (n = 0; b->args[n] != NULL; n++) {
		if (strcmp(b->args[n], "@T") == 0)
			argv[n] = tcp;
		else if (strcmp(b->args[n], "@U") == 0)
			argv[n] = u;
		else if (strcmp(b->args[n], "@V") == 0)
			argv[n] = v;
		else
			argv[n] = (char *)b->args[n];
		strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
		strncat(cmd, argv[n], sizeof cmd - strlen(cmd) - 1);
	}
	argv[n] = NULL;

	p = e2e_spawnv("bad-args", argv);
	require(p != NULL, "cannot start the binary");
	code = e2e_wait_exit(p, E2E_EXIT_MS);
	log = e2e_log(p, &len);
	require(code == 2, "udp-over-tcp%s: exit status %d, not 2 "
	    "(-1: still running); stderr: %s", cmd, code, log);
	nl = memchr(log, '\n', len);
	require(len > 1 && nl == log + len - 1, "udp-over-tcp%s: stderr "
	    "is not exactly one line: \"%s\"", cmd, log);

	for (name = b->names; *name != '\0'; name = bar + (*bar == '|')) {
		if ((bar = strchr(name, '|')) == NULL)
			bar = name + strlen(name);
		snprintf(opt, sizeof opt, "%.*s", (int)(bar - name), name);
		if (strstr(log, opt) != NULL)
			named = 1;
	}
	require(named, "udp-over-tcp%s: the error does not name %s: %s",
	    cmd, b->names, log);
}
END_TEST

static Suite *
e2e_fixed_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("e2e_fixed");

	tc = tcase_create("datagrams");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_both_ways);
	tcase_add_test(tc, test_bind_port_zero);
	tcase_add_test(tc, test_dest_family);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_burst);
	suite_add_tcase(s, tc);

	tc = tcase_create("link");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_connect_first);
	tcase_add_test(tc, test_queue_while_down);
	tcase_add_test(tc, test_listen_restart);
	tcase_add_test(tc, test_replace_peer);
	suite_add_tcase(s, tc);

	tc = tcase_create("framing");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_loop_test(tc, test_framing, 0,
	    (int)(sizeof framings / sizeof framings[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("process");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_loop_test(tc, test_signal_exit, 0, 2);
	tcase_add_loop_test(tc, test_bad_args, 0,
	    (int)(sizeof badargs / sizeof badargs[0]));
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* Never pass, or skip, quietly without the binary under test. */
	if (e2e_need_binary("check_e2e_fixed") == NULL)
		return (99);

	sr = srunner_create(e2e_fixed_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
