/*
 * check_e2e_tls.c - end-to-end tests of TLS on the TCP link (issue 13,
 * item 5): the real binary on 127.0.0.1 against itself, against
 * `openssl s_client` and `openssl s_server`, and behind TLS-terminating
 * proxies (stunnel, HAProxy) that hand it plain TCP.
 *
 * The contract is notes/tls-spec.md: the options, the exit status 2 and
 * the one line for wrong files or misuse, the log lines ("-> up (...,
 * TLSv1.3)", "TLS handshake failed", "TLS handshake timed out after
 * 10 s", "matches no --tls-pin", "SIGHUP: TLS files reloaded").
 *
 * The certificates are made at start, in a temporary directory, with the
 * openssl command: a test CA and a server certificate it signed (CN and
 * SAN localhost, SAN IP 127.0.0.1), the same key in an expired and in a
 * not-yet-valid certificate (openssl ca -startdate/-enddate), a
 * certificate for another name, a client CA with a client certificate, a
 * second CA with one of its own, and two self-signed certificates for the
 * pins.
 *
 * Fixed-mode tests use the picture of check_e2e_fixed.c:
 *
 *   client app C --> connect side --TLS--> listen side --> server app S
 *   (cfd)          -u B2  -p C             -l T -u B1 -p S    (sfd)
 *
 * and auto-mode ones that of check_e2e_hostile.c: good clients send a
 * numbered datagram every GOOD_MS to a connect side in auto mode, an
 * echo server of the test (efd) answers through a listen side with
 * --udp-bind auto, and every reply must come back once and whole.
 *
 * The tests, by case:
 *   listen   s_client: TLS 1.3 and 1.2 taken, our certificate shown and
 *            verified, TLS 1.1 refused; --tls-client-ca: a client
 *            certificate of that CA taken, none or another CA's refused
 *   connect  through stunnel and HAProxy to a plain listen side: sizes
 *            up to 65507 bytes and bursts, byte-exact both ways;
 *            s_server with the good certificate (up) and an expired one
 *            (refused at every attempt)
 *   direct   fixed mode in each framing, auto mode with two clients;
 *            CA, name (--tls-name, the --tcp-connect host), pins, CA and
 *            pin together; --print-pin equal to the openssl pipeline
 *   hostile  mutual TLS beside refused peers; a stalled handshake and a
 *            plain-TCP client beside a good peer with --max-peers 1 (the
 *            one test that waits out the 10 s bound); the limit of
 *            pending handshakes; fixed mode replaced only once
 *            authenticated
 *   start    wrong files and misuse: exit status 2, one line
 *   reload   SIGHUP: a new key for new connections, the old link kept;
 *            a failed reload keeps the old files; the connect side's CA;
 *            without TLS, nothing to reload
 *
 * Readiness is a log line, an EOF or a datagram; a timed wait is only a
 * window in which something must not happen. Every child is killed by
 * the teardown. The program skips (77) when the binary has no TLS, or
 * when openssl, stunnel or haproxy is missing; under CI=true a missing
 * tool is a failure instead.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define TEST_TIMEOUT	60	/* seconds per test, a backstop only */

#define MAXSOCKS	32
#define MAXARGS		48
#define MAXRAWS		(PENDING_MAX + 4)
#define TICK_MS		10	/* longest poll(): children's stderr is read */
#define QUIET_MS	500	/* a window in which nothing must happen */
#define BURST		100

/* The handshake bound of the spec (TLS_HANDSHAKE_TIMEOUT_S). */
#define HANDSHAKE_MS	10000
/* Handshakes pending at once, at most; a new one pushes out the oldest. */
#define PENDING_MAX	128

/* Good clients of the auto-mode tests. */
#define GOOD_CLIENTS	4
#define GOOD_MS		10
#define GOOD_MAX	5000	/* datagrams per client; far more than a run */
#define HDRLEN		12	/* magic, client, sequence */
#define MAGIC_GOOD	0x474f4f44U	/* "GOOD" */
#define MAGIC_BAD	0x42414421U	/* "BAD!": must never reach the server */

/* Frames of the flow framing (wire-format.md). */
#define FRAME_HDR	22
#define FRAME_ADDRLEN	18

/* One fixed-mode tunnel: the two ends and the applications around them. */
struct tunnel {
	int		 tcp;		/* T: the listen side's TCP port */
	int		 b1;		/* B1: the listen side's --udp-bind */
	int		 b2;		/* B2: the connect side's --udp-bind */
	int		 sfd, s;	/* the server app and its port */
	int		 cfd, c;	/* the client app and its port */
	struct e2e_proc	*l;		/* listen side */
	struct e2e_proc	*t;		/* connect side */
};

struct goodc {
	int		 fd;
	int		 to;		/* the connect side's --udp-bind */
	uint32_t	 sent;
	uint32_t	 got;
	unsigned char	 seen[GOOD_MAX];
};

/* A raw TCP connection of the test to a listen side. */
struct raw {
	int		 fd;
	int		 port;		/* our local port: the listen side's name */
	int		 closed;	/* EOF or reset seen */
	long long	 opened_ms;
	long long	 closed_ms;
};

struct argv {
	char		*v[MAXARGS + 1];
	int		 n;
};

/* Set up once by main(), before any test runs. */
static char		 dir[PATH_MAX];
static char		 openssl_bin[PATH_MAX];
static char		 stunnel_bin[PATH_MAX];
static char		 haproxy_bin[PATH_MAX];
static char		 pin_self[64], pin_self2[64], pin_server[64];

static int		 socks[MAXSOCKS];
static int		 nsocks;
static struct goodc	 good[GOOD_CLIENTS];
static int		 ngood;
static int		 good_on;
static long long	 good_next;
static struct raw	 raws[MAXRAWS];
static int		 nraws;
static int		 efd = -1;	/* the echo server */
static int		 eport;
static unsigned long	 echo_good, echo_bad, echo_other;
static char		 pool[16384];	/* argument strings of this test */
static size_t		 poolused;
static unsigned char	 want[E2E_BUFSIZE];
static unsigned char	 got[E2E_BUFSIZE];
static unsigned char	 buf[E2E_BUFSIZE];

static const unsigned char mapped_lo[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff, 127, 0, 0, 1 };

static void	 setup(void);
static void	 teardown(void);
static const char *fpath(const char *);
static char	*pstr(const char *, ...) __attribute__((__format__(printf, 1,
		     2)));
static void	 av_add(struct argv *, const char *);
static void	 av_addv(struct argv *, const char *const []);
static struct e2e_proc *spawn_uot(const char *, struct argv *);
static struct e2e_proc *spawn_sh(const char *, const char *);
static int	 test_socket(void);
static struct e2e_proc *start_listen(const char *, int, int, int,
		     const char *const []);
static struct e2e_proc *start_connect(const char *, int, int, int,
		     const char *const []);
static ssize_t	 wait_line(struct e2e_proc *, const char *, const char *,
		     size_t, int);
static unsigned long stats_count(struct e2e_proc *, const char *);
static void	 pump(int);
static void	 tunnel_init(struct tunnel *);
static void	 wait_up(struct tunnel *, const char *, const char *);
static void	 expect(int, int, const unsigned char *, size_t,
		     const char *);
static void	 both_ways(struct tunnel *, size_t, uint32_t);
static void	 burst(struct tunnel *, uint32_t);
static void	 wait_refused(struct e2e_proc *, const char *, const char *);
static void	 echo_start(void);
static void	 echo_serve(void);
static size_t	 good_make(unsigned char *, uint32_t, uint32_t);
static int	 good_add(int);
static void	 good_input(struct goodc *);
static void	 good_send_due(void);
static void	 good_finish(const char *);
static int	 raw_connect(int);
static void	 raw_input(struct raw *);
static void	 raw_write(int, const void *, size_t);
static size_t	 frame_make(unsigned char *, int, const void *, size_t);
static char	*read_file(const char *, size_t *);
static void	 put_file(const char *, const char *);
static int	 proxy_port(int);
static Suite	*e2e_tls_suite(void);

static void
reset(void)
{
	int	i;

	while (nsocks > 0)
		close(socks[--nsocks]);
	for (i = 0; i < nraws; i++) {
		if (raws[i].fd != -1)
			close(raws[i].fd);
	}
	nraws = 0;
	ngood = 0;
	good_on = 0;
	efd = -1;
	eport = 0;
	echo_good = echo_bad = echo_other = 0;
	poolused = 0;
}

static void
setup(void)
{
	/* Left over by a failed test in CK_NOFORK mode: show and kill. */
	e2e_cleanup(1);
	reset();
}

static void
teardown(void)
{
	e2e_cleanup(0);
	reset();
}

/* A file of the certificate directory; a ring, so several can be live. */
static const char *
fpath(const char *name)
{
	static char	ring[32][PATH_MAX + 64];
	static size_t	next;
	char		*p = ring[next++ % 32];

	snprintf(p, sizeof ring[0], "%s/%s", dir, name);
	return (p);
}

/* A formatted string that lives until the test ends. */
static char *
pstr(const char *fmt, ...)
{
	va_list	 ap;
	char	*p = pool + poolused;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(p, sizeof pool - poolused, fmt, ap);
	va_end(ap);
	require(n >= 0 && (size_t)n < sizeof pool - poolused,
	    "out of argument space");
	poolused += (size_t)n + 1;
	return (p);
}

static void
av_add(struct argv *a, const char *s)
{
	require(a->n < MAXARGS, "more than %d arguments", MAXARGS);
	a->v[a->n++] = pstr("%s", s);
	a->v[a->n] = NULL;
}

static void
av_addv(struct argv *a, const char *const list[])
{
	while (list != NULL && *list != NULL)
		av_add(a, *list++);
}

static struct e2e_proc *
spawn_uot(const char *name, struct argv *a)
{
	struct e2e_proc	*p;

	a->v[a->n] = NULL;
	p = e2e_spawnv(name, a->v);
	require(p != NULL, "cannot start %s", name);
	return (p);
}

/* A shell command (exec'ing a tool, its stdout joined to its stderr). */
static struct e2e_proc *
spawn_sh(const char *name, const char *script)
{
	char		*args[] = { "-c", (char *)script, NULL };
	struct e2e_proc	*p;

	p = e2e_spawn_path(name, "/bin/sh", args);
	require(p != NULL, "cannot start %s", name);
	return (p);
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

/*
 * A burst must arrive whole even where the tunnel is slow (under
 * valgrind a 450 KB burst waits in the fair queue long enough for CoDel
 * to drop one frame, as it should on a real path): no drops for queueing
 * delay here; issue 12's tests cover those.
 */
static void
av_no_delay_drops(struct argv *a)
{
	av_add(a, "--target-delay");
	av_add(a, "5000");
	av_add(a, "--max-delay");
	av_add(a, "600000");
}

/*
 * A listen side at 127.0.0.1:tcp, bound at 127.0.0.1:bind (0: auto
 * mode), sending to 127.0.0.1:dest, with the extra options; started and
 * listening.
 */
static struct e2e_proc *
start_listen(const char *name, int tcp, int bind, int dest,
    const char *const extra[])
{
	struct argv	 a = { { NULL }, 0 };
	struct e2e_proc	*p;

	av_add(&a, "--tcp-listen");
	av_add(&a, pstr("127.0.0.1:%d", tcp));
	av_add(&a, "--udp-bind");
	av_add(&a, bind == 0 ? "auto" : pstr("127.0.0.1:%d", bind));
	av_add(&a, "--udp-sendto");
	av_add(&a, pstr("127.0.0.1:%d", dest));
	av_no_delay_drops(&a);
	av_addv(&a, extra);
	p = spawn_uot(name, &a);
	require(e2e_wait_log(p, "listening on", 0, E2E_READY_MS) != -1,
	    "%s did not say \"listening on\"", name);
	return (p);
}

/*
 * A connect side to 127.0.0.1:tcp, bound at 127.0.0.1:bind, sending to
 * 127.0.0.1:dest (0: 127.0.0.1:auto), quick to retry.
 */
static struct e2e_proc *
start_connect(const char *name, int tcp, int bind, int dest,
    const char *const extra[])
{
	struct argv	a = { { NULL }, 0 };

	av_add(&a, "--tcp-connect");
	av_add(&a, pstr("127.0.0.1:%d", tcp));
	av_add(&a, "--udp-bind");
	av_add(&a, pstr("127.0.0.1:%d", bind));
	av_add(&a, "--udp-sendto");
	av_add(&a, dest == 0 ? "127.0.0.1:auto" : pstr("127.0.0.1:%d",
	    dest));
	av_add(&a, "--backoff-min");
	av_add(&a, "20");
	av_add(&a, "--backoff-max");
	av_add(&a, "200");
	av_no_delay_drops(&a);
	av_addv(&a, extra);
	return (spawn_uot(name, &a));
}

/* Wait up to timeout ms for such a line, pumping meanwhile; -1: none. */
static ssize_t
wait_line(struct e2e_proc *p, const char *a, const char *b, size_t from,
    int timeout)
{
	long long	deadline = e2e_now_ms() + timeout;
	ssize_t		off;

	for (;;) {
		if ((off = e2e_find_line(p, a, b, from)) != -1)
			return (off);
		if (e2e_now_ms() >= deadline) {
			fprintf(stderr, "check_e2e_tls: %s did not log a line "
			    "with \"%s\"%s%s%s within %d ms\n", e2e_name(p), a,
			    b ? " and \"" : "", b ? b : "", b ? "\"" : "",
			    timeout);
			return (-1);
		}
		pump(TICK_MS);
	}
}

/*
 * SIGUSR1 to p; the number after "name " (e.g. "udp in") in the first
 * stats line of counters it then logs.
 */
static unsigned long
stats_count(struct e2e_proc *p, const char *name)
{
	const char	*log, *m;
	char		 key[64];
	size_t		 from = e2e_log_len(p);
	ssize_t		 off;

	require(e2e_signal(p, SIGUSR1) == 0, "cannot signal %s",
	    e2e_name(p));
	off = wait_line(p, "stats ", ": udp in ", from, E2E_READY_MS);
	require(off != -1, "%s logged no stats line after SIGUSR1",
	    e2e_name(p));
	log = e2e_log(p, NULL);
	snprintf(key, sizeof key, " %s ", name);
	m = strstr(log + from, key);
	require(m != NULL && m < log + off, "no \"%s\" in the stats line of "
	    "%s", name, e2e_name(p));
	return (strtoul(m + strlen(key), NULL, 10));
}

/*
 * Up to ms (at most TICK_MS) of waiting on the echo server, the good
 * clients and the raw connections; whatever came is served. Children's
 * stderr is read by the callers' e2e_log(), every tick.
 */
static void
pump(int ms)
{
	struct pollfd	pfd[1 + GOOD_CLIENTS + MAXRAWS];
	nfds_t		n = 0;
	int		i;

	if (efd != -1) {
		pfd[n].fd = efd;
		pfd[n++].events = POLLIN;
	}
	for (i = 0; i < ngood; i++) {
		pfd[n].fd = good[i].fd;
		pfd[n++].events = POLLIN;
	}
	for (i = 0; i < nraws; i++) {
		if (raws[i].fd != -1 && !raws[i].closed) {
			pfd[n].fd = raws[i].fd;
			pfd[n++].events = POLLIN;
		}
	}
	if (ms > TICK_MS)
		ms = TICK_MS;
	if (ms < 0)
		ms = 0;
	if (n == 0 ? poll(NULL, 0, ms) : poll(pfd, n, ms)) {
		if (efd != -1)
			echo_serve();
		for (i = 0; i < ngood; i++)
			good_input(&good[i]);
		for (i = 0; i < nraws; i++)
			raw_input(&raws[i]);
	}
	good_send_due();
}

static void
tunnel_init(struct tunnel *t)
{
	memset(t, 0, sizeof *t);
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

/*
 * Wait until both ends say "-> up"; each line must hold what (e.g.
 * "TLSv1.3)"), when not NULL: lwhat for the listen side, cwhat for the
 * connect side.
 */
static void
wait_up(struct tunnel *t, const char *lwhat, const char *cwhat)
{
	require(wait_line(t->t, "-> up", NULL, 0, E2E_READY_MS) != -1,
	    "the connect side did not come up");
	require(e2e_find_line(t->t, "-> up", cwhat, 0) != -1, "the connect "
	    "side's up line lacks \"%s\"", cwhat);
	require(wait_line(t->l, "-> up", NULL, 0, E2E_READY_MS) != -1,
	    "the listen side did not log its peer up");
	require(e2e_find_line(t->l, "-> up", lwhat, 0) != -1, "the listen "
	    "side's up line lacks \"%s\"", lwhat);
}

/* One datagram must arrive on fd, whole, from port fromport. */
static void
expect(int fd, int fromport, const unsigned char *data, size_t len,
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
	for (i = 0; i < len && got[i] == data[i]; i++)
		;
	require(i == len, "%s: byte %zu differs", what, i);
	require(from == fromport, "%s: came from port %d, not from %d", what,
	    from, fromport);
}

/* A datagram of len bytes each way, byte-exact. */
static void
both_ways(struct tunnel *t, size_t len, uint32_t seed)
{
	char	what[64];

	e2e_fill(want, len, seed);
	snprintf(what, sizeof what, "client to server, %zu bytes", len);
	require(e2e_udp_send(t->cfd, t->b2, want, len) == 0,
	    "%s: cannot send", what);
	expect(t->sfd, t->b1, want, len, what);
	e2e_fill(want, len, seed + 1);
	snprintf(what, sizeof what, "server to client, %zu bytes", len);
	require(e2e_udp_send(t->sfd, t->b1, want, len) == 0,
	    "%s: cannot send", what);
	expect(t->cfd, t->b2, want, len, what);
}

static const size_t sizes[] = { 0, 1, 1200, 1472, 16384, E2E_MAX_DGRAM };

/*
 * BURST datagrams of mixed sizes sent at once each way, then received:
 * all, in order, byte-exact (TLS records do not cut frames apart).
 */
static void
burst(struct tunnel *t, uint32_t seed)
{
	int	i, dir_;
	size_t	len;
	char	what[64];

	for (dir_ = 0; dir_ < 2; dir_++) {
		for (i = 0; i < BURST; i++) {
			len = (size_t)((i * 7919U + seed) % 9000);
			e2e_fill(want, len, seed + (uint32_t)i);
			require(e2e_udp_send(dir_ ? t->sfd : t->cfd,
			    dir_ ? t->b1 : t->b2, want, len) == 0,
			    "burst: cannot send #%d", i);
		}
		for (i = 0; i < BURST; i++) {
			len = (size_t)((i * 7919U + seed) % 9000);
			e2e_fill(want, len, seed + (uint32_t)i);
			snprintf(what, sizeof what, "burst %s #%d (%zu bytes)",
			    dir_ ? "server to client" : "client to server", i,
			    len);
			expect(dir_ ? t->cfd : t->sfd, dir_ ? t->b2 : t->b1,
			    want, len, what);
		}
	}
}

/*
 * A connect side that must not come up: two attempts that failed with a
 * "TLS:" reason holding why (unless NULL), and no "-> up" line.
 */
static void
wait_refused(struct e2e_proc *c, const char *why, const char *what)
{
	ssize_t	off;

	off = wait_line(c, "-> backoff", "TLS:", 0, E2E_READY_MS);
	require(off != -1, "%s: no failed TLS attempt logged", what);
	off = wait_line(c, "-> backoff", "TLS:", (size_t)off, E2E_READY_MS);
	require(off != -1, "%s: no second failed TLS attempt logged", what);
	if (why != NULL) {
		require(e2e_find_line(c, "-> backoff", why, 0) != -1, "%s: the "
		    "failure lines do not say \"%s\"", what, why);
	}
	require(e2e_find_line(c, "-> up", NULL, 0) == -1, "%s: the connect side "
	    "came up", what);
}

/* The echo server of the auto-mode tests: a socket of the test. */
static void
echo_start(void)
{
	efd = test_socket();
	eport = e2e_udp_port(efd);
}

/* Echo all that waits on the echo server's socket; count by magic. */
static void
echo_serve(void)
{
	struct sockaddr_storage	from;
	socklen_t		fromlen;
	ssize_t			n;
	uint32_t		magic;

	for (;;) {
		fromlen = sizeof from;
		n = recvfrom(efd, buf, sizeof buf, 0, (struct sockaddr *)&from,
		    &fromlen);
		if (n == -1 && (errno == EINTR || errno == ECONNREFUSED))
			continue;
		if (n == -1)
			return;
		magic = n >= 4 ? e2e_get32(buf) : 0;
		if (magic == MAGIC_GOOD)
			echo_good++;
		else if (magic == MAGIC_BAD)
			echo_bad++;
		else
			echo_other++;
		(void)sendto(efd, buf, (size_t)n, MSG_DONTWAIT,
		    (struct sockaddr *)&from, fromlen);
	}
}

/* Datagram seq of good client c: the header, then derived bytes. */
static size_t
good_make(unsigned char *p, uint32_t c, uint32_t seq)
{
	size_t	len = 40 + (seq * 7 + c * 13) % 160;

	e2e_put32(p, MAGIC_GOOD);
	e2e_put32(p + 4, c);
	e2e_put32(p + 8, seq);
	e2e_fill(p + HDRLEN, len - HDRLEN, c * 100003U + seq);
	return (len);
}

/* A good client sending to the connect side bound at port to. */
static int
good_add(int to)
{
	struct goodc	*g;

	require(ngood < GOOD_CLIENTS, "more than %d good clients",
	    GOOD_CLIENTS);
	g = &good[ngood];
	memset(g, 0, sizeof *g);
	g->fd = test_socket();
	g->to = to;
	return (ngood++);
}

/* Replies to good client g: each whole, once, and one it asked for. */
static void
good_input(struct goodc *g)
{
	static unsigned char	mine[256];
	ssize_t			n;
	uint32_t		c = (uint32_t)(g - good), seq;
	int			from;

	for (;;) {
		n = e2e_udp_recv(g->fd, buf, sizeof buf, &from, 0);
		if (n == -1)
			return;
		require(from == g->to, "good client %u: a datagram from port "
		    "%d, not its connect side's %d", c, from, g->to);
		require(n >= HDRLEN && e2e_get32(buf) == MAGIC_GOOD &&
		    e2e_get32(buf + 4) == c, "good client %u: a datagram of "
		    "%zd bytes that is not one of its replies", c, n);
		seq = e2e_get32(buf + 8);
		require(seq < g->sent, "good client %u: a reply to #%u, never "
		    "sent", c, seq);
		require((size_t)n == good_make(mine, c, seq) &&
		    memcmp(buf, mine, (size_t)n) == 0, "good client %u: reply "
		    "#%u damaged", c, seq);
		require(!g->seen[seq], "good client %u: reply #%u came twice",
		    c, seq);
		g->seen[seq] = 1;
		g->got++;
	}
}

/* Each good client's next datagram, when it is due. */
static void
good_send_due(void)
{
	static unsigned char	out[256];
	long long		now = e2e_now_ms();
	size_t			len;
	int			i;

	if (!good_on || now < good_next)
		return;
	good_next = now + GOOD_MS;
	for (i = 0; i < ngood; i++) {
		require(good[i].sent < GOOD_MAX, "good client %d: %d "
		    "datagrams sent", i, GOOD_MAX);
		len = good_make(out, (uint32_t)i, good[i].sent);
		require(e2e_udp_send(good[i].fd, good[i].to, out, len) == 0,
		    "good client %d: cannot send #%u", i, good[i].sent);
		good[i].sent++;
	}
}

/* Until client i has a reply, at most ms; the time it took, or -1. */
static long long
good_wait_reply(int i, int ms)
{
	long long	start = e2e_now_ms(), deadline = start + ms;
	uint32_t	before = good[i].got;

	while (good[i].got == before) {
		if (e2e_now_ms() >= deadline)
			return (-1);
		pump(TICK_MS);
	}
	return (e2e_now_ms() - start);
}

/* Stop sending; every good client must get every reply: none lost. */
static void
good_finish(const char *what)
{
	long long	deadline;
	int		i, done;

	good_on = 0;
	deadline = e2e_now_ms() + E2E_RECV_MS;
	for (;;) {
		for (done = 1, i = 0; i < ngood; i++) {
			if (good[i].got != good[i].sent)
				done = 0;
		}
		if (done || e2e_now_ms() >= deadline)
			break;
		pump(TICK_MS);
	}
	for (i = 0; i < ngood; i++) {
		fprintf(stderr, "check_e2e_tls: %s: good client %d sent %u, "
		    "got %u back\n", what, i, good[i].sent, good[i].got);
		require(good[i].sent > 0, "%s: good client %d sent nothing",
		    what, i);
		require(good[i].got == good[i].sent, "%s: good client %d "
		    "lost %u of %u datagrams", what, i, good[i].sent -
		    good[i].got, good[i].sent);
	}
}

/* A raw TCP connection to 127.0.0.1:port, connected; its index. */
static int
raw_connect(int port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	struct pollfd		 pfd;
	struct raw		*r;
	int			 fd, err = 0;

	require(nraws < MAXRAWS, "more than %d raw connections", MAXRAWS);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	require(fd != -1, "socket: %s", strerror(errno));
	e2e_cloexec(fd, 1);
	e2e_nonblock(fd);
	r = &raws[nraws++];
	memset(r, 0, sizeof *r);
	r->fd = fd;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		require(errno == EINPROGRESS, "connect to port %d: %s", port,
		    strerror(errno));
		pfd.fd = fd;
		pfd.events = POLLOUT;
		require(poll(&pfd, 1, E2E_READY_MS) == 1, "connect to port %d "
		    "did not finish", port);
		len = sizeof err;
		require(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
		    err == 0, "connect to port %d: %s", port, strerror(err));
	}
	len = sizeof sin;
	require(getsockname(fd, (struct sockaddr *)&sin, &len) == 0,
	    "getsockname: %s", strerror(errno));
	r->port = ntohs(sin.sin_port);
	r->opened_ms = e2e_now_ms();
	return (nraws - 1);
}

/* Read and drop what came; note when the listen side closed it. */
static void
raw_input(struct raw *r)
{
	char	sink[4096];
	ssize_t	n;

	while (r->fd != -1 && !r->closed) {
		n = read(r->fd, sink, sizeof sink);
		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		r->closed = 1;
		r->closed_ms = e2e_now_ms();
	}
}

static void
raw_write(int fd, const void *data, size_t len)
{
	ssize_t	n;

	n = write(fd, data, len);
	require(n == (ssize_t)len, "raw write of %zu bytes: %zd (%s)", len,
	    n, n == -1 ? strerror(errno) : "short");
}

/* A frame of the flow framing from client 127.0.0.1:port. */
static size_t
frame_make(unsigned char *f, int port, const void *payload, size_t len)
{
	uint32_t	l = (uint32_t)(FRAME_ADDRLEN + len);

	f[0] = (unsigned char)l;
	f[1] = (unsigned char)(l >> 8);
	f[2] = (unsigned char)(l >> 16);
	f[3] = (unsigned char)(l >> 24);
	f[4] = (unsigned char)port;
	f[5] = (unsigned char)(port >> 8);
	memcpy(f + 6, mapped_lo, 16);
	memcpy(f + FRAME_HDR, payload, len);
	return (FRAME_HDR + len);
}

/* A whole file, NUL-ended; NULL if it cannot be read. */
static char *
read_file(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*data;
	long	 size;
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	if (fseek(f, 0, SEEK_END) == -1 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1 ||
	    (data = malloc((size_t)size + 1)) == NULL) {
		fclose(f);
		return (NULL);
	}
	n = fread(data, 1, (size_t)size, f);
	fclose(f);
	data[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return (data);
}

/* Replace the file dst by the bytes of src, at once (rename). */
static void
put_file(const char *src, const char *dst)
{
	char	 tmp[PATH_MAX + 16];
	char	*data;
	size_t	 len;
	FILE	*f;

	data = read_file(src, &len);
	require(data != NULL, "cannot read %s", src);
	snprintf(tmp, sizeof tmp, "%s.tmp", dst);
	f = fopen(tmp, "wb");
	require(f != NULL, "cannot write %s: %s", tmp, strerror(errno));
	require(fwrite(data, 1, len, f) == len && fclose(f) == 0,
	    "cannot write %s", tmp);
	free(data);
	require(rename(tmp, dst) == 0, "rename %s: %s", tmp, strerror(errno));
}

/* A free TCP port for a proxy or s_server; not one of the binary's. */
static int
proxy_port(int avoid)
{
	int	port;

	do
		port = e2e_free_port(SOCK_STREAM);
	while (port == avoid);
	require(port > 0, "no free TCP port on 127.0.0.1");
	return (port);
}

/* ------------------------------------------------------------------ */
/* Our listen side against openssl s_client.                           */

/*
 * s_client against the TLS listen side: 0, TLS 1.3, the certificate it
 * shows is ours and verifies; 1, TLS 1.2 still accepted; 2, TLS 1.1 is
 * below the minimum and refused.
 */
START_TEST(test_s_client)
{
	static const char *const vers[] = { "", "-tls1_2",
	    "-tls1_1 -cipher DEFAULT@SECLEVEL=0" };
	static const char *const names[] = { "TLSv1.3)", "TLSv1.2)", NULL };
	struct tunnel	 t;
	struct e2e_proc	*sc;
	const char	*log, *b, *e;
	char		*ours;
	int		 code;

	tunnel_init(&t);
	{
		const char *const ex[] = { "--tls-cert", fpath("server.pem"),
		    "--tls-key", fpath("server.key"), NULL };

		t.l = start_listen("listen", t.tcp, t.b1, t.s, ex);
	}
	sc = spawn_sh("s_client", pstr("exec '%s' s_client -connect "
	    "127.0.0.1:%d -servername localhost -CAfile '%s' "
	    "-verify_return_error -showcerts %s 1>&2", openssl_bin, t.tcp,
	    fpath("ca.pem"), vers[_i]));
	code = e2e_wait_exit(sc, E2E_READY_MS);
	log = e2e_log(sc, NULL);
	if (names[_i] == NULL) {
		require(wait_line(t.l, "TLS handshake failed", NULL, 0,
		    E2E_READY_MS) != -1, "a TLS 1.1 client: the listen side "
		    "logged no failed handshake");
		require(e2e_find_line(t.l, "peer 127.0.0.1:", "TLS handshake "
		    "failed", 0) != -1, "the failure line does not name the "
		    "peer as \"peer 127.0.0.1:PORT: \"");
		require(e2e_find_line(t.l, "-> up", NULL, 0) == -1, "a TLS 1.1 "
		    "client was taken as a peer");
		require(code != 0, "s_client -tls1_1 exited %d: it connected",
		    code);
		return;
	}
	require(code == 0, "s_client exited %d, not 0", code);
	require(strstr(log, "Verify return code: 0 (ok)") != NULL,
	    "s_client did not verify our certificate");
	/* The first certificate it shows is the one in our file. */
	ours = read_file(fpath("server.pem"), NULL);
	require(ours != NULL, "cannot read server.pem");
	b = strstr(log, "-----BEGIN CERTIFICATE-----");
	e = b == NULL ? NULL : strstr(b, "-----END CERTIFICATE-----\n");
	require(e != NULL, "s_client showed no certificate");
	e += strlen("-----END CERTIFICATE-----\n");
	require((size_t)(e - b) == strlen(ours) &&
	    memcmp(b, ours, strlen(ours)) == 0, "the certificate s_client "
	    "was shown is not server.pem");
	free(ours);
	require(wait_line(t.l, "closed -> up (accepted, ", names[_i], 0,
	    E2E_READY_MS) != -1, "the listen side did not log the s_client "
	    "peer up with \"(accepted, %s\"", names[_i]);
}
END_TEST

/*
 * s_client against --tls-client-ca: 0, with a certificate of the client
 * CA, taken; 1, without one, and 2, with one of another CA, refused.
 */
START_TEST(test_s_client_mtls)
{
	struct tunnel	 t;
	struct e2e_proc	*sc;
	const char	*cert = "";

	tunnel_init(&t);
	{
		const char *const ex[] = { "--tls-cert", fpath("server.pem"),
		    "--tls-key", fpath("server.key"), "--tls-client-ca",
		    fpath("clientca.pem"), NULL };

		t.l = start_listen("listen", t.tcp, t.b1, t.s, ex);
	}
	if (_i == 0)
		cert = pstr("-cert '%s' -key '%s'", fpath("client.pem"),
		    fpath("client.key"));
	else if (_i == 2)
		cert = pstr("-cert '%s' -key '%s'", fpath("other-client.pem"),
		    fpath("other-client.key"));
	sc = spawn_sh("s_client", pstr("exec '%s' s_client -connect "
	    "127.0.0.1:%d -servername localhost -CAfile '%s' %s 1>&2",
	    openssl_bin, t.tcp, fpath("ca.pem"), cert));
	if (_i == 0) {
		require(wait_line(t.l, "closed -> up (accepted, ", "TLSv1.3",
		    0, E2E_READY_MS) != -1, "a client with a certificate of "
		    "the client CA was not taken");
		(void)e2e_wait_exit(sc, E2E_READY_MS);
		return;
	}
	require(wait_line(t.l, "TLS handshake failed", NULL, 0,
	    E2E_READY_MS) != -1, "a client %s: the listen side logged no "
	    "failed handshake", _i == 1 ? "without a certificate" :
	    "with another CA's certificate");
	(void)e2e_wait_exit(sc, E2E_READY_MS);
	require(e2e_find_line(t.l, "-> up", NULL, 0) == -1, "a client %s was "
	    "taken as a peer", _i == 1 ? "without a certificate" :
	    "with another CA's certificate");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Our connect side through TLS-terminating proxies, and s_server.     */

/*
 * Our connect side with TLS to a proxy that ends TLS and forwards plain
 * TCP to our plain listen side: 0, stunnel; 1, HAProxy.
 */
START_TEST(test_proxy)
{
	struct tunnel	 t;
	FILE		*f;
	const char	*conf;
	int		 port;

	tunnel_init(&t);
	port = proxy_port(t.tcp);
	t.l = start_listen("listen", t.tcp, t.b1, t.s, NULL);
	conf = fpath(_i == 0 ? "stunnel.conf" : "haproxy.cfg");
	f = fopen(conf, "w");
	require(f != NULL, "cannot write %s", conf);
	if (_i == 0) {
		fprintf(f, "foreground = yes\npid =\ndebug = 5\n"
		    "[uot]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
		    "cert = %s\nkey = %s\n", port, t.tcp, fpath("server.pem"),
		    fpath("server.key"));
	} else {
		fprintf(f, "global\n\tmaxconn 100\n"
		    "defaults\n\tmode tcp\n\ttimeout connect 5s\n"
		    "\ttimeout client 60s\n\ttimeout server 60s\n"
		    "frontend tls\n\tbind 127.0.0.1:%d ssl crt %s\n"
		    "\tdefault_backend uot\n"
		    "backend uot\n\tserver listen 127.0.0.1:%d\n", port,
		    fpath("server-full.pem"), t.tcp);
	}
	require(fclose(f) == 0, "cannot write %s", conf);
	if (_i == 0)
		(void)spawn_sh("stunnel", pstr("exec '%s' '%s' 1>&2",
		    stunnel_bin, conf));
	else
		(void)spawn_sh("haproxy", pstr("exec '%s' -db -f '%s' 1>&2",
		    haproxy_bin, conf));
	{
		const char *const ex[] = { "--tls-ca", fpath("ca.pem"),
		    "--tls-name", "localhost", NULL };

		/* It retries until the proxy listens: that is readiness. */
		t.t = start_connect("connect", port, t.b2, t.c, ex);
	}
	wait_up(&t, "(accepted)", pstr("(connected to 127.0.0.1:%d, TLSv1.",
	    port));
	{
		size_t	i;

		for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
			both_ways(&t, sizes[i], (uint32_t)(10 + 2 * i));
	}
	burst(&t, 77);
}
END_TEST

/*
 * Our connect side against openssl s_server: 0, serving the good server
 * certificate, it comes up (the control); 1, serving the same key in an
 * expired certificate, it is refused at every attempt.
 */
START_TEST(test_s_server)
{
	struct e2e_proc	*ss, *c;
	int		 port, b;

	port = proxy_port(0);
	b = e2e_free_port(SOCK_DGRAM);
	ss = spawn_sh("s_server", pstr("exec '%s' s_server -www -accept "
	    "127.0.0.1:%d -cert '%s' -key '%s' 1>&2", openssl_bin, port,
	    fpath(_i == 0 ? "server.pem" : "expired.pem"),
	    fpath("server.key")));
	require(e2e_wait_log(ss, "ACCEPT", 0, E2E_READY_MS) != -1,
	    "s_server did not start");
	{
		const char *const ex[] = { "--tls-ca", fpath("ca.pem"),
		    "--tls-name", "localhost", NULL };

		c = start_connect("connect", port, b,
		    e2e_udp_port(test_socket()), ex);
	}
	if (_i == 0) {
		require(wait_line(c, "connecting -> up (connected to ",
		    "TLSv1.3)", 0, E2E_READY_MS) != -1, "our connect side did "
		    "not come up with s_server and a good certificate");
		return;
	}
	/* "TLS: certificate verify failed (certificate has expired)" */
	wait_refused(c, "verify failed", "an expired server certificate");
	require(e2e_find_line(c, "-> backoff", "expired", 0) != -1, "the "
	    "failure lines do not say the certificate expired");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Our two sides, directly.                                            */

/* TLS both ends in fixed mode, in each framing: sizes and a burst. */
START_TEST(test_direct_fixed)
{
	static const char *const framings[] = { "flow", "len32", "len16" };
	struct tunnel	t;
	size_t		i;

	tunnel_init(&t);
	{
		const char *const ex[] = { "--tls-cert", fpath("server.pem"),
		    "--tls-key", fpath("server.key"), "--framing",
		    framings[_i], NULL };

		t.l = start_listen("listen", t.tcp, t.b1, t.s, ex);
	}
	{
		const char *const ex[] = { "--tls-ca", fpath("ca.pem"),
		    "--tls-name", "localhost", "--framing", framings[_i],
		    NULL };

		t.t = start_connect("connect", t.tcp, t.b2, t.c, ex);
	}
	wait_up(&t, "(accepted, TLSv1.3)", pstr("(connected to "
	    "127.0.0.1:%d, TLSv1.3)", t.tcp));
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		both_ways(&t, sizes[i], (uint32_t)(200 + 2 * i));
	burst(&t, 1000 + (uint32_t)_i);
}
END_TEST

/*
 * TLS both ends in auto mode: two clients, each its own flow (its own
 * source at the server), datagrams of many sizes both ways, each back to
 * the client it belongs to.
 */
START_TEST(test_direct_auto)
{
	static const size_t asizes[] = { 1200, E2E_MAX_DGRAM, 0, 1, 1472,
	    8192, 1200 };
	struct e2e_proc	*l, *c;
	char		 what[96];
	int		 tcp, b, sfd, s, cl[2], src[2] = { -1, -1 };
	size_t		 i, k;
	ssize_t		 n;
	int		 from;

	sfd = test_socket();
	s = e2e_udp_port(sfd);
	cl[0] = test_socket();
	cl[1] = test_socket();
	tcp = e2e_free_port(SOCK_STREAM);
	b = e2e_free_port(SOCK_DGRAM);
	{
		const char *const ex[] = { "--tls-cert", fpath("server.pem"),
		    "--tls-key", fpath("server.key"), NULL };

		l = start_listen("listen", tcp, 0, s, ex);
	}
	{
		const char *const ex[] = { "--tls-ca", fpath("ca.pem"),
		    "--tls-name", "localhost", NULL };

		c = start_connect("connect", tcp, b, 0, ex);
	}
	require(wait_line(c, "-> up (connected to ", "TLSv1.3)", 0,
	    E2E_READY_MS) != -1, "the connect side did not come up with "
	    "TLSv1.3");
	require(wait_line(l, "-> up (accepted, ", "TLSv1.3)", 0,
	    E2E_READY_MS) != -1, "the listen side did not log its TLSv1.3 "
	    "peer up");
	for (i = 0; i < sizeof asizes / sizeof asizes[0]; i++) {
		for (k = 0; k < 2; k++) {
			snprintf(what, sizeof what, "client %zu to server, "
			    "%zu bytes", k, asizes[i]);
			e2e_fill(want, asizes[i], (uint32_t)(300 + 10 * i + k));
			require(e2e_udp_send(cl[k], b, want, asizes[i]) == 0,
			    "%s: cannot send", what);
			n = e2e_udp_recv(sfd, got, sizeof got, &from,
			    E2E_RECV_MS);
			require(n != -1, "%s: nothing arrived (%s)", what,
			    strerror(errno));
			require((size_t)n == asizes[i] && memcmp(got, want,
			    asizes[i]) == 0, "%s: %zd other bytes arrived",
			    what, n);
			if (src[k] == -1)
				src[k] = from;
			require(from == src[k], "%s: from port %d, not from "
			    "the flow's %d", what, from, src[k]);
			require(src[0] != src[1], "%s: both clients' flows "
			    "came from port %d", what, from);
			snprintf(what, sizeof what, "server to client %zu, "
			    "%zu bytes", k, asizes[i]);
			e2e_fill(want, asizes[i], (uint32_t)(600 + 10 * i + k));
			require(e2e_udp_send(sfd, from, want, asizes[i]) == 0,
			    "%s: cannot send", what);
			expect(cl[k], b, want, asizes[i], what);
		}
	}
	/* And nothing went to the other client. */
	require(e2e_udp_recv(cl[0], got, sizeof got, NULL, 0) == -1 &&
	    e2e_udp_recv(cl[1], got, sizeof got, NULL, 0) == -1,
	    "a reply went to a client it was not for");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Verifying the server: CA, name, pins.                               */

struct vcase {
	const char	*cert;		/* what the listen side serves */
	const char	*opts[8];	/* "@file": a file; "=pin": a pin */
	const char	*why;		/* NULL: must come up; else refused */
	const char	*what;
};

static const struct vcase vcases[] = {
	{ "server", { "--tls-ca", "@ca.pem", "--tls-name", "localhost" },
	    NULL, "CA and name" },
	{ "server", { "--tls-ca", "@ca.pem" }, NULL,
	    "CA, the name from --tcp-connect 127.0.0.1 (SAN IP)" },
	{ "server", { "--tls-ca", "@ca.pem", "--tls-name", "other.example" },
	    "verify failed", "--tls-name other.example" },
	{ "wrong", { "--tls-ca", "@ca.pem", "--tls-name", "localhost" },
	    "verify failed", "a certificate for another name" },
	{ "server", { "--tls-ca", "@otherca.pem", "--tls-name",
	    "localhost" }, "verify failed", "another CA" },
	{ "server", { "--tls", "--tls-name", "localhost" }, "verify failed",
	    "the system's trust store, which lacks our CA" },
	{ "self", { "--tls-pin", "=self" }, NULL, "a matching pin" },
	{ "self", { "--tls-pin", "=self2", "--tls-pin", "=self" }, NULL,
	    "the second of two pins matching" },
	{ "self", { "--tls-pin", "=self2" }, "matches no --tls-pin",
	    "a pin that does not match" },
	{ "server", { "--tls-ca", "@ca.pem", "--tls-name", "localhost",
	    "--tls-pin", "=server" }, NULL, "CA and pin both holding" },
	{ "server", { "--tls-ca", "@ca.pem", "--tls-name", "localhost",
	    "--tls-pin", "=self" }, "matches no --tls-pin",
	    "CA holding, pin not" },
	{ "self", { "--tls-ca", "@ca.pem", "--tls-name", "localhost",
	    "--tls-pin", "=self" }, "TLS:", "pin holding, CA not" },
};

static const char *
pin_of(const char *name)
{
	if (strcmp(name, "self") == 0)
		return (pin_self);
	if (strcmp(name, "self2") == 0)
		return (pin_self2);
	return (pin_server);
}

START_TEST(test_verify)
{
	const struct vcase	*v = &vcases[_i];
	struct tunnel		 t;
	struct argv		 a = { { NULL }, 0 };
	const char		*o;
	size_t			 i;

	fprintf(stderr, "check_e2e_tls: verify %d: %s\n", _i, v->what);
	tunnel_init(&t);
	{
		const char *const ex[] = { "--tls-cert",
		    fpath(pstr("%s.pem", v->cert)), "--tls-key",
		    fpath(pstr("%s.key", v->cert)), NULL };

		t.l = start_listen("listen", t.tcp, t.b1, t.s, ex);
	}
	for (i = 0; (o = v->opts[i]) != NULL; i++) {
		if (o[0] == '@')
			av_add(&a, fpath(o + 1));
		else if (o[0] == '=')
			av_add(&a, pin_of(o + 1));
		else
			av_add(&a, o);
	}
	t.t = start_connect("connect", t.tcp, t.b2, t.c,
	    (const char *const *)a.v);
	if (v->why == NULL) {
		wait_up(&t, "(accepted, TLSv1.3)", "TLSv1.3)");
		both_ways(&t, 1200, 40 + (uint32_t)_i);
		return;
	}
	/* Sent before and while it tries: it must never reach S. */
	require(e2e_udp_send(t.cfd, t.b2, "never", 5) == 0, "cannot send");
	wait_refused(t.t, v->why, v->what);
	if (strcmp(v->why, "matches no --tls-pin") == 0)
		require(e2e_find_line(t.t, "-> backoff", pstr("the server's key "
		    "%s matches no --tls-pin", pin_of(v->cert)), 0) != -1,
		    "%s: the failure line does not name the server's key "
		    "as \"the server's key %s\"", v->what, pin_of(v->cert));
	require(e2e_find_line(t.l, "-> up", NULL, 0) == -1, "%s: the listen side "
	    "took the refusing connect side as a peer", v->what);
	require(e2e_udp_recv(t.sfd, got, sizeof got, NULL, 0) == -1,
	    "%s: a datagram reached the server", v->what);
}
END_TEST

/* --print-pin, and the openssl pipeline of the spec, agree. */
START_TEST(test_print_pin)
{
	static const char *const certs[] = { "self", "self2", "server" };
	struct e2e_proc	*p;
	const char	*log, *want_pin;
	size_t		 len;
	int		 code;

	want_pin = pin_of(certs[_i]);
	/* Its stdout into the pipe the harness reads, its stderr away. */
	p = spawn_sh("print-pin", pstr("exec '%s' --tls-cert '%s' "
	    "--print-pin 1>&2 2>/dev/null", e2e_binary(),
	    fpath(pstr("%s.pem", certs[_i]))));
	code = e2e_wait_exit(p, E2E_EXIT_MS);
	log = e2e_log(p, &len);
	require(code == 0, "--print-pin exited %d", code);
	require(len > 0 && log[len - 1] == '\n' && memchr(log, '\n', len) ==
	    log + len - 1, "--print-pin printed not one line: %s", log);
	require(len - 1 == strlen(want_pin) && memcmp(log, want_pin, len - 1)
	    == 0, "--print-pin printed %.*s, the openssl pipeline %s",
	    (int)(len - 1), log, want_pin);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Mutual TLS, hostile peers.                                          */

/*
 * --tls-client-ca on an auto-mode listen side: a connect side with a
 * client certificate of that CA exchanges datagrams and loses none; one
 * without a certificate and one with another CA's are refused, over and
 * over, and nothing their clients send ever reaches the server.
 */
START_TEST(test_mtls)
{
	static unsigned char	 bad[64];
	struct e2e_proc		*l, *c, *n1, *n2;
	long long		 until, next = 0;
	int			 tcp, b, bn1, bn2, fn1, fn2;
	uint32_t		 seq = 0;

	echo_start();
	tcp = e2e_free_port(SOCK_STREAM);
	b = e2e_free_port(SOCK_DGRAM);
	bn1 = e2e_free_port(SOCK_DGRAM);
	bn2 = e2e_free_port(SOCK_DGRAM);
	{
		const char *const ex[] = { "--tls-cert", fpath("server.pem"),
		    "--tls-key", fpath("server.key"), "--tls-client-ca",
		    fpath("clientca.pem"), NULL };

		l = start_listen("listen", tcp, 0, eport, ex);
	}
	{
		const char *const ex[] = { "--tls-ca", fpath("ca.pem"),
		    "--tls-name", "localhost", "--tls-cert",
		    fpath("client.pem"), "--tls-key", fpath("client.key"),
		    NULL };

		c = start_connect("good", tcp, b, 0, ex);
	}
	require(wait_line(c, "-> up", NULL, 0, E2E_READY_MS) != -1,
	    "mtls: the connect side with a client certificate did not come "
	    "up");
	require(wait_line(l, "closed -> up (accepted, ", "TLSv1.3", 0,
	    E2E_READY_MS) != -1, "mtls: the listen side did not take the "
	    "peer with a client certificate");
	good_add(b);
	good_add(b);
	good_on = 1;
	require(good_wait_reply(0, E2E_RECV_MS) != -1, "mtls: no reply "
	    "through the authenticated peer");
	{
		const char *const ex[] = { "--tls-ca", fpath("ca.pem"),
		    "--tls-name", "localhost", NULL };

		n1 = start_connect("no-cert", tcp, bn1, 0, ex);
	}
	{
		const char *const ex[] = { "--tls-ca", fpath("ca.pem"),
		    "--tls-name", "localhost", "--tls-cert",
		    fpath("other-client.pem"), "--tls-key",
		    fpath("other-client.key"), NULL };

		n2 = start_connect("other-ca", tcp, bn2, 0, ex);
	}
	fn1 = test_socket();
	fn2 = test_socket();
	/* Their clients send all along, until each failed three times. */
	until = e2e_now_ms() + E2E_READY_MS;
	while (e2e_count_lines(n1, "-> backoff", NULL, 0) < 3 ||
	    e2e_count_lines(n2, "-> backoff", NULL, 0) < 3) {
		require(e2e_now_ms() < until, "mtls: the refused connect "
		    "sides did not fail three times each (%d, %d)",
		    e2e_count_lines(n1, "-> backoff", NULL, 0),
		    e2e_count_lines(n2, "-> backoff", NULL, 0));
		if (e2e_now_ms() >= next) {
			next = e2e_now_ms() + 20;
			e2e_put32(bad, MAGIC_BAD);
			e2e_put32(bad + 4, seq++);
			require(e2e_udp_send(fn1, bn1, bad, sizeof bad) == 0 &&
			    e2e_udp_send(fn2, bn2, bad, sizeof bad) == 0,
			    "mtls: cannot send");
		}
		pump(TICK_MS);
	}
	good_finish("mtls");
	/* Their clients' datagrams were taken by the refused sides. */
	require(stats_count(n1, "udp in") > 0 && stats_count(n2, "udp in") >
	    0, "mtls: the refused connect sides got none of their clients' "
	    "datagrams: the test proves nothing");
	require(echo_bad == 0, "mtls: %lu datagrams of refused peers reached "
	    "the server", echo_bad);
	require(echo_other == 0, "mtls: %lu unknown datagrams reached the "
	    "server", echo_other);
	require(e2e_find_line(l, "TLS handshake failed", NULL, 0) != -1,
	    "mtls: the listen side logged no failed handshake");
	require(e2e_count_lines(l, "-> up", NULL, 0) == 1, "mtls: the listen "
	    "side took %d peers, not only the one with a good certificate",
	    e2e_count_lines(l, "-> up", NULL, 0));
	require(e2e_find_line(c, "up -> ", NULL, 0) == -1, "mtls: the good link "
	    "went down");
}
END_TEST

/*
 * Beside a good TLS peer that exchanges datagrams all along, on an
 * auto-mode listen side with --max-peers 1: a connection that never
 * sends (a stalled handshake) and one that sends a frame in the clear.
 * The plain one is refused at once and its frame goes nowhere; the
 * stalled one takes no peer place (the good peer comes up while it is
 * pending) and is closed after the 10 s bound; the good peer loses
 * nothing.
 */
START_TEST(test_stalled)
{
	unsigned char		 frame[128], bad[32];
	struct e2e_proc		*l, *c;
	char			 pat[96];
	long long		 deadline, took;
	size_t			 len;
	int			 tcp, b, st, pl;

	echo_start();
	tcp = e2e_free_port(SOCK_STREAM);
	b = e2e_free_port(SOCK_DGRAM);
	{
		const char *const ex[] = { "--tls-cert", fpath("server.pem"),
		    "--tls-key", fpath("server.key"), "--max-peers", "1",
		    NULL };

		l = start_listen("listen", tcp, 0, eport, ex);
	}
	st = raw_connect(tcp);
	pl = raw_connect(tcp);
	e2e_put32(bad, MAGIC_BAD);
	memcpy(bad + 4, "in the clear", 12);
	len = frame_make(frame, 40000, bad, 16);
	raw_write(raws[pl].fd, frame, len);

	{
		const char *const ex[] = { "--tls-ca", fpath("ca.pem"),
		    "--tls-name", "localhost", NULL };

		c = start_connect("good", tcp, b, 0, ex);
	}
	require(wait_line(c, "-> up", NULL, 0, E2E_READY_MS) != -1,
	    "stalled: the good connect side did not come up");
	require(wait_line(l, "closed -> up (accepted, ", "TLSv1.3)", 0,
	    E2E_READY_MS) != -1, "stalled: the listen side did not take the "
	    "good peer");
	raw_input(&raws[st]);
	require(!raws[st].closed, "stalled: the stalled connection was closed "
	    "after %lld ms, before the good peer came up",
	    raws[st].closed_ms - raws[st].opened_ms);
	good_add(b);
	good_add(b);
	good_on = 1;
	took = good_wait_reply(0, E2E_RECV_MS);
	require(took != -1, "stalled: no reply through the good peer while "
	    "a handshake is pending (--max-peers 1)");

	/* The plain client: refused, named, closed. */
	snprintf(pat, sizeof pat, "peer 127.0.0.1:%d: TLS handshake failed",
	    raws[pl].port);
	require(wait_line(l, pat, NULL, 0, E2E_READY_MS) != -1,
	    "stalled: no \"%s\" line for the plain-TCP client", pat);
	deadline = e2e_now_ms() + E2E_READY_MS;
	while (!raws[pl].closed) {
		require(e2e_now_ms() < deadline, "stalled: the plain-TCP "
		    "client was not closed");
		pump(TICK_MS);
	}

	/* The stalled one: closed after the bound, not before. */
	deadline = raws[st].opened_ms + HANDSHAKE_MS + E2E_READY_MS;
	while (!raws[st].closed) {
		require(e2e_now_ms() < deadline, "stalled: a handshake that "
		    "never began was still open after %lld ms",
		    e2e_now_ms() - raws[st].opened_ms);
		pump(TICK_MS);
	}
	took = raws[st].closed_ms - raws[st].opened_ms;
	fprintf(stderr, "check_e2e_tls: stalled: closed after %lld ms\n",
	    took);
	require(took >= HANDSHAKE_MS - 500, "stalled: closed after %lld ms, "
	    "before the %d ms bound", took, HANDSHAKE_MS);
	snprintf(pat, sizeof pat, "peer 127.0.0.1:%d: TLS handshake timed "
	    "out after 10 s", raws[st].port);
	require(wait_line(l, pat, NULL, 0, E2E_READY_MS) != -1,
	    "stalled: no \"%s\" line", pat);

	/* The good peer goes on a little after that, and lost nothing. */
	deadline = e2e_now_ms() + 300;
	while (e2e_now_ms() < deadline)
		pump(TICK_MS);
	good_finish("stalled");
	require(echo_bad == 0 && echo_other == 0, "stalled: %lu datagrams of "
	    "the plain-TCP client reached the server", echo_bad +
	    echo_other);
	require(e2e_find_line(l, "(--max-peers)", NULL, 0) == -1 &&
	    e2e_find_line(l, "room made", NULL, 0) == -1, "stalled: a pending "
	    "handshake counted against --max-peers");
	require(e2e_count_lines(l, "-> up", NULL, 0) == 1, "stalled: the listen "
	    "side took %d peers, not only the good one",
	    e2e_count_lines(l, "-> up", NULL, 0));
	require(e2e_find_line(c, "up -> ", NULL, 0) == -1, "stalled: the good "
	    "link went down");
}
END_TEST

/*
 * PENDING_MAX + 1 connections that never send: the first is pushed out
 * at once (long before the handshake bound), the others stay pending,
 * and a good peer still comes up and gets its datagrams through.
 */
START_TEST(test_pending_limit)
{
	struct e2e_proc	*l, *c;
	long long	 deadline, took;
	int		 tcp, b, i;

	echo_start();
	tcp = e2e_free_port(SOCK_STREAM);
	b = e2e_free_port(SOCK_DGRAM);
	{
		const char *const ex[] = { "--tls-cert", fpath("server.pem"),
		    "--tls-key", fpath("server.key"), NULL };

		l = start_listen("listen", tcp, 0, eport, ex);
	}
	for (i = 0; i < PENDING_MAX + 1; i++)
		(void)raw_connect(tcp);
	deadline = raws[0].opened_ms + HANDSHAKE_MS / 2;
	while (!raws[0].closed) {
		require(e2e_now_ms() < deadline, "pending: the oldest of %d "
		    "pending handshakes was not pushed out within %d ms",
		    PENDING_MAX + 1, HANDSHAKE_MS / 2);
		pump(TICK_MS);
	}
	took = raws[0].closed_ms - raws[0].opened_ms;
	fprintf(stderr, "check_e2e_tls: pending: the oldest was closed after "
	    "%lld ms\n", took);
	{
		const char *const ex[] = { "--tls-ca", fpath("ca.pem"),
		    "--tls-name", "localhost", NULL };

		c = start_connect("good", tcp, b, 0, ex);
	}
	require(wait_line(c, "-> up", NULL, 0, E2E_READY_MS) != -1,
	    "pending: the good connect side did not come up beside %d "
	    "pending handshakes", PENDING_MAX);
	good_add(b);
	good_on = 1;
	require(good_wait_reply(0, E2E_RECV_MS) != -1, "pending: no reply "
	    "through the good peer");
	good_finish("pending");
	/*
	 * None but the first (pushed out by the last raw one) and the
	 * second (pushed out by the good peer's handshake) was closed.
	 */
	for (i = 2; i < PENDING_MAX + 1; i++) {
		raw_input(&raws[i]);
		require(!raws[i].closed || raws[i].closed_ms -
		    raws[i].opened_ms >= HANDSHAKE_MS - 500, "pending: "
		    "handshake %d of %d was closed after %lld ms, though at "
		    "most one more than %d was pending", i, PENDING_MAX + 1,
		    raws[i].closed_ms - raws[i].opened_ms, PENDING_MAX);
	}
	require(e2e_find_line(l, "up -> ", NULL, 0) == -1, "pending: the good "
	    "link went down");
}
END_TEST

/*
 * Fixed mode: a new connection replaces the current peer only once it
 * is authenticated. A stalled handshake and a plain-TCP client arrive
 * while a TLS link is up; the link stays up and carries datagrams.
 */
START_TEST(test_fixed_replace)
{
	unsigned char	frame[64];
	struct tunnel	t;
	char		pat[96];
	size_t		lfrom, tfrom, len;
	int		st, pl;

	tunnel_init(&t);
	{
		const char *const ex[] = { "--tls-cert", fpath("server.pem"),
		    "--tls-key", fpath("server.key"), NULL };

		t.l = start_listen("listen", t.tcp, t.b1, t.s, ex);
	}
	{
		const char *const ex[] = { "--tls-ca", fpath("ca.pem"),
		    "--tls-name", "localhost", NULL };

		t.t = start_connect("connect", t.tcp, t.b2, t.c, ex);
	}
	wait_up(&t, "(accepted, TLSv1.3)", "TLSv1.3)");
	both_ways(&t, 500, 90);
	lfrom = e2e_log_len(t.l);
	tfrom = e2e_log_len(t.t);
	st = raw_connect(t.tcp);
	pl = raw_connect(t.tcp);
	len = frame_make(frame, 40000, "in the clear", 12);
	raw_write(raws[pl].fd, frame, len);
	snprintf(pat, sizeof pat, "peer 127.0.0.1:%d: TLS handshake failed",
	    raws[pl].port);
	require(wait_line(t.l, pat, NULL, lfrom, E2E_READY_MS) != -1,
	    "fixed_replace: no \"%s\" line", pat);
	both_ways(&t, 1200, 92);
	require(e2e_udp_recv(t.sfd, got, sizeof got, NULL, 0) == -1,
	    "fixed_replace: the plain client's frame reached the server");
	raw_input(&raws[st]);
	require(!raws[st].closed, "fixed_replace: the stalled handshake was "
	    "closed at once");
	require(e2e_find_line(t.l, "-> up", NULL, lfrom) == -1 &&
	    e2e_find_line(t.l, "up -> ", NULL, lfrom) == -1, "fixed_replace: "
	    "an unauthenticated connection replaced the peer");
	require(e2e_find_line(t.t, "up -> ", NULL, tfrom) == -1,
	    "fixed_replace: the connect side's link went down");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Wrong files and misuse: exit status 2 and one line.                 */

struct bcase {
	int		 listen;	/* 1: --tcp-listen; 0: --tcp-connect */
	const char	*opts[10];	/* "@file", "=pin" as in vcases */
	const char	*opt;		/* the line names this */
	const char	*file;		/* and this file (NULL: any) */
	const char	*alt;		/* or this one */
};

#define ZERO44 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static const struct bcase bcases[] = {
	/* Wrong files at start. */
	{ 1, { "--tls-cert", "@missing.pem" }, "--tls-cert", "missing.pem",
	    NULL },
	{ 1, { "--tls-cert", "@garbage.txt" }, "--tls-cert", "garbage.txt",
	    NULL },
	{ 1, { "--tls-cert", "@server.pem", "--tls-key", "@missing.key" },
	    "--tls-key", "missing.key", NULL },
	{ 1, { "--tls-cert", "@server.pem", "--tls-key", "@self.key" },
	    "--tls-", "self.key", "server.pem" },
	{ 1, { "--tls-cert", "@expired.pem", "--tls-key", "@server.key" },
	    "--tls-cert", "expired.pem", NULL },
	{ 1, { "--tls-cert", "@future.pem", "--tls-key", "@server.key" },
	    "--tls-cert", "future.pem", NULL },
	{ 1, { "--tls-cert", "@server.pem", "--tls-key", "@server.key",
	    "--tls-client-ca", "@missing-ca.pem" }, "--tls-client-ca",
	    "missing-ca.pem", NULL },
	{ 1, { "--tls-cert", "@server.pem", "--tls-key", "@server.key",
	    "--tls-client-ca", "@server.key" }, "--tls-client-ca",
	    "server.key", NULL },
	{ 0, { "--tls-ca", "@missing-ca.pem" }, "--tls-ca",
	    "missing-ca.pem", NULL },
	{ 0, { "--tls-ca", "@server.key" }, "--tls-ca", "server.key", NULL },
	{ 0, { "--tls-ca", "@ca.pem", "--tls-cert", "@client.pem",
	    "--tls-key", "@server.key" }, "--tls-", "server.key",
	    "client.pem" },
	/* Misuse. */
	{ 1, { "--tls" }, "--tls", NULL, NULL },
	{ 1, { "--tls-ca", "@ca.pem" }, "--tls-ca", NULL, NULL },
	{ 1, { "--tls-pin", "=self" }, "--tls-pin", NULL, NULL },
	{ 1, { "--tls-name", "localhost" }, "--tls-name", NULL, NULL },
	{ 0, { "--tls-ca", "@ca.pem", "--tls-client-ca", "@clientca.pem" },
	    "--tls-client-ca", NULL, NULL },
	{ 1, { "--tls-client-ca", "@clientca.pem" }, "--tls-", NULL, NULL },
	{ 1, { "--tls-key", "@server.key" }, "--tls-", NULL, NULL },
	{ 0, { "--tls-pin", "sha256:short" }, "--tls-pin", NULL, NULL },
	{ 0, { "--tls-pin", "md5:" ZERO44 }, "--tls-pin", NULL, NULL },
	/* 44 base64 characters without padding: 33 bytes, not 32. */
	{ 0, { "--tls-pin", "sha256:" ZERO44 }, "--tls-pin", NULL, NULL },
};

START_TEST(test_bad_start)
{
	const struct bcase	*bc = &bcases[_i];
	struct argv		 a = { { NULL }, 0 };
	struct e2e_proc		*p;
	const char		*log, *o;
	size_t			 len, i;
	int			 code;

	av_add(&a, bc->listen ? "--tcp-listen" : "--tcp-connect");
	av_add(&a, pstr("127.0.0.1:%d", e2e_free_port(SOCK_STREAM)));
	av_add(&a, "--udp-bind");
	av_add(&a, pstr("127.0.0.1:%d", e2e_free_port(SOCK_DGRAM)));
	av_add(&a, "--udp-sendto");
	av_add(&a, pstr("127.0.0.1:%d", e2e_free_port(SOCK_DGRAM)));
	for (i = 0; (o = bc->opts[i]) != NULL; i++) {
		if (o[0] == '@')
			av_add(&a, fpath(o + 1));
		else if (o[0] == '=')
			av_add(&a, pin_of(o + 1));
		else
			av_add(&a, o);
	}
	p = spawn_uot("uot", &a);
	code = e2e_wait_exit(p, E2E_EXIT_MS);
	log = e2e_log(p, &len);
	fprintf(stderr, "check_e2e_tls: bad start %d: %s", _i, log);
	require(code == 2, "case %d: exit status %d, not 2", _i, code);
	require(len > 0 && log[len - 1] == '\n' && memchr(log, '\n', len) ==
	    log + len - 1, "case %d: not exactly one line on stderr", _i);
	require(strstr(log, bc->opt) != NULL, "case %d: the line does not "
	    "name %s", _i, bc->opt);
	if (bc->file != NULL)
		require(strstr(log, bc->file) != NULL || (bc->alt != NULL &&
		    strstr(log, bc->alt) != NULL), "case %d: the line does "
		    "not name the file %s%s%s", _i, bc->file, bc->alt ?
		    " or " : "", bc->alt ? bc->alt : "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* SIGHUP.                                                             */

/*
 * A new certificate (another key) in the files, SIGHUP: the link that
 * was up stays up and loses nothing; a new connection sees the new key
 * (a connect side pinning it comes up, one pinning the old one is
 * refused).
 */
START_TEST(test_reload)
{
	struct e2e_proc	*l, *c1, *c2, *c3;
	const char	*cert, *key;
	size_t		 from;
	int		 tcp, b1, b2, b3;

	echo_start();
	tcp = e2e_free_port(SOCK_STREAM);
	b1 = e2e_free_port(SOCK_DGRAM);
	b2 = e2e_free_port(SOCK_DGRAM);
	b3 = e2e_free_port(SOCK_DGRAM);
	cert = pstr("%s", fpath(pstr("reload-%d.pem", tcp)));
	key = pstr("%s", fpath(pstr("reload-%d.key", tcp)));
	put_file(fpath("self.pem"), cert);
	put_file(fpath("self.key"), key);
	{
		const char *const ex[] = { "--tls-cert", cert, "--tls-key",
		    key, NULL };

		l = start_listen("listen", tcp, 0, eport, ex);
	}
	{
		const char *const ex[] = { "--tls-pin", pin_self, NULL };

		c1 = start_connect("old", tcp, b1, 0, ex);
	}
	require(wait_line(c1, "-> up", NULL, 0, E2E_READY_MS) != -1,
	    "reload: the first connect side did not come up");
	good_add(b1);
	good_on = 1;
	require(good_wait_reply(0, E2E_RECV_MS) != -1, "reload: no reply "
	    "through the first link");

	put_file(fpath("self2.pem"), cert);
	put_file(fpath("self2.key"), key);
	from = e2e_log_len(l);
	require(e2e_signal(l, SIGHUP) == 0, "cannot signal the listen side");
	require(wait_line(l, "SIGHUP: TLS files reloaded", NULL, from,
	    E2E_READY_MS) != -1, "reload: no \"SIGHUP: TLS files reloaded\"");
	{
		const char *const ex[] = { "--tls-pin", pin_self2, NULL };

		c2 = start_connect("new", tcp, b2, 0, ex);
	}
	require(wait_line(c2, "-> up", NULL, 0, E2E_READY_MS) != -1,
	    "reload: a connect side pinning the new key did not come up");
	good_add(b2);
	require(good_wait_reply(1, E2E_RECV_MS) != -1, "reload: no reply "
	    "through the new link");
	{
		const char *const ex[] = { "--tls-pin", pin_self, NULL };

		c3 = start_connect("stale", tcp, b3, 0, ex);
	}
	wait_refused(c3, "matches no --tls-pin", "reload: a connect side "
	    "pinning the old key");
	require(good_wait_reply(0, E2E_RECV_MS) != -1, "reload: no reply "
	    "through the first link after the reload");
	good_finish("reload");
	require(e2e_find_line(c1, "up -> ", NULL, 0) == -1, "reload: the link "
	    "that was up went down");
	require(e2e_find_line(l, " -> closed", NULL, 0) == -1, "reload: the "
	    "listen side closed a link");
}
END_TEST

/*
 * A reload that cannot be done keeps the old files: a key that does not
 * match the certificate; then the matching one, and it is done.
 */
START_TEST(test_reload_bad)
{
	struct e2e_proc	*l, *c;
	const char	*cert, *key;
	size_t		 from;
	int		 tcp, b;

	tcp = e2e_free_port(SOCK_STREAM);
	b = e2e_free_port(SOCK_DGRAM);
	cert = pstr("%s", fpath(pstr("reload-%d.pem", tcp)));
	key = pstr("%s", fpath(pstr("reload-%d.key", tcp)));
	put_file(fpath("self.pem"), cert);
	put_file(fpath("self.key"), key);
	{
		const char *const ex[] = { "--tls-cert", cert, "--tls-key",
		    key, NULL };

		l = start_listen("listen", tcp, b,
		    e2e_udp_port(test_socket()), ex);
	}
	put_file(fpath("self2.key"), key);
	from = e2e_log_len(l);
	require(e2e_signal(l, SIGHUP) == 0, "cannot signal the listen side");
	require(wait_line(l, "SIGHUP: TLS files not reloaded, the old ones "
	    "stay", NULL, from, E2E_READY_MS) != -1, "reload_bad: no "
	    "\"SIGHUP: TLS files not reloaded, the old ones stay\"");
	{
		const char *const ex[] = { "--tls-pin", pin_self, NULL };

		c = start_connect("old-pin", tcp, e2e_free_port(SOCK_DGRAM),
		    e2e_free_port(SOCK_DGRAM), ex);
	}
	require(wait_line(c, "-> up", NULL, 0, E2E_READY_MS) != -1,
	    "reload_bad: the old certificate is not served any more");
	put_file(fpath("self2.pem"), cert);
	from = e2e_log_len(l);
	require(e2e_signal(l, SIGHUP) == 0, "cannot signal the listen side");
	require(wait_line(l, "SIGHUP: TLS files reloaded", NULL, from,
	    E2E_READY_MS) != -1, "reload_bad: the fixed files were not "
	    "reloaded");
	{
		const char *const ex[] = { "--tls-pin", pin_self2, NULL };

		c = start_connect("new-pin", tcp, e2e_free_port(SOCK_DGRAM),
		    e2e_free_port(SOCK_DGRAM), ex);
	}
	require(wait_line(c, "-> up", NULL, 0, E2E_READY_MS) != -1,
	    "reload_bad: the new certificate is not served");
}
END_TEST

/*
 * The connect side reads its CA file again on SIGHUP: refused while it
 * holds another CA, up at the next attempt once it holds ours.
 */
START_TEST(test_reload_connect)
{
	struct tunnel	 t;
	const char	*cafile;
	size_t		 from;

	tunnel_init(&t);
	cafile = pstr("%s", fpath(pstr("reload-ca-%d.pem", t.tcp)));
	put_file(fpath("otherca.pem"), cafile);
	{
		const char *const ex[] = { "--tls-cert", fpath("server.pem"),
		    "--tls-key", fpath("server.key"), NULL };

		t.l = start_listen("listen", t.tcp, t.b1, t.s, ex);
	}
	{
		const char *const ex[] = { "--tls-ca", cafile, "--tls-name",
		    "localhost", NULL };

		t.t = start_connect("connect", t.tcp, t.b2, t.c, ex);
	}
	wait_refused(t.t, "verify failed", "reload_connect: another CA");
	put_file(fpath("ca.pem"), cafile);
	from = e2e_log_len(t.t);
	require(e2e_signal(t.t, SIGHUP) == 0, "cannot signal the connect "
	    "side");
	require(wait_line(t.t, "SIGHUP: TLS files reloaded", NULL, from,
	    E2E_READY_MS) != -1, "reload_connect: no \"SIGHUP: TLS files "
	    "reloaded\"");
	wait_up(&t, "(accepted, TLSv1.3)", "TLSv1.3)");
	both_ways(&t, 1200, 94);
}
END_TEST

/* Without TLS, SIGHUP reloads nothing and ends nothing. */
START_TEST(test_sighup_plain)
{
	struct tunnel	t;

	tunnel_init(&t);
	t.l = start_listen("listen", t.tcp, t.b1, t.s, NULL);
	require(e2e_signal(t.l, SIGHUP) == 0, "cannot signal the listen side");
	require(wait_line(t.l, "SIGHUP: nothing to reload", NULL, 0,
	    E2E_READY_MS) != -1, "no \"SIGHUP: nothing to reload\"");
	t.t = start_connect("connect", t.tcp, t.b2, t.c, NULL);
	wait_up(&t, "(accepted)", NULL);
	both_ways(&t, 100, 5);
}
END_TEST

static Suite *
e2e_tls_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("e2e_tls");

	tc = tcase_create("listen");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_loop_test(tc, test_s_client, 0, 3);
	tcase_add_loop_test(tc, test_s_client_mtls, 0, 3);
	suite_add_tcase(s, tc);

	tc = tcase_create("connect");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_loop_test(tc, test_proxy, 0, 2);
	tcase_add_loop_test(tc, test_s_server, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("direct");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_loop_test(tc, test_direct_fixed, 0, 3);
	tcase_add_test(tc, test_direct_auto);
	tcase_add_loop_test(tc, test_verify, 0,
	    (int)(sizeof vcases / sizeof vcases[0]));
	tcase_add_loop_test(tc, test_print_pin, 0, 3);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_mtls);
	tcase_add_test(tc, test_stalled);
	tcase_add_test(tc, test_pending_limit);
	tcase_add_test(tc, test_fixed_replace);
	suite_add_tcase(s, tc);

	tc = tcase_create("start");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_loop_test(tc, test_bad_start, 0,
	    (int)(sizeof bcases / sizeof bcases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_reload_bad);
	tcase_add_test(tc, test_reload_connect);
	tcase_add_test(tc, test_sighup_plain);
	suite_add_tcase(s, tc);

	return (s);
}

/* ------------------------------------------------------------------ */
/* Set-up of the whole program: tools, certificates, pins.             */

/* The first of names found in PATH (and the sbin directories), or 0. */
static int
find_tool(char *out, size_t size, const char *const names[])
{
	const char	*path = getenv("PATH");
	char		 dirs[4096], *d, *save = NULL;
	size_t		 i;

	snprintf(dirs, sizeof dirs, "%s:/usr/local/sbin:/usr/sbin:/sbin",
	    path != NULL ? path : "/usr/bin:/bin");
	for (i = 0; names[i] != NULL; i++) {
		char	copy[4096];

		snprintf(copy, sizeof copy, "%s", dirs);
		for (d = strtok_r(copy, ":", &save); d != NULL;
		    d = strtok_r(NULL, ":", &save)) {
			snprintf(out, size, "%s/%s", *d ? d : ".", names[i]);
			if (access(out, X_OK) == 0)
				return (1);
		}
	}
	out[0] = '\0';
	return (0);
}

/* Whether the binary was built with TLS: "OpenSSL" in --version. */
static int
binary_has_tls(const char *bin)
{
	char	 cmd[PATH_MAX + 64], line[512];
	FILE	*f;
	int	 yes = 0;

	snprintf(cmd, sizeof cmd, "'%s' --version 2>&1", bin);
	if ((f = popen(cmd, "r")) == NULL)
		return (0);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strstr(line, "OpenSSL") != NULL)
			yes = 1;
	}
	pclose(f);
	return (yes);
}

/* The certificate material, made with openssl in dir ($1; $2 openssl). */
static const char gen_script[] =
"set -e\n"
"cd \"$1\"\n"
"O=\"$2\"\n"
"cat >x.cnf <<'EOF'\n"
"[req]\n"
"distinguished_name = dn\n"
"prompt = no\n"
"[dn]\n"
"CN = x\n"
"[ca_ext]\n"
"basicConstraints = critical,CA:TRUE\n"
"keyUsage = critical,keyCertSign,cRLSign\n"
"subjectKeyIdentifier = hash\n"
"[server_ext]\n"
"basicConstraints = critical,CA:FALSE\n"
"keyUsage = critical,digitalSignature\n"
"extendedKeyUsage = serverAuth\n"
"subjectAltName = DNS:localhost,IP:127.0.0.1\n"
"[wrong_ext]\n"
"basicConstraints = critical,CA:FALSE\n"
"keyUsage = critical,digitalSignature\n"
"extendedKeyUsage = serverAuth\n"
"subjectAltName = DNS:wrong.example\n"
"[client_ext]\n"
"basicConstraints = critical,CA:FALSE\n"
"keyUsage = critical,digitalSignature\n"
"extendedKeyUsage = clientAuth\n"
"[ca]\n"
"default_ca = testca\n"
"[testca]\n"
"database = ca.db/index.txt\n"
"new_certs_dir = ca.db\n"
"serial = ca.db/serial\n"
"default_md = sha256\n"
"policy = pol\n"
"copy_extensions = none\n"
"unique_subject = no\n"
"[pol]\n"
"commonName = supplied\n"
"EOF\n"
"K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
"ca() {\n"
"	\"$O\" req -config x.cnf -x509 $K -keyout \"$1.key\" -out \"$1.pem\" \\\n"
"	    -days 30 -subj \"/CN=$1\" -extensions ca_ext\n"
"}\n"
"csr() {\n"
"	\"$O\" req -config x.cnf -new $K -keyout \"$1.key\" -out \"$1.csr\" \\\n"
"	    -subj \"/CN=$2\"\n"
"}\n"
"sign() {\n"
"	\"$O\" x509 -req -in \"$1.csr\" -CA \"$2.pem\" -CAkey \"$2.key\" \\\n"
"	    -CAcreateserial -days 30 -extfile x.cnf -extensions \"$3\" \\\n"
"	    -out \"$1.pem\"\n"
"}\n"
"self() {\n"
"	\"$O\" req -config x.cnf -x509 $K -keyout \"$1.key\" -out \"$1.pem\" \\\n"
"	    -days 30 -subj \"/CN=$1\" -extensions server_ext\n"
"}\n"
"pin() {\n"
"	\"$O\" x509 -in \"$1\" -pubkey -noout | \"$O\" pkey -pubin -outform der |\n"
"	    \"$O\" dgst -sha256 -binary | \"$O\" enc -base64\n"
"}\n"
"ca ca; ca clientca; ca otherca\n"
"csr server localhost; sign server ca server_ext\n"
"cat server.pem server.key >server-full.pem\n"
"csr wrong wrong.example; sign wrong ca wrong_ext\n"
"csr client uot-client; sign client clientca client_ext\n"
"csr other-client uot-client; sign other-client otherca client_ext\n"
"self self; self self2\n"
"mkdir ca.db; : >ca.db/index.txt; echo 01 >ca.db/serial\n"
"\"$O\" ca -batch -config x.cnf -cert ca.pem -keyfile ca.key \\\n"
"    -in server.csr -startdate 20200101000000Z -enddate 20200201000000Z \\\n"
"    -extfile x.cnf -extensions server_ext -notext -out expired.pem\n"
"\"$O\" ca -batch -config x.cnf -cert ca.pem -keyfile ca.key \\\n"
"    -in server.csr -startdate 20990101000000Z -enddate 20991231000000Z \\\n"
"    -extfile x.cnf -extensions server_ext -notext -out future.pem\n"
"echo 'this is not PEM' >garbage.txt\n"
"pin self.pem >self.pin; pin self2.pem >self2.pin; pin server.pem >server.pin\n";

static int
read_pin(const char *name, char *out, size_t size)
{
	char	*data, *nl;

	if ((data = read_file(fpath(name), NULL)) == NULL)
		return (-1);
	if ((nl = strchr(data, '\n')) != NULL)
		*nl = '\0';
	snprintf(out, size, "sha256:%s", data);
	free(data);
	return (strlen(out) == 7 + 44 ? 0 : -1);
}

static int
make_certs(void)
{
	char	script[PATH_MAX + 16], cmd[5 * PATH_MAX];
	FILE	*f;
	int	status;

	snprintf(script, sizeof script, "%s/gen.sh", dir);
	if ((f = fopen(script, "w")) == NULL ||
	    fputs(gen_script, f) == EOF || fclose(f) != 0) {
		fprintf(stderr, "check_e2e_tls: cannot write %s\n", script);
		return (-1);
	}
	snprintf(cmd, sizeof cmd, "sh '%s' '%s' '%s' >'%s/gen.log' 2>&1",
	    script, dir, openssl_bin, dir);
	status = system(cmd);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "check_e2e_tls: making the certificates "
		    "failed; its output:\n");
		snprintf(cmd, sizeof cmd, "cat '%s/gen.log' >&2", dir);
		(void)system(cmd);
		return (-1);
	}
	if (read_pin("self.pin", pin_self, sizeof pin_self) == -1 ||
	    read_pin("self2.pin", pin_self2, sizeof pin_self2) == -1 ||
	    read_pin("server.pin", pin_server, sizeof pin_server) == -1) {
		fprintf(stderr, "check_e2e_tls: cannot read the pins\n");
		return (-1);
	}
	return (0);
}

static void
remove_dir(void)
{
	char	cmd[PATH_MAX + 32];

	if (dir[0] == '\0' || getenv("E2E_KEEP") != NULL)
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	(void)system(cmd);
}

int
main(void)
{
	static const char *const o_names[] = { "openssl", NULL };
	static const char *const s_names[] = { "stunnel4", "stunnel", NULL };
	static const char *const h_names[] = { "haproxy", NULL };
	const char	*bin, *tmp, *missing = NULL;
	SRunner		*sr;
	int		 failed;

	/* Never pass, or skip, quietly without the binary under test. */
	if ((bin = e2e_need_binary("check_e2e_tls")) == NULL)
		return (99);
	if (!binary_has_tls(bin)) {
		printf("check_e2e_tls: SKIP: %s is built without TLS (no "
		    "\"OpenSSL\" in --version)\n", bin);
		return (77);
	}
	if (!find_tool(openssl_bin, sizeof openssl_bin, o_names))
		missing = "openssl";
	else if (!find_tool(stunnel_bin, sizeof stunnel_bin, s_names))
		missing = "stunnel4";
	else if (!find_tool(haproxy_bin, sizeof haproxy_bin, h_names))
		missing = "haproxy";
	if (missing != NULL) {
		const char *ci = getenv("CI");

		if (ci != NULL && strcmp(ci, "true") == 0) {
			fprintf(stderr, "check_e2e_tls: %s is not installed\n",
			    missing);
			return (1);
		}
		printf("check_e2e_tls: SKIP: %s is not installed\n", missing);
		return (77);
	}
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(dir, sizeof dir, "%s/uot-tls.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "check_e2e_tls: mkdtemp %s: %s\n", dir,
		    strerror(errno));
		return (99);
	}
	if (make_certs() == -1) {
		remove_dir();
		return (99);
	}
	/* A raw peer the listen side closed must not kill us on write. */
	signal(SIGPIPE, SIG_IGN);

	sr = srunner_create(e2e_tls_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_dir();
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
