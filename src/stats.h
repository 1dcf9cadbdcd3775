/* stats.h - counters kept per link, logged on SIGUSR1 and at exit. */
#ifndef UOT_STATS_H
#define UOT_STATS_H

#include <stdint.h>

/* Only uint64_t counters: stats_add() sums them as an array. */
struct stats {
	uint64_t	udp_in;		/* datagrams read from UDP for the link */
	uint64_t	udp_in_bytes;
	uint64_t	tcp_out;	/* frames the system took whole for the peer */
	uint64_t	tcp_in;		/* frames taken off the TCP stream */
	uint64_t	udp_out;	/* datagrams sent on UDP */
	uint64_t	udp_out_bytes;
	uint64_t	queued;		/* frames held while the link was down */
	uint64_t	drop_queue_full;	/* oldest queued frames dropped */
	uint64_t	drop_link_down;	/* no queue room at all (size 0) */
	uint64_t	drop_malformed;	/* bad frames skipped */
	uint64_t	drop_udp_send;	/* UDP send failed (buffer full, ...) */
	uint64_t	drop_udp_receive;	/* dropped by the kernel: receive
					   buffer full (where it says) */
	uint64_t	drop_no_flow;	/* reply for a client with no live flow */
	uint64_t	drop_no_socket;	/* no socket could be had for a flow */
	uint64_t	drop_unsent;	/* frames lost with a link's TCP output */
	uint64_t	drop_exit;	/* frames still held when the program stopped */
	uint64_t	udp_icmp;	/* ICMP errors reported on UDP sockets */
	uint64_t	reconnects;
	uint64_t	requeued;	/* sent to a connection that died at once */
	uint64_t	drop_codel;	/* fair queue: its flow's delay stood high */
	uint64_t	drop_too_old;	/* fair queue: older than --max-delay */
	uint64_t	drop_overlimit;	/* fair queue: over --queue-size or
					   --queue-memory */
};

/* stats.c */
void	stats_log(const char *, const struct stats *);
void	stats_add(struct stats *, const struct stats *);

#endif
