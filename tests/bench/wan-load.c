/*
 * wan-load.c - the load of 'make bench-wan' (bench/wan.sh): paced UDP
 * flows, each from its own socket (so its own client address), sent to
 * one echo server (udp-probe echo), with each flow's round trip times,
 * loss and goodput measured. Plain POSIX, no libevent.
 *
 *   wan-load [-d SECONDS] [-w DRAIN_MS] [-l LABEL] -f NAME:SIZE:PPS
 *       [-f ...] IP:PORT
 *
 * Every flow sends SIZE-byte datagrams at PPS a second for SECONDS (on a
 * schedule fixed at the start, so a late wakeup sends what is due at
 * once, at most MAXBURST at a time). Sending stops; replies are taken for
 * DRAIN_MS more or until every datagram is back. Per flow:
 *
 *   sent      datagrams handed to sendto(), including those it refused
 *             (EAGAIN, ENOBUFS: what a real application would lose too)
 *   lost      sent minus replies received (once each) by the end
 *   p50/p99/max  round trip of the replies received, in ms
 *   goodput   reply payload received in the last 80% of the send window
 *             (the first 20% lets the queues fill), in Mbit/s
 *
 * and, with two flows or more named "bulk*", Jain's fairness index of
 * their goodputs, (sum x)^2 / (n * sum x^2). Output: a people-readable
 * row per flow (lines starting with two spaces), then one JSON line.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _POSIX_C_SOURCE 200809L
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAN_MAXFLOWS	8
#define WAN_HDRLEN	16		/* magic, flow, seq, spare */
#define WAN_MAGIC	0x55574e31U	/* "UWN1" */
#define WAN_MAXSIZE	8192
#define WAN_MINSIZE	WAN_HDRLEN
#define WAN_MAXPPS	100000
#define WAN_MAXBURST	32		/* sends per flow per wakeup */
#define WAN_SOCKBUF	(4 * 1024 * 1024)

struct wflow {
	char		 name[32];
	size_t		 size;
	long		 pps;
	int		 fd;
	uint32_t	 total;		/* datagrams it will send */
	uint32_t	 next;		/* sequence of the next to send */
	unsigned char	*got;		/* one byte per sequence */
	long long	*sent_ns;	/* per sequence */
	long long	*rtt;		/* ns, one per reply */
	unsigned long	 sent;
	unsigned long	 refused;	/* by sendto() */
	unsigned long	 received;
	unsigned long	 foreign;	/* not ours, or damaged */
	unsigned long long goodbytes;	/* in the goodput window */
	double		 goodput;	/* Mbit/s */
};

static struct wflow	 flows[WAN_MAXFLOWS];
static int		 nflows;

static void	 usage(void) __attribute__((__noreturn__));
static void	 die(const char *, ...)
		     __attribute__((__format__(__printf__, 1, 2)))
		     __attribute__((__noreturn__));

static void
die(const char *fmt, ...)
{
	va_list	ap;

	fputs("wan-load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
usage(void)
{
	fprintf(stderr, "usage: wan-load [-d seconds] [-w drain-ms] "
	    "[-l label] -f name:size:pps [-f ...] ip:port\n");
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
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		die("bad %s: %s (%ld to %ld)", what, s, min, max);
	return (v);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

/* NAME:SIZE:PPS */
static void
flow_parse(const char *arg, int duration)
{
	struct wflow	*f;
	char		 buf[128], *size, *pps;

	if (nflows == WAN_MAXFLOWS)
		die("at most %d flows", WAN_MAXFLOWS);
	if (strlen(arg) >= sizeof buf)
		die("bad flow: %s", arg);
	strcpy(buf, arg);
	if ((size = strchr(buf, ':')) == NULL ||
	    (pps = strchr(size + 1, ':')) == NULL)
		die("bad flow (name:size:pps): %s", arg);
	*size++ = '\0';
	*pps++ = '\0';
	f = &flows[nflows++];
	if (buf[0] == '\0' || strlen(buf) >= sizeof f->name)
		die("bad flow name: %s", arg);
	strcpy(f->name, buf);
	f->size = (size_t)number("size", size, WAN_MINSIZE, WAN_MAXSIZE);
	f->pps = number("rate", pps, 1, WAN_MAXPPS);
	f->total = (uint32_t)(f->pps * duration);
	f->got = calloc(f->total, 1);
	f->sent_ns = calloc(f->total, sizeof *f->sent_ns);
	f->rtt = calloc(f->total, sizeof *f->rtt);
	if (f->got == NULL || f->sent_ns == NULL || f->rtt == NULL)
		die("out of memory");
}

static void
flow_open(struct wflow *f, const struct sockaddr_in *to)
{
	int	buf = WAN_SOCKBUF;

	if ((f->fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	/* Best effort: the defaults still measure, only sooner refuse. */
	(void)setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	(void)setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	if (connect(f->fd, (const struct sockaddr *)to, sizeof *to) == -1)
		die("connect: %s", strerror(errno));
	if (fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) | O_NONBLOCK) == -1)
		die("fcntl: %s", strerror(errno));
}

static void
flow_send(struct wflow *f, int id, unsigned char *buf)
{
	memset(buf, 0xa5, f->size);
	put32(buf, WAN_MAGIC);
	put32(buf + 4, (uint32_t)id);
	put32(buf + 8, f->next);
	put32(buf + 12, 0);
	f->sent_ns[f->next] = now_ns();
	if (send(f->fd, buf, f->size, 0) != (ssize_t)f->size)
		f->refused++;
	f->sent++;
	f->next++;
}

static void
flow_input(struct wflow *f, int id, unsigned char *buf,
    long long gstart, long long gend)
{
	long long	now;
	ssize_t		n;
	uint32_t	seq;

	while ((n = recv(f->fd, buf, WAN_MAXSIZE, 0)) >= 0) {
		now = now_ns();
		if ((size_t)n != f->size || get32(buf) != WAN_MAGIC ||
		    get32(buf + 4) != (uint32_t)id ||
		    (seq = get32(buf + 8)) >= f->next || f->got[seq]) {
			f->foreign++;
			continue;
		}
		f->got[seq] = 1;
		f->rtt[f->received++] = now - f->sent_ns[seq];
		if (now >= gstart && now < gend)
			f->goodbytes += (unsigned long long)n;
	}
}

/*
 * When datagram f->next of flow i is due. Flows of the same rate are
 * offset by a fraction of their interval, so their sends interleave
 * rather than always arriving in the same order.
 */
static long long
due_ns(const struct wflow *f, int i, long long t0)
{
	return (t0 + (long long)(((double)f->next + (double)i /
	    (double)nflows) * 1e9 / (double)f->pps));
}

static int
cmp_ll(const void *a, const void *b)
{
	long long	x = *(const long long *)a, y = *(const long long *)b;

	return (x < y ? -1 : x > y);
}

/* Nearest-rank percentile of sorted v[0..n), in ms. */
static double
pct_ms(const long long *v, unsigned long n, double p)
{
	unsigned long	i;

	if (n == 0)
		return (-1);
	i = (unsigned long)(p * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return ((double)v[i - 1] / 1e6);
}

static void
json_ms(const char *key, double v, int last)
{
	if (v < 0)
		printf("\"%s\":null%s", key, last ? "" : ",");
	else
		printf("\"%s\":%.3f%s", key, v, last ? "" : ",");
}

int
main(int argc, char *argv[])
{
	static unsigned char	 buf[WAN_MAXSIZE];
	struct sockaddr_in	 to;
	struct pollfd		 pfd[WAN_MAXFLOWS];
	struct wflow		*f;
	const char		*label = "";
	char			*colon, host[64];
	long long		 t0, tend, gstart, gend, drain_end, now, due;
	long long		 wake;
	double			 sum = 0, sumsq = 0, jain = -1, loss;
	int			 ch, i, k, duration = 10, drain_ms = 3000;
	int			 nbulk = 0, pending, timeout, j, turn = 0;
	const char		*fargs[WAN_MAXFLOWS];
	int			 nfargs = 0;

	while ((ch = getopt(argc, argv, "d:f:l:w:")) != -1) {
		switch (ch) {
		case 'd':
			duration = (int)number("duration", optarg, 1, 600);
			break;
		case 'f':
			if (nfargs == WAN_MAXFLOWS)
				die("at most %d flows", WAN_MAXFLOWS);
			fargs[nfargs++] = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'w':
			drain_ms = (int)number("drain", optarg, 0, 60000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || nfargs == 0)
		usage();
	for (i = 0; i < nfargs; i++)
		flow_parse(fargs[i], duration);

	if (strlen(argv[optind]) >= sizeof host ||
	    (colon = strrchr(strcpy(host, argv[optind]), ':')) == NULL)
		die("bad address (ip:port): %s", argv[optind]);
	*colon = '\0';
	memset(&to, 0, sizeof to);
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)number("port", colon + 1, 1, 65535));
	if (inet_pton(AF_INET, host, &to.sin_addr) != 1)
		die("bad IPv4 address: %s", host);
	for (i = 0; i < nflows; i++) {
		flow_open(&flows[i], &to);
		pfd[i].fd = flows[i].fd;
		pfd[i].events = POLLIN;
	}

	t0 = now_ns();
	tend = t0 + (long long)duration * 1000000000LL;
	gstart = t0 + (tend - t0) / 5;
	gend = tend;
	drain_end = tend + (long long)drain_ms * 1000000LL;

	/*
	 * One loop, bounded in time by drain_end: send what is due, take
	 * what came back, sleep until the next send or reply.
	 */
	for (;;) {
		now = now_ns();
		if (now >= drain_end)
			break;
		pending = 0;
		wake = now >= tend ? drain_end : tend;
		/* Whose turn is first rotates: no flow always leads. */
		turn = (turn + 1) % nflows;
		for (j = 0; j < nflows; j++) {
			i = (j + turn) % nflows;
			f = &flows[i];
			for (k = 0; k < WAN_MAXBURST && f->next < f->total;
			    k++) {
				if ((due = due_ns(f, i, t0)) > now)
					break;
				flow_send(f, i, buf);
			}
			if (f->next < f->total &&
			    (due = due_ns(f, i, t0)) < wake)
				wake = due;
			if (f->received < f->sent)
				pending = 1;
			if (f->next < f->total)
				pending = 1;
		}
		if (!pending)
			break;
		now = now_ns();
		timeout = wake <= now ? 0 : (int)((wake - now + 999999) /
		    1000000);
		if (poll(pfd, (nfds_t)nflows, timeout) == -1 &&
		    errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < nflows; i++)
			if (pfd[i].revents & (POLLIN | POLLERR))
				flow_input(&flows[i], i, buf, gstart,
				    gend);
	}

	for (i = 0; i < nflows; i++) {
		f = &flows[i];
		f->goodput = (double)f->goodbytes * 8 /
		    ((double)(gend - gstart) / 1e9) / 1e6;
		if (strncmp(f->name, "bulk", 4) == 0) {
			nbulk++;
			sum += f->goodput;
			sumsq += f->goodput * f->goodput;
		}
		qsort(f->rtt, f->received, sizeof *f->rtt, cmp_ll);
	}
	if (nbulk >= 2 && sumsq > 0)
		jain = sum * sum / ((double)nbulk * sumsq);

	for (i = 0; i < nflows; i++) {
		f = &flows[i];
		loss = f->sent ? 100.0 * (double)(f->sent - f->received) /
		    (double)f->sent : 0;
		printf("  %-26s %-7s %5zu %5ld %7lu %6.2f%% %9.2f %9.2f "
		    "%9.2f %8.2f\n", label, f->name, f->size, f->pps, f->sent,
		    loss, pct_ms(f->rtt, f->received, 0.50),
		    pct_ms(f->rtt, f->received, 0.99),
		    pct_ms(f->rtt, f->received, 1.0), f->goodput);
	}
	if (jain >= 0)
		printf("  %-26s Jain's fairness index of the bulk flows: "
		    "%.3f\n", label, jain);

	printf("{\"duration_s\":%d,\"flows\":[", duration);
	for (i = 0; i < nflows; i++) {
		f = &flows[i];
		printf("%s{\"name\":\"%s\",\"size\":%zu,\"pps\":%ld,"
		    "\"sent\":%lu,\"refused\":%lu,\"received\":%lu,"
		    "\"lost\":%lu,\"foreign\":%lu,\"loss_pct\":%.3f,",
		    i ? "," : "", f->name, f->size, f->pps, f->sent,
		    f->refused, f->received, f->sent - f->received,
		    f->foreign, f->sent ? 100.0 * (double)(f->sent -
		    f->received) / (double)f->sent : 0.0);
		json_ms("p50_ms", pct_ms(f->rtt, f->received, 0.50), 0);
		json_ms("p99_ms", pct_ms(f->rtt, f->received, 0.99), 0);
		json_ms("max_ms", pct_ms(f->rtt, f->received, 1.0), 0);
		printf("\"goodput_mbit\":%.3f}", f->goodput);
	}
	printf("]");
	if (jain >= 0)
		printf(",\"jain\":%.4f", jain);
	printf("}\n");
	return (0);
}
