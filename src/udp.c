/*
 * udp.c - UDP sockets: open, send and receive without ever blocking.
 * Receives come in batches and sends are queued and flushed in batches,
 * one recvmmsg/sendmmsg each where the OS has them, a plain loop of
 * recvfrom/sendto elsewhere. The loop is single-threaded, so one batch
 * of each serves the whole process.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/util.h>

#include "stats.h"
#include "sockbuf.h"
#include "udp.h"

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
	int	fd, saved;

	if ((fd = socket(sa->sa_family, SOCK_DGRAM, 0)) == -1)
		return (-1);
	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    evutil_make_socket_closeonexec(fd) != 0)
		goto fail;
	sockbuf_set(fd, bufsize, explicit, "--udp-buffer");
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

/*
 * Receives up to UDP_BATCH datagrams; returns how many (0 when there are
 * none now), or -1 on a real error. ICMP errors are counted and skipped.
 */
int
udp_recv_batch(int fd, struct udp_msg **msgs, struct stats *st)
{
#ifdef HAVE_RECVMMSG
	static struct mmsghdr	mm[UDP_BATCH];
	static struct iovec	iov[UDP_BATCH];
#endif
	int			n;

	*msgs = udp_rx;
#ifdef HAVE_RECVMMSG
	int			i;

	for (i = 0; i < UDP_BATCH; i++) {
		iov[i].iov_base = udp_rxbuf[i];
		iov[i].iov_len = sizeof udp_rxbuf[i];
		memset(&mm[i].msg_hdr, 0, sizeof mm[i].msg_hdr);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &udp_rx[i].from;
		mm[i].msg_hdr.msg_namelen = sizeof udp_rx[i].from;
	}
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
	}
	return (n);
#else
	ssize_t			r;

	for (n = 0; n < UDP_BATCH; ) {
		udp_rx[n].fromlen = sizeof udp_rx[n].from;
		r = recvfrom(fd, udp_rxbuf[n], sizeof udp_rxbuf[n], 0,
		    (struct sockaddr *)&udp_rx[n].from, &udp_rx[n].fromlen);
		if (r >= 0) {
			udp_rx[n].buf = udp_rxbuf[n];
			udp_rx[n].len = (size_t)r;
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
		st->drop_udp_send++;
		done++;
		retried = 0;
	}
	udp_txq.n = 0;
}
