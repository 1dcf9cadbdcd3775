/* tcp.h - options on the tunnel's TCP sockets. */
#ifndef UOT_TCP_H
#define UOT_TCP_H

#include <stddef.h>

/* tcp.c */
void	tcp_tune(int, unsigned int, size_t);
int	tcp_unsent_limit(int, size_t);
int	tcp_keepalive_check(unsigned int, char *, size_t);

#endif
