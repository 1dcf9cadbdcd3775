/*
 * link_private.h - what the parts of a link share: the state machine
 * (link.c), the data path of an up link (link_read.c, link_write.c) and
 * the first moments of a connection (link_settle.c). Nothing else
 * includes this.
 */
#ifndef UOT_LINK_PRIVATE_H
#define UOT_LINK_PRIVATE_H

#include <sys/time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "addr.h"
#include "fq.h"
#include "ledger.h"
#include "link.h"
#include "stats.h"
#include "tls.h"

/*
 * Our reads: this much each, this many per wakeup at most. One read per
 * wakeup lets the UDP sockets be read between reads: a flushed queue
 * whose frames all went out in one wakeup would have the server's
 * answers overflow our UDP socket before we came back to read it. 32 KiB
 * of 200-byte frames is about 150 answers, well within a UDP socket at
 * Linux's default cap (208 KiB, about 330 such datagrams); 64 KiB was
 * at its edge, and lost some under load.
 */
#define LINK_READ_SIZE		(32 * 1024)
#define LINK_READ_ROUNDS	1

/*
 * What the system may hold of ours unsent: about this many ms of what
 * the connection has been carrying, within these bounds. Past it,
 * frames wait in the fair queue, where they can be chosen and dropped
 * (issue 12). A flow's turn is a quantum of bytes (one Ethernet frame,
 * as fq_codel's); CoDel's interval is this many times its target, and
 * never below its RFC's 100 ms.
 */
#define LINK_UNSENT_MS		2
#define LINK_RATE_WINDOW_MS	10
#define LINK_RATE_WINDOWS	8
#define LINK_UNSENT_MIN		(2 * 1024)
#define LINK_UNSENT_MAX		(512 * 1024)
#define LINK_FQ_QUANTUM		1514
#define LINK_FQ_LIMIT_MIN	(64 * 1024)
#define LINK_CODEL_INTERVALS	20
#define LINK_CODEL_INTERVAL_MIN_MS	100

struct link {
	struct event_base	*base;
	struct link_config	 cfg;
	struct link_cbs		 cbs;
	void			*arg;

	enum link_state		 state;
	struct bufferevent	*bev;		/* the connection, when any */
	struct tls_ctx		*tls_ctx;	/* connect side with TLS */
	struct handshake	*hs;		/* TLS handshake under way */
	struct tls_conn		*tls;		/* the session, while up */
	char			 peer[ADDR_HOSTLEN + 8];
	int			 ever_up;
	struct evbuffer		*in;		/* bytes read, not yet frames */
	struct event		*read_ev;	/* ours: see link_up() */
	struct event		*push_ev;	/* writes the batch just framed */
	struct event		*write_ev;	/* the socket takes more */
	int			 waiting;	/* write_ev is armed */

	/* While up: the fair queue, and how much the system may hold. */
	struct fq		*fq;
	size_t			 unchecked;	/* written since last writable */
	size_t			 unsent_target;	/* bytes, see LINK_UNSENT_MS */
	size_t			 unsent_set;	/* as told to the system */
	uint64_t		 rate_win[LINK_RATE_WINDOWS];	/* bytes/s */
	size_t			 rate_next;	/* the window to fill next */
	uint64_t		 rate_bytes;	/* written in this window */
	uint64_t		 rate_since_us;	/* since this window began */

	struct evbuffer		*queue;		/* frames held while down */
	size_t			 queue_frames;
	struct ledger		*queue_ledger;	/* their lengths */
	struct ledger		*out_ledger;	/* lengths of the output's */
	size_t			 out_seen;	/* output bytes, last looked */
	int			 settling;	/* link_settle.c */
	size_t			 settle_limit;	/* bytes of copies at most */
	int			 settle_ms;	/* how long it keeps them */
	int			 reset;		/* the peer reset the connection */
	struct timeval		 dial_start;	/* of the connect that worked */
	struct event		*settle_timer;

	/* Connect side only: the servers, tried in turn (link_backoff). */
	struct link_server {
		char		*host;
		uint16_t	 port;
	}			 servers[LINK_MAX_SERVERS];
	size_t			 nservers;
	size_t			 server;	/* the one dialled now */
	char			*host;		/* its host, NULL: listen side */
	char			 port[8];
	const char		*tls_name;	/* --tls-name, or NULL: host */
	struct resolve		*dns_req;	/* resolve.c */
	struct evutil_addrinfo	*ai_list;	/* addresses of this attempt */
	struct evutil_addrinfo	*ai_next;	/* the next one to try */
	char			 trying[ADDR_STRLEN];
	char			 last_error[ADDR_STRLEN + 320];	/* of this attempt */
	struct event		*timer;		/* backoff */
	unsigned int		 attempts;
	struct timeval		 up_since;

	struct stats		 stats;
};

/* link.c */
void	link_down(struct link *, const char *);

/*
 * How long a new connect-side connection keeps copies of what it sends:
 * this many handshake times, within these bounds; and how many bytes of
 * new frames (beyond the queue it flushed) at most.
 */
#define LINK_SETTLE_RTTS	4
#define LINK_SETTLE_MIN_MS	100
#define LINK_SETTLE_MAX_MS	1000
#define LINK_SETTLE_NEW_BYTES	(256 * 1024)

/* link_settle.c */
void	link_settle_start(struct link *);
void	link_settle_end(struct link *);
void	link_settle_timercb(evutil_socket_t, short, void *);
void	link_settle_keep(struct link *, const struct sockaddr *,
	    const void *, size_t, size_t);
void	link_settle_keep_frame(struct link *, const void *, size_t);
void	link_settle_requeue(struct link *);

/* link_read.c */
void	link_readcb(evutil_socket_t, short, void *);

/* link_write.c */
void	link_out_sync(struct link *);
void	link_pushcb(evutil_socket_t, short, void *);
void	link_writablecb(evutil_socket_t, short, void *);
void	link_unsent_start(struct link *);
void	link_fq_flush(struct link *);
void	link_fq_unload(struct link *);

#endif
