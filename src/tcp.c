/*
 * tcp.c - options on the tunnel's TCP sockets: no Nagle delay, and a
 * dead peer noticed within a time budget. Each knob the OS lacks is
 * skipped; keepalive alone still works everywhere.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "log.h"
#include "sockbuf.h"
#include "tcp.h"

static void
tcp_setint(int fd, int level, int name, int value, const char *what)
{
	if (setsockopt(fd, level, name, &value, sizeof value) != 0)
		log_warn("setsockopt %s", what);
}

/*
 * budget_s is how long a silent peer may stay silent before the link is
 * declared dead: idle for half of it, then three probes over the rest.
 * bufsize, when not 0, fixes the socket buffers (--tcp-buffer).
 */
void
tcp_tune(int fd, unsigned int budget_s, size_t bufsize)
{
	int	idle, intvl;

	/* A tunnel for interactive UDP must not add Nagle's delay. */
	tcp_setint(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	sockbuf_set(fd, bufsize, 1, "--tcp-buffer");
	if (budget_s == 0)
		return;

	idle = budget_s / 2 > 0 ? (int)budget_s / 2 : 1;
	intvl = ((int)budget_s - idle) / 3 > 0 ? ((int)budget_s - idle) / 3 : 1;
	tcp_setint(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
#if HAVE_DECL_TCP_KEEPIDLE
	tcp_setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle, "TCP_KEEPIDLE");
#elif HAVE_DECL_TCP_KEEPALIVE
	tcp_setint(fd, IPPROTO_TCP, TCP_KEEPALIVE, idle, "TCP_KEEPALIVE");
#endif
#if HAVE_DECL_TCP_KEEPINTVL
	tcp_setint(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl, "TCP_KEEPINTVL");
#endif
#if HAVE_DECL_TCP_KEEPCNT
	tcp_setint(fd, IPPROTO_TCP, TCP_KEEPCNT, 3, "TCP_KEEPCNT");
#endif
#if HAVE_DECL_TCP_USER_TIMEOUT
	/* Also covers data sent but never acknowledged, which keepalive
	 * does not probe. */
	tcp_setint(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, (int)budget_s * 1000,
	    "TCP_USER_TIMEOUT");
#endif
	(void)intvl;
}
