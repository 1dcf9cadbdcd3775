/*
 * fuzz_frame.c - libFuzzer target for the wire codec (src/frame.c).
 *
 * The input is a small header followed by a TCP stream:
 *
 *   byte 0    bits 0-1  framing: 0 flow, 1 len32, 2 len16, 3 flow
 *             bits 2-4  number of cut points, 0 to 7
 *             bit 5     also feed the stream one byte at a time
 *   then      two bytes (little-endian) per cut point: where the stream
 *             is cut, modulo its length + 1
 *   the rest  the stream
 *
 * So a seed is a framing byte (0, 1 or 2) followed by frames as they
 * are on the wire. The stream is decoded several ways, and every way
 * must find the same frames, the same skipped malformed frames and the
 * same end (more needed, or the stream given up):
 *
 *   flat   frame_parse() over an exactly sized heap copy, checked
 *          against a model of wire-format.md written here;
 *   whole  one evbuffer holding all of it, frame_peek_len() and
 *          frame_decode() until they stop;
 *   cut    the same, the stream appended piece by piece at the cut
 *          points, each piece its own chain (evbuffer_add_reference of
 *          an exactly sized copy), decoding after every piece;
 *   bytes  the same, one byte at a time (bit 5);
 *   deliver the cut pieces again, each followed by frame_deliver_all(),
 *          the walk the link uses: frames read where they lie, only a
 *          straddling one joined.
 *
 * On FRAME_OK: wire_len never exceeds what was there, len <= 65535, the
 * payload lies inside the frame, the frame is exactly the stream's bytes
 * at that point, and frame_encode() of the decoded frame gives back the
 * same bytes.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "frame.h"
#include "fuzz.h"

#define FZ_MAXCUTS	7

/* One frame found (or skipped) in the stream, in order. */
struct fz_event {
	enum frame_result	r;
	size_t			wire_len;
};

/* What one way of decoding found. */
struct fz_run {
	struct fz_event		*ev;
	size_t			 n;
	size_t			 cap;
	size_t			 consumed;	/* stream bytes drained */
	enum frame_result	 end;		/* PARTIAL or OVERSIZED */
};

static enum framing	 fz_framing(uint8_t);
static enum frame_result fz_model(const uint8_t *, size_t, enum framing,
			     size_t *);
static void		 fz_run_init(struct fz_run *, size_t);
static void		 fz_record(struct fz_run *, enum frame_result, size_t);
static void		 fz_same(const struct fz_run *, const struct fz_run *);
static void		 fz_reencode(enum framing, const struct frame *,
			     const unsigned char *);
static void		 fz_check_ok(enum framing, const struct frame *,
			     const unsigned char *, size_t);
static void		 fz_flat(const uint8_t *, size_t, enum framing,
			     struct fz_run *);
static int		 fz_drain(struct evbuffer *, enum framing,
			     const uint8_t *, size_t, struct fz_run *);
static int		 fz_deliver(struct evbuffer *, enum framing,
			     const uint8_t *, size_t, struct fz_run *);
static void		 fz_unref(const void *, size_t, void *);
typedef int		 fz_drain_fn(struct evbuffer *, enum framing,
			     const uint8_t *, size_t, struct fz_run *);
static void		 fz_pieces(const uint8_t *, size_t, enum framing,
			     const size_t *, size_t, int, struct fz_run *,
			     fz_drain_fn *);
static int		 fz_cmp_size(const void *, const void *);

static enum framing
fz_framing(uint8_t b)
{
	switch (b & 3) {
	case 1:
		return (FRAMING_LEN32);
	case 2:
		return (FRAMING_LEN16);
	default:
		return (FRAMING_FLOW);
	}
}

/*
 * wire-format.md, independently of frame.c: what the frame at p (have
 * bytes there) is, and its length on the wire when that is known.
 */
static enum frame_result
fz_model(const uint8_t *p, size_t have, enum framing framing, size_t *wire)
{
	uint32_t	len;

	if (framing == FRAMING_LEN16) {
		if (have < 2)
			return (FRAME_PARTIAL);
		*wire = 2 + ((size_t)p[0] << 8 | (size_t)p[1]);
		return (have < *wire ? FRAME_PARTIAL : FRAME_OK);
	}
	if (have < 4)
		return (FRAME_PARTIAL);
	len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	if (framing == FRAMING_LEN32) {
		if (len > 65535)
			return (FRAME_OVERSIZED);
		*wire = 4 + (size_t)len;
		return (have < *wire ? FRAME_PARTIAL : FRAME_OK);
	}
	/* flow: LEN counts PORT + ADDR (18 bytes) + payload */
	if (len > 18 + 65535)
		return (FRAME_OVERSIZED);
	*wire = 4 + (size_t)len;
	if (have < *wire)
		return (FRAME_PARTIAL);	/* skipping needs all of it */
	return (len < 18 ? FRAME_MALFORMED : FRAME_OK);
}

static void
fz_run_init(struct fz_run *run, size_t n)
{
	memset(run, 0, sizeof *run);
	/* Every frame is at least 2 bytes long: n / 2 + 1 is plenty. */
	run->cap = n / 2 + 1;
	run->ev = calloc(run->cap, sizeof *run->ev);
	FUZZ_CHECK(run->ev != NULL);
	run->end = FRAME_PARTIAL;
}

static void
fz_record(struct fz_run *run, enum frame_result r, size_t wire_len)
{
	FUZZ_CHECK(run->n < run->cap);
	run->ev[run->n].r = r;
	run->ev[run->n].wire_len = wire_len;
	run->n++;
}

/* Two ways of decoding the same stream found the same frames. */
static void
fz_same(const struct fz_run *a, const struct fz_run *b)
{
	size_t	i;

	FUZZ_CHECK(a->n == b->n);
	for (i = 0; i < a->n; i++) {
		FUZZ_CHECK(a->ev[i].r == b->ev[i].r);
		FUZZ_CHECK(a->ev[i].wire_len == b->ev[i].wire_len);
	}
	FUZZ_CHECK(a->consumed == b->consumed);
	FUZZ_CHECK(a->end == b->end);
}

/* frame_encode() of a decoded frame gives back its bytes on the wire. */
static void
fz_reencode(enum framing framing, const struct frame *f,
    const unsigned char *wire)
{
	struct evbuffer		*out;
	const struct sockaddr	*src = NULL;
	const unsigned char	*p;

	if (f->has_src)
		src = (const struct sockaddr *)&f->src;
	FUZZ_CHECK((out = evbuffer_new()) != NULL);
	FUZZ_CHECK(frame_encode(out, framing, src, f->payload, f->len) == 0);
	FUZZ_CHECK(evbuffer_get_length(out) == f->wire_len);
	FUZZ_CHECK((p = evbuffer_pullup(out, -1)) != NULL);
	FUZZ_CHECK(memcmp(p, wire, f->wire_len) == 0);
	evbuffer_free(out);
}

/* A FRAME_OK frame, its wire bytes at wire, with have bytes there. */
static void
fz_check_ok(enum framing framing, const struct frame *f,
    const unsigned char *wire, size_t have)
{
	size_t	hlen = frame_header_len(framing);

	FUZZ_CHECK(f->wire_len <= have);
	FUZZ_CHECK(f->len <= FRAME_MAX_PAYLOAD);
	FUZZ_CHECK(f->wire_len == hlen + f->len);
	FUZZ_CHECK(f->payload == wire + hlen);
	FUZZ_CHECK(f->has_src == frame_has_address(framing));
	if (f->has_src)
		FUZZ_CHECK(f->src.ss_family == AF_INET ||
		    f->src.ss_family == AF_INET6);
	fz_reencode(framing, f, wire);
}

/* frame_parse() over flat memory, checked against the model. */
static void
fz_flat(const uint8_t *stream, size_t n, enum framing framing,
    struct fz_run *run)
{
	struct frame		 f;
	enum frame_result	 r, want;
	unsigned char		*copy;
	size_t			 off = 0, wire = 0;

	/* Exactly sized, so reading one byte past the end is caught. */
	FUZZ_CHECK((copy = malloc(n == 0 ? 1 : n)) != NULL);
	if (n != 0)
		memcpy(copy, stream, n);
	for (;;) {
		memset(&f, 0, sizeof f);
		r = frame_parse(copy + off, n - off, framing, &f);
		want = fz_model(copy + off, n - off, framing, &wire);
		FUZZ_CHECK(r == want);
		if (r == FRAME_PARTIAL || r == FRAME_OVERSIZED) {
			run->end = r;
			break;
		}
		FUZZ_CHECK(f.wire_len == wire);
		FUZZ_CHECK(f.wire_len > 0 && f.wire_len <= n - off);
		if (r == FRAME_OK)
			fz_check_ok(framing, &f, copy + off, n - off);
		fz_record(run, r, f.wire_len);
		off += f.wire_len;
	}
	run->consumed = off;
	free(copy);
}

/*
 * Decode what buf holds, as a reader of the TCP stream would, until it
 * needs more (0) or the stream must be dropped (1). The bytes drained
 * so far are run->consumed; stream holds all n bytes, to compare with.
 */
static int
fz_drain(struct evbuffer *buf, enum framing framing, const uint8_t *stream,
    size_t n, struct fz_run *run)
{
	struct frame		 f;
	enum frame_result	 r, peek;
	const unsigned char	*p;
	size_t			 have, plen;

	for (;;) {
		have = evbuffer_get_length(buf);
		FUZZ_CHECK(run->consumed + have <= n);
		plen = 0;
		peek = frame_peek_len(buf, framing, &plen);
		memset(&f, 0, sizeof f);
		r = frame_decode(buf, framing, &f);
		FUZZ_CHECK(r == peek);
		/* Decoding looks, it never drains. */
		FUZZ_CHECK(evbuffer_get_length(buf) == have);
		if (r == FRAME_PARTIAL || r == FRAME_OVERSIZED) {
			run->end = r;
			return (r == FRAME_OVERSIZED);
		}
		FUZZ_CHECK(f.wire_len == plen);
		FUZZ_CHECK(f.wire_len > 0 && f.wire_len <= have);
		if (r == FRAME_OK) {
			/* Pulled up already: the same bytes, contiguous. */
			FUZZ_CHECK((p = evbuffer_pullup(buf,
			    (ev_ssize_t)f.wire_len)) != NULL);
			FUZZ_CHECK(memcmp(p, stream + run->consumed,
			    f.wire_len) == 0);
			fz_check_ok(framing, &f, p, have);
		}
		fz_record(run, r, f.wire_len);
		FUZZ_CHECK(evbuffer_drain(buf, f.wire_len) == 0);
		run->consumed += f.wire_len;
	}
}

/* What fz_deliver's frame callback checks each frame against. */
struct fz_deliver_ctx {
	enum framing	 framing;
	const uint8_t	*stream;
	size_t		 n;
	struct fz_run	*run;
};

static void
fz_deliver_frame(const struct frame *f, enum frame_result r, void *arg)
{
	struct fz_deliver_ctx	*ctx = arg;
	struct fz_run		*run = ctx->run;
	const unsigned char	*wire;

	FUZZ_CHECK(r == FRAME_OK || r == FRAME_MALFORMED);
	FUZZ_CHECK(f->wire_len > 0 &&
	    f->wire_len <= ctx->n - run->consumed);
	if (r == FRAME_OK) {
		/* The whole frame lies contiguous, its bytes the stream's. */
		wire = f->payload - frame_header_len(ctx->framing);
		FUZZ_CHECK(memcmp(wire, ctx->stream + run->consumed,
		    f->wire_len) == 0);
		fz_check_ok(ctx->framing, f, wire, ctx->n - run->consumed);
	}
	fz_record(run, r, f->wire_len);
	run->consumed += f->wire_len;
}

/* Like fz_drain, through frame_deliver_all(). */
static int
fz_deliver(struct evbuffer *buf, enum framing framing, const uint8_t *stream,
    size_t n, struct fz_run *run)
{
	struct fz_deliver_ctx	ctx = { framing, stream, n, run };
	enum frame_result	r;

	r = frame_deliver_all(buf, framing, fz_deliver_frame, NULL, &ctx);
	FUZZ_CHECK(r == FRAME_PARTIAL || r == FRAME_OVERSIZED);
	FUZZ_CHECK(run->consumed + evbuffer_get_length(buf) <= n);
	run->end = r;
	return (r == FRAME_OVERSIZED);
}

static void
fz_unref(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

/*
 * The stream into one evbuffer: whole (no cuts, one evbuffer_add), at
 * the ncuts sorted cut points, or one byte at a time (bytewise).
 */
static void
fz_pieces(const uint8_t *stream, size_t n, enum framing framing,
    const size_t *cuts, size_t ncuts, int bytewise, struct fz_run *run,
    fz_drain_fn *drain)
{
	struct evbuffer	*buf;
	unsigned char	*piece;
	size_t		 from = 0, to, i;

	FUZZ_CHECK((buf = evbuffer_new()) != NULL);
	if (bytewise) {
		for (i = 0; i < n; i++) {
			FUZZ_CHECK(evbuffer_add(buf, stream + i, 1) == 0);
			if (drain(buf, framing, stream, n, run))
				break;
		}
		if (n == 0)
			drain(buf, framing, stream, n, run);
	} else if (ncuts == 0) {
		if (n != 0)
			FUZZ_CHECK(evbuffer_add(buf, stream, n) == 0);
		drain(buf, framing, stream, n, run);
	} else {
		for (i = 0; i <= ncuts; i++) {
			to = i < ncuts ? cuts[i] : n;
			if (to > from) {
				/* Its own chain, exactly sized. */
				FUZZ_CHECK((piece = malloc(to - from)) != NULL);
				memcpy(piece, stream + from, to - from);
				FUZZ_CHECK(evbuffer_add_reference(buf, piece,
				    to - from, fz_unref, NULL) == 0);
			}
			from = to;
			if (drain(buf, framing, stream, n, run))
				break;
		}
	}
	evbuffer_free(buf);
}

static int
fz_cmp_size(const void *a, const void *b)
{
	size_t	x = *(const size_t *)a, y = *(const size_t *)b;

	return (x < y ? -1 : x > y);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_run	 flat, whole, cut, bytes, deliver;
	enum framing	 framing;
	const uint8_t	*stream;
	size_t		 cuts[FZ_MAXCUTS], ncuts, n, i;
	int		 bytewise;

	if (size < 1)
		return (0);
	framing = fz_framing(data[0]);
	ncuts = (data[0] >> 2) & 7;
	bytewise = (data[0] >> 5) & 1;
	if (size < 1 + 2 * ncuts)
		return (0);
	stream = data + 1 + 2 * ncuts;
	n = size - 1 - 2 * ncuts;
	for (i = 0; i < ncuts; i++)
		cuts[i] = ((size_t)data[1 + 2 * i] |
		    (size_t)data[2 + 2 * i] << 8) % (n + 1);
	qsort(cuts, ncuts, sizeof cuts[0], fz_cmp_size);

	fz_run_init(&flat, n);
	fz_flat(stream, n, framing, &flat);

	fz_run_init(&whole, n);
	fz_pieces(stream, n, framing, NULL, 0, 0, &whole, fz_drain);
	fz_same(&flat, &whole);

	if (ncuts > 0) {
		fz_run_init(&cut, n);
		fz_pieces(stream, n, framing, cuts, ncuts, 0, &cut, fz_drain);
		fz_same(&flat, &cut);
		free(cut.ev);
	}
	/* The link's walk, over the cut pieces (or the whole stream). */
	fz_run_init(&deliver, n);
	fz_pieces(stream, n, framing, cuts, ncuts, 0, &deliver, fz_deliver);
	fz_same(&flat, &deliver);
	free(deliver.ev);
	if (bytewise) {
		fz_run_init(&bytes, n);
		fz_pieces(stream, n, framing, NULL, 0, 1, &bytes, fz_drain);
		fz_same(&flat, &bytes);
		free(bytes.ev);
		fz_run_init(&bytes, n);
		fz_pieces(stream, n, framing, NULL, 0, 1, &bytes, fz_deliver);
		fz_same(&flat, &bytes);
		free(bytes.ev);
	}
	free(whole.ev);
	free(flat.ev);
	return (0);
}
