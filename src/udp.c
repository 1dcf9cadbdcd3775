/* udp.c - UDP sockets: open, send and receive without ever blocking. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/util.h>

#include "stats.h"
#include "udp.h"

/* A non-blocking, close-on-exec socket bound to sa; -1 and errno on error. */
int
udp_open(const struct sockaddr *sa, socklen_t len)
{
	int	fd, size = UDP_SOCKBUF, saved;

	if ((fd = socket(sa->sa_family, SOCK_DGRAM, 0)) == -1)
		return (-1);
	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    evutil_make_socket_closeonexec(fd) != 0)
		goto fail;
	/* Best effort: the kernel caps these at its own maximum. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
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
 * Sends one datagram. A full buffer or any other failure drops just this
 * datagram and counts it: the loop must never block on UDP.
 */
int
udp_send(int fd, const void *buf, size_t len, const struct sockaddr *to,
    socklen_t tolen, struct stats *st)
{
	ssize_t	n;
	int	tries;

	/* An ICMP error from an earlier send can surface here; retry once. */
	for (tries = 0; tries < 2; tries++) {
		n = sendto(fd, buf, len, 0, to, tolen);
		if (n >= 0) {
			st->udp_out++;
			st->udp_out_bytes += (uint64_t)n;
			return (0);
		}
		if (errno == EINTR)
			continue;
		if (!udp_is_icmp_error(errno))
			break;
		st->udp_icmp++;
	}
	st->drop_udp_send++;
	return (-1);
}

/*
 * Receives one datagram; -1 with errno EAGAIN when there is no more.
 * ICMP errors queued on the socket are counted and skipped.
 */
ssize_t
udp_recv(int fd, void *buf, size_t len, struct sockaddr_storage *from,
    socklen_t *fromlen, struct stats *st)
{
	ssize_t	n;

	for (;;) {
		*fromlen = sizeof *from;
		n = recvfrom(fd, buf, len, 0, (struct sockaddr *)from,
		    fromlen);
		if (n >= 0)
			return (n);
		if (errno == EINTR)
			continue;
		if (udp_is_icmp_error(errno)) {
			st->udp_icmp++;
			continue;
		}
		return (-1);
	}
}
