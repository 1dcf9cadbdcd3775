/* sockbuf.h - socket buffer sizes (--udp-buffer, --tcp-buffer). */
#ifndef UOT_SOCKBUF_H
#define UOT_SOCKBUF_H

#include <stddef.h>

/* sockbuf.c */
void	sockbuf_set(int, size_t, int, const char *);

#endif
