/*
 * notify.c - the service manager's side of things: readiness and status
 * for sd_notify, and a listening socket handed over by socket
 * activation. Without libsystemd every call here does nothing.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "notify.h"

void
notify_ready(const char *status)
{
#ifdef HAVE_LIBSYSTEMD
	(void)sd_notifyf(0, "READY=1\nSTATUS=%s", status);
#else
	(void)status;
#endif
}

void
notify_stopping(void)
{
#ifdef HAVE_LIBSYSTEMD
	(void)sd_notify(0, "STOPPING=1");
#endif
}

/*
 * The TCP listener passed by socket activation, or -1 when there is
 * none (the caller then binds --tcp-listen itself).
 */
int
notify_listen_fd(void)
{
#ifdef HAVE_LIBSYSTEMD
	int	n;

	if ((n = sd_listen_fds(1)) < 0) {
		log_warnx("socket activation: %s", "bad LISTEN_FDS");
		return (-1);
	}
	if (n == 0)
		return (-1);
	if (n > 1)
		log_warnx("socket activation: %d sockets passed, using the "
		    "first", n);
	if (sd_is_socket(SD_LISTEN_FDS_START, 0, SOCK_STREAM, 1) <= 0) {
		log_warnx("socket activation: the passed socket is not a "
		    "listening TCP socket");
		return (-1);
	}
	return (SD_LISTEN_FDS_START);
#else
	return (-1);
#endif
}
