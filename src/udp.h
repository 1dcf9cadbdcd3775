/*
 * udp.h - UDP sockets: open, send and receive without ever blocking,
 * in batches (recvmmsg/sendmmsg where the OS has them).
 */
#ifndef UOT_UDP_H
#define UOT_UDP_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

struct stats;

/* Big enough for any UDP payload, IPv4 or IPv6. */
#define UDP_MAX_PAYLOAD		65535
/* Datagrams taken per receive call. */
#define UDP_BATCH		16
/*
 * Receive calls per wakeup at most: a socket is read until it is empty
 * or this many batches are in, so that a burst of replies (the server
 * answering a queue just flushed) is taken as fast as the link hands
 * datagrams out, and not left to overflow the socket's buffer.
 */
#define UDP_READ_ROUNDS		32

/* One received datagram; buf is valid until the next udp_recv_batch(). */
struct udp_msg {
	unsigned char		*buf;
	size_t			 len;
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
};

/* udp.c */
int		 udp_open(const struct sockaddr *, socklen_t, size_t, int);
int		 udp_open_dual(const struct sockaddr *, socklen_t, int, size_t,
		    int);
int		 udp_recv_batch(int, struct udp_msg **, struct stats *,
		    uint32_t *);
void		 udp_sendq_add(int, const void *, size_t,
		    const struct sockaddr *, socklen_t, struct stats *);
void		 udp_sendq_flush(void);

#endif
