/* options.h - the command line, parsed into one struct. */
#ifndef UOT_OPTIONS_H
#define UOT_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "addr.h"
#include "frame.h"
#include "pin.h"

enum side {
	SIDE_LISTEN,	/* --tcp-listen: accept TCP peers */
	SIDE_CONNECT	/* --tcp-connect: dial the listen side */
};

#define OPTIONS_MAX_ALLOW	64
#define OPTIONS_MAX_PINS	4
#define OPTIONS_MAX_SERVERS	8	/* as LINK_MAX_SERVERS */
#define OPTIONS_MAX_WORKERS	256

struct options {
	enum side		side;
	struct addr_spec	tcp;		/* listen address, or the first
						 * server of the connect side */
	struct addr_spec	servers[OPTIONS_MAX_SERVERS];	/* connect */
	size_t			nservers;
	struct addr_spec	udp_bind;
	struct addr_spec	udp_sendto;
	enum framing		framing;
	int			auto_mode;	/* bind auto or sendto IP:auto */
	int			verbosity;	/* enum log_level */
	int			syslog_facility;	/* -1: log to stderr */

	size_t			queue_size;	/* bytes held while link down */
	unsigned int		backoff_min_ms;
	unsigned int		backoff_max_ms;
	unsigned int		keepalive_s;	/* dead-peer budget, 0 = off */
	size_t			udp_buffer;	/* socket buffers, 0 = system's */
	int			udp_buffer_given;	/* --udp-buffer said */
	size_t			tcp_buffer;	/* 0 = system's auto-tuning */

	unsigned int		flow_timeout_s;	/* auto mode: idle expiry */
	size_t			max_flows;
	size_t			max_peers;	/* listen side, auto mode */
	unsigned int		target_delay_ms;	/* fair queue: CoDel */
	unsigned int		max_delay_ms;	/* fair queue: hard bound */
	size_t			queue_memory;	/* all fair queues, bytes */
	unsigned int		drain_timeout_s;	/* listen side, SIGTERM */
	int			proxy_protocol;	/* listen side: PROXY headers */
	unsigned int		workers;	/* listen side; 0: one per CPU */

	struct addr_cidr	allow[OPTIONS_MAX_ALLOW];	/* --allow */
	size_t			nallow;

	/* TLS (issue 13): on when tls is set. */
	int			tls;
	const char		*tls_cert;
	const char		*tls_key;
	const char		*tls_ca;	/* connect side: the server's */
	const char		*tls_client_ca;	/* listen side: peers' */
	const char		*tls_name;
	unsigned char		tls_pins[OPTIONS_MAX_PINS][PIN_LEN];
	size_t			ntls_pins;
};

#define OPTIONS_QUEUE_SIZE	(4 * 1024 * 1024)
#define OPTIONS_BACKOFF_MIN_MS	100
#define OPTIONS_BACKOFF_MAX_MS	5000
#define OPTIONS_KEEPALIVE_S	30
#define OPTIONS_UDP_BUFFER	(1024 * 1024)
#define OPTIONS_BUFFER_MAX	(1ULL << 30)
#define OPTIONS_FLOW_TIMEOUT_S	600
#define OPTIONS_MAX_FLOWS	16384
#define OPTIONS_MAX_PEERS	64
#define OPTIONS_TARGET_DELAY_MS	5
#define OPTIONS_MAX_DELAY_MS	500
#define OPTIONS_QUEUE_MEMORY	(64 * 1024 * 1024)

enum options_result {
	OPTIONS_RUN,
	OPTIONS_HELP,
	OPTIONS_VERSION,
	OPTIONS_PRINT_PIN,	/* --print-pin: of opts->tls_cert */
	OPTIONS_ERROR		/* err holds one line saying why */
};

/* options.c */
void			options_defaults(struct options *);
enum options_result	options_parse(struct options *, int, char *[],
			    char *, size_t);
void			options_usage(FILE *);
int			options_facility(const char *);

#endif
