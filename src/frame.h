/* frame.h - the wire codec: one UDP datagram per frame on the TCP stream. */
#ifndef UOT_FRAME_H
#define UOT_FRAME_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>

struct evbuffer;

enum framing {
	FRAMING_FLOW,	/* LEN32le, PORT16le, ADDR[16], payload (default) */
	FRAMING_LEN32,	/* LEN32le, payload */
	FRAMING_LEN16	/* LEN16be, payload (RFC 4571) */
};

#define FRAME_MAX_PAYLOAD	65535
#define FRAME_FLOW_ADDRLEN	18	/* PORT + ADDR in a flow frame */
#define FRAME_MAX_HEADER	(4 + FRAME_FLOW_ADDRLEN)

enum frame_result {
	FRAME_OK,		/* a whole frame: use it, then drain wire_len */
	FRAME_PARTIAL,		/* not all of it here yet: read more */
	FRAME_MALFORMED,	/* delimited but invalid: drain wire_len, go on */
	FRAME_OVERSIZED		/* cannot be this protocol: drop the stream */
};

struct frame {
	struct sockaddr_storage	 src;		/* flow framing only */
	int			 has_src;
	const unsigned char	*payload;	/* valid until the drain */
	size_t			 len;
	size_t			 wire_len;	/* header + payload */
};

/* Called for each frame by frame_deliver_all, and after each batch. */
typedef void	(*frame_fn)(const struct frame *, enum frame_result, void *);
typedef void	(*frame_flush_fn)(void *);

/* frame.c */
int			 frame_parse_name(const char *, enum framing *);
const char		*frame_name(enum framing);
int			 frame_has_address(enum framing);
size_t			 frame_header_len(enum framing);
size_t			 frame_write_header(unsigned char *, enum framing,
			     const struct sockaddr *, size_t);
int			 frame_encode(struct evbuffer *, enum framing,
			     const struct sockaddr *, const void *, size_t);
enum frame_result	 frame_decode(struct evbuffer *, enum framing,
			     struct frame *);
enum frame_result	 frame_peek_len(struct evbuffer *, enum framing,
			     size_t *);
enum frame_result	 frame_parse(const unsigned char *, size_t,
			     enum framing, struct frame *);
enum frame_result	 frame_deliver_all(struct evbuffer *, enum framing,
			     frame_fn, frame_flush_fn, void *);

#endif
