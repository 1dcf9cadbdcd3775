/* log.c - OpenBSD-style logging: stderr by default, or syslog. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"

int			 log_level = LOG_LEVEL_INFO;
static const char	*log_progname = "udp-over-tcp";
static int		 log_syslog;	/* else stderr */
static char		 log_prefix[32];	/* "worker 2: ", or none */

static void	log_vwrite(int, const char *, va_list) LOG_PRINTF(2, 0);
static void	log_eventcb(int, const char *);

/*
 * Sets the verbosity and where lines go (facility -1: stderr), and
 * routes libevent's own messages through us.
 */
void
log_init(const char *progname, int level, int facility)
{
	if (progname != NULL)
		log_progname = progname;
	log_level = level;
	if (facility != -1) {
		openlog(log_progname, LOG_PID | LOG_NDELAY, facility);
		log_syslog = 1;
	}
	event_set_log_callback(log_eventcb);
}

/* Every line of this process begins so (a worker says which it is). */
void
log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof log_prefix, "%s", prefix);
}

/* One line, written whole: two processes on one terminal do not mix. */
static void
log_vwrite(int priority, const char *fmt, va_list ap)
{
	char	line[2048];
	int	saved_errno = errno, n, m;

	if (log_syslog) {
		if (log_prefix[0] != '\0') {
			vsnprintf(line, sizeof line, fmt, ap);
			syslog(priority, "%s%s", log_prefix, line);
		} else
			vsyslog(priority, fmt, ap);
		errno = saved_errno;
		return;
	}
	n = snprintf(line, sizeof line, "%s: %s", log_progname, log_prefix);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
	errno = saved_errno;
}

/* Like log_warnx, followed by ": " and strerror(errno). */
void
log_warn(const char *fmt, ...)
{
	char	 buf[1024];
	int	 saved_errno = errno;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", buf, strerror(saved_errno));
	errno = saved_errno;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_verbose(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose_enabled())
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_debug_enabled())
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char	 buf[1024];
	int	 saved_errno = errno;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	errno = saved_errno;
	log_warn("fatal: %s", buf);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	char	 buf[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_warnx("fatal: %s", buf);
	exit(1);
}

static void
log_eventcb(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_verbose("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

#define LOG_RATE_WINDOW_S	10
#define LOG_RATE_LINES		5

/*
 * Returns 1 when a rate-limited warning may be logged now. When a new
 * window opens after lines were held back, says how many.
 */
int
log_ratelimit(struct log_ratelimit *rl)
{
	long	now = (long)time(NULL);

	if (now - rl->window >= (rl->period > 0 ? (long)rl->period :
	    LOG_RATE_WINDOW_S)) {
		if (rl->suppressed > 0)
			log_warnx("(%u similar %s suppressed)", rl->suppressed,
			    rl->what != NULL ? rl->what : "warnings");
		rl->window = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < (rl->burst > 0 ? rl->burst : LOG_RATE_LINES)) {
		rl->count++;
		return (1);
	}
	rl->suppressed++;
	return (0);
}
