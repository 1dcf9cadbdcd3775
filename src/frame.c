/*
 * frame.c - the wire codec. Pure functions over evbuffers for the three
 * framings of wire-format.md; nothing here does I/O or keeps state.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include <event2/buffer.h>

#include "frame.h"

static const struct {
	const char	*name;
	enum framing	 framing;
} frame_names[] = {
	{ "flow", FRAMING_FLOW },
	{ "len32", FRAMING_LEN32 },
	{ "len16", FRAMING_LEN16 },
};

int
frame_parse_name(const char *s, enum framing *framing)
{
	size_t	i;

	for (i = 0; i < sizeof frame_names / sizeof frame_names[0]; i++) {
		if (strcmp(s, frame_names[i].name) == 0) {
			*framing = frame_names[i].framing;
			return (0);
		}
	}
	return (-1);
}

const char *
frame_name(enum framing framing)
{
	size_t	i;

	for (i = 0; i < sizeof frame_names / sizeof frame_names[0]; i++)
		if (frame_names[i].framing == framing)
			return (frame_names[i].name);
	return ("unknown");
}

/* Only the flow framing carries the client's address. */
int
frame_has_address(enum framing framing)
{
	return (framing == FRAMING_FLOW);
}

size_t
frame_header_len(enum framing framing)
{
	switch (framing) {
	case FRAMING_FLOW:
		return (4 + FRAME_FLOW_ADDRLEN);
	case FRAMING_LEN32:
		return (4);
	case FRAMING_LEN16:
		return (2);
	}
	return (0);
}

static void
frame_put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static uint32_t
frame_get_le32(const unsigned char *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24);
}

/*
 * Writes the header for a payload of len bytes into hdr (room for
 * FRAME_MAX_HEADER) and returns its length. src may be NULL (flow: ::, 0).
 */
size_t
frame_write_header(unsigned char *hdr, enum framing framing,
    const struct sockaddr *src, size_t len)
{
	uint16_t	port = 0;

	switch (framing) {
	case FRAMING_LEN16:
		hdr[0] = (len >> 8) & 0xff;
		hdr[1] = len & 0xff;
		return (2);
	case FRAMING_LEN32:
		frame_put_le32(hdr, (uint32_t)len);
		return (4);
	case FRAMING_FLOW:
		break;
	}

	frame_put_le32(hdr, (uint32_t)(len + FRAME_FLOW_ADDRLEN));
	memset(hdr + 6, 0, 16);
	if (src != NULL && src->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)src;

		port = ntohs(sin->sin_port);
		hdr[16] = hdr[17] = 0xff;	/* ::ffff:a.b.c.d */
		memcpy(hdr + 18, &sin->sin_addr, 4);
	} else if (src != NULL && src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)src;

		port = ntohs(sin6->sin6_port);
		memcpy(hdr + 6, &sin6->sin6_addr, 16);
	}
	hdr[4] = port & 0xff;
	hdr[5] = (port >> 8) & 0xff;
	return (4 + FRAME_FLOW_ADDRLEN);
}

/* Appends one frame to out; -1 (and nothing appended) if too large. */
int
frame_encode(struct evbuffer *out, enum framing framing,
    const struct sockaddr *src, const void *payload, size_t len)
{
	struct evbuffer_iovec	v;
	size_t			hlen;

	if (len > FRAME_MAX_PAYLOAD)
		return (-1);
	/* One contiguous piece, committed whole or not at all. */
	if (evbuffer_reserve_space(out, (ev_ssize_t)(FRAME_MAX_HEADER + len),
	    &v, 1) != 1)
		return (-1);
	hlen = frame_write_header(v.iov_base, framing, src, len);
	if (len > 0)
		memcpy((unsigned char *)v.iov_base + hlen, payload, len);
	v.iov_len = hlen + len;
	if (evbuffer_commit_space(out, &v, 1) != 0)
		return (-1);
	return (0);
}

/*
 * Reads the length field at p (n bytes available) into the frame's
 * length on the wire. Never trusts a length beyond the protocol's.
 */
static enum frame_result
frame_len_field(const unsigned char *p, size_t n, enum framing framing,
    size_t *wire_len)
{
	uint32_t	len;

	switch (framing) {
	case FRAMING_LEN16:
		if (n < 2)
			return (FRAME_PARTIAL);
		*wire_len = 2 + ((size_t)p[0] << 8 | p[1]);
		return (FRAME_OK);
	case FRAMING_LEN32:
		if (n < 4)
			return (FRAME_PARTIAL);
		if ((len = frame_get_le32(p)) > FRAME_MAX_PAYLOAD)
			return (FRAME_OVERSIZED);
		*wire_len = 4 + (size_t)len;
		return (FRAME_OK);
	case FRAMING_FLOW:
		if (n < 4)
			return (FRAME_PARTIAL);
		len = frame_get_le32(p);
		if (len > FRAME_FLOW_ADDRLEN + FRAME_MAX_PAYLOAD)
			return (FRAME_OVERSIZED);
		*wire_len = 4 + (size_t)len;
		return (FRAME_OK);
	}
	return (FRAME_OVERSIZED);
}

/* With the length known: is all of it here, and is it well formed? */
static enum frame_result
frame_judge(size_t have, enum framing framing, size_t wire_len)
{
	if (have < wire_len)
		return (FRAME_PARTIAL);
	if (framing == FRAMING_FLOW && wire_len < 4 + FRAME_FLOW_ADDRLEN)
		return (FRAME_MALFORMED);
	return (FRAME_OK);
}

/* Says how long the frame at the front of in is, without draining. */
enum frame_result
frame_peek_len(struct evbuffer *in, enum framing framing, size_t *wire_len)
{
	unsigned char		hdr[4];
	ev_ssize_t		n;
	enum frame_result	r;

	if ((n = evbuffer_copyout(in, hdr, sizeof hdr)) < 0)
		return (FRAME_PARTIAL);
	if ((r = frame_len_field(hdr, (size_t)n, framing, wire_len)) !=
	    FRAME_OK)
		return (r);
	return (frame_judge(evbuffer_get_length(in), framing, *wire_len));
}

/*
 * Reads the frame at p, n bytes available, in place: on FRAME_OK the
 * payload points into p. On FRAME_MALFORMED the caller skips wire_len.
 */
enum frame_result
frame_parse(const unsigned char *p, size_t n, enum framing framing,
    struct frame *f)
{
	enum frame_result	r;
	size_t			hlen = frame_header_len(framing);
	uint16_t		port;

	f->has_src = 0;
	if ((r = frame_len_field(p, n, framing, &f->wire_len)) != FRAME_OK ||
	    (r = frame_judge(n, framing, f->wire_len)) != FRAME_OK)
		return (r);
	f->payload = p + hlen;
	f->len = f->wire_len - hlen;
	if (framing != FRAMING_FLOW)
		return (FRAME_OK);

	port = (uint16_t)(p[4] | p[5] << 8);
	memset(&f->src, 0, sizeof f->src);
	f->has_src = 1;
	if (memcmp(p + 6, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&f->src;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, p + 18, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&f->src;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, p + 6, 16);
	}
	return (FRAME_OK);
}

/*
 * Looks at the frame at the front of in without draining it. On
 * FRAME_OK the payload is contiguous (only this frame is pulled up) and
 * valid until the caller drains f->wire_len; on FRAME_MALFORMED the
 * caller drains f->wire_len and goes on.
 */
enum frame_result
frame_decode(struct evbuffer *in, enum framing framing, struct frame *f)
{
	enum frame_result	 r;
	const unsigned char	*p;

	f->has_src = 0;
	if ((r = frame_peek_len(in, framing, &f->wire_len)) != FRAME_OK)
		return (r);
	if ((p = evbuffer_pullup(in, (ev_ssize_t)f->wire_len)) == NULL)
		return (FRAME_PARTIAL);
	return (frame_parse(p, f->wire_len, framing, f));
}

/*
 * Hands every complete frame at the front of in to fn, where the bytes
 * lie: a frame is copied only when it straddles two pieces of the
 * buffer, and then only that frame is pulled together. fn sees
 * FRAME_OK and FRAME_MALFORMED frames in stream order; flush runs after
 * each piece that yielded a good frame, before the piece is drained
 * (payloads are valid until then). Returns FRAME_PARTIAL when only an
 * incomplete frame (or nothing) is left, FRAME_OVERSIZED when it stopped
 * at a frame no peer of this protocol sends, and FRAME_MALFORMED when
 * memory ran out joining a frame: the link must go in the last two.
 */
enum frame_result
frame_deliver_all(struct evbuffer *in, enum framing framing,
    frame_fn fn, frame_flush_fn flush, void *arg)
{
	struct evbuffer_iovec	 v;
	const unsigned char	*p;
	struct frame		 f;
	enum frame_result	 r;
	size_t			 off, need;
	int			 batched;

	while (evbuffer_peek(in, -1, NULL, &v, 1) > 0) {
		p = v.iov_base;
		batched = 0;
		for (off = 0; off < v.iov_len; off += f.wire_len) {
			r = frame_parse(p + off, v.iov_len - off, framing, &f);
			if (r == FRAME_PARTIAL || r == FRAME_OVERSIZED)
				break;
			fn(&f, r, arg);
			batched |= r == FRAME_OK;
		}
		if (batched && flush != NULL)
			flush(arg);
		evbuffer_drain(in, off);
		if (off == v.iov_len)
			continue;
		/* The rest of this piece starts a frame not all in it:
		 * wait for it, give up on it, or join it. */
		if ((r = frame_peek_len(in, framing, &need)) == FRAME_PARTIAL ||
		    r == FRAME_OVERSIZED)
			return (r);
		if (evbuffer_pullup(in, (ev_ssize_t)need) == NULL)
			return (FRAME_MALFORMED);
	}
	return (FRAME_PARTIAL);
}
