/*
 * load.c - the load generator: datagrams out, replies checked, losses
 * found, round trip times kept.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include "bench.h"

#ifdef BENCH_EPOLL
#include <sys/epoll.h>
#include <sys/timerfd.h>
#endif

#define HDRLEN		32		/* struct hdr on the wire */
#define MAGIC		0x55425431U	/* "UBT1" */
#define PATSPAN		4096		/* body offsets into the pattern */
#define TICK_NS		10000000ULL	/* loss scan and retries */
#define MAXCATCHUP	16		/* rate mode: most sends per wakeup */

/* The datagram header: host order, never leaves this machine. */
struct hdr {
	uint32_t	magic;
	uint32_t	run;
	uint32_t	flow;
	uint32_t	seq;
	uint64_t	sent;		/* CLOCK_MONOTONIC, ns */
	uint32_t	size;		/* of the whole datagram */
	uint32_t	check;		/* over all the above */
};

static unsigned char	*pattern;
static uint32_t		 run_counter;

static uint32_t	 hdr_check(const struct hdr *);
static struct sockaddr_in *flow_target(struct load *, const struct flow *);
static size_t	 body_off(uint32_t, uint32_t);
static void	 flows_open(struct load *, int, int);
static void	 flow_advance(struct flow *);
static void	 resolve(struct load *, struct flow *, struct slot *);
static void	 push_rtt(struct load *, uint64_t);
static uint32_t	 flow_send(struct load *, struct flow *, uint32_t, uint64_t);
static int	 can_send(const struct load *);
static void	 flow_fill(struct load *, struct flow *, uint64_t);
static void	 pace(struct load *, uint64_t);
static void	 reply(struct load *, struct flow *, const unsigned char *,
		     size_t, int, const struct sockaddr_in *, uint64_t);
static void	 flow_input(struct load *, struct flow *);
static void	 scan_losses(struct load *, uint64_t);
static void	 set_phase(struct load *, enum phase, uint64_t);

static uint32_t
hdr_check(const struct hdr *h)
{
	uint32_t	x;

	x = mix32(h->magic ^ 0x9e3779b9U);
	x = mix32(x ^ h->run);
	x = mix32(x ^ h->flow);
	x = mix32(x ^ h->seq);
	x = mix32(x ^ (uint32_t)h->sent);
	x = mix32(x ^ (uint32_t)(h->sent >> 32));
	x = mix32(x ^ h->size);
	return (x);
}

/* Where flow f sends, and (with targets) whence its replies come. */
static struct sockaddr_in *
flow_target(struct load *L, const struct flow *f)
{
	return (L->ntargets > 0 ? &L->targets[f->id % (uint32_t)L->ntargets] :
	    &L->target);
}

/* Where in the pattern the body of datagram seq of flow starts. */
static size_t
body_off(uint32_t flow, uint32_t seq)
{
	return (mix32(flow * 0x9e3779b9U ^ seq) & (PATSPAN - 1));
}

void
pattern_init(void)
{
	uint32_t	x = 0x2545f491U ^ (uint32_t)getpid();
	size_t		i;

	pattern = xcalloc(PATSPAN + MAXSIZE, 1);
	for (i = 0; i < PATSPAN + MAXSIZE; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = (unsigned char)(x >> 11);
	}
}

/* The sockets and rings of the load's flows. */
static void
flows_open(struct load *L, int n, int ringsize)
{
	struct flow	*f;
	uint32_t	 size = 64;
	int		 i;

	while (size < (uint32_t)ringsize)
		size <<= 1;
	L->flows = xcalloc((size_t)n, sizeof *L->flows);
	L->nflows = n;
	for (i = 0; i < n; i++) {
		f = &L->flows[i];
		f->fd = udp_socket(1, n <= 64 ? SOCKBUF : 0);
		f->port = sock_port(f->fd);
		f->id = (uint32_t)i;
		f->mask = size - 1;
		f->ring = xcalloc(size, sizeof *f->ring);
	}
}

void
flows_close(struct load *L)
{
	int	i;

	for (i = 0; i < L->nflows; i++) {
		close(L->flows[i].fd);
		free(L->flows[i].ring);
	}
	free(L->flows);
	L->flows = NULL;
	L->nflows = 0;
}

/* Move f->oldest past every slot that is no longer live. */
static void
flow_advance(struct flow *f)
{
	struct slot	*s;

	while (f->oldest != f->next_seq) {
		s = &f->ring[f->oldest & f->mask];
		if (s->state != 0 && s->seq == f->oldest)
			break;
		f->oldest++;
	}
}

/* A live slot of f is done with, whatever its outcome. */
static void
resolve(struct load *L, struct flow *f, struct slot *s)
{
	s->state = 0;
	f->inflight--;
	L->inflight--;
	if (s->seq == f->oldest)
		flow_advance(f);
}

static void
push_rtt(struct load *L, uint64_t ns)
{
	if (L->nrtt == L->rttcap) {
		L->rttcap = L->rttcap ? L->rttcap * 2 : 65536;
		if ((L->rtt = realloc(L->rtt, L->rttcap * sizeof *L->rtt)) ==
		    NULL)
			die("out of memory");
	}
	L->rtt[L->nrtt++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/* Send the next n datagrams of f, as far as the socket takes them. */
static uint32_t
flow_send(struct load *L, struct flow *f, uint32_t n, uint64_t now)
{
	static struct hdr	 hdrs[BATCH];
	size_t			 size = L->wl->size;
	struct sockaddr_in	*to = flow_target(L, f);
	struct slot		*s;
	struct hdr		*h;
	uint32_t		 m, i, k, seq, total = 0;
	int			 ph = L->phase == PH_MEASURE;
#ifdef BENCH_MMSG
	static struct mmsghdr	 msgs[BATCH];
	static struct iovec	 iovs[BATCH][2];
	int			 r;
#else
	struct msghdr		 mh;
	struct iovec		 iov[2];
	ssize_t			 r;
#endif

	while (n > 0) {
		m = n < BATCH ? n : BATCH;
		for (i = 0; i < m; i++) {
			h = &hdrs[i];
			seq = f->next_seq + i;
			h->magic = MAGIC;
			h->run = L->run;
			h->flow = f->id;
			h->seq = seq;
			h->sent = now;
			h->size = (uint32_t)size;
			h->check = hdr_check(h);
#ifdef BENCH_MMSG
			iovs[i][0].iov_base = h;
			iovs[i][0].iov_len = HDRLEN;
			iovs[i][1].iov_base = pattern + body_off(f->id, seq);
			iovs[i][1].iov_len = size - HDRLEN;
			memset(&msgs[i], 0, sizeof msgs[i]);
			msgs[i].msg_hdr.msg_name = to;
			msgs[i].msg_hdr.msg_namelen = sizeof *to;
			msgs[i].msg_hdr.msg_iov = iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 2;
#endif
		}
#ifdef BENCH_MMSG
		do
			r = sendmmsg(f->fd, msgs, m, 0);
		while (r == -1 && errno == EINTR);
		k = r > 0 ? (uint32_t)r : 0;
#else
		for (k = 0; k < m; k++) {
			iov[0].iov_base = &hdrs[k];
			iov[0].iov_len = HDRLEN;
			iov[1].iov_base = pattern + body_off(f->id,
			    f->next_seq + k);
			iov[1].iov_len = size - HDRLEN;
			memset(&mh, 0, sizeof mh);
			mh.msg_name = to;
			mh.msg_namelen = sizeof *to;
			mh.msg_iov = iov;
			mh.msg_iovlen = 2;
			do
				r = sendmsg(f->fd, &mh, 0);
			while (r == -1 && errno == EINTR);
			if (r == -1)
				break;
		}
#endif
		/* Only what went out is in flight. */
		for (i = 0; i < k; i++) {
			seq = f->next_seq;
			s = &f->ring[seq & f->mask];
			if (s->state != 0) {
				/* Overtaken by a ring of later ones: lost. */
				L->c[s->state - 1].lost++;
				resolve(L, f, s);
			}
			s->sent = now;
			s->seq = seq;
			s->state = (uint32_t)ph + 1;
			f->next_seq++;
			f->inflight++;
			L->inflight++;
			L->c[ph].sent++;
			if (ph)
				L->msent++;
		}
		total += k;
		if (k < m) {
			f->retry = 1;		/* socket full: at the tick */
			break;
		}
		n -= m;
	}
	return (total);
}

static int
can_send(const struct load *L)
{
	return (L->phase == PH_WARM || (L->phase == PH_MEASURE &&
	    (L->count == 0 || L->msent < L->count)));
}

/* Window mode: top f up to its window. */
static void
flow_fill(struct load *L, struct flow *f, uint64_t now)
{
	uint64_t	n;

	f->retry = 0;
	if (L->wl->window <= 0 || !can_send(L) ||
	    f->inflight >= (uint32_t)L->wl->window)
		return;
	n = (uint32_t)L->wl->window - f->inflight;
	if (L->phase == PH_MEASURE && L->count > 0 && n > L->count - L->msent)
		n = L->count - L->msent;
	flow_send(L, f, (uint32_t)n, now);
}

/* Rate mode: send what is due by now, on the one flow. */
static void
pace(struct load *L, uint64_t now)
{
	uint64_t	due;
	uint32_t	sent;

	if (L->wl->rate <= 0 || !can_send(L))
		return;
	due = (now - L->t0) * (uint64_t)L->wl->rate / NSEC + 1;
	if (due <= L->paced)
		return;
	due -= L->paced;
	if (due > MAXCATCHUP) {
		/* Late by more than a batch: an open loop does not catch up. */
		if (L->phase == PH_MEASURE)
			L->skipped += due - MAXCATCHUP;
		L->paced += due - MAXCATCHUP;
		due = MAXCATCHUP;
	}
	L->paced += due;
	sent = flow_send(L, &L->flows[0], (uint32_t)due, now);
	/* What the socket did not take is a slot missed, not a loss. */
	if (L->phase == PH_MEASURE)
		L->skipped += due - sent;
}

/* One datagram that arrived at the socket of flow f. */
static void
reply(struct load *L, struct flow *f, const unsigned char *buf, size_t len,
    int trunc, const struct sockaddr_in *from, uint64_t now)
{
	struct flow	*owner;
	struct slot	*s;
	struct hdr	 h;
	size_t		 size = L->wl->size;
	int		 ph, now_ph;

	now_ph = L->phase == PH_MEASURE || L->phase == PH_DRAIN;
	if (len < HDRLEN) {
		L->c[now_ph].corrupted++;
		return;
	}
	memcpy(&h, buf, HDRLEN);
	if (h.magic != MAGIC || h.run != L->run || h.check != hdr_check(&h) ||
	    h.flow >= (uint32_t)L->nflows) {
		/* Whose it was cannot be told: it will also be lost. */
		L->c[now_ph].corrupted++;
		return;
	}
	owner = &L->flows[h.flow];
	s = &owner->ring[h.seq & owner->mask];
	if (s->state == 0 || s->seq != h.seq || s->sent != h.sent) {
		L->c[now_ph].late++;	/* after its loss, or twice */
		return;
	}
	ph = (int)s->state - 1;
	if (trunc || len != size || h.size != size ||
	    memcmp(buf + HDRLEN, pattern + body_off(h.flow, h.seq),
	    size - HDRLEN) != 0)
		L->c[ph].corrupted++;
	else if (owner != f || !same_addr(from, L->ntargets > 0 ?
	    flow_target(L, f) : &L->from))
		L->c[ph].misrouted++;
	else {
		L->c[ph].received++;
		if (ph)
			push_rtt(L, now - h.sent);
	}
	resolve(L, owner, s);
	if (owner != f)
		owner->retry = 1;
}

/* Every reply waiting at the socket of f. */
static void
flow_input(struct load *L, struct flow *f)
{
	static unsigned char	 bufs[BATCH][RBUFSIZE];
	static struct sockaddr_in from[BATCH];
	uint64_t		 now;
#ifdef BENCH_MMSG
	static struct mmsghdr	 msgs[BATCH];
	static struct iovec	 iovs[BATCH];
	int			 i, n;

	do {
		for (i = 0; i < BATCH; i++) {
			iovs[i].iov_base = bufs[i];
			iovs[i].iov_len = RBUFSIZE;
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof from[i];
			msgs[i].msg_hdr.msg_control = NULL;
			msgs[i].msg_hdr.msg_controllen = 0;
			msgs[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(f->fd, msgs, BATCH, 0, NULL);
		if (n <= 0)
			return;
		now = now_ns();
		for (i = 0; i < n; i++)
			reply(L, f, bufs[i], msgs[i].msg_len,
			    (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0,
			    &from[i], now);
	} while (n == BATCH);
#else
	struct msghdr		 mh;
	struct iovec		 iov;
	ssize_t			 r;
	int			 i;

	for (i = 0; i < BATCH; i++) {
		iov.iov_base = bufs[0];
		iov.iov_len = RBUFSIZE;
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_name = &from[0];
		mh.msg_namelen = sizeof from[0];
		if ((r = recvmsg(f->fd, &mh, 0)) < 0)
			return;
		now = now_ns();
		reply(L, f, bufs[0], (size_t)r, (mh.msg_flags & MSG_TRUNC) != 0,
		    &from[0], now);
	}
#endif
}

/* Count as lost what has waited too long; retry stalled sends. */
static void
scan_losses(struct load *L, uint64_t now)
{
	struct flow	*f;
	struct slot	*s;
	int		 i;

	for (i = 0; i < L->nflows; i++) {
		f = &L->flows[i];
		while (f->oldest != f->next_seq) {
			s = &f->ring[f->oldest & f->mask];
			if (s->state != 0 && s->seq == f->oldest) {
				if (now - s->sent < LOSS_NS)
					break;
				L->c[s->state - 1].lost++;
				resolve(L, f, s);
				f->retry = 1;
				continue;
			}
			f->oldest++;
		}
		if (f->retry)
			flow_fill(L, f, now);
	}
}

static void
set_phase(struct load *L, enum phase ph, uint64_t now)
{
	int	i;

	L->phase = ph;
	switch (ph) {
	case PH_MEASURE:
		if (L->hook != NULL && L->hook(L, 1, L->hookarg) == -1) {
			L->failed = 1;
			L->phase = PH_DONE;
			return;
		}
		L->t_start = now_ns();
		for (i = 0; i < L->nflows; i++)
			flow_fill(L, &L->flows[i], L->t_start);
		break;
	case PH_DRAIN:
		if (L->count == 0) {
			L->t_end = now;
			if (L->hook != NULL && L->hook(L, 0, L->hookarg) == -1)
				L->failed = 1;
		}
		L->drain_until = now + LOSS_NS + 2 * TICK_NS;
		break;
	case PH_DONE:
		if (L->count > 0) {
			L->t_end = now;
			if (L->hook != NULL && L->hook(L, 0, L->hookarg) == -1)
				L->failed = 1;
		}
		break;
	default:
		break;
	}
}

/*
 * Run the load: warm up, measure (for dur_ns, or exactly count round
 * trips after a pause with nothing in flight), drain. The hook is called
 * as the measured window opens and closes.
 */
int
run_load(struct load *L)
{
	uint64_t		 now, next_tick, deadline;
	int64_t			 wait_ns;
	int			 i, n, timeout_ms;
#ifdef BENCH_EPOLL
	struct epoll_event	 ev, evs[256];
	struct itimerspec	 its;
	uint64_t		 expirations;
	int			 ep, tfd = -1;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < L->nflows; i++) {
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, L->flows[i].fd, &ev) == -1)
			die("epoll_ctl: %s", strerror(errno));
	}
	if (L->wl->rate > 0) {
		tfd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_NONBLOCK | TFD_CLOEXEC);
		if (tfd == -1)
			die("timerfd_create: %s", strerror(errno));
		memset(&its, 0, sizeof its);
		its.it_interval.tv_nsec = (long)(NSEC / (uint64_t)L->wl->rate);
		its.it_value = its.it_interval;
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.u32 = UINT32_MAX;
		if (timerfd_settime(tfd, 0, &its, NULL) == -1 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) == -1)
			die("timerfd: %s", strerror(errno));
	}
#else
	struct pollfd		*pfd;

	pfd = xcalloc((size_t)L->nflows, sizeof *pfd);
	for (i = 0; i < L->nflows; i++) {
		pfd[i].fd = L->flows[i].fd;
		pfd[i].events = POLLIN;
	}
#endif

	memset(L->c, 0, sizeof L->c);
	L->msent = L->paced = L->skipped = L->inflight = 0;
	L->nrtt = 0;
	L->failed = 0;
	L->t0 = now = now_ns();
	next_tick = now + TICK_NS;
	L->phase = PH_WARM;
	if (L->warm_ns == 0)
		set_phase(L, L->count > 0 ? PH_QUIESCE : PH_MEASURE, now);
	for (i = 0; i < L->nflows; i++)
		flow_fill(L, &L->flows[i], now);

	while (L->phase != PH_DONE) {
		now = now_ns();
		switch (L->phase) {
		case PH_WARM:
			if (now - L->t0 >= L->warm_ns)
				set_phase(L, L->count > 0 ? PH_QUIESCE :
				    PH_MEASURE, now);
			break;
		case PH_QUIESCE:
			if (L->inflight == 0)
				set_phase(L, PH_MEASURE, now);
			break;
		case PH_MEASURE:
			if (L->count > 0 ? L->msent >= L->count :
			    now - L->t_start >= L->dur_ns)
				set_phase(L, PH_DRAIN, now);
			break;
		case PH_DRAIN:
			if (L->inflight == 0 || now >= L->drain_until)
				set_phase(L, PH_DONE, now);
			break;
		default:
			break;
		}
		if (L->phase == PH_DONE)
			break;
		if (now >= next_tick) {
			scan_losses(L, now);
			next_tick = now + TICK_NS;
		}
		pace(L, now);

		deadline = next_tick;
		if (L->phase == PH_WARM && L->t0 + L->warm_ns < deadline)
			deadline = L->t0 + L->warm_ns;
		if (L->phase == PH_MEASURE && L->count == 0 &&
		    L->t_start + L->dur_ns < deadline)
			deadline = L->t_start + L->dur_ns;
		wait_ns = (int64_t)(deadline - now);
		timeout_ms = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) /
		    1000000);
#ifdef BENCH_EPOLL
		n = epoll_wait(ep, evs, 256, timeout_ms);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (evs[i].data.u32 == UINT32_MAX) {
				if (read(tfd, &expirations,
				    sizeof expirations) < 0)
					expirations = 0;
				continue;
			}
			flow_input(L, &L->flows[evs[i].data.u32]);
		}
		if (n > 0) {
			now = now_ns();
			for (i = 0; i < n; i++) {
				if (evs[i].data.u32 != UINT32_MAX)
					flow_fill(L,
					    &L->flows[evs[i].data.u32], now);
			}
		}
#else
		if (L->wl->rate > 0) {
			/* ms resolution: sends come in small bursts. */
			timeout_ms = 1;
		}
		n = poll(pfd, (nfds_t)L->nflows, timeout_ms);
		if (n == -1 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; n > 0 && i < L->nflows; i++) {
			if (pfd[i].revents != 0)
				flow_input(L, &L->flows[i]);
		}
		if (n > 0) {
			now = now_ns();
			for (i = 0; i < L->nflows; i++) {
				if (pfd[i].revents != 0)
					flow_fill(L, &L->flows[i], now);
			}
		}
#endif
	}
	/* What is still out after the drain is lost. */
	scan_losses(L, now_ns() + LOSS_NS);
#ifdef BENCH_EPOLL
	if (tfd != -1)
		close(tfd);
	close(ep);
#else
	free(pfd);
#endif
	return (L->failed ? -1 : 0);
}

void
load_init(struct load *L, const struct workload *wl)
{
	int	ring;

	memset(L, 0, sizeof *L);
	L->wl = wl;
	L->run = mix32(++run_counter ^ (uint32_t)getpid() * 2654435761U ^
	    (uint32_t)now_ns());
	L->warm_ns = (uint64_t)(opt_warm * 1e9);
	L->dur_ns = (uint64_t)(opt_dur * 1e9);
	/* Deep enough that only a datagram long gone is overtaken. */
	ring = wl->window > 0 ? wl->window * 64 :
	    (int)((uint64_t)wl->rate * 2 * LOSS_NS / NSEC);
	flows_open(L, wl->flows, ring);
}
