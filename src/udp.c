/*
 * udp.c - UDP sockets: open, send and receive without ever blocking.
 * Receives come in batches and sends are queued and flushed in batches,
 * one recvmmsg/sendmmsg each where the OS has them, a plain loop of
 * recvmsg/sendto elsewhere. The loop is single-threaded, so one batch
 * of each serves the whole process.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/util.h>

#include "addr.h"
#include "log.h"
#include "stats.h"
#include "sockbuf.h"
#include "udp.h"

/* Send errors that are no passing burst share one limit: a wrong
 * destination fails for every datagram and must not flood the log. */
static struct log_ratelimit	udp_send_rl;

/* Untouched pages of these cost no memory; only what datagrams fill. */
static unsigned char	udp_rxbuf[UDP_BATCH][UDP_MAX_PAYLOAD];
static struct udp_msg	udp_rx[UDP_BATCH];

static struct {
	int			 fd;
	struct stats		*st;
	unsigned int		 n;
	struct iovec		 iov[UDP_BATCH];
	const struct sockaddr	*to[UDP_BATCH];
	socklen_t		 tolen[UDP_BATCH];
} udp_txq = { -1, NULL, 0, { { NULL, 0 } }, { NULL }, { 0 } };

/*
 * A non-blocking, close-on-exec socket bound to sa, with buffers of
 * bufsize bytes (sockbuf_set); -1 and errno on error.
 */
int
udp_open(const struct sockaddr *sa, socklen_t len, size_t bufsize,
    int explicit)
{
	return (udp_open_dual(sa, len, 0, bufsize, explicit));
}

/*
 * As udp_open; with dual set, an IPv6 socket takes IPv4 datagrams too
 * (as mapped addresses), as far as the system allows.
 */
int
udp_open_dual(const struct sockaddr *sa, socklen_t len, int dual,
    size_t bufsize, int explicit)
{
	int	fd, saved;

	if ((fd = socket(sa->sa_family, SOCK_DGRAM, 0)) == -1)
		return (-1);
	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    evutil_make_socket_closeonexec(fd) != 0)
		goto fail;
#ifdef IPV6_V6ONLY
	if (dual && sa->sa_family == AF_INET6) {
		int	off = 0;

		/* Best effort: without it, IPv6 senders still reach us. */
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
		    sizeof off);
	}
#endif
	sockbuf_set(fd, bufsize, explicit, "--udp-buffer");
#if HAVE_DECL_SO_RXQ_OVFL
	{
		int	on = 1;

		/* Best effort: without it, drops go uncounted, not wrong. */
		(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
	}
#endif
	if (bind(fd, sa, len) != 0)
		goto fail;
	return (fd);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

/* Errors a UDP socket reports for an earlier datagram (ICMP), not this one. */
static int
udp_is_icmp_error(int error)
{
	return (error == ECONNREFUSED || error == EHOSTUNREACH ||
	    error == ENETUNREACH || error == EHOSTDOWN || error == ENETDOWN);
}

#if HAVE_DECL_SO_RXQ_OVFL
/* Room for the kernel's count of drops on each received datagram. */
#define UDP_CTLLEN	CMSG_SPACE(sizeof(uint32_t))
static union {
	struct cmsghdr	hdr;
	unsigned char	buf[UDP_CTLLEN];
}			udp_rxctl[UDP_BATCH];

/*
 * The kernel's running count of datagrams it dropped on this socket
 * (receive buffer full), as attached to a received one; what grew since
 * *seen is counted. It only comes when it is not zero.
 */
static void
udp_count_drops(struct msghdr *m, uint32_t *seen, struct stats *st)
{
	struct cmsghdr	*c;
	uint32_t	 total;

	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL)
			continue;
		memcpy(&total, CMSG_DATA(c), sizeof total);
		/* Unsigned: right across the counter's wrap too. */
		st->drop_udp_receive += (uint32_t)(total - *seen);
		*seen = total;
	}
}
#endif

/* Describes slot i of the receive batch to the kernel. */
static void
udp_rx_slot(struct msghdr *m, struct iovec *iov, int i)
{
	iov->iov_base = udp_rxbuf[i];
	iov->iov_len = sizeof udp_rxbuf[i];
	memset(m, 0, sizeof *m);
	m->msg_iov = iov;
	m->msg_iovlen = 1;
	m->msg_name = &udp_rx[i].from;
	m->msg_namelen = sizeof udp_rx[i].from;
#if HAVE_DECL_SO_RXQ_OVFL
	m->msg_control = udp_rxctl[i].buf;
	m->msg_controllen = UDP_CTLLEN;
#endif
}

/*
 * Receives up to UDP_BATCH datagrams; returns how many (0 when there are
 * none now), or -1 on a real error. ICMP errors are counted and skipped.
 * *drops is this socket's count of kernel drops seen so far (start at
 * 0): where the kernel tells, what it dropped since is counted too.
 */
int
udp_recv_batch(int fd, struct udp_msg **msgs, struct stats *st,
    uint32_t *drops)
{
	static struct iovec	iov[UDP_BATCH];
#ifdef HAVE_RECVMMSG
	static struct mmsghdr	mm[UDP_BATCH];
#else
	struct msghdr		m;
	ssize_t			r;
#endif
	int			n;

#if !HAVE_DECL_SO_RXQ_OVFL
	(void)drops;
#endif
	*msgs = udp_rx;
#ifdef HAVE_RECVMMSG
	int			i;

	for (i = 0; i < UDP_BATCH; i++)
		udp_rx_slot(&mm[i].msg_hdr, &iov[i], i);
	for (;;) {
		n = recvmmsg(fd, mm, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (udp_is_icmp_error(errno)) {
			st->udp_icmp++;
			continue;
		}
		return (errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1);
	}
	for (i = 0; i < n; i++) {
		udp_rx[i].buf = udp_rxbuf[i];
		udp_rx[i].len = mm[i].msg_len;
		udp_rx[i].fromlen = mm[i].msg_hdr.msg_namelen;
#if HAVE_DECL_SO_RXQ_OVFL
		udp_count_drops(&mm[i].msg_hdr, drops, st);
#endif
	}
	return (n);
#else
	for (n = 0; n < UDP_BATCH; ) {
		udp_rx_slot(&m, &iov[n], n);
		r = recvmsg(fd, &m, 0);
		if (r >= 0) {
			udp_rx[n].buf = udp_rxbuf[n];
			udp_rx[n].len = (size_t)r;
			udp_rx[n].fromlen = m.msg_namelen;
#if HAVE_DECL_SO_RXQ_OVFL
			udp_count_drops(&m, drops, st);
#endif
			n++;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (udp_is_icmp_error(errno)) {
			st->udp_icmp++;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		return (n > 0 ? n : -1);
	}
	return (n);
#endif
}

/*
 * Queues one datagram; buf and to must stay valid until the flush. A
 * different socket, or a full batch, flushes what is queued first.
 */
void
udp_sendq_add(int fd, const void *buf, size_t len, const struct sockaddr *to,
    socklen_t tolen, struct stats *st)
{
	unsigned int	i;

	if (udp_txq.n == UDP_BATCH || (udp_txq.n > 0 &&
	    (udp_txq.fd != fd || udp_txq.st != st)))
		udp_sendq_flush();
	i = udp_txq.n++;
	udp_txq.fd = fd;
	udp_txq.st = st;
	udp_txq.iov[i].iov_base = (void *)(uintptr_t)buf;
	udp_txq.iov[i].iov_len = len;
	udp_txq.to[i] = to;
	udp_txq.tolen[i] = tolen;
}

/*
 * A datagram the system refused. A full buffer is a burst, counted
 * only; anything else (a destination this socket cannot reach, a
 * datagram too large for it) would fail again for the next one, so it
 * is said, rate-limited, with the error and where it was going.
 */
static void
udp_send_failed(unsigned int i, int error)
{
	char	a[ADDR_STRLEN];

	if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS ||
	    error == EINTR || udp_is_icmp_error(error))
		return;
	if (!log_ratelimit(&udp_send_rl))
		return;
	if (udp_txq.to[i] != NULL)
		addr_fmt(udp_txq.to[i], a, sizeof a);
	else
		snprintf(a, sizeof a, "the server");
	log_warnx("udp send to %s: %s; datagram dropped", a,
	    strerror(error));
}

/*
 * Sends what is queued. A full buffer or any other failure drops just
 * that datagram and counts it: the loop must never block on UDP. An
 * ICMP error that surfaces belongs to an earlier datagram: count it and
 * try again once.
 */
void
udp_sendq_flush(void)
{
	struct stats	*st = udp_txq.st;
	unsigned int	 done = 0;
	int		 retried = 0;
	ssize_t		 r;
#ifdef HAVE_SENDMMSG
	static struct mmsghdr	mm[UDP_BATCH];
	unsigned int		i;

	for (i = 0; i < udp_txq.n; i++) {
		memset(&mm[i].msg_hdr, 0, sizeof mm[i].msg_hdr);
		mm[i].msg_hdr.msg_iov = &udp_txq.iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = (void *)(uintptr_t)udp_txq.to[i];
		mm[i].msg_hdr.msg_namelen = udp_txq.tolen[i];
	}
#endif
	while (done < udp_txq.n) {
#ifdef HAVE_SENDMMSG
		r = sendmmsg(udp_txq.fd, mm + done, udp_txq.n - done, 0);
		if (r > 0) {
			for (i = done; i < done + (unsigned int)r; i++) {
				st->udp_out++;
				st->udp_out_bytes += mm[i].msg_len;
			}
			done += (unsigned int)r;
			retried = 0;
			continue;
		}
#else
		r = sendto(udp_txq.fd, udp_txq.iov[done].iov_base,
		    udp_txq.iov[done].iov_len, 0, udp_txq.to[done],
		    udp_txq.tolen[done]);
		if (r >= 0) {
			st->udp_out++;
			st->udp_out_bytes += (uint64_t)r;
			done++;
			retried = 0;
			continue;
		}
#endif
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && udp_is_icmp_error(errno) && !retried) {
			st->udp_icmp++;
			retried = 1;
			continue;
		}
		if (r < 0)
			udp_send_failed(done, errno);
		st->drop_udp_send++;
		done++;
		retried = 0;
	}
	udp_txq.n = 0;
}
