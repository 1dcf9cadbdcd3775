/* stats.c - one readable line of counters. */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>

#include "log.h"
#include "stats.h"

void
stats_log(const char *who, const struct stats *s)
{
	log_info("stats %s: udp in %" PRIu64 " (%" PRIu64 " bytes), tcp out %"
	    PRIu64 ", tcp in %" PRIu64 ", udp out %" PRIu64 " (%" PRIu64
	    " bytes), queued %" PRIu64 ", reconnects %" PRIu64 "; dropped: "
	    "queue full %" PRIu64 ", link down %" PRIu64 ", malformed %"
	    PRIu64 ", udp send %" PRIu64 ", udp receive %" PRIu64 ", no flow %"
	    PRIu64 ", no socket %" PRIu64 ", unsent %" PRIu64
	    ", at exit %" PRIu64 ", queue delay %" PRIu64 ", too old %" PRIu64
	    ", over limit %" PRIu64 "; icmp errors %" PRIu64 ", requeued %"
	    PRIu64, who,
	    s->udp_in, s->udp_in_bytes, s->tcp_out, s->tcp_in, s->udp_out,
	    s->udp_out_bytes, s->queued, s->reconnects, s->drop_queue_full,
	    s->drop_link_down, s->drop_malformed, s->drop_udp_send,
	    s->drop_udp_receive, s->drop_no_flow, s->drop_no_socket,
	    s->drop_unsent, s->drop_exit, s->drop_codel, s->drop_too_old,
	    s->drop_overlimit, s->udp_icmp, s->requeued);
}

/* Adds every counter of s into sum (the totals of peers gone). */
void
stats_add(struct stats *sum, const struct stats *s)
{
	uint64_t	*d = (uint64_t *)sum;
	const uint64_t	*v = (const uint64_t *)s;
	size_t		 i;

	/* struct stats is nothing but uint64_t counters. */
	for (i = 0; i < sizeof *s / sizeof (uint64_t); i++)
		d[i] += v[i];
}
