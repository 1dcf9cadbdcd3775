/*
 * check_e2e_auto.c - end-to-end tests of auto mode: the real binary on
 * loopback, many clients at once, each a flow of its own.
 *
 * The picture most tests use (ports are picked afresh for each test):
 *
 *   clients --> connect side ------TCP------> listen side --> echo server
 *   (cfd...)    -t T -u B -p 127.0.0.1:auto   -l T -u auto -p E   (efd)
 *
 * The echo server is a socket of the test itself, served in the same
 * poll() loop as the clients (serve()), so it can tell which source
 * address every request came from: in auto mode the listen side opens
 * one socket per flow, so the server must see one source per client.
 *
 * Every datagram carries a header (magic, tag, conversation, round,
 * sequence) and bytes derived from it; a conversation is one client
 * socket talking through one connect side. A reply that reaches any
 * other conversation, comes from the wrong port, is damaged or comes
 * twice fails the test at once.
 *
 * Readiness is always a log line ("listening on", "-> up", flow events
 * with -v, "stats flows:" after SIGUSR1) or a datagram; the only timed
 * waits are the windows in which something must NOT happen.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#define TEST_TIMEOUT	90	/* seconds per test, a backstop only */

#define MAXSOCKS	320
#define MAXPROCS	8
#define MAXCONVS	256	/* conversations (client socket, connect side) */
#define MAXSRC		512	/* distinct sources one echo server tracks */
#define MAXECHOS	2
#define MAXK		8	/* requests per conversation and round */
#define MAGIC		0x55414d31U	/* "UAM1" */
#define HDRLEN		20
#define TICK_MS		20	/* longest poll(): children's stderr is drained */
#define QUIET_MS	300	/* a window in which nothing must arrive */

#define NCLIENTS	200	/* test 1 */
#define SINK_TAG	99	/* a message the echo server keeps, never echoes */

/* The echo server: a socket of the test, served by serve(). */
struct echo {
	int			 fd;
	int			 family;
	struct sockaddr_storage	 src[MAXSRC];	/* distinct sources seen */
	size_t			 nsrc;
	int			 conv_src[MAXCONVS];	/* -1: not seen yet */
	int			 src_conv[MAXSRC];
	unsigned long		 moved;		/* a conversation, new source */
	unsigned long		 shared;	/* a source, second conversation */
	unsigned long		 echoed;
	unsigned long		 foreign;	/* not one of our datagrams */
	unsigned long		 sunk;		/* SINK_TAG messages kept */
	long long		 sunk_us;	/* when the last one came */
};

/* One client socket talking through one connect side (at port to). */
struct conv {
	int		 fd;
	int		 family;
	int		 port;		/* the client's own port */
	int		 to;		/* B: --udp-bind of its connect side */
	uint32_t	 tag;		/* which connect side, for messages */
	uint32_t	 round;
	uint32_t	 nsent;
	uint32_t	 nreplied;
	unsigned char	 replied[MAXK];
	long long	 sent_us[MAXK];
	long long	 rtt_us[MAXK];
};

/* What SIGUSR1 makes the binary say. */
struct fstats {
	unsigned long	 active, created, expired, refused;
	unsigned long	 no_flow;	/* summed over its "stats" lines */
};

static int			 socks[MAXSOCKS];
static int			 nsocks;
static struct e2e_proc		*procs[MAXPROCS];
static int			 nprocs;
static struct echo		*echos[MAXECHOS];
static int			 nechos;
static struct conv		 convs[MAXCONVS];
static int			 nconvs;
static unsigned char		 buf[E2E_BUFSIZE];

static long long now_us(void);
static void	 setup(void);
static void	 teardown(void);
static int	 keep_socket(int);
static int	 udp_socket(int, int);
static int	 can_bind6(int, int);
static int	 free_port(int, int);
static socklen_t loopback(int, int, struct sockaddr_storage *);
static int	 is_loopback(const struct sockaddr_storage *, int);
static int	 sa_port(const struct sockaddr_storage *);
static int	 sock_port(int);
static int	 sa_equal(const struct sockaddr_storage *,
		     const struct sockaddr_storage *);
static char	*hostport(char *, size_t, int, int);
static char	*autodest(char *, size_t, int);
static uint32_t msg_seed(uint32_t, uint32_t, uint32_t, uint32_t);
static size_t	 msg_make(unsigned char *, uint32_t, uint32_t, uint32_t,
		     uint32_t);
static int	 msg_check(const unsigned char *, size_t, uint32_t *,
		     uint32_t *, uint32_t *, uint32_t *);
static int	 sendto_port(int, int, int, const void *, size_t);
static struct e2e_proc *spawn(const char *, ...)
		     __attribute__((__sentinel__));
static struct e2e_proc *spawn_extra(const char *, char **,
		     const char *const []);
static struct e2e_proc *start_listen(const char *, int, int, int,
		     const char *const []);
static struct e2e_proc *start_connect(const char *, int, int, int,
		     const char *const []);
static void	 wait_up(struct e2e_proc *, struct e2e_proc *, size_t *);
static void	 drain_logs(void);
static ssize_t	 find_line(struct e2e_proc *, const char *, const char *,
		     size_t);
static ssize_t	 wait_line(struct e2e_proc *, const char *, const char *,
		     size_t, int);
static int	 count_lines(struct e2e_proc *, const char *, size_t);
static void	 get_stats(struct e2e_proc *, struct fstats *);
static void	 peer_of(struct e2e_proc *, const char *, char *, size_t);
static struct echo *echo_new(int);
static void	 echo_serve(struct echo *);
static int	 conv_new(int, int, uint32_t);
static int	 client_new(int, int, uint32_t);
static void	 conv_send(struct conv *);
static void	 conv_round(struct conv *);
static void	 client_input(int);
static void	 serve(int);
static void	 settle(int);
static void	 converse_set(const int *, int, uint32_t, int, const char *);
static void	 converse(int, int, uint32_t, int, const char *);
static long long roundtrip(int, const char *);
static long long median(const long long *, int);
static Suite	*e2e_auto_suite(void);

static long long
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static void
setup(void)
{
	/* Left over by a failed test in CK_NOFORK mode: show and kill. */
	e2e_cleanup(1);
	while (nsocks > 0)
		close(socks[--nsocks]);
	nprocs = 0;
	while (nechos > 0)
		free(echos[--nechos]);
	nconvs = 0;
}

static void
teardown(void)
{
	e2e_cleanup(0);
	while (nsocks > 0)
		close(socks[--nsocks]);
	nprocs = 0;
	while (nechos > 0)
		free(echos[--nechos]);
	nconvs = 0;
}

/* fd is the test's from now on: teardown closes it. */
static int
keep_socket(int fd)
{
	require(fd != -1, "cannot open a socket");
	require(nsocks < MAXSOCKS, "more than %d test sockets", MAXSOCKS);
	socks[nsocks++] = fd;
	return (fd);
}

/*
 * A UDP socket on the loopback address of family at port (0: any),
 * non-blocking, close-on-exec, with large buffers; kept for teardown.
 */
static int
udp_socket(int family, int port)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			fd, size = 4 * 1024 * 1024, on = 1;

	if (family == AF_INET)
		return (keep_socket(e2e_udp_socket(port)));
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	require(fd != -1, "socket(AF_INET6): %s", strerror(errno));
	keep_socket(fd);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	len = loopback(AF_INET6, port, &ss);
	require(bind(fd, (struct sockaddr *)&ss, len) == 0,
	    "bind udp [::1]:%d: %s", port, strerror(errno));
	return (fd);
}

/* Whether [::1]:port (0: any) can be bound for socktype now. */
static int
can_bind6(int socktype, int port)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			fd, ok, on = 1;

	if ((fd = socket(AF_INET6, socktype, 0)) == -1)
		return (0);
	(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	len = loopback(AF_INET6, port, &ss);
	ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
	close(fd);
	return (ok);
}

/* A port for the binary to bind on the loopback address of family. */
static int
free_port(int family, int socktype)
{
	int	port, tries;

	for (tries = 0; tries < 50; tries++) {
		port = e2e_free_port(socktype);
		require(port > 0, "no free port on 127.0.0.1");
		if (family == AF_INET || can_bind6(socktype, port))
			return (port);
	}
	require(0, "no port free on both 127.0.0.1 and ::1");
	return (-1);
}

static socklen_t
loopback(int family, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons((unsigned short)port);
		return (sizeof *sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons((unsigned short)port);
	return (sizeof *sin);
}

static int
is_loopback(const struct sockaddr_storage *ss, int family)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (ss->ss_family != family)
		return (0);
	if (family == AF_INET)
		return (sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	return (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
}

static int
sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return (ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
	return (ntohs(((const struct sockaddr_in *)ss)->sin_port));
}

/* The local port of a bound socket of either family. */
static int
sock_port(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof ss;

	require(getsockname(fd, (struct sockaddr *)&ss, &len) == 0,
	    "getsockname: %s", strerror(errno));
	return (sa_port(&ss));
}

static int
sa_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6	*a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return (0);
	if (a->ss_family == AF_INET)
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	return (a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof a6->sin6_addr) == 0);
}

/* e2e_hostport(), but on [::1] for AF_INET6: these tests run on both. */
static char *
hostport(char *s, size_t size, int family, int port)
{
	if (family != AF_INET6)
		return (e2e_hostport(s, size, port));
	snprintf(s, size, "[::1]:%d", port);
	return (s);
}

static char *
autodest(char *s, size_t size, int family)
{
	snprintf(s, size, family == AF_INET6 ? "[::1]:auto" :
	    "127.0.0.1:auto");
	return (s);
}

static uint32_t
msg_seed(uint32_t tag, uint32_t conv, uint32_t round, uint32_t seq)
{
	return (tag * 1000003U + conv * 10007U + round * 101U + seq);
}

/* A request of conversation conv: the header, then derived bytes. */
static size_t
msg_make(unsigned char *p, uint32_t tag, uint32_t conv, uint32_t round,
    uint32_t seq)
{
	uint32_t	seed = msg_seed(tag, conv, round, seq);
	size_t		len = HDRLEN + seed % 61;

	e2e_put32(p, MAGIC);
	e2e_put32(p + 4, tag);
	e2e_put32(p + 8, conv);
	e2e_put32(p + 12, round);
	e2e_put32(p + 16, seq);
	e2e_fill(p + HDRLEN, len - HDRLEN, seed);
	return (len);
}

/* 1 when p is a whole, undamaged message; its header in the rest. */
static int
msg_check(const unsigned char *p, size_t len, uint32_t *tag, uint32_t *conv,
    uint32_t *round, uint32_t *seq)
{
	static unsigned char	want[HDRLEN + 64];

	if (len < HDRLEN || e2e_get32(p) != MAGIC)
		return (0);
	*tag = e2e_get32(p + 4);
	*conv = e2e_get32(p + 8);
	*round = e2e_get32(p + 12);
	*seq = e2e_get32(p + 16);
	if (msg_make(want, *tag, *conv, *round, *seq) != len)
		return (0);
	return (memcmp(p, want, len) == 0);
}

/* One datagram from fd to the loopback address of family at port. */
static int
sendto_port(int fd, int family, int port, const void *p, size_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	struct pollfd		pfd;
	ssize_t			n;

	if (family == AF_INET)
		return (e2e_udp_send(fd, port, p, len));
	sslen = loopback(family, port, &ss);
	for (;;) {
		n = sendto(fd, p, len, 0, (struct sockaddr *)&ss, sslen);
		if (n >= 0)
			return ((size_t)n == len ? 0 : -1);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != ENOBUFS)
			return (-1);
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, E2E_RECV_MS) <= 0)
			return (-1);
	}
}

/* Start the binary with the arguments up to NULL; the test keeps track. */
static struct e2e_proc *
spawn(const char *name, ...)
{
	struct e2e_proc	*p;
	char		*args[40];
	va_list		 ap;
	size_t		 n = 0;
	char		*arg;

	va_start(ap, name);
	while ((arg = va_arg(ap, char *)) != NULL && n < 39)
		args[n++] = arg;
	va_end(ap);
	args[n] = NULL;
	require(nprocs < MAXPROCS, "more than %d processes", MAXPROCS);
	p = e2e_spawnv(name, args);
	require(p != NULL, "cannot start %s", name);
	procs[nprocs++] = p;
	return (p);
}

/* args, NULL-terminated, appended to base (NULL-terminated too). */
static struct e2e_proc *
spawn_extra(const char *name, char **base, const char *const extra[])
{
	struct e2e_proc	*p;
	char		*args[40];
	size_t		 n = 0, i;

	for (i = 0; base[i] != NULL && n < 39; i++)
		args[n++] = base[i];
	for (i = 0; extra != NULL && extra[i] != NULL && n < 39; i++)
		args[n++] = (char *)extra[i];
	args[n] = NULL;
	require(nprocs < MAXPROCS, "more than %d processes", MAXPROCS);
	p = e2e_spawnv(name, args);
	require(p != NULL, "cannot start %s", name);
	procs[nprocs++] = p;
	return (p);
}

/* A listen side in auto mode at tcp, towards the echo server at echo. */
static struct e2e_proc *
start_listen(const char *name, int family, int tcp, int echo,
    const char *const extra[])
{
	struct e2e_proc	*p;
	char		 t[64], e[64];
	char		*base[] = { "-l", t, "-u", "auto", "-p", e, "-v", NULL };

	hostport(t, sizeof t, family, tcp);
	hostport(e, sizeof e, family, echo);
	p = spawn_extra(name, base, extra);
	require(e2e_wait_log(p, "listening on", 0, E2E_READY_MS) != -1,
	    "%s did not say \"listening on\"", name);
	return (p);
}

/* A connect side in auto mode to tcp, its clients sending to bind. */
static struct e2e_proc *
start_connect(const char *name, int family, int tcp, int bind,
    const char *const extra[])
{
	char	 t[64], b[64], d[64];
	char	*base[] = { "-t", t, "-u", b, "-p", d, "-v",
	    "--backoff-min", "20", "--backoff-max", "200", NULL };

	hostport(t, sizeof t, family, tcp);
	hostport(b, sizeof b, family, bind);
	autodest(d, sizeof d, family);
	return (spawn_extra(name, base, extra));
}

/* The connect side t is up, and the listen side l logged the peer up. */
static void
wait_up(struct e2e_proc *l, struct e2e_proc *t, size_t *lup)
{
	ssize_t	off;

	off = e2e_wait_log(t, "-> up", 0, E2E_READY_MS);
	require(off != -1, "%s did not come up", e2e_name(t));
	if (l == NULL)
		return;
	off = e2e_wait_log(l, "-> up", *lup, E2E_READY_MS);
	require(off != -1, "%s did not log the peer %s up", e2e_name(l),
	    e2e_name(t));
	*lup = (size_t)off;
}

/* Read what every child wrote, so none blocks on a full pipe. */
static void
drain_logs(void)
{
	int	i;

	for (i = 0; i < nprocs; i++)
		(void)e2e_log(procs[i], NULL);
}

/*
 * The first whole line of p's stderr at or after offset from that holds
 * a and (unless NULL) b: the offset just past its end, -1 if none yet.
 */
static ssize_t
find_line(struct e2e_proc *p, const char *a, const char *b, size_t from)
{
	const char	*log, *m, *start, *end;
	size_t		 len;
	char		*line;
	int		 ok;

	log = e2e_log(p, &len);
	while (from < len && (m = strstr(log + from, a)) != NULL) {
		if ((end = strchr(m, '\n')) == NULL)
			return (-1);	/* not whole yet */
		for (start = m; start > log && start[-1] != '\n'; start--)
			;
		ok = 1;
		if (b != NULL) {
			line = strndup(start, (size_t)(end - start));
			require(line != NULL, "out of memory");
			ok = strstr(line, b) != NULL;
			free(line);
		}
		if (ok)
			return ((ssize_t)(end - log) + 1);
		from = (size_t)(end - log) + 1;
	}
	return (-1);
}

/*
 * Wait up to timeout ms for such a line, serving the echo servers and
 * clients meanwhile; -1 on timeout (the caller fails).
 */
static ssize_t
wait_line(struct e2e_proc *p, const char *a, const char *b, size_t from,
    int timeout)
{
	long long	deadline = e2e_now_ms() + timeout;
	ssize_t		off;

	for (;;) {
		if ((off = find_line(p, a, b, from)) != -1)
			return (off);
		if (e2e_now_ms() >= deadline) {
			fprintf(stderr, "check_e2e_auto: %s did not log a line "
			    "with \"%s\"%s%s%s within %d ms\n", e2e_name(p), a,
			    b ? " and \"" : "", b ? b : "", b ? "\"" : "",
			    timeout);
			return (-1);
		}
		serve(TICK_MS);
	}
}

/* Lines with pattern in p's stderr at or after from. */
static int
count_lines(struct e2e_proc *p, const char *pattern, size_t from)
{
	const char	*log, *m;
	size_t		 len;
	int		 n = 0;

	log = e2e_log(p, &len);
	while (from < len && (m = strstr(log + from, pattern)) != NULL) {
		n++;
		from = (size_t)(m - log) + strlen(pattern);
	}
	return (n);
}

/* SIGUSR1, then what its "stats" lines say. */
static void
get_stats(struct e2e_proc *p, struct fstats *st)
{
	const char	*log, *m;
	size_t		 from = e2e_log_len(p), len;
	ssize_t		 end;
	unsigned long	 n;

	memset(st, 0, sizeof *st);
	require(e2e_signal(p, SIGUSR1) == 0, "cannot signal %s",
	    e2e_name(p));
	end = wait_line(p, "stats flows: ", "refused", from, E2E_READY_MS);
	require(end != -1, "%s logged no \"stats flows:\" line after "
	    "SIGUSR1", e2e_name(p));
	log = e2e_log(p, &len);
	m = strstr(log + from, "stats flows: ");
	require(sscanf(m, "stats flows: active %lu, created %lu, expired "
	    "%lu, refused %lu", &st->active, &st->created, &st->expired,
	    &st->refused) == 4, "%s: cannot read its flow stats: %.120s",
	    e2e_name(p), m);
	/* The counters of each link (or peer) come before that line. */
	for (m = log + from; (m = strstr(m, "no flow ")) != NULL &&
	    m < log + end; m++) {
		require(sscanf(m, "no flow %lu", &n) == 1,
		    "%s: cannot read \"no flow\" in its stats", e2e_name(p));
		st->no_flow += n;
	}
}

/*
 * The peer name (as the listen side p calls it) in the line with
 * pattern, which reads "... (peer NAME)...".
 */
static void
peer_of(struct e2e_proc *p, const char *pattern, char *name, size_t size)
{
	const char	*log, *m, *e;
	size_t		 len;

	log = e2e_log(p, &len);
	m = strstr(log, pattern);
	require(m != NULL, "%s never said \"%s\"", e2e_name(p), pattern);
	m = strstr(m, "(peer ");
	require(m != NULL && (e = strchr(m, ')')) != NULL &&
	    (size_t)(e - m - 6) < size, "%s: no peer in its line \"%s\"",
	    e2e_name(p), pattern);
	snprintf(name, size, "%.*s", (int)(e - m - 6), m + 6);
}

/* An echo server on the loopback address of family, served by serve(). */
static struct echo *
echo_new(int family)
{
	struct echo	*e;
	int		 i;

	require(nechos < MAXECHOS, "too many echo servers");
	e = calloc(1, sizeof *e);
	require(e != NULL, "out of memory");
	echos[nechos++] = e;
	e->family = family;
	e->fd = udp_socket(family, 0);
	for (i = 0; i < MAXCONVS; i++)
		e->conv_src[i] = -1;
	return (e);
}

/* Echo all that waits, noting who sent each datagram. */
static void
echo_serve(struct echo *e)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	uint32_t		 tag, conv, round, seq;
	ssize_t			 n;
	size_t			 i;
	int			 ok;

	for (;;) {
		fromlen = sizeof from;
		n = recvfrom(e->fd, buf, sizeof buf, 0,
		    (struct sockaddr *)&from, &fromlen);
		if (n == -1 && (errno == EINTR || errno == ECONNREFUSED))
			continue;
		if (n == -1)
			return;
		for (i = 0; i < e->nsrc && !sa_equal(&e->src[i], &from); i++)
			;
		if (i == e->nsrc) {
			require(e->nsrc < MAXSRC, "echo: more than %d sources",
			    MAXSRC);
			e->src[i] = from;
			e->src_conv[i] = -1;
			e->nsrc++;
		}
		ok = msg_check(buf, (size_t)n, &tag, &conv, &round, &seq);
		if (ok && conv < MAXCONVS) {
			if (e->conv_src[conv] == -1)
				e->conv_src[conv] = (int)i;
			else if (e->conv_src[conv] != (int)i)
				e->moved++;
			if (e->src_conv[i] == -1)
				e->src_conv[i] = (int)conv;
			else if (e->src_conv[i] != (int)conv)
				e->shared++;
		} else
			e->foreign++;
		if (ok && tag == SINK_TAG) {
			e->sunk++;
			e->sunk_us = now_us();
			continue;
		}
		if (sendto(e->fd, buf, (size_t)n, 0, (struct sockaddr *)&from,
		    fromlen) == n)
			e->echoed++;
		else
			fprintf(stderr, "check_e2e_auto: echo: sendto: %s\n",
			    strerror(errno));
	}
}

/* A conversation of socket fd with the connect side bound at to. */
static int
conv_new(int fd, int to, uint32_t tag)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	struct conv		*c;

	require(nconvs < MAXCONVS, "more than %d conversations", MAXCONVS);
	c = &convs[nconvs];
	memset(c, 0, sizeof *c);
	require(getsockname(fd, (struct sockaddr *)&ss, &len) == 0,
	    "getsockname: %s", strerror(errno));
	c->fd = fd;
	c->family = ss.ss_family;
	c->port = sa_port(&ss);
	c->to = to;
	c->tag = tag;
	return (nconvs++);
}

/* A new client socket on the loopback of family and its conversation. */
static int
client_new(int family, int to, uint32_t tag)
{
	return (conv_new(udp_socket(family, 0), to, tag));
}

/* The next request of c. */
static void
conv_send(struct conv *c)
{
	unsigned char	p[HDRLEN + 64];
	size_t		len;
	uint32_t	seq = c->nsent;

	require(seq < MAXK, "conversation %d: too many requests",
	    (int)(c - convs));
	len = msg_make(p, c->tag, (uint32_t)(c - convs), c->round, seq);
	c->sent_us[seq] = now_us();
	c->nsent++;
	require(sendto_port(c->fd, c->family, c->to, p, len) == 0,
	    "client port %d: cannot send to port %d: %s", c->port, c->to,
	    strerror(errno));
}

/* A new round: the same conversation, counted afresh. */
static void
conv_round(struct conv *c)
{
	c->round++;
	c->nsent = c->nreplied = 0;
	memset(c->replied, 0, sizeof c->replied);
}

/*
 * Everything waiting on client socket fd: each datagram must come from
 * the loopback address, from the port of a connect side this socket
 * talks to, and be the reply to a request of exactly that conversation.
 */
static void
client_input(int fd)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	struct conv		*c;
	uint32_t		 tag, conv, round, seq;
	ssize_t			 n;
	int			 i, port = -1, src;

	for (;;) {
		fromlen = sizeof from;
		n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from,
		    &fromlen);
		if (n == -1 && (errno == EINTR || errno == ECONNREFUSED))
			continue;
		if (n == -1)
			return;
		src = sa_port(&from);
		for (i = 0; i < nconvs; i++) {
			if (convs[i].fd == fd) {
				port = convs[i].port;
				if (convs[i].to == src)
					break;
			}
		}
		require(i < nconvs && is_loopback(&from, convs[i].family),
		    "client port %d: a datagram (%zd bytes) from port %d, "
		    "which is none of the connect sides it sent to", port, n,
		    src);
		c = &convs[i];
		require(msg_check(buf, (size_t)n, &tag, &conv, &round, &seq),
		    "client port %d: a damaged or foreign datagram (%zd "
		    "bytes) from port %d", c->port, n, src);
		require(conv == (uint32_t)i && tag == c->tag,
		    "MISROUTED: client port %d (conversation %d via port %d) "
		    "got the reply meant for conversation %u (tag %u, client "
		    "port %d)", c->port, i, c->to, conv, tag,
		    conv < (uint32_t)nconvs ? convs[conv].port : -1);
		require(round == c->round && seq < c->nsent,
		    "client port %d: a reply to a request never sent (round "
		    "%u, seq %u; now round %u, %u sent)", c->port, round, seq,
		    c->round, c->nsent);
		require(!c->replied[seq], "client port %d: reply %u came "
		    "twice", c->port, seq);
		c->replied[seq] = 1;
		c->rtt_us[seq] = now_us() - c->sent_us[seq];
		c->nreplied++;
	}
}

/*
 * One poll() of at most timeout ms (and TICK_MS) over the echo servers
 * and every client socket: echo what came, check what clients got, and
 * read the children's stderr.
 */
static void
serve(int timeout)
{
	struct pollfd	pfd[MAXECHOS + MAXCONVS];
	nfds_t		n = 0, k;
	int		i, j;

	for (i = 0; i < nechos; i++) {
		pfd[n].fd = echos[i]->fd;
		pfd[n++].events = POLLIN;
	}
	for (i = 0; i < nconvs; i++) {
		for (j = 0; j < i && convs[j].fd != convs[i].fd; j++)
			;
		if (j < i)
			continue;	/* polled already */
		pfd[n].fd = convs[i].fd;
		pfd[n++].events = POLLIN;
	}
	if (timeout > TICK_MS)
		timeout = TICK_MS;
	if (timeout < 0)
		timeout = 0;
	if (poll(pfd, n, timeout) > 0) {
		for (k = 0; k < n; k++) {
			if (pfd[k].revents == 0)
				continue;
			if ((int)k < nechos)
				echo_serve(echos[k]);
			else
				client_input(pfd[k].fd);
		}
	}
	drain_logs();
}

/* Serve for ms: a window in which something must not happen. */
static void
settle(int ms)
{
	long long	deadline = e2e_now_ms() + ms, left;

	while ((left = deadline - e2e_now_ms()) > 0)
		serve((int)left);
}

/*
 * Conversations idx[0 .. n - 1] each send k requests, one at a time, all
 * at once: each must get exactly its k replies within timeout ms. No
 * request is sent twice, so no loss is hidden.
 */
static void
converse_set(const int *idx, int n, uint32_t k, int timeout, const char *what)
{
	long long	deadline = e2e_now_ms() + timeout;
	struct conv	*c;
	int		i, done, stalled = -1;

	for (i = 0; i < n; i++)
		conv_send(&convs[idx[i]]);
	for (;;) {
		done = 0;
		for (i = 0; i < n; i++) {
			c = &convs[idx[i]];
			if (c->nreplied == k)
				done++;
			else if (c->replied[c->nsent - 1])
				conv_send(c);
			else if (stalled == -1)
				stalled = idx[i];
		}
		if (done == n)
			return;
		if (e2e_now_ms() >= deadline) {
			c = &convs[stalled];
			require(0, "%s: only %d of %d clients got all %u "
			    "replies within %d ms; e.g. client port %d (via "
			    "port %d) has %u of %u", what, done, n, k, timeout,
			    c->port, c->to, c->nreplied, c->nsent);
		}
		stalled = -1;
		serve((int)(deadline - e2e_now_ms()));
	}
}

/* converse_set() of conversations first .. first + n - 1. */
static void
converse(int first, int n, uint32_t k, int timeout, const char *what)
{
	int	idx[MAXCONVS], i;

	for (i = 0; i < n; i++)
		idx[i] = first + i;
	converse_set(idx, n, k, timeout, what);
}

/* One request of conversation i alone; its round trip in us. */
static long long
roundtrip(int i, const char *what)
{
	struct conv	*c = &convs[i];
	long long	 deadline;
	uint32_t	 seq;

	if (c->nsent == MAXK)
		conv_round(c);
	seq = c->nsent;
	conv_send(c);
	deadline = e2e_now_ms() + E2E_RECV_MS;
	while (!c->replied[seq]) {
		require(e2e_now_ms() < deadline, "%s: client port %d got no "
		    "reply within %d ms", what, c->port, E2E_RECV_MS);
		serve((int)(deadline - e2e_now_ms()));
	}
	return (c->rtt_us[seq]);
}

/* The median of n values (n <= 16). */
static long long
median(const long long *v, int n)
{
	long long	sorted[16], x;
	int		i, j;

	require(n > 0 && n <= 16, "median of %d values", n);
	for (i = 0; i < n; i++) {
		x = v[i];
		for (j = i; j > 0 && sorted[j - 1] > x; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = x;
	}
	return (sorted[n / 2]);
}

/*
 * 1. NCLIENTS clients at once, a few requests each: every one gets
 * exactly its own replies, and the server sees one source per client.
 */
START_TEST(test_many_clients)
{
	struct e2e_proc	*l, *t;
	struct echo	*e;
	struct fstats	 st;
	long long	 start, ms, max = 0;
	size_t		 lup = 0;
	int		 tcp, b, i, first;
	const uint32_t	 k = 5;

	e = echo_new(AF_INET);
	tcp = free_port(AF_INET, SOCK_STREAM);
	b = free_port(AF_INET, SOCK_DGRAM);
	l = start_listen("listen", AF_INET, tcp, sock_port(e->fd), NULL);
	t = start_connect("connect", AF_INET, tcp, b, NULL);
	wait_up(l, t, &lup);

	first = nconvs;
	for (i = 0; i < NCLIENTS; i++)
		client_new(AF_INET, b, 1);
	start = e2e_now_ms();
	converse(first, NCLIENTS, k, 4 * E2E_RECV_MS, "200 clients");
	ms = e2e_now_ms() - start;
	/* Anything late, twice or misrouted fails in here. */
	settle(QUIET_MS);

	for (i = first; i < first + NCLIENTS; i++) {
		if (convs[i].rtt_us[0] > max)
			max = convs[i].rtt_us[0];
	}
	fprintf(stderr, "check_e2e_auto: many_clients: %d clients x %u "
	    "requests in %lld ms (slowest first reply %lld us); echo saw %zu "
	    "sources, %lu datagrams\n", NCLIENTS, k, ms, max, e->nsrc,
	    e->echoed);
	require(e->foreign == 0, "the echo server got %lu datagrams that are "
	    "none of ours", e->foreign);
	require(e->echoed == (unsigned long)NCLIENTS * k, "the echo server "
	    "got %lu requests, not %u", e->echoed, NCLIENTS * k);
	require(e->nsrc == NCLIENTS, "the echo server saw %zu source "
	    "addresses, not one per client (%d)", e->nsrc, NCLIENTS);
	require(e->moved == 0 && e->shared == 0, "source per client not "
	    "stable: %lu requests of a client came from a second source, "
	    "%lu sources carried two clients", e->moved, e->shared);
	for (i = first; i < first + NCLIENTS; i++)
		require(e->conv_src[i] != -1, "client %d never reached the "
		    "server", i);

	get_stats(l, &st);
	require(st.active == NCLIENTS && st.created == NCLIENTS &&
	    st.refused == 0, "listen side: flows active %lu, created %lu, "
	    "refused %lu; want %d, %d, 0", st.active, st.created, st.refused,
	    NCLIENTS, NCLIENTS);
	get_stats(t, &st);
	require(st.active == NCLIENTS && st.created == NCLIENTS &&
	    st.no_flow == 0, "connect side: flows active %lu, created %lu, "
	    "no flow %lu; want %d, %d, 0", st.active, st.created, st.no_flow,
	    NCLIENTS, NCLIENTS);
}
END_TEST

/* 2. A lone request, nothing else in flight: the reply comes at once. */
START_TEST(test_lone_latency)
{
	struct e2e_proc	*l, *t;
	struct echo	*e;
	long long	 us[10], x, deadline;
	unsigned long	 sunk;
	size_t		 lup = 0;
	int		 tcp, b, c1, c2, cs, i, j, n = 10;
	/* Well under 100 ms; under valgrind (E2E_SLOW=k), k times that. */
	const long long	 limit_us = 50000LL * (getenv("E2E_SLOW") != NULL &&
			    atoi(getenv("E2E_SLOW")) > 1 ?
			    atoi(getenv("E2E_SLOW")) : 1);
	const long long	 median_us = 15000;	/* below a delayed ACK */

	e = echo_new(AF_INET);
	tcp = free_port(AF_INET, SOCK_STREAM);
	b = free_port(AF_INET, SOCK_DGRAM);
	l = start_listen("listen", AF_INET, tcp, sock_port(e->fd), NULL);
	t = start_connect("connect", AF_INET, tcp, b, NULL);
	wait_up(l, t, &lup);
	c1 = client_new(AF_INET, b, 1);
	c2 = client_new(AF_INET, b, 1);

	/*
	 * The first request of each client opens its flow; the others use
	 * one. A quiet gap before each leaves no ACK or reply pending, so
	 * every request is alone on the link.
	 */
	for (i = 0; i < n; i++) {
		if (i > 0)
			settle(60);
		us[i] = roundtrip(i % 2 ? c2 : c1, "lone request");
	}
	fprintf(stderr, "check_e2e_auto: lone_latency: round trips (us):");
	for (i = 0; i < n; i++)
		fprintf(stderr, " %lld", us[i]);
	fprintf(stderr, "\n");

	x = median(us, n);
	fprintf(stderr, "check_e2e_auto: lone_latency: median %lld us\n", x);
	for (i = 0; i < n; i++)
		require(us[i] < limit_us, "lone request %d took %lld us, "
		    "more than %lld us (Nagle? a timer?)", i, us[i],
		    limit_us);
	require(x < median_us, "lone requests: median round trip %lld us, "
	    "more than %lld us", x, median_us);
	require(e->nsrc == 2, "the echo server saw %zu sources, not 2",
	    e->nsrc);

	/*
	 * One way, nothing coming back: a datagram sent the moment the one
	 * before it reached the server must not wait for that one's TCP ACK
	 * (Nagle with delayed ACK: 40 ms and more). A round trip first puts
	 * the listen side's TCP in the mood to delay its ACKs.
	 */
	cs = client_new(AF_INET, b, SINK_TAG);
	for (i = 0; i < n; i++) {
		settle(60);
		roundtrip(c1, "request before a one-way pair");
		for (j = 0; j < 2; j++) {
			sunk = e->sunk;
			conv_send(&convs[cs]);
			deadline = e2e_now_ms() + E2E_RECV_MS;
			while (e->sunk == sunk) {
				require(e2e_now_ms() < deadline, "one-way "
				    "datagram %d.%d did not reach the server "
				    "within %d ms", i, j, E2E_RECV_MS);
				serve((int)(deadline - e2e_now_ms()));
			}
		}
		us[i] = e->sunk_us - convs[cs].sent_us[convs[cs].nsent - 1];
		if (convs[cs].nsent == MAXK)
			conv_round(&convs[cs]);
	}
	fprintf(stderr, "check_e2e_auto: lone_latency: one way, second of "
	    "two (us):");
	for (i = 0; i < n; i++)
		fprintf(stderr, " %lld", us[i]);
	fprintf(stderr, "\n");
	x = median(us, n);
	for (i = 0; i < n; i++)
		require(us[i] < limit_us, "one-way datagram right behind "
		    "another took %lld us to the server, more than %lld us "
		    "(Nagle?)", us[i], limit_us);
	require(x < median_us, "one-way datagrams right behind another: "
	    "median %lld us to the server, more than %lld us (Nagle with "
	    "delayed ACK?)", x, median_us);
}
END_TEST

/*
 * 3. --flow-timeout 1 on both sides: an idle flow is closed on each
 * side, a busy one is not, and the idle client's next request makes a
 * new flow that works.
 */
START_TEST(test_flow_expiry)
{
	static const char *const extra[] = { "--flow-timeout", "1", NULL };
	struct e2e_proc	*l, *t;
	struct echo	*e;
	struct fstats	 st;
	char		 idle[64], busy[64];
	long long	 last, start, lclosed = 0, tclosed = 0;
	size_t		 lup = 0, lfrom, tfrom;
	ssize_t		 off;
	int		 tcp, b, ci, cb;

	e = echo_new(AF_INET);
	tcp = free_port(AF_INET, SOCK_STREAM);
	b = free_port(AF_INET, SOCK_DGRAM);
	l = start_listen("listen", AF_INET, tcp, sock_port(e->fd), extra);
	t = start_connect("connect", AF_INET, tcp, b, extra);
	wait_up(l, t, &lup);
	ci = client_new(AF_INET, b, 1);
	cb = client_new(AF_INET, b, 1);
	snprintf(idle, sizeof idle, "flow 127.0.0.1:%d ", convs[ci].port);
	snprintf(busy, sizeof busy, "flow 127.0.0.1:%d ", convs[cb].port);

	lfrom = e2e_log_len(l);
	tfrom = e2e_log_len(t);
	roundtrip(ci, "idle client, first request");
	roundtrip(cb, "busy client, first request");
	last = e2e_now_ms();
	require(find_line(l, idle, "new", lfrom) != -1 &&
	    find_line(t, idle, "new", tfrom) != -1, "a side did not log "
	    "the new flow of client port %d", convs[ci].port);

	/*
	 * The busy client talks every 250 ms while the idle one waits for
	 * its flow to be closed on both sides, and for at least 2.5 s.
	 */
	start = e2e_now_ms();
	while (lclosed == 0 || tclosed == 0 || e2e_now_ms() - start < 2500) {
		require(e2e_now_ms() - start < E2E_READY_MS, "the idle flow of "
		    "client port %d was not closed within %d ms (listen "
		    "side: %s, connect side: %s)", convs[ci].port,
		    E2E_READY_MS, lclosed ? "closed" : "open",
		    tclosed ? "closed" : "open");
		roundtrip(cb, "busy client");
		settle(250);
		if (lclosed == 0 && find_line(l, idle, "closed (idle for 1 s)",
		    lfrom) != -1)
			lclosed = e2e_now_ms();
		if (tclosed == 0 && find_line(t, idle, "closed (idle for 1 s)",
		    tfrom) != -1)
			tclosed = e2e_now_ms();
	}
	fprintf(stderr, "check_e2e_auto: flow_expiry: idle flow closed "
	    "after <= %lld ms (listen side), <= %lld ms (connect side)\n",
	    lclosed - last, tclosed - last);
	/* Seen within 250 ms of it: never before a second of idleness. */
	require(lclosed - last >= 900 - 300 && tclosed - last >= 900 - 300,
	    "the idle flow was closed too early: %lld / %lld ms after its "
	    "last datagram", lclosed - last, tclosed - last);
	require(find_line(l, busy, "closed", lfrom) == -1 &&
	    find_line(t, busy, "closed", tfrom) == -1,
	    "the flow of the busy client (port %d) was closed although it "
	    "talked every 250 ms", convs[cb].port);

	get_stats(l, &st);
	require(st.expired >= 1 && st.active == 1 && st.created == 2,
	    "listen side: flows active %lu, created %lu, expired %lu; want "
	    "1, 2, >= 1", st.active, st.created, st.expired);
	get_stats(t, &st);
	require(st.expired >= 1 && st.active == 1 && st.created == 2,
	    "connect side: flows active %lu, created %lu, expired %lu; want "
	    "1, 2, >= 1", st.active, st.created, st.expired);

	/* The idle client comes back: a new flow on each side, and a reply. */
	lfrom = e2e_log_len(l);
	tfrom = e2e_log_len(t);
	roundtrip(ci, "the idle client again, after expiry");
	off = wait_line(l, idle, "new", lfrom, E2E_READY_MS);
	require(off != -1, "the listen side did not log a new flow for "
	    "client port %d after expiry", convs[ci].port);
	off = wait_line(t, idle, "new", tfrom, E2E_READY_MS);
	require(off != -1, "the connect side did not log a new flow for "
	    "client port %d after expiry", convs[ci].port);
	get_stats(l, &st);
	require(st.created == 3, "listen side: %lu flows created, not 3",
	    st.created);
}
END_TEST

/*
 * 4. Two connect sides on one listen side, each with its own clients,
 * and some clients (the same address) talking through both: each
 * conversation gets its own flow and only its own replies. Then one
 * connect side is killed: the listen side closes that link, and the
 * other side's clients go on.
 */
START_TEST(test_two_peers)
{
	struct e2e_proc	*l, *ta, *tb;
	struct echo	*e;
	struct fstats	 st;
	char		 pattern[192], peer[128];
	size_t		 lup = 0;
	ssize_t		 off;
	int		 tcp, ba, bb, fd, i, aconvs[8], bconvs[8], na = 0, nb = 0;
	int		 first;
	const int	 own = 4, shared = 4;

	e = echo_new(AF_INET);
	tcp = free_port(AF_INET, SOCK_STREAM);
	ba = free_port(AF_INET, SOCK_DGRAM);
	bb = free_port(AF_INET, SOCK_DGRAM);
	l = start_listen("listen", AF_INET, tcp, sock_port(e->fd), NULL);
	ta = start_connect("connect-A", AF_INET, tcp, ba, NULL);
	wait_up(l, ta, &lup);
	tb = start_connect("connect-B", AF_INET, tcp, bb, NULL);
	wait_up(l, tb, &lup);

	/* Own clients of A, then of B, then shared ones (A and B each). */
	first = nconvs;
	for (i = 0; i < own; i++)
		aconvs[na++] = client_new(AF_INET, ba, 1);
	for (i = 0; i < own; i++)
		bconvs[nb++] = client_new(AF_INET, bb, 2);
	for (i = 0; i < shared; i++) {
		fd = udp_socket(AF_INET, 0);
		aconvs[na++] = conv_new(fd, ba, 1);
		bconvs[nb++] = conv_new(fd, bb, 2);
	}
	converse(first, nconvs - first, 3, 2 * E2E_RECV_MS,
	    "two peers, both up");
	settle(QUIET_MS);
	fprintf(stderr, "check_e2e_auto: two_peers: %d conversations, echo "
	    "saw %zu sources\n", nconvs - first, e->nsrc);
	require(e->nsrc == (size_t)(nconvs - first), "the echo server saw "
	    "%zu sources, not one per client and peer (%d): the same client "
	    "through two peers must be two flows", e->nsrc, nconvs - first);
	require(e->moved == 0 && e->shared == 0, "source per flow not "
	    "stable: %lu moved, %lu shared", e->moved, e->shared);
	get_stats(l, &st);
	require(st.active == (unsigned long)(nconvs - first), "listen side: "
	    "%lu flows active, not %d", st.active, nconvs - first);

	/* Which peer is A: the one its own first client's flow belongs to. */
	snprintf(pattern, sizeof pattern, "flow 127.0.0.1:%d (peer ",
	    convs[aconvs[0]].port);
	peer_of(l, pattern, peer, sizeof peer);
	snprintf(pattern, sizeof pattern, "link %s: up -> closed", peer);

	e2e_kill(ta);
	off = wait_line(l, pattern, NULL, 0, E2E_READY_MS);
	require(off != -1, "the listen side did not log \"%s\" after "
	    "connect side A (peer %s) was killed", pattern, peer);
	fprintf(stderr, "check_e2e_auto: two_peers: %s\n", pattern);

	/* B's clients, own and shared, go on; A's flows are gone. */
	for (i = 0; i < nb; i++)
		conv_round(&convs[bconvs[i]]);
	converse_set(bconvs, nb, 3, 2 * E2E_RECV_MS,
	    "B's clients after A was killed");
	settle(QUIET_MS);
	get_stats(l, &st);
	require(st.active == (unsigned long)nb, "listen side: %lu flows "
	    "active after peer A went, not B's %d", st.active, nb);
	require(e->nsrc == (size_t)(nconvs - first), "B's clients reached "
	    "the server from new sources after A went (%zu sources)",
	    e->nsrc);
}
END_TEST

/*
 * 5. --max-flows 5 on the listen side: of 8 clients exactly 5 get
 * replies; refusals are counted and warned about, rate-limited. When a
 * flow expires, a new client fits, and the one after it does not.
 */
START_TEST(test_max_flows)
{
	static const char *const extra[] = { "--max-flows", "5",
	    "--flow-timeout", "3", NULL };
	struct e2e_proc	*l, *t;
	struct echo	*e;
	struct fstats	 st;
	char		 pattern[64];
	long long	 deadline;
	size_t		 lup = 0, from;
	int		 tcp, b, i, j, first, got, warned, keep[5], nkeep = 0;
	int		 idler = -1, n1, n2, refused[8], nrefused = 0;

	e = echo_new(AF_INET);
	tcp = free_port(AF_INET, SOCK_STREAM);
	b = free_port(AF_INET, SOCK_DGRAM);
	l = start_listen("listen", AF_INET, tcp, sock_port(e->fd), extra);
	t = start_connect("connect", AF_INET, tcp, b, NULL);
	wait_up(l, t, &lup);

	first = nconvs;
	for (i = 0; i < 8; i++)
		client_new(AF_INET, b, 1);
	for (i = first; i < first + 8; i++)
		conv_send(&convs[i]);
	/* Until 5 replies came and the listen side counted 3 refusals. */
	deadline = e2e_now_ms() + E2E_READY_MS;
	st.refused = 0;
	for (;;) {
		for (got = 0, i = first; i < first + 8; i++)
			got += convs[i].nreplied;
		require(got <= 5, "--max-flows 5: %d of 8 clients got replies",
		    got);
		if (got == 5) {
			get_stats(l, &st);
			if (st.refused >= 3)
				break;
		}
		require(e2e_now_ms() < deadline, "--max-flows 5, 8 clients: %d "
		    "replies and %lu refusals within %d ms, not 5 and 3", got,
		    st.refused, E2E_READY_MS);
		serve(TICK_MS);
	}
	settle(QUIET_MS);
	for (got = 0, i = first; i < first + 8; i++) {
		got += convs[i].nreplied;
		if (convs[i].nreplied)
			keep[nkeep++] = i;
		else
			refused[nrefused++] = i;
	}
	fprintf(stderr, "check_e2e_auto: max_flows: %d of 8 clients got a "
	    "reply, %lu refused\n", got, st.refused);
	require(got == 5 && st.refused == 3 && st.active == 5,
	    "--max-flows 5, 8 clients: %d got replies, %lu refused, %lu "
	    "active; want 5, 3, 5", got, st.refused, st.active);
	require(find_line(l, "closed (idle", NULL, 0) == -1, "a flow "
	    "expired too early (--flow-timeout 3)");

	/* The refused clients insist: counted, but warned about sparingly. */
	for (j = 0; j < 10; j++) {
		for (i = 0; i < nrefused; i++) {
			conv_round(&convs[refused[i]]);
			conv_send(&convs[refused[i]]);
		}
	}
	deadline = e2e_now_ms() + E2E_READY_MS;
	do {
		require(e2e_now_ms() < deadline, "the listen side counted %lu "
		    "refusals, not 33", st.refused);
		serve(TICK_MS);
		get_stats(l, &st);
	} while (st.refused < 33);
	settle(QUIET_MS);
	for (i = 0; i < nrefused; i++)
		require(convs[refused[i]].nreplied == 0, "refused client "
		    "port %d got a reply", convs[refused[i]].port);
	warned = count_lines(l, "refused, already", 0);
	fprintf(stderr, "check_e2e_auto: max_flows: %lu refusals, %d "
	    "\"refused\" warnings\n", st.refused, warned);
	require(warned >= 1 && warned <= 12, "%d \"refused\" warnings for "
	    "%lu refusals: want at least one, and rate-limited", warned,
	    st.refused);
	require(st.refused == 33 && st.active == 5, "%lu refused, %lu "
	    "active; want 33 and 5", st.refused, st.active);

	/*
	 * Four clients keep their flows busy (every 400 ms, timeout 3 s);
	 * the fifth goes idle, and its flow expires.
	 */
	idler = keep[4];
	snprintf(pattern, sizeof pattern, "flow 127.0.0.1:%d (peer ",
	    convs[idler].port);
	from = 0;
	deadline = e2e_now_ms() + E2E_READY_MS;
	while (find_line(l, pattern, "closed (idle", from) == -1) {
		require(e2e_now_ms() < deadline, "the idle flow of client port "
		    "%d did not expire", convs[idler].port);
		for (i = 0; i < 4; i++)
			roundtrip(keep[i], "busy client under --max-flows");
		settle(400);
	}
	require(find_line(l, "closed (idle", NULL, 0) ==
	    find_line(l, pattern, "closed (idle", 0), "a busy flow expired");

	/* Room for exactly one: a new client works, the next is refused. */
	n1 = client_new(AF_INET, b, 1);
	n2 = client_new(AF_INET, b, 1);
	roundtrip(n1, "a new client after a flow expired");
	get_stats(l, &st);
	require(st.active == 5, "%lu flows active, not 5", st.active);
	conv_send(&convs[n2]);
	deadline = e2e_now_ms() + E2E_READY_MS;
	while (st.refused < 34) {
		require(e2e_now_ms() < deadline, "the listen side did not "
		    "refuse a sixth flow (refused %lu)", st.refused);
		serve(TICK_MS);
		get_stats(l, &st);
	}
	settle(QUIET_MS);
	require(convs[n2].nreplied == 0, "a sixth client got a reply with "
	    "--max-flows 5");
	require(st.expired >= 1 && st.active == 5, "flows expired %lu, "
	    "active %lu; want >= 1 and 5", st.expired, st.active);
	(void)t;
}
END_TEST

/* Read exactly len bytes from the TCP socket fd within timeout ms. */
static void
read_exact(int fd, unsigned char *p, size_t len, int timeout)
{
	long long	deadline = e2e_now_ms() + timeout;
	struct pollfd	pfd;
	ssize_t		n;
	size_t		got = 0;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		require(n != 0, "the connect side closed the TCP connection");
		require(errno == EAGAIN || errno == EINTR, "read from the "
		    "connect side: %s", strerror(errno));
		require(e2e_now_ms() < deadline, "only %zu of %zu bytes of a "
		    "frame within %d ms", got, len, timeout);
		pfd.fd = fd;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, TICK_MS);
		drain_logs();
	}
}

/* A flow frame: LEN32le, PORT16le, ADDR (16 bytes), payload. */
static void
write_frame(int fd, const unsigned char addr[16], int port,
    const void *payload, size_t len)
{
	unsigned char	f[22 + 256];
	uint32_t	flen = (uint32_t)(18 + len);
	ssize_t		n;
	size_t		off = 0;

	require(len <= 256, "frame too long for the test");
	f[0] = (unsigned char)flen;
	f[1] = (unsigned char)(flen >> 8);
	f[2] = (unsigned char)(flen >> 16);
	f[3] = (unsigned char)(flen >> 24);
	f[4] = (unsigned char)port;
	f[5] = (unsigned char)(port >> 8);
	memcpy(f + 6, addr, 16);
	memcpy(f + 22, payload, len);
	while (off < 22 + len) {
		n = write(fd, f + off, 22 + len - off);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		require(n > 0, "write to the connect side: %s",
		    strerror(errno));
		off += (size_t)n;
	}
}

/*
 * 6. No reflection: the test plays the listen side. A frame for the
 * live flow reaches its client; one addressed to any other address is
 * dropped and counted as "no flow".
 */
START_TEST(test_no_reflection)
{
	static const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xff, 0xff, 127, 0, 0, 1 };
	struct sockaddr_in	 sin;
	struct e2e_proc		*t;
	struct fstats		 st;
	struct pollfd		 pfd;
	unsigned char		 hdr[22], payload[256];
	const char		*hello = "hello from the client";
	socklen_t		 len = sizeof sin;
	long long		 deadline;
	uint32_t		 flen;
	ssize_t			 n;
	int			 lfd, fd = -1, tcp, b, cfd, c, vfd, v, from, on = 1;

	lfd = keep_socket(socket(AF_INET, SOCK_STREAM, 0));
	fcntl(lfd, F_SETFD, FD_CLOEXEC);
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	require(bind(lfd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    listen(lfd, 4) == 0 && getsockname(lfd, (struct sockaddr *)&sin,
	    &len) == 0, "cannot listen on 127.0.0.1: %s", strerror(errno));
	tcp = ntohs(sin.sin_port);

	cfd = udp_socket(AF_INET, 0);		/* the client */
	c = e2e_udp_port(cfd);
	vfd = udp_socket(AF_INET, 0);		/* a bystander: sends nothing */
	v = e2e_udp_port(vfd);
	b = free_port(AF_INET, SOCK_DGRAM);
	t = start_connect("connect", AF_INET, tcp, b, NULL);

	deadline = e2e_now_ms() + E2E_READY_MS;
	while ((fd = accept(lfd, NULL, NULL)) == -1) {
		require(errno == EAGAIN || errno == EINTR, "accept: %s",
		    strerror(errno));
		require(e2e_now_ms() < deadline, "the connect side did not "
		    "connect within %d ms", E2E_READY_MS);
		pfd.fd = lfd;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, TICK_MS);
		drain_logs();
	}
	keep_socket(fd);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	wait_up(NULL, t, NULL);

	/* The client's datagram, framed with its address and port. */
	require(e2e_udp_send(cfd, b, hello, strlen(hello)) == 0,
	    "cannot send to the connect side");
	read_exact(fd, hdr, sizeof hdr, E2E_RECV_MS);
	flen = hdr[0] | hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
	    (uint32_t)hdr[3] << 24;
	require(flen == 18 + strlen(hello), "frame LEN %u, not %zu", flen,
	    18 + strlen(hello));
	require((hdr[4] | hdr[5] << 8) == c, "frame PORT %d, not the "
	    "client's port %d", hdr[4] | hdr[5] << 8, c);
	require(memcmp(hdr + 6, mapped, 16) == 0, "frame ADDR is not "
	    "::ffff:127.0.0.1");
	read_exact(fd, payload, flen - 18, E2E_RECV_MS);
	require(memcmp(payload, hello, strlen(hello)) == 0,
	    "frame payload differs from the datagram");

	/* (a) To the client's flow: it arrives, from B. */
	write_frame(fd, mapped, c, "reply one", 9);
	n = e2e_udp_recv(cfd, buf, sizeof buf, &from, E2E_RECV_MS);
	require(n == 9 && memcmp(buf, "reply one", 9) == 0 && from == b,
	    "the client did not get \"reply one\" from port %d (%zd bytes "
	    "from port %d)", b, n, from);

	/*
	 * (b) To the bystander, which never sent anything, then (c) to the
	 * client: frames are handled in order, so once (c) is in, (b) has
	 * been dealt with; the bystander gets a further quiet window.
	 */
	write_frame(fd, mapped, v, "reflect me", 10);
	write_frame(fd, mapped, c, "reply two", 9);
	n = e2e_udp_recv(cfd, buf, sizeof buf, &from, E2E_RECV_MS);
	require(!(n == 10 && memcmp(buf, "reflect me", 10) == 0),
	    "REFLECTION: the frame addressed to 127.0.0.1:%d (no flow) "
	    "reached the client at port %d", v, c);
	require(n == 9 && memcmp(buf, "reply two", 9) == 0 && from == b,
	    "the client did not get \"reply two\" (%zd bytes from port %d)",
	    n, from);
	n = e2e_udp_recv(vfd, buf, sizeof buf, &from, QUIET_MS);
	require(n == -1, "REFLECTION: the connect side sent %zd bytes "
	    "from port %d to 127.0.0.1:%d, which is no flow", n, from, v);
	n = e2e_udp_recv(cfd, buf, sizeof buf, &from, 0);
	require(n == -1, "the client got %zd more bytes", n);

	get_stats(t, &st);
	fprintf(stderr, "check_e2e_auto: no_reflection: frame for port %d "
	    "dropped, connect side counts no flow %lu\n", v, st.no_flow);
	require(st.no_flow == 1, "the connect side counts \"no flow %lu\", "
	    "not 1", st.no_flow);
}
END_TEST

/* 7. A framing without addresses cannot serve auto mode. */
START_TEST(test_framing_refused)
{
	static const char *const framings[] = { "len32", "len16" };
	struct e2e_proc	*p;
	const char	*framing = framings[_i % 2], *log, *nl;
	char		 a[64], b[64], d[64];
	size_t		 len;
	int		 code;

	if (_i < 2) {
		e2e_hostport(a, sizeof a, e2e_free_port(SOCK_STREAM));
		e2e_hostport(d, sizeof d, e2e_free_port(SOCK_DGRAM));
		p = spawn("listen", "-l", a, "-u", "auto", "-p", d,
		    "--framing", framing, (char *)NULL);
	} else {
		e2e_hostport(a, sizeof a, e2e_free_port(SOCK_STREAM));
		e2e_hostport(b, sizeof b, e2e_free_port(SOCK_DGRAM));
		autodest(d, sizeof d, AF_INET);
		p = spawn("connect", "-t", a, "-u", b, "-p", d, "--framing",
		    framing, (char *)NULL);
	}
	code = e2e_wait_exit(p, E2E_EXIT_MS);
	log = e2e_log(p, &len);
	require(code == 2, "%s side, -u/-p auto with --framing %s: exit "
	    "status %d, not 2 (-1: still running); stderr: %s",
	    _i < 2 ? "listen" : "connect", framing, code, log);
	nl = memchr(log, '\n', len);
	require(len > 1 && nl == log + len - 1, "--framing %s with auto: "
	    "stderr is not exactly one line: \"%s\"", framing, log);
	require(strstr(log, "framing") != NULL, "--framing %s with auto: "
	    "the error does not name --framing: %s", framing, log);
}
END_TEST

/* 8. Auto mode over IPv6: both ends, the server and the client on ::1. */
START_TEST(test_ipv6)
{
	struct e2e_proc	*l, *t;
	struct echo	*e;
	struct fstats	 st;
	char		 pattern[64];
	size_t		 lup = 0;
	int		 tcp, b, c1, c2;

	if (!can_bind6(SOCK_DGRAM, 0) || !can_bind6(SOCK_STREAM, 0)) {
		fprintf(stderr, "check_e2e_auto: ipv6: SKIPPED: ::1 cannot "
		    "be bound on this machine\n");
		return;
	}
	e = echo_new(AF_INET6);
	tcp = free_port(AF_INET6, SOCK_STREAM);
	b = free_port(AF_INET6, SOCK_DGRAM);
	l = start_listen("listen", AF_INET6, tcp, sock_port(e->fd), NULL);
	t = start_connect("connect", AF_INET6, tcp, b, NULL);
	wait_up(l, t, &lup);
	c1 = client_new(AF_INET6, b, 1);
	c2 = client_new(AF_INET6, b, 1);
	converse(c1, 2, 3, 2 * E2E_RECV_MS, "IPv6 clients");
	settle(QUIET_MS);
	snprintf(pattern, sizeof pattern, "flow [::1]:%d (peer ",
	    convs[c1].port);
	require(find_line(l, pattern, "new", 0) != -1, "the listen side "
	    "did not log \"%s... new\"", pattern);
	require(e->nsrc == 2 && is_loopback(&e->src[0], AF_INET6),
	    "the IPv6 echo server saw %zu sources, not 2 on ::1", e->nsrc);
	get_stats(t, &st);
	require(st.active == 2 && st.no_flow == 0, "connect side: %lu flows "
	    "active, no flow %lu", st.active, st.no_flow);
	fprintf(stderr, "check_e2e_auto: ipv6: 2 clients on [::1] answered "
	    "through [::1]:%d\n", tcp);
	(void)c2;
}
END_TEST

static Suite *
e2e_auto_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("e2e_auto");

	tc = tcase_create("clients");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_many_clients);
	tcase_add_test(tc, test_lone_latency);
	suite_add_tcase(s, tc);

	tc = tcase_create("flows");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_flow_expiry);
	tcase_add_test(tc, test_two_peers);
	tcase_add_test(tc, test_max_flows);
	suite_add_tcase(s, tc);

	tc = tcase_create("safety");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_no_reflection);
	tcase_add_loop_test(tc, test_framing_refused, 0, 4);
	tcase_add_test(tc, test_ipv6);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* Never pass, or skip, quietly without the binary under test. */
	if (e2e_need_binary("check_e2e_auto") == NULL)
		return (99);

	sr = srunner_create(e2e_auto_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
