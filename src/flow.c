/*
 * flow.c - the flow table of auto mode. Lookup is one uthash probe on
 * a canonical key; idle expiry is one timer per flow that a datagram
 * never touches (it only stamps the flow's last-seen time), so the cost
 * per datagram stays constant whatever the number of flows.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "flow.h"
#include "log.h"

#define uthash_fatal(msg)	fatalx("flow table: %s", msg)
#include <uthash.h>

struct flow {
	struct addr_key		 key;
	UT_hash_handle		 hh;
	struct flow_table	*table;
	struct sockaddr_storage	 client;
	socklen_t		 clientlen;
	int			 fd;		/* own socket, or -1 */
	uint32_t		 rx_drops;	/* its kernel drops, seen */
	struct event		*read_ev;
	flow_readfn		 readfn;
	struct event		*timer;
	struct timeval		 last_seen;
};

struct flow_table {
	struct event_base	*base;
	struct flow		*flows;		/* uthash head */
	size_t			 count;
	struct timeval		 timeout;
	const struct timeval	*common;	/* libevent's O(1) timeout */
	struct flow_limit	*limit;
	char			 owner[ADDR_HOSTLEN + 8];	/* for logs */
	void			*arg;
	int			 paused;
};

static void	flow_readcb(evutil_socket_t, short, void *);
static void	flow_timercb(evutil_socket_t, short, void *);

struct flow_table *
flow_table_new(struct event_base *base, unsigned int timeout_s,
    struct flow_limit *limit, const char *owner, void *arg)
{
	struct flow_table	*table;

	if ((table = calloc(1, sizeof *table)) == NULL)
		return (NULL);
	table->base = base;
	table->timeout.tv_sec = timeout_s;
	/* Every flow waits the same time: one queue instead of a heap. */
	table->common = event_base_init_common_timeout(base, &table->timeout);
	if (table->common == NULL)
		table->common = &table->timeout;
	table->limit = limit;
	table->arg = arg;
	snprintf(table->owner, sizeof table->owner, "%s", owner);
	return (table);
}

void
flow_table_free(struct flow_table *table)
{
	struct flow	*flow, *tmp;

	if (table == NULL)
		return;
	HASH_ITER(hh, table->flows, flow, tmp)
		flow_free(flow, NULL);
	free(table);
}

size_t
flow_table_count(const struct flow_table *table)
{
	return (table->count);
}

void *
flow_table_arg(const struct flow_table *table)
{
	return (table->arg);
}

const struct sockaddr *
flow_client(const struct flow *flow)
{
	return ((const struct sockaddr *)&flow->client);
}

socklen_t
flow_client_len(const struct flow *flow)
{
	return (flow->clientlen);
}

int
flow_fd(const struct flow *flow)
{
	return (flow->fd);
}

/* Where udp_recv_batch keeps the count of this flow socket's drops. */
uint32_t *
flow_rx_drops(struct flow *flow)
{
	return (&flow->rx_drops);
}

struct flow *
flow_lookup(struct flow_table *table, const struct sockaddr *sa)
{
	struct addr_key	 key;
	struct flow	*flow;

	addr_key_make(&key, sa);
	HASH_FIND(hh, table->flows, &key, sizeof key, flow);
	return (flow);
}

/*
 * May client sa have a new flow? Under --max-flows, yes; otherwise it
 * is refused, counted and (rate-limited) logged. Ask before spending a
 * socket on it.
 */
int
flow_admit(struct flow_table *table, const struct sockaddr *sa)
{
	struct flow_limit	*limit = table->limit;
	char			 a[ADDR_STRLEN];

	if (limit->active < limit->max)
		return (0);
	limit->refused++;
	if (log_ratelimit(&limit->rl))
		log_warnx("flow %s (peer %s): refused, already %zu flows "
		    "(--max-flows)", addr_fmt(sa, a, sizeof a), table->owner,
		    limit->active);
	return (-1);
}

/*
 * A new flow for client sa. fd is its own socket (or -1), watched with
 * readfn. Returns NULL when the limit is reached: the caller drops the
 * datagram, which is counted here. fd is the flow's from now on, even
 * on failure.
 */
struct flow *
flow_create(struct flow_table *table, const struct sockaddr *sa, int fd,
    flow_readfn readfn)
{
	struct flow_limit	*limit = table->limit;
	struct flow		*flow;

	if (flow_admit(table, sa) != 0)
		goto fail;
	if ((flow = calloc(1, sizeof *flow)) == NULL)
		goto fail;
	flow->table = table;
	addr_key_make(&flow->key, sa);
	flow->clientlen = addr_len(sa);
	memcpy(&flow->client, sa, flow->clientlen);
	flow->fd = fd;
	flow->readfn = readfn;
	event_base_gettimeofday_cached(table->base, &flow->last_seen);
	if ((flow->timer = evtimer_new(table->base, flow_timercb, flow)) ==
	    NULL)
		goto fail_flow;
	if (fd != -1) {
		flow->read_ev = event_new(table->base, fd, EV_READ | EV_PERSIST,
		    flow_readcb, flow);
		if (flow->read_ev == NULL)
			goto fail_flow;
		if (!table->paused)
			event_add(flow->read_ev, NULL);
	}
	evtimer_add(flow->timer, table->common);
	HASH_ADD(hh, table->flows, key, sizeof flow->key, flow);
	table->count++;
	limit->active++;
	limit->created++;
	return (flow);

fail_flow:
	if (flow->timer != NULL)
		event_free(flow->timer);
	free(flow);
fail:
	if (fd != -1)
		close(fd);
	return (NULL);
}

/* Closes the flow's socket and frees it; why (if any) goes to the log. */
void
flow_free(struct flow *flow, const char *why)
{
	struct flow_table	*table = flow->table;
	char			 a[ADDR_STRLEN];

	if (why != NULL)
		log_verbose("flow %s (peer %s): closed (%s)",
		    addr_fmt((struct sockaddr *)&flow->client, a, sizeof a),
		    table->owner, why);
	HASH_DEL(table->flows, flow);
	table->count--;
	table->limit->active--;
	if (flow->read_ev != NULL)
		event_free(flow->read_ev);
	if (flow->fd != -1)
		close(flow->fd);
	event_free(flow->timer);
	free(flow);
}

/*
 * Closes the table's oldest flow (uthash keeps the order flows were
 * made in, so it is the head: no search), to make room for another
 * peer's. Returns -1 when the table has none.
 */
int
flow_evict_oldest(struct flow_table *table, const char *why)
{
	if (table->flows == NULL)
		return (-1);
	table->limit->evicted++;
	flow_free(table->flows, why);
	return (0);
}

/* Traffic either way keeps a flow alive: just a stamp, no timer work. */
void
flow_touch(struct flow *flow)
{
	event_base_gettimeofday_cached(flow->table->base, &flow->last_seen);
}

/* Backpressure: stop (1) or resume (0) reading every flow socket. */
void
flow_pause(struct flow_table *table, int paused)
{
	struct flow	*flow, *tmp;

	if (table->paused == paused)
		return;
	table->paused = paused;
	HASH_ITER(hh, table->flows, flow, tmp) {
		if (flow->read_ev == NULL)
			continue;
		if (paused)
			event_del(flow->read_ev);
		else
			event_add(flow->read_ev, NULL);
	}
}

static void
flow_readcb(evutil_socket_t fd, short events, void *arg)
{
	struct flow	*flow = arg;

	(void)fd;
	(void)events;
	flow->readfn(flow, flow->table->arg);
}

/* Idle long enough: expire. Seen since: wait out the rest. */
static void
flow_timercb(evutil_socket_t fd, short events, void *arg)
{
	struct flow	*flow = arg;
	struct timeval	 now, idle, left;
	char		 why[64];

	(void)fd;
	(void)events;
	event_base_gettimeofday_cached(flow->table->base, &now);
	timersub(&now, &flow->last_seen, &idle);
	if (timercmp(&idle, &flow->table->timeout, <)) {
		timersub(&flow->table->timeout, &idle, &left);
		evtimer_add(flow->timer, &left);
		return;
	}
	flow->table->limit->expired++;
	snprintf(why, sizeof why, "idle for %ld s",
	    (long)flow->table->timeout.tv_sec);
	flow_free(flow, why);
}
