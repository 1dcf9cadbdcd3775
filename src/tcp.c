/*
 * tcp.c - options on the tunnel's TCP sockets: no Nagle delay, a short
 * queue of unsent data in the kernel, and a dead peer noticed within a
 * time budget. Each knob the OS lacks is skipped or has a portable
 * stand-in; keepalive alone still works everywhere.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sockbuf.h"
#include "tcp.h"

/*
 * The most seconds Linux takes for the keepalive idle time and interval
 * (its MAX_TCP_KEEPIDLE and MAX_TCP_KEEPINTVL); the BSDs and macOS take
 * more. A budget past twice this is still met: the probes make up the
 * rest of it.
 */
#define TCP_KEEP_MAX_S		32767
#define TCP_KEEP_PROBES		3

/* The send buffer where nothing limits what it holds unsent. */
#define TCP_PORTABLE_SNDBUF	(128 * 1024)

static int
tcp_setint(int fd, int level, int name, int value, const char *what,
    const char **failed)
{
	if (setsockopt(fd, level, name, &value, sizeof value) == 0)
		return (0);
	if (failed != NULL)
		*failed = what;
	else
		log_warn("setsockopt %s", what);
	return (-1);
}

/*
 * A silent peer is dead after budget_s: idle for half of it, then
 * TCP_KEEP_PROBES probes over the rest, each part within what the
 * system takes. With failed set, the first refused option is named
 * there instead of logged. Returns -1 if any was refused.
 */
static int
tcp_keepalive(int fd, unsigned int budget_s, const char **failed)
{
	int	idle, intvl, rc = 0;

	idle = budget_s / 2 > 0 ? (int)(budget_s / 2) : 1;
	if (idle > TCP_KEEP_MAX_S)
		idle = TCP_KEEP_MAX_S;
	intvl = ((int)budget_s - idle) / TCP_KEEP_PROBES;
	if (intvl < 1)
		intvl = 1;
	if (intvl > TCP_KEEP_MAX_S)
		intvl = TCP_KEEP_MAX_S;
	rc |= tcp_setint(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE",
	    failed);
#if HAVE_DECL_TCP_KEEPIDLE
	rc |= tcp_setint(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle, "TCP_KEEPIDLE",
	    failed);
#elif HAVE_DECL_TCP_KEEPALIVE
	rc |= tcp_setint(fd, IPPROTO_TCP, TCP_KEEPALIVE, idle,
	    "TCP_KEEPALIVE", failed);
#endif
#if HAVE_DECL_TCP_KEEPINTVL
	rc |= tcp_setint(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl,
	    "TCP_KEEPINTVL", failed);
#endif
#if HAVE_DECL_TCP_KEEPCNT
	rc |= tcp_setint(fd, IPPROTO_TCP, TCP_KEEPCNT, TCP_KEEP_PROBES,
	    "TCP_KEEPCNT", failed);
#endif
#if HAVE_DECL_TCP_USER_TIMEOUT
	/* Also covers data sent but never acknowledged, which keepalive
	 * does not probe. */
	rc |= tcp_setint(fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
	    (int)budget_s * 1000, "TCP_USER_TIMEOUT", failed);
#endif
	(void)idle;
	(void)intvl;
	return (rc);
}

/*
 * Asks the system to say the socket is writable only while it holds
 * fewer than bytes unsent (TCP_NOTSENT_LOWAT). Returns -1 where it
 * cannot: tcp_tune() kept the send buffer small instead.
 */
int
tcp_unsent_limit(int fd, size_t bytes)
{
#if HAVE_DECL_TCP_NOTSENT_LOWAT
	return (tcp_setint(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT,
	    bytes > INT_MAX ? INT_MAX : (int)bytes, "TCP_NOTSENT_LOWAT",
	    NULL));
#else
	(void)fd;
	(void)bytes;
	return (-1);
#endif
}

/*
 * bufsize, when not 0, fixes the socket buffers (--tcp-buffer);
 * budget_s, when not 0, is the dead-peer budget (--keepalive).
 */
void
tcp_tune(int fd, unsigned int budget_s, size_t bufsize)
{
	/* A tunnel for interactive UDP must not add Nagle's delay. */
	tcp_setint(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY", NULL);
#if !HAVE_DECL_TCP_NOTSENT_LOWAT
	/* Without a limit on what waits unsent, an auto-tuned buffer
	 * would hold seconds of it on a slow path: keep it small. */
	if (bufsize == 0)
		(void)tcp_setint(fd, SOL_SOCKET, SO_SNDBUF,
		    TCP_PORTABLE_SNDBUF, "SO_SNDBUF", NULL);
#endif
	sockbuf_set(fd, bufsize, 1, "--tcp-buffer");
	if (budget_s > 0)
		(void)tcp_keepalive(fd, budget_s, NULL);
}

/*
 * At start-up: will this system take the keepalive settings for
 * budget_s on every link? If not, err says which one it refused.
 */
int
tcp_keepalive_check(unsigned int budget_s, char *err, size_t len)
{
	const char	*failed = NULL;
	int		 fd, rc;

	if (budget_s == 0)
		return (0);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 &&
	    (fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		return (0);	/* no socket to ask: each link will say */
	rc = tcp_keepalive(fd, budget_s, &failed);
	if (rc != 0)
		snprintf(err, len, "--keepalive %u: the system refuses it "
		    "(%s: %s)", budget_s, failed, strerror(errno));
	close(fd);
	return (rc);
}
