/*
 * udp-probe.c - a UDP echo server and a client that measures it, for the
 * demo and the benchmark. Plain POSIX, no libevent.
 *
 *   udp-probe echo [-b IP:PORT]
 *   udp-probe ping [-b IP:PORT] -n COUNT -s SIZE [-c CLIENTS] [-w MS] IP:PORT
 *   udp-probe freeport [tcp|udp|both] [COUNT]
 *
 * Each ping datagram starts with a header (magic, run, client, sequence)
 * and goes on with bytes derived from it, so an echo that comes back to
 * the wrong client, or damaged, or late, is told apart from a good one.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _POSIX_C_SOURCE 200809L
#endif

#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROBE_MAXDGRAM	65507		/* the largest UDP payload on IPv4 */
#define PROBE_BUFSIZE	65536
#define PROBE_SOCKBUF	(1024 * 1024)
#define PROBE_HDRLEN	16		/* magic, run, client, sequence */
#define PROBE_MAGIC	0x55505242U	/* "UPRB" */
#define PROBE_MAXCLIENTS 1000
#define PROBE_ADDRLEN	96		/* "[v6%scope]:port" and more */

struct client {
	int			 id;
	int			 fd;
	char			 name[PROBE_ADDRLEN];	/* its address */
	unsigned char		*out;		/* the datagram in flight */
	uint32_t		 seq;		/* of the datagram in flight */
	int			 waiting;	/* for its echo */
	long long		 sent_ns;
	long long		 deadline_ns;

	unsigned long		 sent;
	unsigned long		 received;	/* whole, in time, to us */
	unsigned long		 lost;		/* no echo within the wait */
	unsigned long		 corrupted;	/* ours, but not byte-exact */
	unsigned long		 misrouted;	/* another client's echo */
	unsigned long		 late;		/* an echo after its wait */
	long long		*rtt;		/* ns, one per received */
};

static volatile sig_atomic_t	 echo_stop;

static void	 usage(void) __attribute__((__noreturn__));
static void	 die(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)))
		     __attribute__((__noreturn__));
static long long now_ns(void);
static long	 number(const char *, const char *, long, long);
static void	 parse_addr(const char *, struct sockaddr_storage *,
		     socklen_t *);
static void	 loopback_any(int, struct sockaddr_storage *, socklen_t *);
static const char *fmt_addr(const struct sockaddr *, char *, size_t);
static int	 same_addr(const struct sockaddr *, const struct sockaddr *);
static int	 udp_open(const struct sockaddr_storage *, socklen_t);
static void	 echo_signalcb(int);
static int	 cmd_echo(int, char *[]);
static void	 ping_payload(unsigned char *, size_t, uint32_t, int,
		     uint32_t);
static uint32_t	 get32(const unsigned char *);
static void	 ping_send(struct client *, size_t, uint32_t,
		     const struct sockaddr_storage *, socklen_t, int);
static void	 ping_input(struct client *, size_t, uint32_t,
		     const struct sockaddr_storage *);
static int	 cmp_ll(const void *, const void *);
static void	 print_rtt(long long *, unsigned long);
static void	 print_counts(const struct client *);
static int	 cmd_ping(int, char *[]);
static int	 cmd_freeport(int, char *[]);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: udp-probe echo [-b IP:PORT]\n"
	    "       udp-probe ping [-b IP:PORT] -n COUNT -s SIZE [-c CLIENTS]"
	    " [-w TIMEOUT_MS] IP:PORT\n"
	    "       udp-probe freeport [tcp|udp|both] [COUNT]\n");
	exit(2);
}

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("udp-probe: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static long long
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

static long
number(const char *what, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		die("%s: bad value \"%s\" (%ld to %ld)", what, s, min, max);
	return (v);
}

/* IP:PORT or [IPv6]:PORT, numeric only. */
static void
parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo	 hints, *res;
	char		 host[128];
	const char	*port, *end;
	size_t		 n;
	int		 error;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			die("%s: not [IPv6]:PORT", s);
		n = (size_t)(end - s - 1);
		port = end + 2;
		s++;
	} else {
		if ((end = strrchr(s, ':')) == NULL)
			die("%s: not IP:PORT", s);
		n = (size_t)(end - s);
		port = end + 1;
	}
	if (n == 0 || n >= sizeof host)
		die("%s: bad address", s);
	memcpy(host, s, n);
	host[n] = '\0';
	number("port", port, 0, 65535);

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0)
		die("%s: %s", host, gai_strerror(error));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
}

/* The loopback address of a family, port 0. */
static void
loopback_any(int family, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		*len = sizeof *sin6;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof *sin;
	}
}

static const char *
fmt_addr(const struct sockaddr *sa, char *buf, size_t size)
{
	char		host[INET6_ADDRSTRLEN + 16], serv[8];
	socklen_t	len;

	len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (getnameinfo(sa, len, host, sizeof host, serv, sizeof serv,
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, size, "?");
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, size, "[%s]:%s", host, serv);
	else
		snprintf(buf, size, "%s:%s", host, serv);
	return (buf);
}

static int
same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->sa_family != b->sa_family)
		return (0);
	if (a->sa_family == AF_INET) {
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)b;
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	}
	a6 = (const struct sockaddr_in6 *)a;
	b6 = (const struct sockaddr_in6 *)b;
	return (a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof a6->sin6_addr) == 0);
}

/* A non-blocking UDP socket bound at ss, with large buffers. */
static int
udp_open(const struct sockaddr_storage *ss, socklen_t len)
{
	char	buf[PROBE_ADDRLEN];
	int	fd, size = PROBE_SOCKBUF, flags;

	if ((fd = socket(ss->ss_family, SOCK_DGRAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	if (bind(fd, (const struct sockaddr *)ss, len) == -1)
		die("bind %s: %s", fmt_addr((const struct sockaddr *)ss, buf,
		    sizeof buf), strerror(errno));
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		die("fcntl: %s", strerror(errno));
	return (fd);
}

static void
echo_signalcb(int sig)
{
	(void)sig;
	echo_stop = 1;
}

/* Send back every datagram to where it came from, until a signal. */
static int
cmd_echo(int argc, char *argv[])
{
	static unsigned char	 buf[PROBE_BUFSIZE];
	struct sockaddr_storage	 ss, from;
	struct sigaction	 sa;
	sigset_t		 block, orig;
	socklen_t		 len, fromlen;
	fd_set			 rfds;
	unsigned long long	 count = 0, bytes = 0, dropped = 0;
	char			 name[PROBE_ADDRLEN];
	ssize_t			 n;
	int			 ch, fd;

	loopback_any(AF_INET, &ss, &len);
	while ((ch = getopt(argc, argv, "b:")) != -1) {
		switch (ch) {
		case 'b':
			parse_addr(optarg, &ss, &len);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* Signals are taken only inside pselect(), so none is missed. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = echo_signalcb;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);

	fd = udp_open(&ss, len);
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		die("getsockname: %s", strerror(errno));
	printf("echo listening on %s\n",
	    fmt_addr((struct sockaddr *)&ss, name, sizeof name));
	fflush(stdout);

	while (!echo_stop) {
		FD_ZERO(&rfds);
		FD_SET(fd, &rfds);
		if (pselect(fd + 1, &rfds, NULL, NULL, NULL, &orig) == -1) {
			if (errno == EINTR)
				continue;
			die("pselect: %s", strerror(errno));
		}
		for (;;) {
			fromlen = sizeof from;
			n = recvfrom(fd, buf, sizeof buf, 0,
			    (struct sockaddr *)&from, &fromlen);
			if (n == -1)
				break;
			if (sendto(fd, buf, (size_t)n, 0,
			    (struct sockaddr *)&from, fromlen) != n)
				dropped++;
			else {
				count++;
				bytes += (unsigned long long)n;
			}
		}
	}
	printf("echo: %llu datagrams (%llu bytes) echoed, %llu dropped\n",
	    count, bytes, dropped);
	return (0);
}

/* The whole datagram seq of client id: header, then derived bytes. */
static void
ping_payload(unsigned char *buf, size_t size, uint32_t run, int id,
    uint32_t seq)
{
	unsigned char	hdr[PROBE_HDRLEN];
	uint32_t	words[4], x;
	size_t		i;
	int		w;

	words[0] = PROBE_MAGIC;
	words[1] = run;
	words[2] = (uint32_t)id;
	words[3] = seq;
	for (w = 0; w < 4; w++) {
		hdr[w * 4] = (unsigned char)(words[w] >> 24);
		hdr[w * 4 + 1] = (unsigned char)(words[w] >> 16);
		hdr[w * 4 + 2] = (unsigned char)(words[w] >> 8);
		hdr[w * 4 + 3] = (unsigned char)words[w];
	}
	x = run ^ ((uint32_t)id * 2654435761U) ^ (seq * 40503U) ^ 1U;
	for (i = 0; i < size; i++) {
		if (i < PROBE_HDRLEN) {
			buf[i] = hdr[i];
			continue;
		}
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

static uint32_t
get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

static void
ping_send(struct client *c, size_t size, uint32_t run,
    const struct sockaddr_storage *to, socklen_t tolen, int wait_ms)
{
	ssize_t	n;

	ping_payload(c->out, size, run, c->id, c->seq);
	c->sent_ns = now_ns();
	c->deadline_ns = c->sent_ns + (long long)wait_ms * 1000000;
	c->waiting = 1;
	c->sent++;
	do
		n = sendto(c->fd, c->out, size, 0,
		    (const struct sockaddr *)to, tolen);
	while (n == -1 && errno == EINTR);
	/* A send that fails is a datagram that will not come back: lost. */
}

/* Take every echo waiting on the socket of client c. */
static void
ping_input(struct client *c, size_t size, uint32_t run,
    const struct sockaddr_storage *target)
{
	static unsigned char	 buf[PROBE_BUFSIZE];
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	ssize_t			 n;
	uint32_t		 id, seq;

	for (;;) {
		fromlen = sizeof from;
		n = recvfrom(c->fd, buf, sizeof buf, 0,
		    (struct sockaddr *)&from, &fromlen);
		if (n == -1)
			return;
		if (!same_addr((struct sockaddr *)&from,
		    (const struct sockaddr *)target)) {
			c->misrouted++;		/* not from where we sent */
			continue;
		}
		if (c->waiting && (size_t)n == size &&
		    memcmp(buf, c->out, size) == 0) {
			c->rtt[c->received++] = now_ns() - c->sent_ns;
			c->waiting = 0;
			c->seq++;
			continue;
		}
		if ((size_t)n >= PROBE_HDRLEN && get32(buf) == PROBE_MAGIC &&
		    get32(buf + 4) == run) {
			id = get32(buf + 8);
			seq = get32(buf + 12);
			if (id != (uint32_t)c->id) {
				c->misrouted++;	/* another client's */
				continue;
			}
			if (!c->waiting || seq != c->seq) {
				c->late++;	/* after its wait, or twice */
				continue;
			}
		}
		/* Ours, in flight, but not what was sent. */
		c->corrupted++;
		if (c->waiting) {
			c->waiting = 0;
			c->seq++;
		}
	}
}

static int
cmp_ll(const void *a, const void *b)
{
	long long	x = *(const long long *)a, y = *(const long long *)b;

	return ((x > y) - (x < y));
}

/* min, p50, p99 and max in microseconds (nearest rank), sorting v. */
static void
print_rtt(long long *v, unsigned long n)
{
	unsigned long	i50, i99;

	if (n == 0) {
		printf(" rtt_us min - p50 - p99 - max -");
		return;
	}
	qsort(v, n, sizeof *v, cmp_ll);
	i50 = (n * 50 + 99) / 100;
	i99 = (n * 99 + 99) / 100;
	printf(" rtt_us min %lld p50 %lld p99 %lld max %lld", v[0] / 1000,
	    v[i50 - 1] / 1000, v[i99 - 1] / 1000, v[n - 1] / 1000);
}

static void
print_counts(const struct client *c)
{
	printf(" sent %lu received %lu lost %lu corrupted %lu misrouted %lu"
	    " late %lu", c->sent, c->received, c->lost, c->corrupted,
	    c->misrouted, c->late);
}

static int
cmd_ping(int argc, char *argv[])
{
	struct sockaddr_storage	 target, bindss, local;
	struct client		*clients, *c, total;
	struct pollfd		*pfd;
	socklen_t		 tlen, blen = 0, llen;
	long long		*all, now, next, elapsed;
	unsigned long		 count = 0, k;
	size_t			 size = 0;
	uint32_t		 run;
	int			 ch, i, nclients = 1, wait_ms = 1000, done;
	int			 have_n = 0, have_s = 0, have_b = 0, timeout;

	while ((ch = getopt(argc, argv, "b:c:n:s:w:")) != -1) {
		switch (ch) {
		case 'b':
			parse_addr(optarg, &bindss, &blen);
			have_b = 1;
			break;
		case 'c':
			nclients = (int)number("-c", optarg, 1,
			    PROBE_MAXCLIENTS);
			break;
		case 'n':
			count = (unsigned long)number("-n", optarg, 1,
			    10000000);
			have_n = 1;
			break;
		case 's':
			size = (size_t)number("-s", optarg, 0, PROBE_MAXDGRAM);
			have_s = 1;
			break;
		case 'w':
			wait_ms = (int)number("-w", optarg, 1, 600000);
			break;
		default:
			usage();
		}
	}
	if (!have_n || !have_s || optind != argc - 1)
		usage();
	if (have_b && nclients != 1)
		die("-b: only with one client (-c 1)");
	parse_addr(argv[optind], &target, &tlen);
	if (have_b && bindss.ss_family != target.ss_family)
		die("-b: not the address family of %s", argv[optind]);
	if (!have_b)
		loopback_any(target.ss_family, &bindss, &blen);

	if ((clients = calloc((size_t)nclients, sizeof *clients)) == NULL ||
	    (pfd = calloc((size_t)nclients, sizeof *pfd)) == NULL)
		die("out of memory");
	run = (uint32_t)getpid() ^ (uint32_t)now_ns();
	for (i = 0; i < nclients; i++) {
		c = &clients[i];
		c->id = i;
		c->fd = udp_open(&bindss, blen);
		llen = sizeof local;
		getsockname(c->fd, (struct sockaddr *)&local, &llen);
		fmt_addr((struct sockaddr *)&local, c->name, sizeof c->name);
		if ((c->out = malloc(size + 1)) == NULL ||
		    (c->rtt = calloc(count, sizeof *c->rtt)) == NULL)
			die("out of memory");
		pfd[i].fd = c->fd;
		pfd[i].events = POLLIN;
	}

	/* Every client has one datagram in flight at a time. */
	now = now_ns();
	elapsed = now;
	for (i = 0; i < nclients; i++)
		ping_send(&clients[i], size, run, &target, tlen, wait_ms);
	for (;;) {
		now = now_ns();
		done = 1;
		next = now + (long long)wait_ms * 1000000;
		for (i = 0; i < nclients; i++) {
			c = &clients[i];
			if (c->waiting && now >= c->deadline_ns) {
				c->lost++;
				c->waiting = 0;
				c->seq++;
			}
			if (!c->waiting && c->seq < count)
				ping_send(c, size, run, &target, tlen, wait_ms);
			if (c->waiting) {
				done = 0;
				if (c->deadline_ns < next)
					next = c->deadline_ns;
			}
		}
		if (done)
			break;
		timeout = (int)((next - now + 999999) / 1000000);
		if (poll(pfd, (nfds_t)nclients, timeout < 0 ? 0 : timeout) ==
		    -1 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < nclients; i++) {
			if (pfd[i].revents != 0)
				ping_input(&clients[i], size, run, &target);
		}
	}
	elapsed = now_ns() - elapsed;

	memset(&total, 0, sizeof total);
	if ((all = calloc(count * (unsigned long)nclients + 1,
	    sizeof *all)) == NULL)
		die("out of memory");
	for (i = 0; i < nclients; i++) {
		c = &clients[i];
		total.sent += c->sent;
		for (k = 0; k < c->received; k++)
			all[total.received++] = c->rtt[k];
		total.lost += c->lost;
		total.corrupted += c->corrupted;
		total.misrouted += c->misrouted;
		total.late += c->late;
		printf("client %d %s:", i, c->name);
		print_counts(c);
		print_rtt(c->rtt, c->received);
		printf("\n");
	}
	printf("total: clients %d size %zu", nclients, size);
	print_counts(&total);
	print_rtt(all, total.received);
	printf(" elapsed_ms %lld rate_per_s %.0f\n", elapsed / 1000000,
	    elapsed > 0 ? (double)total.received * 1e9 / (double)elapsed : 0.0);

	for (i = 0; i < nclients; i++) {
		close(clients[i].fd);
		free(clients[i].out);
		free(clients[i].rtt);
	}
	free(clients);
	free(pfd);
	free(all);
	return (total.received == total.sent && total.lost == 0 &&
	    total.corrupted == 0 && total.misrouted == 0 && total.late == 0 ?
	    0 : 1);
}

/*
 * COUNT distinct ports free on 127.0.0.1 a moment ago, one a line. With
 * "both", each was free for UDP and for TCP on every address at once
 * (for a program that binds both, such as iperf3 -s).
 */
static int
cmd_freeport(int argc, char *argv[])
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	socklen_t		 len;
	int			*fds, type = SOCK_DGRAM, both = 0, i, count = 1;
	int			 tries;

	if (argc > 1) {
		if (strcmp(argv[1], "tcp") == 0)
			type = SOCK_STREAM;
		else if (strcmp(argv[1], "both") == 0)
			both = 1;
		else if (strcmp(argv[1], "udp") != 0)
			usage();
	}
	if (argc > 2)
		count = (int)number("COUNT", argv[2], 1, 100);
	if (argc > 3)
		usage();
	if ((fds = calloc((size_t)count * 2, sizeof *fds)) == NULL)
		die("out of memory");
	/* All bound at once, so the ports are distinct. */
	for (i = 0; i < count; i++) {
		fds[2 * i + 1] = -1;
		for (tries = 0; ; tries++) {
			loopback_any(AF_INET, &ss, &len);
			if (both)
				sin->sin_addr.s_addr = htonl(INADDR_ANY);
			if ((fds[2 * i] = socket(AF_INET, type, 0)) == -1 ||
			    bind(fds[2 * i], (struct sockaddr *)&ss, len) ==
			    -1 || getsockname(fds[2 * i], (struct sockaddr *)&ss,
			    &len) == -1)
				die("free port: %s", strerror(errno));
			if (!both)
				break;
			/* The same port for TCP too, or another try. */
			if ((fds[2 * i + 1] = socket(AF_INET, SOCK_STREAM,
			    0)) == -1)
				die("free port: %s", strerror(errno));
			if (bind(fds[2 * i + 1], (struct sockaddr *)&ss,
			    len) == 0)
				break;
			if (errno != EADDRINUSE || tries == 100)
				die("free port: %s", strerror(errno));
			close(fds[2 * i + 1]);
			fds[2 * i + 1] = -1;
			close(fds[2 * i]);
		}
		printf("%d\n", ntohs(sin->sin_port));
	}
	for (i = 0; i < 2 * count; i++)
		if (fds[i] != -1)
			close(fds[i]);
	free(fds);
	return (0);
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "echo") == 0)
		return (cmd_echo(argc - 1, argv + 1));
	if (strcmp(argv[1], "ping") == 0)
		return (cmd_ping(argc - 1, argv + 1));
	if (strcmp(argv[1], "freeport") == 0)
		return (cmd_freeport(argc - 1, argv + 1));
	usage();
}
