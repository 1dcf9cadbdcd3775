/*
 * tunnel_listen.c - the listen side's way from an accepted connection
 * to a peer: its PROXY header when behind a balancer (proxy_accept.c),
 * --allow on the client so named, its TLS handshake (tls_accept.c), and
 * then a peer of its own (auto mode) or the one link (fixed mode); and
 * the drain and reload that act on that way.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include <event2/util.h>

#include "addr.h"
#include "link.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "peer.h"
#include "proxy_accept.h"
#include "tls.h"
#include "tls_accept.h"
#include "tunnel.h"
#include "tunnel_private.h"

/* No --allow: anyone; else the peer must be in one of the ranges. */
static int
tunnel_allowed(const struct tunnel *t, const struct sockaddr *sa)
{
	size_t	i;

	if (t->opts->nallow == 0)
		return (1);
	for (i = 0; i < t->opts->nallow; i++)
		if (addr_cidr_match(&t->opts->allow[i], sa))
			return (1);
	return (0);
}

/*
 * A connection: behind a balancer (--proxy-protocol) its header comes
 * first and names the client; the rest is tunnel_admit's.
 */
void
tunnel_acceptcb(int fd, const struct sockaddr *sa, void *arg)
{
	struct tunnel	*t = arg;

	if (t->proxy_gate != NULL)
		proxy_accept_start(t->proxy_gate, fd, sa);
	else
		tunnel_admit(fd, sa, t);
}

/*
 * A client (the balancer's, with --proxy-protocol): from an allowed
 * address, and with TLS once its handshake is done (tls_accept.c), it
 * becomes a peer.
 */
void
tunnel_admit(int fd, const struct sockaddr *sa, void *arg)
{
	struct tunnel	*t = arg;
	char		 name[ADDR_STRLEN];

	if (!tunnel_allowed(t, sa)) {
		if (log_ratelimit(&t->allow_rl))
			log_warnx("peer %s: refused, not in any --allow range",
			    addr_fmt(sa, name, sizeof name));
		evutil_closesocket(fd);
		return;
	}
	if (t->tls_gate != NULL)
		tls_accept_start(t->tls_gate, fd, sa);
	else
		tunnel_take_peer(fd, sa, NULL, t);
}

/*
 * Fixed mode has one peer: the newest connection replaces the old. In
 * auto mode every peer gets its own link and flows.
 */
void
tunnel_take_peer(int fd, const struct sockaddr *sa, struct tls_conn *tls,
    void *arg)
{
	struct tunnel	*t = arg;
	char		 name[ADDR_STRLEN], why[ADDR_STRLEN + 32];

	if (t->stopped) {	/* a handshake that ended as we stop */
		tls_conn_free(tls);
		evutil_closesocket(fd);
		return;
	}
	if (tunnel_is_peer_mode(t)) {
		peer_accept(&t->peers, fd, sa, tls);
		return;
	}
	if (link_state(t->link) == LINK_UP) {
		snprintf(why, sizeof why, "replaced by new peer %s",
		    addr_fmt(sa, name, sizeof name));
		link_close(t->link, why);
	}
	link_attach_tls(t->link, fd, sa, tls);
}

/*
 * SIGTERM with --drain-timeout: no new peers (the listening socket is
 * closed, so a balancer's checks see the instance gone and send new
 * connections elsewhere; handshakes under way end), while the peers
 * there keep their links and flows.
 */
void
tunnel_drain(struct tunnel *t)
{
	listener_free(t->listener);
	t->listener = NULL;
	if (t->proxy_gate != NULL) {
		t->proxy_done = *proxy_accept_stats(t->proxy_gate);
		proxy_accept_free(t->proxy_gate);
		t->proxy_gate = NULL;
	}
	t->tls_refused += tls_accept_refused(t->tls_gate);
	tls_accept_free(t->tls_gate);
	t->tls_gate = NULL;
}

/* Peers connected now (listen side). */
size_t
tunnel_peers(struct tunnel *t)
{
	if (tunnel_is_peer_mode(t))
		return (t->peers.npeers);
	return (t->link != NULL && link_state(t->link) == LINK_UP ? 1 : 0);
}


/* SIGHUP: the TLS files again, for the connections to come. */
void
tunnel_reload(struct tunnel *t)
{
	char	err[512];

	if (t->tls == NULL) {
		log_info("SIGHUP: nothing to reload");
		return;
	}
	if (tls_ctx_reload(t->tls, err, sizeof err) != 0)
		log_warnx("SIGHUP: TLS files not reloaded, the old ones "
		    "stay: %s", err);
	else
		log_info("SIGHUP: TLS files reloaded");
}
