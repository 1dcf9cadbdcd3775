/*
 * check_link.c - unit tests for the link state machine (link.c), on a
 * real event base over loopback TCP with ephemeral ports.
 *
 * The test plays the far end itself: a listening socket it binds to
 * 127.0.0.1:0 (left unlistened while a refusal is wanted), or the other
 * half of a connected pair for the listen side. The loop is run one
 * EVLOOP_ONCE at a time until a condition holds or a deadline passes; a
 * short repeating timer bounds each turn, so no wait is a fixed sleep
 * except where a test must show that something does not happen.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#ifdef HAVE_LINUX_SOCKIOS_H
#include <linux/sockios.h>
#endif

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>

#include "fake_gai.h"
#include "frame.h"
#include "link.h"
#include "stats.h"

#define TEST_TIMEOUT	30	/* seconds per test, a backstop only */
#define WAIT_MS		8000	/* the longest anything expected may take */
#define TICK_MS		10	/* the longest one turn of the loop blocks */
#define MAX_STATES	512
#define MAX_GOT		1024
#define FLOW_HDR	(4 + FRAME_FLOW_ADDRLEN)

/* A frame as it arrived, copied out of the buffer it came in. */
struct got {
	struct sockaddr_storage	 src;
	int			 has_src;
	unsigned char		*data;
	size_t			 len;
};

/* The far end of a TCP connection, played by the test. */
struct peer {
	int		 fd;
	struct evbuffer	*in;
	int		 eof;		/* 1: orderly EOF, -1: error */
	int		 seqcheck;	/* payloads start with their index */
	int		 seqrise;	/* ... which only rises (gaps allowed) */
	long		 lastseq;
	size_t		 want;		/* frames to wait for */
	size_t		 ngot;		/* frames decoded, all of them */
	struct got	 got[MAX_GOT];	/* the first MAX_GOT */
};

static struct {
	struct event_base	*base;
	struct event		*tick;
	struct link		*link;

	enum link_state		 states[MAX_STATES];
	size_t			 nstates;
	size_t			 nbackoff;

	size_t			 ngot;
	struct got		 got[MAX_GOT];

	size_t			 nflush;	/* flush callbacks */
	size_t			 got_at_flush;	/* frames seen at the last */

	struct peer		 p1, p2;
} h;

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void
got_set(struct got *g, const struct frame *f)
{
	memset(g, 0, sizeof *g);
	g->has_src = f->has_src;
	if (f->has_src)
		memcpy(&g->src, &f->src, sizeof g->src);
	g->len = f->len;
	g->data = malloc(f->len + 1);
	ck_assert_ptr_nonnull(g->data);
	if (f->len > 0)
		memcpy(g->data, f->payload, f->len);
}

/* The source address of test datagram i: IPv4, and IPv6 every third. */
static void
dgram_src(struct sockaddr_storage *ss, unsigned int i)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (i % 3 == 2) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)(40000 + i));
		ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::",
		    &sin6->sin6_addr), 1);
		sin6->sin6_addr.s6_addr[14] = (i >> 8) & 0xff;
		sin6->sin6_addr.s6_addr[15] = i & 0xff;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)(1024 + i));
		sin->sin_addr.s_addr = htonl(0x0a000000U | (i & 0xffff));
	}
}

/* The payload of datagram i: its index (little-endian), then a pattern. */
static void
dgram_fill(unsigned char *p, size_t len, unsigned int i)
{
	size_t	k;

	for (k = 0; k < len; k++)
		p[k] = (unsigned char)(i * 29 + k * 13 + 5);
	for (k = 0; k < 4 && k < len; k++)
		p[k] = (i >> (8 * k)) & 0xff;
}

/* g carries datagram seq (first four bytes), whatever its size. */
static void
check_got_seq(const struct got *g, unsigned int seq)
{
	uint32_t	v;

	ck_assert_uint_ge(g->len, 4);
	v = (uint32_t)g->data[0] | (uint32_t)g->data[1] << 8 |
	    (uint32_t)g->data[2] << 16 | (uint32_t)g->data[3] << 24;
	ck_assert_msg(v == seq, "datagram %u where %u was due", (unsigned)v,
	    seq);
}

/* Feeds datagram i of len bytes to the link, as a flow would. */
static int
dgram_send(unsigned int i, size_t len)
{
	static unsigned char	buf[FRAME_MAX_PAYLOAD];
	struct sockaddr_storage	ss;

	dgram_src(&ss, i);
	dgram_fill(buf, len, i);
	return (link_send(h.link, (struct sockaddr *)&ss, buf, len));
}

/* Appends datagram i of len bytes, framed, to b: what a peer would send. */
static void
dgram_encode(struct evbuffer *b, unsigned int i, size_t len)
{
	static unsigned char	buf[FRAME_MAX_PAYLOAD];
	struct sockaddr_storage	ss;

	dgram_src(&ss, i);
	dgram_fill(buf, len, i);
	ck_assert_int_eq(frame_encode(b, FRAMING_FLOW, (struct sockaddr *)&ss,
	    buf, len), 0);
}

/* Checks that g is datagram i of len bytes, its source address included. */
static void
check_got(const struct got *g, unsigned int i, size_t len)
{
	static unsigned char	 buf[FRAME_MAX_PAYLOAD];
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	const struct sockaddr_in	*gsin = (const void *)&g->src;
	const struct sockaddr_in6	*gsin6 = (const void *)&g->src;

	dgram_src(&ss, i);
	dgram_fill(buf, len, i);
	ck_assert_msg(g->has_src, "datagram %u: no source address", i);
	ck_assert_msg(g->len == len, "datagram %u: %zu bytes, not %zu", i,
	    g->len, len);
	ck_assert_msg(len == 0 || memcmp(g->data, buf, len) == 0,
	    "datagram %u: payload differs", i);
	ck_assert_msg(g->src.ss_family == ss.ss_family,
	    "datagram %u: family %d, not %d", i, g->src.ss_family,
	    ss.ss_family);
	if (ss.ss_family == AF_INET) {
		ck_assert_uint_eq(ntohs(gsin->sin_port), ntohs(sin->sin_port));
		ck_assert_uint_eq(ntohl(gsin->sin_addr.s_addr),
		    ntohl(sin->sin_addr.s_addr));
	} else {
		ck_assert_uint_eq(ntohs(gsin6->sin6_port),
		    ntohs(sin6->sin6_port));
		ck_assert_msg(memcmp(&gsin6->sin6_addr, &sin6->sin6_addr,
		    sizeof sin6->sin6_addr) == 0,
		    "datagram %u: IPv6 source differs", i);
	}
}

/* The link's callbacks: record everything, check what can be checked. */
static void
h_framecb(struct link *link, const struct frame *f, void *arg)
{
	ck_assert_ptr_eq(arg, &h);
	ck_assert_ptr_eq(link, h.link);
	ck_assert_uint_lt(h.ngot, MAX_GOT);
	got_set(&h.got[h.ngot++], f);
}

static void
h_statecb(struct link *link, enum link_state state, void *arg)
{
	ck_assert_ptr_eq(arg, &h);
	ck_assert_ptr_eq(link, h.link);
	ck_assert_int_eq(link_state(link), state);
	if (h.nstates < MAX_STATES)
		h.states[h.nstates] = state;
	h.nstates++;
	if (state == LINK_BACKOFF)
		h.nbackoff++;
}

static void
h_flushcb(struct link *link, void *arg)
{
	ck_assert_ptr_eq(arg, &h);
	ck_assert_ptr_eq(link, h.link);
	h.nflush++;
	h.got_at_flush = h.ngot;
}

static void
h_tickcb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
}

static void
peer_init(struct peer *p, int fd)
{
	memset(p, 0, sizeof *p);
	p->fd = fd;
	p->in = evbuffer_new();
	ck_assert_ptr_nonnull(p->in);
}

static void
peer_free(struct peer *p)
{
	size_t	i;

	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	if (p->in != NULL)
		evbuffer_free(p->in);
	p->in = NULL;
	for (i = 0; i < p->ngot && i < MAX_GOT; i++)
		free(p->got[i].data);
	p->ngot = 0;
}

/* Reads all the peer's socket has, and decodes every whole frame. */
static void
peer_pump(struct peer *p)
{
	static unsigned char	buf[65536];
	enum frame_result	r;
	struct frame		f;
	ssize_t			n;
	uint32_t		seq;

	while (p->eof == 0) {
		n = recv(p->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0)
			ck_assert_int_eq(evbuffer_add(p->in, buf, (size_t)n),
			    0);
		else if (n == 0)
			p->eof = 1;
		else if (errno == EINTR)
			continue;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		else
			p->eof = -1;
	}
	while ((r = frame_decode(p->in, FRAMING_FLOW, &f)) == FRAME_OK) {
		if (p->seqcheck) {
			ck_assert_uint_ge(f.len, 4);
			seq = (uint32_t)f.payload[0] |
			    (uint32_t)f.payload[1] << 8 |
			    (uint32_t)f.payload[2] << 16 |
			    (uint32_t)f.payload[3] << 24;
			ck_assert_msg(seq == p->ngot, "frame %zu out of order: "
			    "carries %u", p->ngot, (unsigned int)seq);
		}
		if (p->seqrise) {
			ck_assert_uint_ge(f.len, 4);
			seq = (uint32_t)f.payload[0] |
			    (uint32_t)f.payload[1] << 8 |
			    (uint32_t)f.payload[2] << 16 |
			    (uint32_t)f.payload[3] << 24;
			ck_assert_msg((long)seq > p->lastseq, "frame %zu "
			    "carries %u after %ld", p->ngot,
			    (unsigned int)seq, p->lastseq);
			p->lastseq = (long)seq;
		}
		if (p->ngot < MAX_GOT)
			got_set(&p->got[p->ngot], &f);
		p->ngot++;
		evbuffer_drain(p->in, f.wire_len);
	}
	ck_assert_int_eq(r, FRAME_PARTIAL);
}

/* Writes all of the first n bytes of b from the peer, in one write. */
static void
peer_write(struct peer *p, struct evbuffer *b, size_t n)
{
	unsigned char	*data;

	ck_assert_uint_ge(evbuffer_get_length(b), n);
	data = evbuffer_pullup(b, (ev_ssize_t)n);
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(send(p->fd, data, n, 0), (ssize_t)n);
	evbuffer_drain(b, n);
}

/* TCP on 127.0.0.1, port chosen by the kernel, bound but not listening. */
static int
tcp_bound(uint16_t *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	ck_assert_int_ne(*port, 0);
	ck_assert_int_eq(evutil_make_socket_nonblocking(fd), 0);
	return (fd);
}

/*
 * A connected loopback pair: *linkfd (the accepted end, for link_attach,
 * with its peer's address in *ss) and p (the connecting end). small:
 * little socket buffers, so that a peer that does not read stalls the
 * link soon.
 */
static void
tcp_pair(int *linkfd, struct sockaddr_storage *ss, struct peer *p, int small)
{
	struct sockaddr_in	sin;
	socklen_t		len;
	uint16_t		port;
	int			lfd, cfd, afd, size = 8192;

	lfd = tcp_bound(&port);
	ck_assert_int_eq(listen(lfd, 4), 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(cfd, -1);
	if (small)
		ck_assert_int_eq(setsockopt(cfd, SOL_SOCKET, SO_RCVBUF, &size,
		    sizeof size), 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sin, sizeof sin), 0);

	/* The handshake is done: the listener has it, or will at once. */
	memset(ss, 0, sizeof *ss);
	for (;;) {
		struct pollfd	pfd = { lfd, POLLIN, 0 };

		len = sizeof *ss;
		if ((afd = accept(lfd, (struct sockaddr *)ss, &len)) != -1)
			break;
		ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR, "accept: %s", strerror(errno));
		ck_assert_int_ge(poll(&pfd, 1, WAIT_MS), 0);
	}
	close(lfd);
	if (small)
		ck_assert_int_eq(setsockopt(afd, SOL_SOCKET, SO_SNDBUF, &size,
		    sizeof size), 0);
	ck_assert_int_eq(evutil_make_socket_nonblocking(afd), 0);
	ck_assert_int_eq(evutil_make_socket_nonblocking(cfd), 0);
	*linkfd = afd;
	peer_init(p, cfd);
}

/* Waits, without running the loop, until fd has n bytes ready to read. */
static void
wait_inq(int fd, size_t n)
{
	uint64_t	deadline = now_ms() + WAIT_MS;
	struct pollfd	pfd;
	int		avail;

	for (;;) {
		ck_assert_int_eq(ioctl(fd, FIONREAD, &avail), 0);
		if (avail >= 0 && (size_t)avail >= n)
			return;
		ck_assert_msg(now_ms() < deadline, "only %d of %zu bytes came",
		    avail, n);
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* Readable already: the rest is in flight, look again soon. */
		poll(avail > 0 ? NULL : &pfd, avail > 0 ? 0 : 1,
		    avail > 0 ? 1 : TICK_MS);
	}
}

static size_t
inq(int fd)
{
	int	avail;

	ck_assert_int_eq(ioctl(fd, FIONREAD, &avail), 0);
	return ((size_t)avail);
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

static int
cond_state(void *arg)
{
	return (link_state(h.link) == *(enum link_state *)arg);
}

static int
wait_state(enum link_state state)
{
	return (run_until(cond_state, &state, WAIT_MS));
}

static int
cond_nbackoff(void *arg)
{
	return (h.nbackoff >= *(size_t *)arg);
}

static int
cond_ngot(void *arg)
{
	return (h.ngot >= *(size_t *)arg);
}

static int
cond_peer_frames(void *arg)
{
	struct peer	*p = arg;

	peer_pump(p);
	return (p->ngot >= p->want);
}

static int
cond_peer_eof(void *arg)
{
	struct peer	*p = arg;

	peer_pump(p);
	return (p->eof != 0);
}

/* Reads until the peer has n frames in all. */
static void
wait_peer_frames(struct peer *p, size_t n)
{
	p->want = n;
	ck_assert_msg(run_until(cond_peer_frames, p, WAIT_MS),
	    "peer got %zu frames of %zu", p->ngot, n);
}

struct acceptor {
	int	lfd;
	int	fd;
};

static int
cond_accept(void *arg)
{
	struct acceptor	*a = arg;

	if ((a->fd = accept(a->lfd, NULL, NULL)) != -1)
		return (1);
	ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR || errno == ECONNABORTED, "accept: %s",
	    strerror(errno));
	return (0);
}

/* Takes the link's connection off listening socket lfd as peer p. */
static void
accept_peer(int lfd, struct peer *p)
{
	struct acceptor	a = { lfd, -1 };

	ck_assert_msg(run_until(cond_accept, &a, WAIT_MS),
	    "the link's connection never came");
	ck_assert_int_eq(evutil_make_socket_nonblocking(a.fd), 0);
	peer_init(p, a.fd);
}

static int
cond_fd_closed(void *arg)
{
	return (fcntl(*(int *)arg, F_GETFD) == -1 && errno == EBADF);
}

/*
 * libevent 2.1 finalizes a freed bufferevent, closing its socket, on a
 * later turn of the loop: wait for it. (No descriptor is opened in the
 * meantime, so the number cannot be reused under us.)
 */
static int
wait_fd_closed(int fd)
{
	return (run_until(cond_fd_closed, &fd, WAIT_MS));
}

static void
cfg_init(struct link_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->framing = FRAMING_FLOW;
	cfg->queue_size = 1024 * 1024;
	cfg->backoff_min_ms = 20;
	cfg->backoff_max_ms = 160;
	cfg->keepalive_s = 0;
	/* No delay drops unless a test asks: the machine may be slow. */
	cfg->target_ms = 5;
	cfg->max_delay_ms = 60000;
}

static void
start_link(const struct link_config *cfg)
{
	struct link_cbs	cbs = { h_framecb, h_statecb, h_flushcb };

	h.link = link_new(h.base, cfg, &cbs, &h);
	ck_assert_ptr_nonnull(h.link);
	ck_assert_int_eq(link_state(h.link), LINK_CLOSED);
	ck_assert_uint_eq(link_pending(h.link), 0);
}

/* Connect side, down: dialling a port that refuses, at least once. */
static int
start_refused(const struct link_config *cfg, uint16_t *port)
{
	size_t	one = 1;
	int	lfd;

	lfd = tcp_bound(port);
	start_link(cfg);
	link_connect(h.link, "127.0.0.1", *port);
	ck_assert_msg(run_until(cond_nbackoff, &one, WAIT_MS),
	    "no backoff after a refused connect");
	ck_assert_int_ne(link_state(h.link), LINK_UP);
	return (lfd);
}

/* ... and then the port listens: the link comes up, and is accepted. */
static void
listen_and_accept(int lfd, struct peer *p)
{
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_msg(wait_state(LINK_UP), "link not up, state %s",
	    link_state_name(link_state(h.link)));
	accept_peer(lfd, p);
}

static void
setup(void)
{
	struct timeval	tv = { 0, TICK_MS * 1000 };

	memset(&h, 0, sizeof h);
	h.p1.fd = h.p2.fd = -1;
	signal(SIGPIPE, SIG_IGN);
	h.base = event_base_new();
	ck_assert_ptr_nonnull(h.base);
	h.tick = event_new(h.base, -1, EV_PERSIST, h_tickcb, NULL);
	ck_assert_ptr_nonnull(h.tick);
	ck_assert_int_eq(event_add(h.tick, &tv), 0);
}

static void
teardown(void)
{
	size_t	i;

	link_free(h.link);
	h.link = NULL;
	for (i = 0; i < h.ngot && i < MAX_GOT; i++)
		free(h.got[i].data);
	peer_free(&h.p1);
	peer_free(&h.p2);
	event_free(h.tick);
	event_base_free(h.base);
}

/*
 * Backoff: the delay doubles from the minimum to the cap, and jitter
 * takes at most half of it off: each value is in [d/2, d].
 */
static const struct {
	unsigned int	min, max;
} backoff_cases[] = {
	{ 100, 1600 },
	{ 300, 1000 },
	{ 1000, 1000 },
	{ 50, 60000 },
	{ 1, 7 },
};

START_TEST(test_backoff_next)
{
	struct link_config	cfg;
	unsigned int		min = backoff_cases[_i].min;
	unsigned int		max = backoff_cases[_i].max;
	unsigned int		d, v, first_at_cap = 0, i;
	int			varied = 0;

	cfg_init(&cfg);
	cfg.backoff_min_ms = min;
	cfg.backoff_max_ms = max;
	start_link(&cfg);

	d = 2 * min > max ? max : 2 * min;
	for (i = 0; i < 100; i++) {
		v = link_backoff_next(h.link);
		ck_assert_msg(v <= d && 2 * v >= d,
		    "call %u: %u ms, not in [%u/2, %u]", i, v, d, d);
		ck_assert_uint_le(v, max);
		ck_assert_msg(v >= min, "call %u: %u ms, below the minimum %u",
		    i, v, min);
		if (d == max) {
			if (first_at_cap == 0)
				first_at_cap = v;
			else if (v != first_at_cap)
				varied = 1;
		}
		d = d * 2 > max ? max : d * 2;
	}
	/*
	 * Not in step: at the cap the delays differ (1 ms of 7 is too fine,
	 * and with min == max there is no room above the minimum).
	 */
	if (max >= 100 && max >= 2 * min)
		ck_assert_msg(varied, "no jitter: always %u ms", first_at_cap);
}
END_TEST

/* Clients that lose one server together do not all retry together. */
START_TEST(test_backoff_first_varies)
{
	struct link_cbs		 cbs = { h_framecb, h_statecb, h_flushcb };
	struct link_config	 cfg;
	struct link		*l;
	unsigned int		 v, first = 0, i;
	int			 varied = 0;

	cfg_init(&cfg);
	cfg.backoff_min_ms = 1000;
	cfg.backoff_max_ms = 8000;
	for (i = 0; i < 20; i++) {
		l = link_new(h.base, &cfg, &cbs, &h);
		ck_assert_ptr_nonnull(l);
		v = link_backoff_next(l);
		ck_assert_msg(v >= 1000 && v <= 2000, "first delay %u ms", v);
		if (i == 0)
			first = v;
		else if (v != first)
			varied = 1;
		link_free(l);
	}
	ck_assert_msg(varied, "the first delay is always %u ms", first);
}
END_TEST

/* The sequence the brief spells out, checked value by value. */
START_TEST(test_backoff_doubling)
{
	/* Ceilings: twice the minimum first, doubling to the cap. */
	static const unsigned int	 d[] = { 200, 400, 800, 1600, 1600 };
	struct link_config		 cfg;
	unsigned int			 i, v;

	cfg_init(&cfg);
	cfg.backoff_min_ms = 100;
	cfg.backoff_max_ms = 1600;
	start_link(&cfg);
	for (i = 0; i < 5; i++) {
		v = link_backoff_next(h.link);
		ck_assert_msg(v >= d[i] / 2 && v >= 100 && v <= d[i],
		    "call %u: %u ms, not in [%u, %u]", i, v, d[i] / 2, d[i]);
	}
	for (i = 0; i < 1000; i++) {
		v = link_backoff_next(h.link);
		ck_assert_msg(v >= 800 && v <= 1600,
		    "capped call %u: %u ms, not in [800, 1600]", i, v);
	}
}
END_TEST

/*
 * Connect side against a port that refuses: RESOLVING, CONNECTING,
 * BACKOFF, over and over, never UP; once the port listens, UP.
 */
/*
 * Every address of the name is tried in one attempt: a name with a dead
 * address and a live one comes up without ever backing off, whichever
 * order the resolver gives them in (both orders are tried).
 */
START_TEST(test_connect_tries_every_address)
{
	static const char	*orders[][2] = {
		{ "127.0.0.2", "127.0.0.1" },
		{ "127.0.0.1", "127.0.0.2" },
	};
	struct link_config	 cfg;
	uint16_t		 port;
	size_t			 i;
	int			 lfd;

	/* The system's resolver answers it (fake_gai.c). */
	fake_gai_name = "uot-multi";
	fake_gai_addrs[0] = orders[_i][0];
	fake_gai_addrs[1] = orders[_i][1];

	cfg_init(&cfg);
	lfd = tcp_bound(&port);		/* 127.0.0.1 only: .2 is refused */
	ck_assert_int_eq(listen(lfd, 8), 0);	/* before the first try */
	start_link(&cfg);
	link_connect(h.link, "uot-multi", port);
	listen_and_accept(lfd, &h.p1);
	ck_assert_int_eq(link_state(h.link), LINK_UP);
	for (i = 0; i < h.nstates && i < MAX_STATES; i++)
		ck_assert_msg(h.states[i] != LINK_BACKOFF,
		    "backed off at state %zu instead of trying the next "
		    "address", i);
	close(lfd);
}
END_TEST

/*
 * Issue 11, defect 11: --tcp-connect resolves with the system's
 * getaddrinfo, as --udp-sendto does, so a name that only a name-service
 * module knows (here fake_gai.c; mDNS, LDAP, nss-myhostname for real)
 * connects. libevent's evdns never asked it.
 */
START_TEST(test_connect_nss_name)
{
	struct link_config	 cfg;
	uint16_t		 port;
	int			 lfd;

	fake_gai_name = "uot-nss-only.test";
	fake_gai_addrs[0] = "127.0.0.1";
	cfg_init(&cfg);
	lfd = tcp_bound(&port);
	ck_assert_int_eq(listen(lfd, 8), 0);
	start_link(&cfg);
	link_connect(h.link, "uot-nss-only.test", port);
	ck_assert_msg(wait_state(LINK_UP), "a name only the system's "
	    "resolver knows did not connect: state %s after %zu backoffs",
	    link_state_name(link_state(h.link)), h.nbackoff);
	accept_peer(lfd, &h.p1);
	close(lfd);
}
END_TEST

/* libevent's allocations, counted: what a stopped loop would leak. */
static long	mem_live;

static void *
mem_malloc(size_t n)
{
	void	*p = malloc(n);

	if (p != NULL)
		__atomic_add_fetch(&mem_live, 1, __ATOMIC_RELAXED);
	return (p);
}

static void *
mem_realloc(void *p, size_t n)
{
	void	*q = realloc(p, n);

	if (p == NULL && q != NULL)
		__atomic_add_fetch(&mem_live, 1, __ATOMIC_RELAXED);
	return (q);
}

static void
mem_free(void *p)
{
	if (p != NULL)
		__atomic_sub_fetch(&mem_live, 1, __ATOMIC_RELAXED);
	free(p);
}

/*
 * Issue 11, defect 5: SIGTERM while the name is being resolved stops
 * the loop, and then the link is freed. Nothing may be left behind (the
 * cancel must not need the loop), and the answer that comes later must
 * never reach the freed link.
 */
START_TEST(test_free_while_resolving)
{
	struct link_config	 cfg;
	struct event_base	*fixture = h.base;
	long			 before;

	fake_gai_hang = "uot-hang.test";
	cfg_init(&cfg);
	/* A base of its own, so that it can be freed here and counted. */
	before = __atomic_load_n(&mem_live, __ATOMIC_RELAXED);
	h.base = event_base_new();
	ck_assert_ptr_nonnull(h.base);
	start_link(&cfg);
	link_connect(h.link, "uot-hang.test", 7);
	ck_assert_int_eq(link_state(h.link), LINK_RESOLVING);
	/* One turn: the lookup is under way, and stays so. */
	ck_assert_int_ne(event_base_loop(h.base, EVLOOP_NONBLOCK), -1);
	ck_assert_int_eq(link_state(h.link), LINK_RESOLVING);

	/* The loop has stopped: free it all, as main() does. */
	h.nstates = 0;
	link_free(h.link);
	h.link = NULL;
	event_base_free(h.base);
	h.base = fixture;
	ck_assert_msg(__atomic_load_n(&mem_live, __ATOMIC_RELAXED) == before,
	    "%ld libevent allocations left after link_free",
	    __atomic_load_n(&mem_live, __ATOMIC_RELAXED) - before);

	/* The answer comes after all: nobody may hear of it. */
	fake_gai_release();
	ck_assert_int_ne(event_base_loop(h.base, EVLOOP_NONBLOCK), -1);
	ck_assert_uint_eq(h.nstates, 0);
}
END_TEST

START_TEST(test_connect_refused_then_up)
{
	static const enum link_state	 cycle[] = {
		LINK_RESOLVING, LINK_CONNECTING, LINK_BACKOFF
	};
	struct link_config		 cfg;
	char				 want[64];
	uint16_t			 port;
	size_t				 i, three = 3, n;
	int				 lfd;

	cfg_init(&cfg);
	lfd = tcp_bound(&port);
	start_link(&cfg);
	link_connect(h.link, "127.0.0.1", port);
	ck_assert_msg(run_until(cond_nbackoff, &three, WAIT_MS),
	    "only %zu backoffs", h.nbackoff);

	n = h.nstates < MAX_STATES ? h.nstates : MAX_STATES;
	ck_assert_uint_ge(n, 9);
	for (i = 0; i < n; i++)
		ck_assert_msg(h.states[i] == cycle[i % 3],
		    "state %zu is %s, not %s", i, link_state_name(h.states[i]),
		    link_state_name(cycle[i % 3]));
	ck_assert_uint_eq(link_stats(h.link)->reconnects, 0);
	snprintf(want, sizeof want, "127.0.0.1:%u", port);
	ck_assert_str_eq(link_peer(h.link), want);

	listen_and_accept(lfd, &h.p1);
	n = h.nstates < MAX_STATES ? h.nstates : MAX_STATES;
	ck_assert_int_eq(h.states[n - 1], LINK_UP);
	ck_assert_int_eq(h.states[n - 2], LINK_CONNECTING);
	ck_assert_uint_eq(link_stats(h.link)->reconnects, 0);
	close(lfd);
}
END_TEST

/*
 * Connect side, up, and the peer goes away: BACKOFF, then up again on
 * its own, counted as a reconnect; what was sent meanwhile arrives.
 */
START_TEST(test_connect_reconnect)
{
	struct link_config	cfg;
	uint16_t		port;
	size_t			nb, n;
	int			lfd;

	cfg_init(&cfg);
	lfd = start_refused(&cfg, &port);
	listen_and_accept(lfd, &h.p1);
	nb = h.nbackoff;

	ck_assert_int_eq(dgram_send(0, 100), 0);
	wait_peer_frames(&h.p1, 1);
	check_got(&h.p1.got[0], 0, 100);

	peer_free(&h.p1);
	ck_assert_msg(wait_state(LINK_BACKOFF), "link not down after EOF");
	ck_assert_uint_eq(h.nbackoff, nb + 1);
	ck_assert_int_eq(dgram_send(1, 200), 0);
	ck_assert_uint_eq(link_stats(h.link)->queued, 1);

	accept_peer(lfd, &h.p2);
	ck_assert_msg(wait_state(LINK_UP), "link not up again");
	n = h.nstates < MAX_STATES ? h.nstates : MAX_STATES;
	ck_assert_int_eq(h.states[n - 1], LINK_UP);
	ck_assert_uint_eq(link_stats(h.link)->reconnects, 1);
	wait_peer_frames(&h.p2, 1);
	check_got(&h.p2.got[0], 1, 200);
	ck_assert_uint_eq(link_stats(h.link)->tcp_out, 2);
	close(lfd);
}
END_TEST

/* Sizes of the queue test: all distinct, 0 and 1 among them. */
static size_t
queue_len(unsigned int i)
{
	return (i == 0 ? 0 : (i * 97) % 1400 + 1);
}

/*
 * Down, N datagrams are queued; on UP they go out first, whole, in
 * order, and only then anything newer.
 */
START_TEST(test_queue_flush_in_order)
{
	const unsigned int	 N = 50;
	struct link_config	 cfg;
	struct stats		*st;
	uint64_t		 bytes = 0;
	uint16_t		 port;
	unsigned int		 i;
	int			 lfd;

	cfg_init(&cfg);
	lfd = start_refused(&cfg, &port);
	st = link_stats(h.link);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(dgram_send(i, queue_len(i)), 0);
		bytes += queue_len(i);
	}
	ck_assert_uint_eq(st->queued, N);
	ck_assert_uint_eq(st->udp_in, N);
	ck_assert_uint_eq(st->udp_in_bytes, bytes);
	ck_assert_uint_eq(st->tcp_out, 0);
	ck_assert_uint_eq(st->drop_queue_full, 0);
	ck_assert_uint_eq(st->drop_link_down, 0);
	ck_assert_uint_eq(link_pending(h.link), 0);

	listen_and_accept(lfd, &h.p1);
	ck_assert_int_eq(dgram_send(N, 33), 0);

	wait_peer_frames(&h.p1, N + 1);
	/* Counted once the system has taken it whole. */
	ck_assert_uint_eq(link_stats(h.link)->tcp_out, N + 1);
	ck_assert_uint_eq(h.p1.ngot, N + 1);
	for (i = 0; i < N; i++)
		check_got(&h.p1.got[i], i, queue_len(i));
	check_got(&h.p1.got[N], N, 33);
	ck_assert_uint_eq(evbuffer_get_length(h.p1.in), 0);
	ck_assert_uint_eq(st->queued, N);
	ck_assert_uint_eq(st->drop_unsent, 0);
	close(lfd);
}
END_TEST

/* A full queue drops its oldest frames, and only as many as it must. */
START_TEST(test_queue_overflow_drops_oldest)
{
	struct link_config	 cfg;
	struct stats		*st;
	uint16_t		 port;
	unsigned int		 i;
	int			 lfd;

	cfg_init(&cfg);
	cfg.queue_size = 10 * (FLOW_HDR + 78);	/* ten frames, exactly */
	lfd = start_refused(&cfg, &port);
	st = link_stats(h.link);
	for (i = 0; i < 25; i++)
		ck_assert_int_eq(dgram_send(i, 78), 0);
	ck_assert_uint_eq(st->drop_queue_full, 15);
	ck_assert_uint_eq(st->queued, 25);
	ck_assert_uint_eq(st->drop_link_down, 0);

	listen_and_accept(lfd, &h.p1);
	ck_assert_uint_eq(st->tcp_out, 10);
	ck_assert_int_eq(dgram_send(1000, 5), 0);	/* a marker after */
	wait_peer_frames(&h.p1, 11);
	for (i = 0; i < 10; i++)
		check_got(&h.p1.got[i], 15 + i, 78);
	check_got(&h.p1.got[10], 1000, 5);
	close(lfd);
}
END_TEST

/*
 * Frames of mixed sizes: a big one evicts just enough old ones to fit,
 * and one larger than the whole queue is refused without touching it.
 */
START_TEST(test_queue_evicts_just_enough)
{
	struct link_config	 cfg;
	struct stats		*st;
	uint16_t		 port;
	int			 lfd;

	cfg_init(&cfg);
	cfg.queue_size = 1000;
	lfd = start_refused(&cfg, &port);
	st = link_stats(h.link);
	ck_assert_int_eq(dgram_send(0, 300 - FLOW_HDR), 0);
	ck_assert_int_eq(dgram_send(1, 300 - FLOW_HDR), 0);
	ck_assert_int_eq(dgram_send(2, 300 - FLOW_HDR), 0);
	ck_assert_uint_eq(st->drop_queue_full, 0);
	/* 900 + 500 > 1000, 600 + 500 > 1000, 300 + 500 fits: two go. */
	ck_assert_int_eq(dgram_send(3, 500 - FLOW_HDR), 0);
	ck_assert_uint_eq(st->drop_queue_full, 2);
	/* Larger than the whole queue: refused, and the queue is intact. */
	ck_assert_int_eq(dgram_send(4, 1001 - FLOW_HDR), -1);
	ck_assert_uint_eq(st->drop_link_down, 1);
	ck_assert_uint_eq(st->drop_queue_full, 2);
	/* Exactly the rest of the room: fits with nothing dropped. */
	ck_assert_int_eq(dgram_send(5, 200 - FLOW_HDR), 0);
	ck_assert_uint_eq(st->drop_queue_full, 2);
	ck_assert_uint_eq(st->queued, 5);

	listen_and_accept(lfd, &h.p1);
	ck_assert_uint_eq(st->tcp_out, 3);
	ck_assert_int_eq(dgram_send(6, 1), 0);
	wait_peer_frames(&h.p1, 4);
	check_got(&h.p1.got[0], 2, 300 - FLOW_HDR);
	check_got(&h.p1.got[1], 3, 500 - FLOW_HDR);
	check_got(&h.p1.got[2], 5, 200 - FLOW_HDR);
	check_got(&h.p1.got[3], 6, 1);
	close(lfd);
}
END_TEST

/* No queue: while down every datagram is dropped, and counted. */
START_TEST(test_queue_zero)
{
	struct link_config	 cfg;
	struct stats		*st;
	uint16_t		 port;
	unsigned int		 i;
	int			 lfd;

	cfg_init(&cfg);
	cfg.queue_size = 0;
	start_link(&cfg);
	st = link_stats(h.link);
	ck_assert_int_eq(dgram_send(0, 10), -1);	/* CLOSED */
	ck_assert_uint_eq(st->drop_link_down, 1);
	link_free(h.link);
	h.link = NULL;

	lfd = start_refused(&cfg, &port);		/* BACKOFF */
	st = link_stats(h.link);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(dgram_send(i, i * 10), -1);
	ck_assert_uint_eq(st->drop_link_down, 7);
	ck_assert_uint_eq(st->queued, 0);
	ck_assert_uint_eq(st->drop_queue_full, 0);

	listen_and_accept(lfd, &h.p1);
	ck_assert_uint_eq(st->tcp_out, 0);
	ck_assert_int_eq(dgram_send(100, 10), 0);	/* up: straight out */
	ck_assert_uint_eq(st->drop_link_down, 7);
	wait_peer_frames(&h.p1, 1);
	check_got(&h.p1.got[0], 100, 10);
	close(lfd);
}
END_TEST

/* Listen side: born UP on attach; the peer's EOF makes it CLOSED. */
START_TEST(test_attach_up_then_peer_closes)
{
	struct link_config	cfg;
	struct sockaddr_storage	ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	char			want[64];
	int			fd;

	cfg_init(&cfg);
	start_link(&cfg);
	tcp_pair(&fd, &ss, &h.p1, 0);
	link_attach(h.link, fd, (struct sockaddr *)&ss);
	ck_assert_int_eq(link_state(h.link), LINK_UP);
	ck_assert_uint_eq(h.nstates, 1);
	ck_assert_int_eq(h.states[0], LINK_UP);
	snprintf(want, sizeof want, "127.0.0.1:%u", ntohs(sin->sin_port));
	ck_assert_str_eq(link_peer(h.link), want);

	/* It works both ways meanwhile. */
	ck_assert_int_eq(dgram_send(0, 40), 0);
	wait_peer_frames(&h.p1, 1);
	check_got(&h.p1.got[0], 0, 40);

	peer_free(&h.p1);
	ck_assert_msg(wait_state(LINK_CLOSED), "link not closed on EOF");
	ck_assert_uint_eq(h.nstates, 2);
	ck_assert_int_eq(h.states[1], LINK_CLOSED);
	ck_assert_uint_eq(link_pending(h.link), 0);
	ck_assert_msg(wait_fd_closed(fd), "the link's socket is still open");
	/* Nothing to reconnect to: it stays closed. */
	run_for(100);
	ck_assert_uint_eq(h.nstates, 2);
}
END_TEST

/*
 * Several frames in one write: every one of them is delivered from
 * one turn of the loop, not one frame per wakeup. (libevent 2.1 reads
 * at most 4096 bytes at a time, so they fit in that.)
 */
START_TEST(test_attach_many_frames_one_read)
{
	const unsigned int	 K = 12;
	struct link_config	 cfg;
	struct sockaddr_storage	 ss;
	struct evbuffer		*b;
	size_t			 total;
	unsigned int		 i;
	int			 fd;

	cfg_init(&cfg);
	start_link(&cfg);
	tcp_pair(&fd, &ss, &h.p1, 0);
	link_attach(h.link, fd, (struct sockaddr *)&ss);
	b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < K; i++)
		dgram_encode(b, i, 100 + i * 20);
	total = evbuffer_get_length(b);
	ck_assert_uint_lt(total, 4096);
	peer_write(&h.p1, b, total);
	evbuffer_free(b);

	wait_inq(fd, total);
	ck_assert_int_ne(event_base_loop(h.base, EVLOOP_ONCE), -1);
	ck_assert_msg(h.ngot == K, "%zu of %u frames from one read", h.ngot,
	    K);
	/* One flush for the whole read, after its last frame. */
	ck_assert_uint_eq(h.nflush, 1);
	ck_assert_uint_eq(h.got_at_flush, K);
	for (i = 0; i < K; i++)
		check_got(&h.got[i], i, 100 + i * 20);
	ck_assert_uint_eq(link_stats(h.link)->tcp_in, K);
	ck_assert_uint_eq(link_stats(h.link)->drop_malformed, 0);
}
END_TEST

/*
 * A burst far past libevent 2.1's 4 KiB read: the link reads on by
 * itself, so all of it is delivered in the same turn of the loop.
 */
START_TEST(test_attach_large_burst_one_turn)
{
	const unsigned int	 K = 40;
	struct link_config	 cfg;
	struct sockaddr_storage	 ss;
	struct evbuffer		*b;
	size_t			 total;
	unsigned int		 i;
	int			 fd;

	cfg_init(&cfg);
	start_link(&cfg);
	tcp_pair(&fd, &ss, &h.p1, 0);
	link_attach(h.link, fd, (struct sockaddr *)&ss);
	b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < K; i++)
		dgram_encode(b, i, 1000);
	total = evbuffer_get_length(b);
	ck_assert_uint_gt(total, 8 * 4096);
	peer_write(&h.p1, b, total);
	evbuffer_free(b);

	wait_inq(fd, total);
	ck_assert_int_ne(event_base_loop(h.base, EVLOOP_ONCE), -1);
	ck_assert_msg(h.ngot == K, "%zu of %u frames in one turn", h.ngot, K);
	for (i = 0; i < K; i++)
		check_got(&h.got[i], i, 1000);
}
END_TEST

/* A frame split over two writes is delivered once, when whole. */
static const size_t split_at[] = { 1, 3, 4, 5, 22, 23, 500, 1021 };

START_TEST(test_attach_split_frame)
{
	struct link_config	 cfg;
	struct sockaddr_storage	 ss;
	struct evbuffer		*b;
	size_t			 cut = split_at[_i], one = 1;
	int			 fd;

	cfg_init(&cfg);
	start_link(&cfg);
	tcp_pair(&fd, &ss, &h.p1, 0);
	link_attach(h.link, fd, (struct sockaddr *)&ss);
	b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	dgram_encode(b, 7, 1000);
	ck_assert_uint_eq(evbuffer_get_length(b), 1022);

	peer_write(&h.p1, b, cut);
	wait_inq(fd, cut);
	ck_assert_int_ne(event_base_loop(h.base, EVLOOP_ONCE), -1);
	ck_assert_uint_eq(inq(fd), 0);		/* the link has the part */
	ck_assert_uint_eq(h.ngot, 0);

	peer_write(&h.p1, b, 1022 - cut);
	evbuffer_free(b);
	ck_assert_msg(run_until(cond_ngot, &one, WAIT_MS), "frame never came");
	ck_assert_uint_eq(h.ngot, 1);
	check_got(&h.got[0], 7, 1000);
	ck_assert_uint_eq(link_stats(h.link)->tcp_in, 1);
	ck_assert_int_eq(link_state(h.link), LINK_UP);
}
END_TEST

static void
put_le32(struct evbuffer *b, uint32_t v)
{
	unsigned char	p[4];

	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
	ck_assert_int_eq(evbuffer_add(b, p, 4), 0);
}

/* A flow frame too short for its address is skipped; the next arrives. */
START_TEST(test_attach_malformed_skipped)
{
	static const uint32_t	 bad[] = { 0, 1, 10, 17 };
	static unsigned char	 junk[32];
	struct link_config	 cfg;
	struct sockaddr_storage	 ss;
	struct evbuffer		*b;
	size_t			 n = sizeof bad / sizeof bad[0];
	unsigned int		 i;
	int			 fd;

	cfg_init(&cfg);
	start_link(&cfg);
	tcp_pair(&fd, &ss, &h.p1, 0);
	link_attach(h.link, fd, (struct sockaddr *)&ss);
	b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	memset(junk, 0xee, sizeof junk);
	for (i = 0; i < n; i++) {
		put_le32(b, bad[i]);
		ck_assert_int_eq(evbuffer_add(b, junk, bad[i]), 0);
		dgram_encode(b, i, 50 + i);
	}
	peer_write(&h.p1, b, evbuffer_get_length(b));
	evbuffer_free(b);

	ck_assert_msg(run_until(cond_ngot, &n, WAIT_MS), "%zu of %zu frames",
	    h.ngot, n);
	for (i = 0; i < n; i++)
		check_got(&h.got[i], i, 50 + i);
	ck_assert_uint_eq(link_stats(h.link)->drop_malformed, n);
	ck_assert_uint_eq(link_stats(h.link)->tcp_in, n);
	ck_assert_int_eq(link_state(h.link), LINK_UP);

	/* And the link still works both ways. */
	ck_assert_int_eq(dgram_send(9, 9), 0);
	wait_peer_frames(&h.p1, 1);
	check_got(&h.p1.got[0], 9, 9);
}
END_TEST

/* A length no flow frame can have: the link is dropped, not fed. */
static const uint32_t oversized[] = {
	FRAME_FLOW_ADDRLEN + FRAME_MAX_PAYLOAD + 1, 0x7fffffff, 0xffffffff
};

START_TEST(test_attach_oversized_closes)
{
	static unsigned char	 junk[64];
	struct link_config	 cfg;
	struct sockaddr_storage	 ss;
	struct evbuffer		*b;
	int			 fd;

	cfg_init(&cfg);
	start_link(&cfg);
	tcp_pair(&fd, &ss, &h.p1, 0);
	link_attach(h.link, fd, (struct sockaddr *)&ss);
	b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	dgram_encode(b, 0, 20);			/* good, before it */
	put_le32(b, oversized[_i]);
	ck_assert_int_eq(evbuffer_add(b, junk, sizeof junk), 0);
	peer_write(&h.p1, b, evbuffer_get_length(b));
	evbuffer_free(b);

	ck_assert_msg(wait_state(LINK_CLOSED), "link still %s",
	    link_state_name(link_state(h.link)));
	ck_assert_uint_eq(h.nstates, 2);
	ck_assert_uint_eq(h.ngot, 1);
	check_got(&h.got[0], 0, 20);
	ck_assert_msg(wait_fd_closed(fd), "the link's socket is still open");
	ck_assert_msg(run_until(cond_peer_eof, &h.p1, WAIT_MS),
	    "the peer never saw the connection go");
	ck_assert_uint_eq(h.p1.ngot, 0);
}
END_TEST

/* Datagram seq of len bytes from client `client` (one flow each). */
static void
client_send(unsigned int client, unsigned int seq, size_t len)
{
	static unsigned char	buf[FRAME_MAX_PAYLOAD];
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)(5000 + client));
	sin.sin_addr.s_addr = htonl(0x0a090000U | client);
	dgram_fill(buf, len, seq);
	ck_assert_int_eq(link_send(h.link, (struct sockaddr *)&sin, buf, len),
	    0);
}

static int
got_client(const struct got *g)
{
	const struct sockaddr_in	*sin = (const void *)&g->src;

	ck_assert(g->has_src);
	return (ntohs(sin->sin_port) - 5000);
}

/*
 * Sends n frames of len bytes from one client to a peer that does not
 * read, letting the loop run now and then, as UDP reads would.
 */
static void
fill_unread(unsigned int client, unsigned int n, size_t len, size_t bound)
{
	unsigned int	seq;

	for (seq = 0; seq < n; seq++) {
		client_send(client, seq, len);
		if (seq % 16 == 15)
			ck_assert_int_ne(event_base_loop(h.base,
			    EVLOOP_NONBLOCK), -1);
		ck_assert_msg(bound == 0 || link_pending(h.link) <= bound,
		    "%zu bytes held, more than %zu", link_pending(h.link),
		    bound);
	}
}

static int
cond_all_accounted(void *arg)
{
	struct stats	*st = link_stats(h.link);

	peer_pump(&h.p1);
	return (h.p1.ngot + st->drop_overlimit + st->drop_codel +
	    st->drop_too_old >= *(unsigned int *)arg);
}

/*
 * A peer that does not read: the datagrams keep coming, memory stays
 * within the link's limit, the oldest excess is dropped and counted,
 * and once the peer reads it gets the rest, in order, the newest last.
 */
START_TEST(test_slow_peer_bounded)
{
	const unsigned int	 N = 4000;
	struct link_config	 cfg;
	struct sockaddr_storage	 ss;
	struct stats		*st;
	unsigned int		 want = N;
	int			 fd;

	cfg_init(&cfg);
	cfg.queue_size = 256 * 1024;
	cfg.target_ms = 10000;		/* the limit alone, here */
	start_link(&cfg);
	tcp_pair(&fd, &ss, &h.p1, 1);
	link_attach(h.link, fd, (struct sockaddr *)&ss);
	h.p1.seqrise = 1;
	h.p1.lastseq = -1;

	fill_unread(1, N, 1000, cfg.queue_size + 64 * 1024);
	st = link_stats(h.link);
	ck_assert_uint_gt(st->drop_overlimit, N / 2);
	ck_assert_int_eq(link_state(h.link), LINK_UP);

	/* Now it reads: the rest arrives. */
	h.p1.want = N;
	{
		uint64_t	deadline = now_ms() + WAIT_MS;

		while (!cond_all_accounted(&want) && now_ms() < deadline)
			ck_assert_int_ne(event_base_loop(h.base, EVLOOP_ONCE),
			    -1);
	}
	st = link_stats(h.link);
	ck_assert_msg(h.p1.ngot + st->drop_overlimit == N, "%zu got, %ju "
	    "dropped, of %u", h.p1.ngot, (uintmax_t)st->drop_overlimit, N);
	ck_assert_uint_eq(st->drop_codel + st->drop_too_old, 0);
	ck_assert_int_eq(h.p1.lastseq, N - 1);
	ck_assert_uint_eq(st->tcp_out, h.p1.ngot);
	ck_assert_uint_eq(link_pending(h.link), 0);
}
END_TEST

/*
 * What the system may hold unsent ahead of the fair queue: a few KiB
 * with TCP_NOTSENT_LOWAT; elsewhere its send buffer (128 KiB, which
 * Linux doubles), in frames of 1022 bytes.
 */
#if HAVE_DECL_TCP_NOTSENT_LOWAT
#define AHEAD_FRAMES	60
#else
#define AHEAD_FRAMES	(60 + 2 * 128 * 1024 / 1022)
#endif

/*
 * One client fills the path; another sends one datagram: it goes out
 * with the next few frames, not behind the whole queue (FIFO: 601st).
 */
START_TEST(test_new_flow_not_behind)
{
	struct link_config	 cfg;
	struct sockaddr_storage	 ss;
	size_t			 i, at = 0;
	int			 fd;

	cfg_init(&cfg);
	start_link(&cfg);
	tcp_pair(&fd, &ss, &h.p1, 1);
	link_attach(h.link, fd, (struct sockaddr *)&ss);
	fill_unread(1, 600, 1000, 0);
	client_send(2, 0, 100);
	wait_peer_frames(&h.p1, 601);
	for (i = 0; i < 601 && i < MAX_GOT; i++)
		if (got_client(&h.p1.got[i]) == 2)
			at = i + 1;
	ck_assert_msg(at > 0 && at < AHEAD_FRAMES, "client 2's datagram came "
	    "%zu-th", at);
}
END_TEST

/*
 * After an outage the flush takes turns with new traffic: a datagram
 * of another client sent as the link comes up is not behind the whole
 * queue (FIFO: 401st); and the queue still arrives whole and in order.
 */
START_TEST(test_flush_takes_turns)
{
	const unsigned int	 N = 400;
	struct link_config	 cfg;
	uint16_t		 port;
	unsigned int		 seq, n1 = 0;
	size_t			 i, at = 0;
	int			 lfd;

	cfg_init(&cfg);
	lfd = start_refused(&cfg, &port);
	for (seq = 0; seq < N; seq++)
		client_send(1, seq, 1000);
	ck_assert_uint_eq(link_stats(h.link)->queued, N);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_msg(wait_state(LINK_UP), "link not up");
	client_send(2, 0, 100);
	accept_peer(lfd, &h.p1);
	wait_peer_frames(&h.p1, N + 1);
	for (i = 0; i < N + 1 && i < MAX_GOT; i++) {
		if (got_client(&h.p1.got[i]) == 2) {
			at = i + 1;
			continue;
		}
		/* Client 1's in order. */
		check_got_seq(&h.p1.got[i], n1++);
	}
	ck_assert_msg(at > 0 && at < 200, "client 2's datagram came %zu-th",
	    at);
	ck_assert_uint_eq(link_stats(h.link)->drop_queue_full +
	    link_stats(h.link)->drop_unsent, 0);
	close(lfd);
}
END_TEST

/*
 * A peer that reads slowly: what waits, waits in the link's fair queue,
 * not in the system's send queue. With TCP_NOTSENT_LOWAT (Linux) the
 * system holds a few KiB unsent whatever the backlog; elsewhere its send
 * buffer is kept small.
 */
START_TEST(test_kernel_queue_short)
{
	struct link_config	 cfg;
	struct sockaddr_storage	 ss;
	size_t			 held;
	int			 fd;

	cfg_init(&cfg);
	start_link(&cfg);
	tcp_pair(&fd, &ss, &h.p1, 1);
	link_attach(h.link, fd, (struct sockaddr *)&ss);
	fill_unread(1, 400, 1000, 0);
	run_for(100);
	held = link_pending(h.link);
	ck_assert_msg(held > 200 * 1000, "only %zu bytes wait in the link",
	    held);
#if HAVE_DECL_TCP_NOTSENT_LOWAT && defined(SIOCOUTQNSD)
	{
		int	unsent = -1;

		ck_assert_int_eq(ioctl(fd, SIOCOUTQNSD, &unsent), 0);
		/* The target at its smallest, twice, and a frame. */
		ck_assert_msg(unsent <= 2 * 2048 + 1022, "the system holds "
		    "%d bytes unsent, the link %zu", unsent, held);
	}
#else
	{
		int		size = 0;
		socklen_t	len = sizeof size;

		ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size,
		    &len), 0);
		ck_assert_msg(size <= 2 * 128 * 1024, "send buffer %d", size);
	}
#endif
	/* And it all arrives once the peer reads. */
	wait_peer_frames(&h.p1, 400);
	ck_assert_uint_eq(link_pending(h.link), 0);
}
END_TEST

/* The peer dies with datagrams waiting: the loss is counted. */
START_TEST(test_slow_peer_dies)
{
	struct link_config	 cfg;
	struct sockaddr_storage	 ss;
	size_t			 held;
	int			 fd;

	cfg_init(&cfg);
	cfg.queue_size = 256 * 1024;
	start_link(&cfg);
	tcp_pair(&fd, &ss, &h.p1, 1);
	link_attach(h.link, fd, (struct sockaddr *)&ss);
	fill_unread(1, 600, 1000, 0);
	held = link_pending(h.link);
	ck_assert_uint_gt(held, 100 * 1000);

	peer_free(&h.p1);	/* unread data: the close resets */
	ck_assert_msg(wait_state(LINK_CLOSED), "link still %s",
	    link_state_name(link_state(h.link)));
	ck_assert_uint_ge(link_stats(h.link)->drop_unsent, held / 1022);
	ck_assert_uint_eq(link_pending(h.link), 0);
}
END_TEST

/* Replacing the connection: the old peer sees EOF, a busy link refuses. */
START_TEST(test_attach_replaces)
{
	struct link_config	 cfg;
	struct sockaddr_storage	 ss1, ss2;
	struct sockaddr_in	*sin2 = (struct sockaddr_in *)&ss2;
	struct evbuffer		*b;
	char			 want[64];
	size_t			 one = 1;
	int			 fd1, fd2;

	cfg_init(&cfg);
	start_link(&cfg);
	tcp_pair(&fd1, &ss1, &h.p1, 0);
	tcp_pair(&fd2, &ss2, &h.p2, 0);
	link_attach(h.link, fd1, (struct sockaddr *)&ss1);
	ck_assert_int_eq(dgram_send(0, 10), 0);
	wait_peer_frames(&h.p1, 1);

	/* A busy link refuses a second connection outright... */
	{
		struct peer	p3;
		struct sockaddr_storage ss3;
		int		fd3;

		tcp_pair(&fd3, &ss3, &p3, 0);
		link_attach(h.link, fd3, (struct sockaddr *)&ss3);
		ck_assert_msg(wait_fd_closed(fd3), "the refused socket is open");
		ck_assert_uint_eq(h.nstates, 1);
		peer_free(&p3);
	}
	/* ...so the owner closes the old one first, as tunnel.c does. */
	link_close(h.link, "replaced");
	link_attach(h.link, fd2, (struct sockaddr *)&ss2);
	ck_assert_int_eq(link_state(h.link), LINK_UP);
	ck_assert_uint_eq(h.nstates, 3);
	ck_assert_int_eq(h.states[0], LINK_UP);
	ck_assert_int_eq(h.states[1], LINK_CLOSED);
	ck_assert_int_eq(h.states[2], LINK_UP);
	ck_assert_msg(wait_fd_closed(fd1), "the first socket is still open");
	snprintf(want, sizeof want, "127.0.0.1:%u", ntohs(sin2->sin_port));
	ck_assert_str_eq(link_peer(h.link), want);

	ck_assert_msg(run_until(cond_peer_eof, &h.p1, WAIT_MS),
	    "the first peer never saw EOF");
	ck_assert_int_eq(h.p1.eof, 1);

	/* The new peer has the link, both ways. */
	ck_assert_int_eq(dgram_send(1, 11), 0);
	wait_peer_frames(&h.p2, 1);
	check_got(&h.p2.got[0], 1, 11);
	ck_assert_uint_eq(h.p1.ngot, 1);
	b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	dgram_encode(b, 2, 12);
	peer_write(&h.p2, b, evbuffer_get_length(b));
	evbuffer_free(b);
	ck_assert_msg(run_until(cond_ngot, &one, WAIT_MS), "frame never came");
	check_got(&h.got[0], 2, 12);
	ck_assert_int_eq(link_state(h.link), LINK_UP);
}
END_TEST

/*
 * Several servers: each failure passes the turn to the next, in order,
 * and back to the first only by the same rule. A refuses, so the link
 * comes up on B; B's peer goes, so the next turn is A's, now listening,
 * though B would take it again.
 */
START_TEST(test_connect_servers_in_turn)
{
	struct link_config	cfg;
	uint16_t		pa, pb;
	int			la, lb;
	char			name[32];
	size_t			two = 2;

	cfg_init(&cfg);
	la = tcp_bound(&pa);	/* bound, not listening: refuses */
	lb = tcp_bound(&pb);
	ck_assert_int_eq(listen(lb, 4), 0);
	start_link(&cfg);
	ck_assert_int_eq(link_add_server(h.link, "127.0.0.1", pa), 0);
	ck_assert_int_eq(link_add_server(h.link, "127.0.0.1", pb), 0);
	link_start(h.link);
	ck_assert_msg(wait_state(LINK_UP), "link not up on the second server");
	snprintf(name, sizeof name, "127.0.0.1:%u", pb);
	ck_assert_str_eq(link_peer(h.link), name);
	ck_assert_uint_eq(h.nbackoff, 1);
	accept_peer(lb, &h.p1);

	ck_assert_int_eq(listen(la, 4), 0);
	peer_free(&h.p1);
	ck_assert_msg(run_until(cond_nbackoff, &two, WAIT_MS),
	    "no backoff after the second server's peer went");
	ck_assert_msg(wait_state(LINK_UP), "link not up again");
	snprintf(name, sizeof name, "127.0.0.1:%u", pa);
	ck_assert_str_eq(link_peer(h.link), name);
	accept_peer(la, &h.p1);
	close(la);
	close(lb);
}
END_TEST

/* No more than LINK_MAX_SERVERS. */
START_TEST(test_connect_servers_max)
{
	struct link_config	cfg;
	int			i;

	cfg_init(&cfg);
	start_link(&cfg);
	for (i = 0; i < LINK_MAX_SERVERS; i++)
		ck_assert_int_eq(link_add_server(h.link, "127.0.0.1",
		    (uint16_t)(1000 + i)), 0);
	ck_assert_int_eq(link_add_server(h.link, "127.0.0.1", 999), -1);
}
END_TEST

static Suite *
link_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("link");

	tc = tcase_create("backoff");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_backoff_first_varies);
	tcase_add_loop_test(tc, test_backoff_next, 0,
	    sizeof backoff_cases / sizeof backoff_cases[0]);
	tcase_add_test(tc, test_backoff_doubling);
	suite_add_tcase(s, tc);

	tc = tcase_create("connect");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_connect_refused_then_up);
	tcase_add_loop_test(tc, test_connect_tries_every_address, 0, 2);
	tcase_add_test(tc, test_connect_nss_name);
	tcase_add_test(tc, test_free_while_resolving);
	tcase_add_test(tc, test_connect_reconnect);
	tcase_add_test(tc, test_connect_servers_in_turn);
	tcase_add_test(tc, test_connect_servers_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("queue");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_queue_flush_in_order);
	tcase_add_test(tc, test_queue_overflow_drops_oldest);
	tcase_add_test(tc, test_queue_evicts_just_enough);
	tcase_add_test(tc, test_queue_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_attach_up_then_peer_closes);
	tcase_add_test(tc, test_attach_many_frames_one_read);
	tcase_add_test(tc, test_attach_large_burst_one_turn);
	tcase_add_loop_test(tc, test_attach_split_frame, 0,
	    sizeof split_at / sizeof split_at[0]);
	tcase_add_test(tc, test_attach_malformed_skipped);
	tcase_add_loop_test(tc, test_attach_oversized_closes, 0,
	    sizeof oversized / sizeof oversized[0]);
	tcase_add_test(tc, test_attach_replaces);
	suite_add_tcase(s, tc);

	tc = tcase_create("fairqueue");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_slow_peer_bounded);
	tcase_add_test(tc, test_new_flow_not_behind);
	tcase_add_test(tc, test_flush_takes_turns);
	tcase_add_test(tc, test_kernel_queue_short);
	tcase_add_test(tc, test_slow_peer_dies);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* Before libevent allocates anything: count what it holds. */
	event_set_mem_functions(mem_malloc, mem_realloc, mem_free);
	sr = srunner_create(link_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
