/*
 * tls_accept.c - handshakes of accepted connections, before they are
 * peers. Each costs a session and two events until it is done, fails
 * or times out; there are at most TLS_ACCEPT_PENDING_MAX, the oldest
 * giving way, so a crowd of silent connections cannot keep a real peer
 * from finishing its own. Failures are logged under one rate limit.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>
#include <utlist.h>

#include "addr.h"
#include "handshake.h"
#include "log.h"
#include "tls.h"
#include "tls_accept.h"

struct tls_pending {
	struct tls_accept	*gate;
	int			 fd;
	struct sockaddr_storage	 sa;
	struct tls_conn		*conn;
	struct handshake	*hs;
	struct tls_pending	*prev, *next;
};

struct tls_accept {
	struct event_base	*base;
	struct tls_ctx		*ctx;
	tls_accept_fn		 fn;
	void			*arg;
	struct tls_pending	*pending;	/* oldest first */
	size_t			 npending;
	uint64_t		 refused;
	struct log_ratelimit	 rl;
};

static void	tls_accept_donecb(struct handshake *, enum handshake_result,
		    void *);

struct tls_accept *
tls_accept_new(struct event_base *base, struct tls_ctx *ctx,
    tls_accept_fn fn, void *arg)
{
	struct tls_accept	*g;

	if ((g = calloc(1, sizeof *g)) == NULL)
		return (NULL);
	g->base = base;
	g->ctx = ctx;
	g->fn = fn;
	g->arg = arg;
	return (g);
}

/* Ends a pending handshake; fd closed and session freed unless taken. */
static void
tls_pending_free(struct tls_pending *p, int taken)
{
	struct tls_accept	*g = p->gate;

	DL_DELETE(g->pending, p);
	g->npending--;
	handshake_free(p->hs);
	if (!taken) {
		tls_conn_free(p->conn);
		evutil_closesocket(p->fd);
	}
	free(p);
}

void
tls_accept_free(struct tls_accept *g)
{
	if (g == NULL)
		return;
	while (g->pending != NULL)
		tls_pending_free(g->pending, 0);
	free(g);
}

uint64_t
tls_accept_refused(const struct tls_accept *g)
{
	return (g != NULL ? g->refused : 0);
}

/* A stranger's failure: counted, and said within the rate limit. */
static void
tls_accept_refuse(struct tls_pending *p, const char *what, const char *why)
{
	struct tls_accept	*g = p->gate;
	char			 a[ADDR_STRLEN];

	g->refused++;
	if (log_ratelimit(&g->rl))
		log_warnx("peer %s: TLS handshake %s%s", addr_fmt(
		    (struct sockaddr *)&p->sa, a, sizeof a), what, why);
	tls_pending_free(p, 0);
}

/* Takes fd: its handshake begins, or it is closed. */
void
tls_accept_start(struct tls_accept *g, int fd, const struct sockaddr *sa)
{
	struct tls_pending	*p;
	char			 a[ADDR_STRLEN];

	if (g->npending >= TLS_ACCEPT_PENDING_MAX)
		tls_accept_refuse(g->pending, "dropped: ", "too many "
		    "handshakes under way");
	if ((p = calloc(1, sizeof *p)) == NULL ||
	    (p->conn = tls_conn_new(g->ctx)) == NULL) {
		log_warnx("peer %s: out of memory for a TLS session",
		    addr_fmt(sa, a, sizeof a));
		free(p);
		evutil_closesocket(fd);
		return;
	}
	p->gate = g;
	p->fd = fd;
	memcpy(&p->sa, sa, addr_len(sa));
	DL_APPEND(g->pending, p);
	g->npending++;
	p->hs = handshake_start(g->base, fd, p->conn, TLS_HANDSHAKE_TIMEOUT_S,
	    tls_accept_donecb, p);
	if (p->hs == NULL)
		tls_accept_refuse(p, "failed: ", "out of memory");
}

static void
tls_accept_donecb(struct handshake *hs, enum handshake_result r, void *arg)
{
	struct tls_pending	*p = arg;
	struct tls_accept	*g = p->gate;
	struct sockaddr_storage	 sa;
	struct tls_conn		*conn = p->conn;
	int			 fd = p->fd;
	char			 why[64];

	(void)hs;
	switch (r) {
	case HANDSHAKE_OK:
		memcpy(&sa, &p->sa, sizeof sa);
		tls_pending_free(p, 1);
		g->fn(fd, (struct sockaddr *)&sa, conn, g->arg);
		return;
	case HANDSHAKE_FAILED:
		tls_accept_refuse(p, "failed: ", tls_conn_error(conn));
		return;
	case HANDSHAKE_TIMED_OUT:
		snprintf(why, sizeof why, "after %d s",
		    TLS_HANDSHAKE_TIMEOUT_S);
		tls_accept_refuse(p, "timed out ", why);
		return;
	}
}
