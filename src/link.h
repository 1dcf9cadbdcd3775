/*
 * link.h - one TCP connection between the two ends, and the state
 * machine that every flow of it sends through: connect (with backoff,
 * resolving the name each time), queue while down, flush on up, and
 * while up a fair queue (fq.c) in front of a short kernel send queue.
 */
#ifndef UOT_LINK_H
#define UOT_LINK_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "stats.h"

struct event_base;
struct link;
struct tls_conn;
struct tls_ctx;

enum link_state {
	LINK_CLOSED,		/* no connection, none being made */
	LINK_BACKOFF,		/* connect side: waiting to try again */
	LINK_RESOLVING,		/* connect side: looking up the host name */
	LINK_CONNECTING,	/* connect side: TCP (and TLS) handshake under way */
	LINK_UP			/* frames flow */
};

struct link_config {
	enum framing	framing;
	size_t		queue_size;	/* bytes of frames held while down */
	unsigned int	backoff_min_ms;
	unsigned int	backoff_max_ms;
	unsigned int	keepalive_s;	/* dead-peer budget, 0 = off */
	size_t		tcp_buffer;	/* socket buffers, 0 = auto-tuning */
	unsigned int	target_ms;	/* CoDel target delay of each flow */
	unsigned int	max_delay_ms;	/* a frame older is never sent */
};

/* How a link tells its owner what happened. */
struct link_cbs {
	/* A frame arrived; f->payload is valid only during the call. */
	void	(*frame)(struct link *, const struct frame *, void *);
	/* The state changed; the owner may free the link from here. */
	void	(*state)(struct link *, enum link_state, void *);
	/* The frames of one read are all delivered: send what was batched
	 * (their payloads are valid until this returns). May be NULL. */
	void	(*flush)(struct link *, void *);
};

#define LINK_CONNECT_TIMEOUT_S	10
#define LINK_MAX_SERVERS	8

/* link.c */
struct link	*link_new(struct event_base *, const struct link_config *,
		    const struct link_cbs *, void *);
void		 link_free(struct link *);
void		 link_connect(struct link *, const char *, uint16_t);
int		 link_add_server(struct link *, const char *, uint16_t);
void		 link_start(struct link *);
void		 link_attach(struct link *, int, const struct sockaddr *);
void		 link_attach_tls(struct link *, int, const struct sockaddr *,
		    struct tls_conn *);
void		 link_set_tls(struct link *, struct tls_ctx *, const char *);
void		 link_close(struct link *, const char *);
void		 link_discard(struct link *);
int		 link_send(struct link *, const struct sockaddr *,
		    const void *, size_t);
enum link_state	 link_state(const struct link *);
const char	*link_state_name(enum link_state);
const char	*link_peer(const struct link *);
struct stats	*link_stats(struct link *);
size_t		 link_pending(const struct link *);
unsigned int	 link_backoff_next(struct link *);

#endif
