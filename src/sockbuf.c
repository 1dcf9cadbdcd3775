/*
 * sockbuf.c - socket buffer sizes. A size the system caps is still
 * used as far as it goes; an operator who asked for it explicitly is
 * told once, since the fix (a sysctl) is theirs to make.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <limits.h>

#include "log.h"
#include "sockbuf.h"

static int	sockbuf_warned;

/* The size of one buffer as the caller means it. */
static size_t
sockbuf_get(int fd, int name)
{
	int		size = 0;
	socklen_t	len = sizeof size;

	if (getsockopt(fd, SOL_SOCKET, name, &size, &len) != 0 || size < 0)
		return (0);
#ifdef __linux__
	/* Linux doubles what it is asked for (bookkeeping) and reports that. */
	return ((size_t)size / 2);
#else
	return ((size_t)size);
#endif
}

/*
 * Sets both the receive and the send buffer of fd to bytes; 0 leaves
 * the system's sizes (and, for TCP, its auto-tuning) alone. With
 * explicit set, a shortfall is logged, once per process, naming option.
 */
void
sockbuf_set(int fd, size_t bytes, int explicit, const char *option)
{
	int	size = bytes > INT_MAX ? INT_MAX : (int)bytes;
	size_t	got, sndbuf;

	if (bytes == 0)
		return;
	/* Best effort: a capped or refused size still leaves a socket. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	if (!explicit || sockbuf_warned)
		return;
	got = sockbuf_get(fd, SO_RCVBUF);
	if ((sndbuf = sockbuf_get(fd, SO_SNDBUF)) < got)
		got = sndbuf;
	if (got < bytes) {
		log_warnx("%s %zu: the system allows only %zu bytes; raise "
		    "its socket buffer maximum (net.core.rmem_max and "
		    "wmem_max, kern.ipc.maxsockbuf)", option, bytes, got);
		sockbuf_warned = 1;
	}
}
