/*
 * listen.c - accept TCP peers. When the process runs out of file
 * descriptors the listener pauses and tries again a little later, so a
 * burst of connections never spins the loop or kills the process.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "addr.h"
#include "listen.h"
#include "log.h"

#define LISTEN_BACKLOG		128
#define LISTEN_RETRY_MS		250

struct listener {
	struct evconnlistener	*evl;
	struct event		*retry;
	listener_acceptfn	 fn;
	void			*arg;
	char			 name[ADDR_STRLEN];
	struct log_ratelimit	 error_rl;
};

static void	listen_acceptcb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	listen_errorcb(struct evconnlistener *, void *);
static void	listen_retrycb(evutil_socket_t, short, void *);

/*
 * Listens on sa, or on fd if it is not -1 (already bound and listening);
 * with reuseport, beside other processes on the same address.
 */
struct listener *
listener_new(struct event_base *base, const struct sockaddr *sa,
    socklen_t len, int fd, int reuseport, listener_acceptfn fn, void *arg)
{
	struct listener		*l;
	struct sockaddr_storage	 bound;
	socklen_t		 boundlen = sizeof bound;

	if ((l = calloc(1, sizeof *l)) == NULL)
		return (NULL);
	l->fn = fn;
	l->arg = arg;
	if (fd != -1) {
		/* Handed over already listening (socket activation). */
		evutil_make_socket_nonblocking(fd);
		l->evl = evconnlistener_new(base, listen_acceptcb, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	} else
		l->evl = evconnlistener_new_bind(base, listen_acceptcb, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		    LEV_OPT_REUSEABLE | (reuseport ? LEV_OPT_REUSEABLE_PORT : 0),
		    LISTEN_BACKLOG, sa, (int)len);
	if (l->evl == NULL ||
	    (l->retry = evtimer_new(base, listen_retrycb, l)) == NULL) {
		int saved = errno;

		listener_free(l);
		errno = saved;
		return (NULL);
	}
	evconnlistener_set_error_cb(l->evl, listen_errorcb);
	if (getsockname(evconnlistener_get_fd(l->evl),
	    (struct sockaddr *)&bound, &boundlen) == 0)
		addr_fmt((struct sockaddr *)&bound, l->name, sizeof l->name);
	else
		addr_fmt(sa, l->name, sizeof l->name);
	return (l);
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->evl != NULL)
		evconnlistener_free(l->evl);
	if (l->retry != NULL)
		event_free(l->retry);
	free(l);
}

/* Stop accepting for good (shutdown). */
void
listener_pause(struct listener *l)
{
	evconnlistener_disable(l->evl);
	evtimer_del(l->retry);
}

const char *
listener_name(const struct listener *l)
{
	return (l->name);
}

static void
listen_acceptcb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int len, void *arg)
{
	struct listener	*l = arg;

	(void)evl;
	(void)len;
	l->fn(fd, sa, l->arg);
}

static void
listen_errorcb(struct evconnlistener *evl, void *arg)
{
	struct listener	*l = arg;
	struct timeval	 tv = { 0, LISTEN_RETRY_MS * 1000 };
	int		 error = EVUTIL_SOCKET_ERROR();

	if (log_ratelimit(&l->error_rl))
		log_warnx("listener %s: accept: %s; pausing for %d ms", l->name,
		    evutil_socket_error_to_string(error), LISTEN_RETRY_MS);
	evconnlistener_disable(evl);
	evtimer_add(l->retry, &tv);
}

static void
listen_retrycb(evutil_socket_t fd, short events, void *arg)
{
	struct listener	*l = arg;

	(void)fd;
	(void)events;
	evconnlistener_enable(l->evl);
}
