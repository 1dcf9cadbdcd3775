/* tcp.h - options on the tunnel's TCP sockets. */
#ifndef UOT_TCP_H
#define UOT_TCP_H

/* tcp.c */
void	tcp_tune(int, unsigned int);

#endif
