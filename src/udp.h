/* udp.h - UDP sockets: open, send and receive without ever blocking. */
#ifndef UOT_UDP_H
#define UOT_UDP_H

#include <sys/types.h>
#include <sys/socket.h>

struct stats;

/* Big enough for any UDP payload, IPv4 or IPv6. */
#define UDP_MAX_PAYLOAD		65535
/* Datagrams read per wakeup before the loop serves others. */
#define UDP_READ_BATCH		64
#define UDP_SOCKBUF		(1024 * 1024)

/* udp.c */
int	udp_open(const struct sockaddr *, socklen_t);
int	udp_send(int, const void *, size_t, const struct sockaddr *,
	    socklen_t, struct stats *);
ssize_t	udp_recv(int, void *, size_t, struct sockaddr_storage *,
	    socklen_t *, struct stats *);

#endif
