/*
 * proxy_accept.c - PROXY headers of accepted connections. The header is
 * read exactly, never a byte past it: the 15 bytes every header has,
 * then a v2 header's announced length, or a v1 line a byte at a time up
 * to its CRLF; so what follows (a TLS handshake, frames) is left in the
 * socket for the next stage. A connection that sends no valid header in
 * PROXY_ACCEPT_TIMEOUT_S is refused; at most PROXY_ACCEPT_PENDING_MAX
 * wait at once, the oldest giving way.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>
#include <utlist.h>

#include "addr.h"
#include "log.h"
#include "proxy.h"
#include "proxy_accept.h"

/* The fewest bytes of any header ("PROXY UNKNOWN\r\n"). */
#define PROXY_MIN	15
/* A v2 header: its 12-byte signature, then 4 bytes, the last 2 a length. */
#define PROXY_V2_FIXED	16

struct proxy_pending {
	struct proxy_accept	*gate;
	int			 fd;
	struct sockaddr_storage	 sa;		/* the balancer's end */
	struct event		*readable;
	struct event		*deadline;
	unsigned char		 buf[PROXY_MAX];
	size_t			 have;
	struct proxy_pending	*prev, *next;
};

struct proxy_accept {
	struct event_base		*base;
	proxy_accept_fn			 fn;
	void				*arg;
	struct proxy_pending		*pending;	/* oldest first */
	size_t				 npending;
	struct proxy_accept_stats	 stats;
	struct log_ratelimit		 rl;
};

static void	proxy_readcb(evutil_socket_t, short, void *);
static void	proxy_deadlinecb(evutil_socket_t, short, void *);

struct proxy_accept *
proxy_accept_new(struct event_base *base, proxy_accept_fn fn, void *arg)
{
	struct proxy_accept	*g;

	if ((g = calloc(1, sizeof *g)) == NULL)
		return (NULL);
	g->base = base;
	g->fn = fn;
	g->arg = arg;
	return (g);
}

/* Ends a wait; fd closed unless it was handed on. */
static void
proxy_pending_free(struct proxy_pending *p, int taken)
{
	struct proxy_accept	*g = p->gate;

	DL_DELETE(g->pending, p);
	g->npending--;
	if (p->readable != NULL)
		event_free(p->readable);
	if (p->deadline != NULL)
		event_free(p->deadline);
	if (!taken)
		evutil_closesocket(p->fd);
	free(p);
}

void
proxy_accept_free(struct proxy_accept *g)
{
	if (g == NULL)
		return;
	while (g->pending != NULL)
		proxy_pending_free(g->pending, 0);
	free(g);
}

const struct proxy_accept_stats *
proxy_accept_stats(const struct proxy_accept *g)
{
	return (&g->stats);
}

/* Not a client of the balancer's: counted, and said within the limit. */
static void
proxy_refuse(struct proxy_pending *p, const char *why)
{
	struct proxy_accept	*g = p->gate;
	char			 a[ADDR_STRLEN];

	g->stats.refused++;
	if (log_ratelimit(&g->rl))
		log_warnx("peer %s: refused, no PROXY header: %s", addr_fmt(
		    (struct sockaddr *)&p->sa, a, sizeof a), why);
	proxy_pending_free(p, 0);
}

/* Takes fd: its header is awaited, or it is closed. */
void
proxy_accept_start(struct proxy_accept *g, int fd, const struct sockaddr *sa)
{
	struct proxy_pending	*p;
	struct timeval		 tv = { PROXY_ACCEPT_TIMEOUT_S, 0 };
	char			 a[ADDR_STRLEN];

	if (g->npending >= PROXY_ACCEPT_PENDING_MAX)
		proxy_refuse(g->pending, "too many connections without "
		    "one yet");
	if ((p = calloc(1, sizeof *p)) == NULL) {
		log_warnx("peer %s: out of memory", addr_fmt(sa, a, sizeof a));
		evutil_closesocket(fd);
		return;
	}
	p->gate = g;
	p->fd = fd;
	memcpy(&p->sa, sa, addr_len(sa));
	DL_APPEND(g->pending, p);
	g->npending++;
	if ((p->readable = event_new(g->base, fd, EV_READ | EV_PERSIST,
	    proxy_readcb, p)) == NULL ||
	    (p->deadline = evtimer_new(g->base, proxy_deadlinecb, p)) ==
	    NULL ||
	    event_add(p->readable, NULL) != 0 ||
	    evtimer_add(p->deadline, &tv) != 0)
		proxy_refuse(p, "out of memory");
}

/* How many more bytes the header has for certain. */
static size_t
proxy_want(const struct proxy_pending *p)
{
	size_t	len;

	if (p->have < PROXY_MIN)
		return (PROXY_MIN - p->have);
	if (p->buf[0] != 'P') {		/* v2: the signature's first byte */
		if (p->have < PROXY_V2_FIXED)
			return (PROXY_V2_FIXED - p->have);
		len = PROXY_V2_FIXED + ((size_t)p->buf[14] << 8 | p->buf[15]);
		return (len > p->have ? len - p->have : 1);
	}
	return (1);			/* v1: up to the CRLF */
}

static void
proxy_readcb(evutil_socket_t fd, short events, void *arg)
{
	struct proxy_pending	*p = arg;
	struct proxy_accept	*g = p->gate;
	struct proxy_info	 info;
	struct sockaddr_storage	 client;
	const char		*why;
	size_t			 want, used;
	ssize_t			 n;

	(void)events;
	for (;;) {
		want = proxy_want(p);
		if (want > sizeof p->buf - p->have) {
			proxy_refuse(p, "header too long");
			return;
		}
		n = recv(fd, p->buf + p->have, want, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;
		if (n <= 0) {
			/* Closed before a byte: a balancer's TCP check. */
			if (n == 0 && p->have == 0) {
				g->stats.checks++;
				proxy_pending_free(p, 0);
			} else
				proxy_refuse(p, n == 0 ? "closed before the "
				    "header's end" : strerror(errno));
			return;
		}
		p->have += (size_t)n;
		switch (proxy_parse(p->buf, p->have, &used, &info, &why)) {
		case PROXY_MORE:
			continue;
		case PROXY_BAD:
			proxy_refuse(p, why);
			return;
		case PROXY_LOCAL:
			/* The balancer's own check: no line, just counted. */
			g->stats.checks++;
			proxy_pending_free(p, 0);
			return;
		case PROXY_OK:
			break;
		}
		if (info.has_addr)
			memcpy(&client, &info.src, sizeof client);
		else
			memcpy(&client, &p->sa, sizeof client);
		g->stats.clients++;
		proxy_pending_free(p, 1);
		g->fn(fd, (struct sockaddr *)&client, g->arg);
		return;
	}
}

static void
proxy_deadlinecb(evutil_socket_t fd, short events, void *arg)
{
	struct proxy_pending	*p = arg;
	char			 why[48];

	(void)fd;
	(void)events;
	snprintf(why, sizeof why, "none within %d s", PROXY_ACCEPT_TIMEOUT_S);
	proxy_refuse(p, why);
}
