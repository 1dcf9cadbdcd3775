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
#ifdef HAVE_UDP_GSO
#include <netinet/udp.h>
#endif

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
 * Sends entries [from, to) of the queue one datagram each. A full buffer
 * or any other failure drops just that datagram and counts it: the loop
 * must never block on UDP. An ICMP error that surfaces belongs to an
 * earlier datagram: count it and try again once.
 */
static void
udp_send_each(unsigned int from, unsigned int to)
{
	struct stats	*st = udp_txq.st;
	unsigned int	 done = from;
	int		 retried = 0;
	ssize_t		 r;
#ifdef HAVE_SENDMMSG
	static struct mmsghdr	mm[UDP_BATCH];
	unsigned int		i;

	for (i = from; i < to; i++) {
		memset(&mm[i].msg_hdr, 0, sizeof mm[i].msg_hdr);
		mm[i].msg_hdr.msg_iov = &udp_txq.iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = (void *)(uintptr_t)udp_txq.to[i];
		mm[i].msg_hdr.msg_namelen = udp_txq.tolen[i];
	}
#endif
	while (done < to) {
#ifdef HAVE_SENDMMSG
		r = sendmmsg(udp_txq.fd, mm + done, to - done, 0);
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
}

#ifdef HAVE_UDP_GSO
/*
 * UDP segmentation offload: a run of datagrams of one size for one
 * destination leaves in one sendmsg, and the stack below cuts it back
 * into those datagrams (the last may be shorter). It saves the route
 * and device work of all but one of them. The kernel may refuse it
 * (too old, a device without checksum offload, segments above the path
 * MTU): then those datagrams go one by one, and sizes from the one
 * refused up are not tried again, or nothing is if it never works.
 */
#define UDP_GSO_MAX_BYTES	60000	/* one IP packet's worth, less room */
static size_t	udp_gso_limit = UDP_MAX_PAYLOAD;	/* sizes below this */

/* How many entries from i on can go as one segmented send (1: none). */
static unsigned int
udp_gso_run(unsigned int i)
{
	size_t		seg = udp_txq.iov[i].iov_len, total = seg, len;
	unsigned int	j;

	if (seg == 0 || seg >= udp_gso_limit)
		return (1);
	for (j = i + 1; j < udp_txq.n; j++) {
		len = udp_txq.iov[j].iov_len;
		if (udp_txq.to[j] != udp_txq.to[i] ||
		    udp_txq.tolen[j] != udp_txq.tolen[i] || len == 0 ||
		    len > seg || total + len > UDP_GSO_MAX_BYTES)
			break;
		total += len;
		if (len < seg) {
			j++;	/* a shorter one can only end the run */
			break;
		}
	}
	return (j - i);
}

/* Sends entries [i, i + n) as one segmented datagram; -1 if refused. */
static int
udp_send_gso(unsigned int i, unsigned int n)
{
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(uint16_t))];
	}		 ctl;
	struct msghdr	 m;
	struct cmsghdr	*c;
	uint16_t	 seg = (uint16_t)udp_txq.iov[i].iov_len;
	ssize_t		 r;

	memset(&m, 0, sizeof m);
	memset(&ctl, 0, sizeof ctl);
	m.msg_name = (void *)(uintptr_t)udp_txq.to[i];
	m.msg_namelen = udp_txq.tolen[i];
	m.msg_iov = &udp_txq.iov[i];
	m.msg_iovlen = n;
	m.msg_control = ctl.buf;
	m.msg_controllen = sizeof ctl.buf;
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = IPPROTO_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof seg);
	memcpy(CMSG_DATA(c), &seg, sizeof seg);
	do
		r = sendmsg(udp_txq.fd, &m, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		/* Whatever the reason, each goes alone, and is counted
		 * alone; only a refusal of segmentation itself stops it
		 * being tried again. */
		if (errno == EINVAL || errno == EMSGSIZE)
			udp_gso_limit = seg;
		else if (errno == EIO || errno == ENOPROTOOPT ||
		    errno == EOPNOTSUPP)
			udp_gso_limit = 0;
		return (-1);
	}
	udp_txq.st->udp_out += n;
	udp_txq.st->udp_out_bytes += (uint64_t)r;
	return (0);
}
#endif

/*
 * Sends what is queued, in order: runs that can be segmented in one
 * call each where the OS allows it, the rest in batches.
 */
void
udp_sendq_flush(void)
{
#ifdef HAVE_UDP_GSO
	unsigned int	i, run, from = 0;

	for (i = 0; i < udp_txq.n; i += run) {
		if ((run = udp_gso_run(i)) < 2)
			continue;
		udp_send_each(from, i);
		if (udp_send_gso(i, run) != 0)
			udp_send_each(i, i + run);
		from = i + run;
	}
	udp_send_each(from, udp_txq.n);
#else
	udp_send_each(0, udp_txq.n);
#endif
	udp_txq.n = 0;
}
