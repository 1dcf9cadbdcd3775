/* check_frame.c - unit tests for the wire codec (frame.c). */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "frame.h"

static const enum framing all_framings[] = {
	FRAMING_FLOW, FRAMING_LEN32, FRAMING_LEN16
};
#define NFRAMINGS (sizeof all_framings / sizeof all_framings[0])

/* wire-format.md, worked example 1: "hi" from 127.0.0.1:5000. */
static const unsigned char golden_v4[] = {
	0x14, 0x00, 0x00, 0x00,
	0x88, 0x13,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xff, 0xff, 0x7f, 0x00, 0x00, 0x01,
	0x68, 0x69
};

/* wire-format.md, worked example 2: "hi" from [2001:db8::1]:53. */
static const unsigned char golden_v6[] = {
	0x14, 0x00, 0x00, 0x00,
	0x35, 0x00,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x68, 0x69
};

static const unsigned char golden_len32[] = { 0x02, 0x00, 0x00, 0x00, 0x68, 0x69 };
static const unsigned char golden_len16[] = { 0x00, 0x02, 0x68, 0x69 };

/* Big enough for the largest payload plus one byte. */
static unsigned char bigbuf[FRAME_MAX_PAYLOAD + 16];

static void
make_sa(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
}

static void
fill(unsigned char *p, size_t n, unsigned int seed)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8) + 1);
}

static struct evbuffer *
buf_from(const unsigned char *p, size_t n)
{
	struct evbuffer	*b;

	b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	if (n != 0)
		ck_assert_int_eq(evbuffer_add(b, p, n), 0);
	return (b);
}

/* The whole buffer, flattened; the pointer is valid until b changes. */
static const unsigned char *
buf_bytes(struct evbuffer *b)
{
	if (evbuffer_get_length(b) == 0)
		return ((const unsigned char *)"");
	return (evbuffer_pullup(b, -1));
}

static void
le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static void
check_src_v4(const struct frame *f, const char *ip, uint16_t port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)&f->src;
	struct in_addr			 want;

	ck_assert_int_eq(f->has_src, 1);
	ck_assert_int_eq(f->src.ss_family, AF_INET);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &want), 1);
	ck_assert_uint_eq(sin->sin_port, htons(port));
	ck_assert_mem_eq(&sin->sin_addr, &want, sizeof want);
}

static void
check_src_v6(const struct frame *f, const char *ip, uint16_t port)
{
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)&f->src;
	struct in6_addr			 want;

	ck_assert_int_eq(f->has_src, 1);
	ck_assert_int_eq(f->src.ss_family, AF_INET6);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &want), 1);
	ck_assert_uint_eq(sin6->sin6_port, htons(port));
	ck_assert_mem_eq(&sin6->sin6_addr, &want, sizeof want);
}

/* Decode and peek must agree; returns the decode result. */
static enum frame_result
decode_both(struct evbuffer *b, enum framing fr, struct frame *f)
{
	enum frame_result	r, pr;
	size_t			before, wire_len = (size_t)-1;

	before = evbuffer_get_length(b);
	memset(f, 0xa5, sizeof *f);
	r = frame_decode(b, fr, f);
	ck_assert_uint_eq(evbuffer_get_length(b), before);	/* no drain */
	pr = frame_peek_len(b, fr, &wire_len);
	ck_assert_int_eq(pr, r);
	if (r == FRAME_OK || r == FRAME_MALFORMED)
		ck_assert_uint_eq(wire_len, f->wire_len);
	ck_assert_uint_eq(evbuffer_get_length(b), before);
	return (r);
}

/* Names and sizes. */

START_TEST(test_parse_name)
{
	enum framing	fr;

	fr = FRAMING_LEN16;
	ck_assert_int_eq(frame_parse_name("flow", &fr), 0);
	ck_assert_int_eq(fr, FRAMING_FLOW);
	ck_assert_int_eq(frame_parse_name("len32", &fr), 0);
	ck_assert_int_eq(fr, FRAMING_LEN32);
	ck_assert_int_eq(frame_parse_name("len16", &fr), 0);
	ck_assert_int_eq(fr, FRAMING_LEN16);

	ck_assert_int_eq(frame_parse_name("bogus", &fr), -1);
	ck_assert_int_eq(frame_parse_name("", &fr), -1);
	ck_assert_int_eq(frame_parse_name("len", &fr), -1);
	ck_assert_int_eq(frame_parse_name("len8", &fr), -1);
	ck_assert_int_eq(frame_parse_name("len320", &fr), -1);
	ck_assert_int_eq(frame_parse_name("flo", &fr), -1);
	ck_assert_int_eq(frame_parse_name("flows", &fr), -1);
	ck_assert_int_eq(frame_parse_name("flow ", &fr), -1);
}
END_TEST

START_TEST(test_names_roundtrip)
{
	enum framing	fr = all_framings[_i], back;
	const char	*name;

	name = frame_name(fr);
	ck_assert_ptr_nonnull(name);
	back = (fr == FRAMING_FLOW) ? FRAMING_LEN16 : FRAMING_FLOW;
	ck_assert_int_eq(frame_parse_name(name, &back), 0);
	ck_assert_int_eq(back, fr);
}
END_TEST

START_TEST(test_names_values)
{
	ck_assert_str_eq(frame_name(FRAMING_FLOW), "flow");
	ck_assert_str_eq(frame_name(FRAMING_LEN32), "len32");
	ck_assert_str_eq(frame_name(FRAMING_LEN16), "len16");
}
END_TEST

START_TEST(test_has_address)
{
	ck_assert_int_eq(frame_has_address(FRAMING_FLOW), 1);
	ck_assert_int_eq(frame_has_address(FRAMING_LEN32), 0);
	ck_assert_int_eq(frame_has_address(FRAMING_LEN16), 0);
}
END_TEST

START_TEST(test_header_len)
{
	ck_assert_uint_eq(frame_header_len(FRAMING_FLOW), 22);
	ck_assert_uint_eq(frame_header_len(FRAMING_LEN32), 4);
	ck_assert_uint_eq(frame_header_len(FRAMING_LEN16), 2);
	ck_assert_uint_eq(FRAME_MAX_HEADER, 22);
}
END_TEST

/* Golden bytes: encode. */

START_TEST(test_encode_golden_v4)
{
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();

	make_sa(&ss, "127.0.0.1", 5000);
	ck_assert_int_eq(frame_encode(b, FRAMING_FLOW,
	    (struct sockaddr *)&ss, "hi", 2), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), sizeof golden_v4);
	ck_assert_mem_eq(buf_bytes(b), golden_v4, sizeof golden_v4);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_encode_golden_v6)
{
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();

	make_sa(&ss, "2001:db8::1", 53);
	ck_assert_int_eq(frame_encode(b, FRAMING_FLOW,
	    (struct sockaddr *)&ss, "hi", 2), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), sizeof golden_v6);
	ck_assert_mem_eq(buf_bytes(b), golden_v6, sizeof golden_v6);
	evbuffer_free(b);
}
END_TEST

/* A sockaddr_in6 that is already IPv4-mapped goes on the wire as is. */
START_TEST(test_encode_mapped_v6_src)
{
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();

	make_sa(&ss, "::ffff:127.0.0.1", 5000);
	ck_assert_int_eq(frame_encode(b, FRAMING_FLOW,
	    (struct sockaddr *)&ss, "hi", 2), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), sizeof golden_v4);
	ck_assert_mem_eq(buf_bytes(b), golden_v4, sizeof golden_v4);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_encode_golden_len)
{
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();

	/* The source is ignored by the framings that carry no address. */
	make_sa(&ss, "127.0.0.1", 5000);
	ck_assert_int_eq(frame_encode(b, FRAMING_LEN32,
	    (struct sockaddr *)&ss, "hi", 2), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), sizeof golden_len32);
	ck_assert_mem_eq(buf_bytes(b), golden_len32, sizeof golden_len32);
	evbuffer_drain(b, evbuffer_get_length(b));

	ck_assert_int_eq(frame_encode(b, FRAMING_LEN32, NULL, "hi", 2), 0);
	ck_assert_mem_eq(buf_bytes(b), golden_len32, sizeof golden_len32);
	evbuffer_drain(b, evbuffer_get_length(b));

	ck_assert_int_eq(frame_encode(b, FRAMING_LEN16,
	    (struct sockaddr *)&ss, "hi", 2), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), sizeof golden_len16);
	ck_assert_mem_eq(buf_bytes(b), golden_len16, sizeof golden_len16);
	evbuffer_drain(b, evbuffer_get_length(b));

	ck_assert_int_eq(frame_encode(b, FRAMING_LEN16, NULL, "hi", 2), 0);
	ck_assert_mem_eq(buf_bytes(b), golden_len16, sizeof golden_len16);
	evbuffer_free(b);
}
END_TEST

/* A length whose two low bytes differ shows the byte order of each LEN. */
START_TEST(test_encode_byte_order)
{
	static const unsigned char	 flow_hdr[] = {
		0x14, 0x01, 0x00, 0x00,		/* 18 + 258 = 276, LE */
		0x34, 0x12			/* port 0x1234, LE */
	};
	static const unsigned char	 len32_hdr[] = { 0x02, 0x01, 0x00, 0x00 };
	static const unsigned char	 len16_hdr[] = { 0x01, 0x02 };
	struct sockaddr_storage		 ss;
	struct evbuffer			*b = evbuffer_new();
	unsigned char			 payload[258];
	const unsigned char		*p;

	fill(payload, sizeof payload, 3);
	make_sa(&ss, "10.0.0.1", 0x1234);

	ck_assert_int_eq(frame_encode(b, FRAMING_FLOW,
	    (struct sockaddr *)&ss, payload, sizeof payload), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), 22 + sizeof payload);
	p = buf_bytes(b);
	ck_assert_mem_eq(p, flow_hdr, sizeof flow_hdr);
	ck_assert_mem_eq(p + 22, payload, sizeof payload);
	evbuffer_drain(b, evbuffer_get_length(b));

	ck_assert_int_eq(frame_encode(b, FRAMING_LEN32, NULL, payload,
	    sizeof payload), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), 4 + sizeof payload);
	p = buf_bytes(b);
	ck_assert_mem_eq(p, len32_hdr, sizeof len32_hdr);
	ck_assert_mem_eq(p + 4, payload, sizeof payload);
	evbuffer_drain(b, evbuffer_get_length(b));

	ck_assert_int_eq(frame_encode(b, FRAMING_LEN16, NULL, payload,
	    sizeof payload), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), 2 + sizeof payload);
	p = buf_bytes(b);
	ck_assert_mem_eq(p, len16_hdr, sizeof len16_hdr);
	ck_assert_mem_eq(p + 2, payload, sizeof payload);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_encode_null_src)
{
	static const unsigned char	 zero[18];
	struct evbuffer			*b = evbuffer_new();
	const unsigned char		*p;
	struct frame			 f;

	ck_assert_int_eq(frame_encode(b, FRAMING_FLOW, NULL, "abc", 3), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), 25);
	p = buf_bytes(b);
	ck_assert_uint_eq(p[0], 21);
	ck_assert_uint_eq(p[1], 0);
	ck_assert_uint_eq(p[2], 0);
	ck_assert_uint_eq(p[3], 0);
	ck_assert_mem_eq(p + 4, zero, sizeof zero);
	ck_assert_mem_eq(p + 22, "abc", 3);

	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_OK);
	check_src_v6(&f, "::", 0);
	ck_assert_uint_eq(f.len, 3);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_encode_appends)
{
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();
	const unsigned char	*p;

	make_sa(&ss, "127.0.0.1", 5000);
	evbuffer_add(b, "XYZ", 3);
	ck_assert_int_eq(frame_encode(b, FRAMING_FLOW,
	    (struct sockaddr *)&ss, "hi", 2), 0);
	ck_assert_int_eq(frame_encode(b, FRAMING_LEN16, NULL, "hi", 2), 0);
	ck_assert_uint_eq(evbuffer_get_length(b),
	    3 + sizeof golden_v4 + sizeof golden_len16);
	p = buf_bytes(b);
	ck_assert_mem_eq(p, "XYZ", 3);
	ck_assert_mem_eq(p + 3, golden_v4, sizeof golden_v4);
	ck_assert_mem_eq(p + 3 + sizeof golden_v4, golden_len16,
	    sizeof golden_len16);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_encode_too_big)
{
	static const size_t	 lens[] = {
		FRAME_MAX_PAYLOAD + 1, FRAME_MAX_PAYLOAD + 2, 70000,
		(size_t)UINT16_MAX + 1 + 18, (size_t)1 << 20,
		(size_t)UINT32_MAX, (size_t)-1
	};
	enum framing		 fr = all_framings[_i];
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();
	size_t			 i;

	make_sa(&ss, "192.0.2.7", 9);
	evbuffer_add(b, "keep", 4);
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		ck_assert_msg(frame_encode(b, fr, (struct sockaddr *)&ss,
		    bigbuf, lens[i]) == -1, "framing %s: len %zu accepted",
		    frame_name(fr), lens[i]);
		ck_assert_uint_eq(evbuffer_get_length(b), 4);
	}
	ck_assert_mem_eq(buf_bytes(b), "keep", 4);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_write_header_golden)
{
	struct sockaddr_storage	ss;
	unsigned char		hdr[FRAME_MAX_HEADER + 8];

	make_sa(&ss, "127.0.0.1", 5000);
	memset(hdr, 0xee, sizeof hdr);
	ck_assert_uint_eq(frame_write_header(hdr, FRAMING_FLOW,
	    (struct sockaddr *)&ss, 2), 22);
	ck_assert_mem_eq(hdr, golden_v4, 22);
	ck_assert_uint_eq(hdr[22], 0xee);

	make_sa(&ss, "2001:db8::1", 53);
	ck_assert_uint_eq(frame_write_header(hdr, FRAMING_FLOW,
	    (struct sockaddr *)&ss, 2), 22);
	ck_assert_mem_eq(hdr, golden_v6, 22);

	memset(hdr, 0xee, sizeof hdr);
	ck_assert_uint_eq(frame_write_header(hdr, FRAMING_LEN32, NULL, 2), 4);
	ck_assert_mem_eq(hdr, golden_len32, 4);
	ck_assert_uint_eq(hdr[4], 0xee);

	memset(hdr, 0xee, sizeof hdr);
	ck_assert_uint_eq(frame_write_header(hdr, FRAMING_LEN16, NULL, 2), 2);
	ck_assert_mem_eq(hdr, golden_len16, 2);
	ck_assert_uint_eq(hdr[2], 0xee);
}
END_TEST

/* Golden bytes: decode. */

START_TEST(test_decode_golden_v4)
{
	struct evbuffer	*b = buf_from(golden_v4, sizeof golden_v4);
	struct frame	 f;

	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, 2);
	ck_assert_uint_eq(f.wire_len, sizeof golden_v4);
	ck_assert_mem_eq(f.payload, "hi", 2);
	check_src_v4(&f, "127.0.0.1", 5000);

	/* Not drained: a second look sees the same frame. */
	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_OK);
	ck_assert_mem_eq(f.payload, "hi", 2);
	ck_assert_uint_eq(evbuffer_get_length(b), sizeof golden_v4);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_decode_golden_v6)
{
	struct evbuffer	*b = buf_from(golden_v6, sizeof golden_v6);
	struct frame	 f;

	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, 2);
	ck_assert_uint_eq(f.wire_len, sizeof golden_v6);
	ck_assert_mem_eq(f.payload, "hi", 2);
	check_src_v6(&f, "2001:db8::1", 53);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_decode_golden_len)
{
	struct evbuffer	*b;
	struct frame	 f;

	b = buf_from(golden_len32, sizeof golden_len32);
	ck_assert_int_eq(decode_both(b, FRAMING_LEN32, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, 2);
	ck_assert_uint_eq(f.wire_len, 6);
	ck_assert_int_eq(f.has_src, 0);
	ck_assert_mem_eq(f.payload, "hi", 2);
	evbuffer_free(b);

	b = buf_from(golden_len16, sizeof golden_len16);
	ck_assert_int_eq(decode_both(b, FRAMING_LEN16, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, 2);
	ck_assert_uint_eq(f.wire_len, 4);
	ck_assert_int_eq(f.has_src, 0);
	ck_assert_mem_eq(f.payload, "hi", 2);
	evbuffer_free(b);
}
END_TEST

/* An IPv6 address whose bytes look almost mapped stays IPv6. */
START_TEST(test_decode_near_mapped)
{
	static const char	*ips[] = {
		"::7f00:1",			/* IPv4-compatible, not mapped */
		"::fffe:7f00:1",
		"::1:ffff:7f00:1",
		"ffff::ffff:7f00:1",
		"64:ff9b::7f00:1"		/* NAT64 prefix */
	};
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();
	struct frame		 f;
	size_t			 i;

	for (i = 0; i < sizeof ips / sizeof ips[0]; i++) {
		make_sa(&ss, ips[i], 40000 + i);
		ck_assert_int_eq(frame_encode(b, FRAMING_FLOW,
		    (struct sockaddr *)&ss, "x", 1), 0);
		ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_OK);
		check_src_v6(&f, ips[i], 40000 + i);
		evbuffer_drain(b, f.wire_len);
	}
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}
END_TEST

/* Round trips through encode and decode, by source and by size. */

START_TEST(test_roundtrip_sources)
{
	static const struct {
		const char	*ip;
		uint16_t	 port;
		int		 v4;
	} t[] = {
		{ "127.0.0.1", 5000, 1 },
		{ "0.0.0.0", 1, 1 },
		{ "255.255.255.255", 65535, 1 },
		{ "192.168.1.100", 9999, 1 },
		{ "::ffff:10.9.8.7", 4242, 1 },		/* mapped: back to v4 */
		{ "::1", 65535, 0 },
		{ "2001:db8::1", 53, 0 },
		{ "fe80::1:2:3:4", 123, 0 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, 0 }
	};
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();
	struct frame		 f;
	unsigned char		 payload[40];
	size_t			 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		fill(payload, sizeof payload, i);
		make_sa(&ss, t[i].ip, t[i].port);
		ck_assert_int_eq(frame_encode(b, FRAMING_FLOW,
		    (struct sockaddr *)&ss, payload, sizeof payload), 0);
		ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_OK);
		ck_assert_uint_eq(f.len, sizeof payload);
		ck_assert_uint_eq(f.wire_len, 22 + sizeof payload);
		ck_assert_mem_eq(f.payload, payload, sizeof payload);
		if (t[i].v4 && strncmp(t[i].ip, "::ffff:", 7) == 0)
			check_src_v4(&f, t[i].ip + 7, t[i].port);
		else if (t[i].v4)
			check_src_v4(&f, t[i].ip, t[i].port);
		else
			check_src_v6(&f, t[i].ip, t[i].port);
		evbuffer_drain(b, f.wire_len);
	}
	evbuffer_free(b);
}
END_TEST

static void
roundtrip_size(enum framing fr, size_t len)
{
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();
	struct frame		 f;
	size_t			 hl = frame_header_len(fr);

	fill(bigbuf, len, (unsigned int)len);
	make_sa(&ss, "203.0.113.9", 31337);
	ck_assert_int_eq(frame_encode(b, fr, (struct sockaddr *)&ss,
	    bigbuf, len), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), hl + len);

	ck_assert_int_eq(decode_both(b, fr, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, len);
	ck_assert_uint_eq(f.wire_len, hl + len);
	if (len != 0)
		ck_assert_mem_eq(f.payload, bigbuf, len);
	if (fr == FRAMING_FLOW)
		check_src_v4(&f, "203.0.113.9", 31337);
	else
		ck_assert_int_eq(f.has_src, 0);

	/* One byte short of the whole frame is partial. */
	evbuffer_free(b);
	b = evbuffer_new();
	ck_assert_int_eq(frame_encode(b, fr, (struct sockaddr *)&ss,
	    bigbuf, len), 0);
	{
		struct evbuffer	*c = evbuffer_new();

		evbuffer_remove_buffer(b, c, hl + len - 1);
		ck_assert_int_eq(decode_both(c, fr, &f), FRAME_PARTIAL);
		evbuffer_add_buffer(c, b);
		ck_assert_int_eq(decode_both(c, fr, &f), FRAME_OK);
		ck_assert_uint_eq(f.len, len);
		evbuffer_free(c);
	}
	evbuffer_free(b);
}

START_TEST(test_roundtrip_empty)
{
	roundtrip_size(all_framings[_i], 0);
}
END_TEST

START_TEST(test_roundtrip_one)
{
	roundtrip_size(all_framings[_i], 1);
}
END_TEST

START_TEST(test_roundtrip_max)
{
	roundtrip_size(all_framings[_i], FRAME_MAX_PAYLOAD);
}
END_TEST

START_TEST(test_roundtrip_boundaries)
{
	static const size_t	lens[] = {
		2, 17, 18, 19, 21, 22, 23, 255, 256, 257, 1500, 4095, 4096,
		4097, 9000, 65517, 65518, 65534
	};
	size_t			i;

	for (i = 0; i < sizeof lens / sizeof lens[0]; i++)
		roundtrip_size(all_framings[_i], lens[i]);
}
END_TEST

/* Incomplete input. */

START_TEST(test_partial_empty)
{
	struct evbuffer	*b = evbuffer_new();
	struct frame	 f;

	ck_assert_int_eq(decode_both(b, all_framings[_i], &f), FRAME_PARTIAL);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_partial_header)
{
	struct evbuffer	*b = evbuffer_new();
	struct frame	 f;
	size_t		 i;

	/* Every prefix of the golden frames, up to the last byte. */
	for (i = 0; i < sizeof golden_v4; i++) {
		ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f),
		    FRAME_PARTIAL);
		evbuffer_add(b, golden_v4 + i, 1);
	}
	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_OK);
	evbuffer_drain(b, evbuffer_get_length(b));

	for (i = 0; i < sizeof golden_len32; i++) {
		ck_assert_int_eq(decode_both(b, FRAMING_LEN32, &f),
		    FRAME_PARTIAL);
		evbuffer_add(b, golden_len32 + i, 1);
	}
	ck_assert_int_eq(decode_both(b, FRAMING_LEN32, &f), FRAME_OK);
	evbuffer_drain(b, evbuffer_get_length(b));

	for (i = 0; i < sizeof golden_len16; i++) {
		ck_assert_int_eq(decode_both(b, FRAMING_LEN16, &f),
		    FRAME_PARTIAL);
		evbuffer_add(b, golden_len16 + i, 1);
	}
	ck_assert_int_eq(decode_both(b, FRAMING_LEN16, &f), FRAME_OK);
	evbuffer_free(b);
}
END_TEST

/* A frame fed one byte at a time, with a second frame right behind it. */
START_TEST(test_byte_at_a_time)
{
	enum framing		 fr = all_framings[_i];
	struct sockaddr_storage	 ss;
	struct evbuffer		*src = evbuffer_new(), *b = evbuffer_new();
	struct frame		 f;
	unsigned char		 payload[300], wire[2 * (22 + 300)];
	size_t			 total, i, one;

	fill(payload, sizeof payload, 77);
	make_sa(&ss, "2001:db8::1", 53);
	ck_assert_int_eq(frame_encode(src, fr, (struct sockaddr *)&ss,
	    payload, sizeof payload), 0);
	one = evbuffer_get_length(src);
	ck_assert_int_eq(frame_encode(src, fr, (struct sockaddr *)&ss,
	    payload, 5), 0);
	total = evbuffer_get_length(src);
	ck_assert_uint_le(total, sizeof wire);
	evbuffer_copyout(src, wire, total);

	for (i = 0; i < one; i++) {
		ck_assert_msg(decode_both(b, fr, &f) == FRAME_PARTIAL,
		    "%s: not partial with %zu of %zu bytes", frame_name(fr),
		    i, one);
		evbuffer_add(b, wire + i, 1);
	}
	for (; i <= total; i++) {
		/* The first frame is whole, whatever follows it. */
		ck_assert_int_eq(decode_both(b, fr, &f), FRAME_OK);
		ck_assert_uint_eq(f.len, sizeof payload);
		ck_assert_uint_eq(f.wire_len, one);
		ck_assert_mem_eq(f.payload, payload, sizeof payload);
		if (fr == FRAMING_FLOW)
			check_src_v6(&f, "2001:db8::1", 53);
		if (i < total)
			evbuffer_add(b, wire + i, 1);
	}
	evbuffer_drain(b, f.wire_len);
	ck_assert_int_eq(decode_both(b, fr, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, 5);
	ck_assert_mem_eq(f.payload, payload, 5);
	evbuffer_drain(b, f.wire_len);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(src);
	evbuffer_free(b);
}
END_TEST

/* Malformed flow frames: LEN 0..17, delimited, skippable. */
START_TEST(test_malformed_flow)
{
	uint32_t	 len = (uint32_t)_i;
	unsigned char	 wire[4 + 17];
	struct evbuffer	*b = evbuffer_new();
	struct frame	 f;
	size_t		 i;

	le32(wire, len);
	memset(wire + 4, 0x5a, sizeof wire - 4);

	for (i = 0; i < 4 + len; i++) {
		ck_assert_msg(decode_both(b, FRAMING_FLOW, &f) ==
		    FRAME_PARTIAL, "LEN %u: not partial with %zu bytes",
		    len, i);
		evbuffer_add(b, wire + i, 1);
	}
	ck_assert_msg(decode_both(b, FRAMING_FLOW, &f) == FRAME_MALFORMED,
	    "LEN %u not malformed", len);
	ck_assert_uint_eq(f.wire_len, 4 + len);

	/* More bytes behind it do not change the verdict. */
	evbuffer_add(b, golden_v4, 3);
	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_MALFORMED);
	ck_assert_uint_eq(f.wire_len, 4 + len);
	evbuffer_free(b);
}
END_TEST

/* The same short lengths are fine in len32: no address to hold. */
START_TEST(test_short_len32_ok)
{
	uint32_t	 len = (uint32_t)_i;
	unsigned char	 wire[4 + 17];
	struct evbuffer	*b;
	struct frame	 f;

	le32(wire, len);
	fill(wire + 4, sizeof wire - 4, len);
	b = buf_from(wire, 4 + len);
	ck_assert_int_eq(decode_both(b, FRAMING_LEN32, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, len);
	ck_assert_uint_eq(f.wire_len, 4 + len);
	if (len != 0)
		ck_assert_mem_eq(f.payload, wire + 4, len);
	evbuffer_free(b);
}
END_TEST

/* Malformed frames between good ones are skipped by draining wire_len. */
START_TEST(test_malformed_then_good)
{
	struct evbuffer	*b = evbuffer_new();
	struct frame	 f;
	unsigned char	 bad[4 + 17];

	le32(bad, 7);
	memset(bad + 4, 0xff, 7);
	evbuffer_add(b, bad, 4 + 7);
	evbuffer_add(b, golden_v4, sizeof golden_v4);
	le32(bad, 0);
	evbuffer_add(b, bad, 4);
	le32(bad, 17);
	memset(bad + 4, 0x14, 17);
	evbuffer_add(b, bad, 4 + 17);
	evbuffer_add(b, golden_v6, sizeof golden_v6);

	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_MALFORMED);
	ck_assert_uint_eq(f.wire_len, 11);
	evbuffer_drain(b, f.wire_len);

	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, 2);
	ck_assert_mem_eq(f.payload, "hi", 2);
	check_src_v4(&f, "127.0.0.1", 5000);
	evbuffer_drain(b, f.wire_len);

	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_MALFORMED);
	ck_assert_uint_eq(f.wire_len, 4);
	evbuffer_drain(b, f.wire_len);

	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_MALFORMED);
	ck_assert_uint_eq(f.wire_len, 21);
	evbuffer_drain(b, f.wire_len);

	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_OK);
	ck_assert_mem_eq(f.payload, "hi", 2);
	check_src_v6(&f, "2001:db8::1", 53);
	evbuffer_drain(b, f.wire_len);

	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_PARTIAL);
	evbuffer_free(b);
}
END_TEST

/* Oversized LEN: refused from the 4 LEN bytes alone, and with more. */
static const struct {
	enum framing	fr;
	uint32_t	len;
} oversized[] = {
	{ FRAMING_FLOW, 18 + 65535 + 1 },
	{ FRAMING_FLOW, 18 + 65535 + 2 },
	{ FRAMING_FLOW, 0x00100000 },
	{ FRAMING_FLOW, 0x7fffffff },
	{ FRAMING_FLOW, 0x80000000 },
	{ FRAMING_FLOW, 0xffffffff },
	{ FRAMING_LEN32, 65535 + 1 },
	{ FRAMING_LEN32, 65535 + 18 },
	{ FRAMING_LEN32, 0x00100000 },
	{ FRAMING_LEN32, 0x80000000 },
	{ FRAMING_LEN32, 0xffffffff }
};

START_TEST(test_oversized)
{
	enum framing	 fr = oversized[_i].fr;
	uint32_t	 len = oversized[_i].len;
	unsigned char	 wire[4 + 64];
	struct evbuffer	*b;
	struct frame	 f;
	size_t		 wl;

	le32(wire, len);
	memset(wire + 4, 0, sizeof wire - 4);

	b = buf_from(wire, 4);
	ck_assert_msg(frame_decode(b, fr, &f) == FRAME_OVERSIZED,
	    "%s LEN %u not oversized", frame_name(fr), len);
	ck_assert_int_eq(frame_peek_len(b, fr, &wl), FRAME_OVERSIZED);
	ck_assert_uint_eq(evbuffer_get_length(b), 4);
	evbuffer_add(b, wire + 4, sizeof wire - 4);
	ck_assert_int_eq(frame_decode(b, fr, &f), FRAME_OVERSIZED);
	ck_assert_int_eq(frame_peek_len(b, fr, &wl), FRAME_OVERSIZED);
	evbuffer_free(b);
}
END_TEST

/* The largest legal LEN waits for its bytes instead of failing. */
START_TEST(test_largest_len_partial)
{
	unsigned char	 wire[4];
	struct evbuffer	*b;
	struct frame	 f;

	le32(wire, 18 + 65535);
	b = buf_from(wire, 4);
	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_PARTIAL);
	evbuffer_free(b);

	le32(wire, 18);
	b = buf_from(wire, 4);
	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_PARTIAL);
	evbuffer_free(b);

	le32(wire, 65535);
	b = buf_from(wire, 4);
	ck_assert_int_eq(decode_both(b, FRAMING_LEN32, &f), FRAME_PARTIAL);
	evbuffer_free(b);

	wire[0] = 0xff;
	wire[1] = 0xff;
	b = buf_from(wire, 2);
	ck_assert_int_eq(decode_both(b, FRAMING_LEN16, &f), FRAME_PARTIAL);
	evbuffer_free(b);
}
END_TEST

/* len16 LEN is big-endian: 0x0100 is 256, not 1. */
START_TEST(test_len16_big_endian)
{
	unsigned char	 wire[2 + 256];
	struct evbuffer	*b;
	struct frame	 f;

	wire[0] = 0x01;
	wire[1] = 0x00;
	fill(wire + 2, 256, 9);
	b = buf_from(wire, 3);
	ck_assert_int_eq(decode_both(b, FRAMING_LEN16, &f), FRAME_PARTIAL);
	evbuffer_add(b, wire + 3, sizeof wire - 3);
	ck_assert_int_eq(decode_both(b, FRAMING_LEN16, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, 256);
	ck_assert_uint_eq(f.wire_len, 258);
	ck_assert_mem_eq(f.payload, wire + 2, 256);
	evbuffer_free(b);
}
END_TEST

/* Many frames back to back, mixed sizes and framings, decoded in order. */

#define NMANY 100

static size_t
many_len(int i)
{
	if (i == 50)
		return (FRAME_MAX_PAYLOAD);
	if (i % 10 == 0)
		return (0);
	return ((size_t)(i * i * 37) % 2000);
}

static void
many_src(struct sockaddr_storage *ss, int i)
{
	char	ip[64];

	if (i % 2 == 0)
		snprintf(ip, sizeof ip, "10.0.%d.%d", i / 256, i % 256);
	else
		snprintf(ip, sizeof ip, "2001:db8::%x", i);
	make_sa(ss, ip, (uint16_t)(1000 + i));
}

static void
many_check(struct evbuffer *b, int mixed, enum framing one)
{
	struct frame		 f;
	enum framing		 fr;
	size_t			 len;
	char			 ip[64];
	int			 i;

	for (i = 0; i < NMANY; i++) {
		fr = mixed ? all_framings[i % NFRAMINGS] : one;
		len = many_len(i);
		ck_assert_msg(decode_both(b, fr, &f) == FRAME_OK,
		    "frame %d (%s) not ok", i, frame_name(fr));
		ck_assert_uint_eq(f.len, len);
		ck_assert_uint_eq(f.wire_len, frame_header_len(fr) + len);
		fill(bigbuf, len, (unsigned int)i);
		if (len != 0)
			ck_assert_mem_eq(f.payload, bigbuf, len);
		if (fr == FRAMING_FLOW) {
			if (i % 2 == 0) {
				snprintf(ip, sizeof ip, "10.0.%d.%d",
				    i / 256, i % 256);
				check_src_v4(&f, ip, 1000 + i);
			} else {
				snprintf(ip, sizeof ip, "2001:db8::%x", i);
				check_src_v6(&f, ip, 1000 + i);
			}
		}
		evbuffer_drain(b, f.wire_len);
	}
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
}

START_TEST(test_many_mixed)
{
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();
	size_t			 total = 0, len;
	int			 i;
	enum framing		 fr;

	for (i = 0; i < NMANY; i++) {
		fr = all_framings[i % NFRAMINGS];
		len = many_len(i);
		fill(bigbuf, len, (unsigned int)i);
		many_src(&ss, i);
		ck_assert_int_eq(frame_encode(b, fr, (struct sockaddr *)&ss,
		    bigbuf, len), 0);
		total += frame_header_len(fr) + len;
		ck_assert_uint_eq(evbuffer_get_length(b), total);
	}
	many_check(b, 1, FRAMING_FLOW);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_many_one_framing)
{
	enum framing		 fr = all_framings[_i];
	struct sockaddr_storage	 ss;
	struct evbuffer		*b = evbuffer_new();
	size_t			 len;
	int			 i;

	for (i = 0; i < NMANY; i++) {
		len = many_len(i);
		fill(bigbuf, len, (unsigned int)i);
		many_src(&ss, i);
		ck_assert_int_eq(frame_encode(b, fr, (struct sockaddr *)&ss,
		    bigbuf, len), 0);
	}
	many_check(b, 0, fr);
	evbuffer_free(b);
}
END_TEST

/* A frame spread over many evbuffer chunks still decodes contiguously. */

static unsigned char chunkwire[22 + 3000 + 22 + 10];

static size_t
chunks(struct evbuffer *b)
{
	return ((size_t)evbuffer_peek(b, -1, NULL, NULL, 0));
}

START_TEST(test_chunked)
{
	enum framing		 fr = all_framings[_i];
	struct sockaddr_storage	 ss;
	struct evbuffer		*enc = evbuffer_new(), *b = evbuffer_new();
	unsigned char		 payload[3000];
	struct frame		 f;
	size_t			 total, off, step, hl = frame_header_len(fr);

	fill(payload, sizeof payload, 5);
	make_sa(&ss, "198.51.100.20", 6000);
	ck_assert_int_eq(frame_encode(enc, fr, (struct sockaddr *)&ss,
	    payload, sizeof payload), 0);
	ck_assert_int_eq(frame_encode(enc, fr, (struct sockaddr *)&ss,
	    "0123456789", 10), 0);
	total = evbuffer_get_length(enc);
	ck_assert_uint_le(total, sizeof chunkwire);
	evbuffer_copyout(enc, chunkwire, total);

	/* 1-byte pieces through the header, then growing ones. */
	off = 0;
	step = 1;
	while (off < total) {
		if (off >= hl)
			step = step * 2 + 3;
		if (step > total - off)
			step = total - off;
		ck_assert_int_eq(evbuffer_add_reference(b, chunkwire + off,
		    step, NULL, NULL), 0);
		off += step;
	}
	ck_assert_uint_gt(chunks(b), hl + 3);
	ck_assert_uint_eq(evbuffer_get_length(b), total);

	ck_assert_int_eq(decode_both(b, fr, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, sizeof payload);
	ck_assert_uint_eq(f.wire_len, hl + sizeof payload);
	ck_assert_mem_eq(f.payload, payload, sizeof payload);
	if (fr == FRAMING_FLOW)
		check_src_v4(&f, "198.51.100.20", 6000);
	evbuffer_drain(b, f.wire_len);

	ck_assert_int_eq(decode_both(b, fr, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, 10);
	ck_assert_mem_eq(f.payload, "0123456789", 10);
	evbuffer_drain(b, f.wire_len);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);

	evbuffer_free(enc);
	evbuffer_free(b);
}
END_TEST

/* Pieces added with evbuffer_add from separate buffers, split mid-field. */
START_TEST(test_chunked_add)
{
	struct evbuffer	*b = evbuffer_new(), *piece;
	struct frame	 f;
	static const size_t cuts[] = { 1, 3, 5, 6, 13, 21, 22, 23, 24 };
	size_t		 i, prev = 0;

	for (i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		piece = buf_from(golden_v6 + prev, cuts[i] - prev);
		evbuffer_add_buffer(b, piece);
		evbuffer_free(piece);
		prev = cuts[i];
		if (prev < sizeof golden_v6)
			ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f),
			    FRAME_PARTIAL);
	}
	ck_assert_uint_gt(chunks(b), 1);
	ck_assert_int_eq(decode_both(b, FRAMING_FLOW, &f), FRAME_OK);
	ck_assert_uint_eq(f.len, 2);
	ck_assert_mem_eq(f.payload, "hi", 2);
	check_src_v6(&f, "2001:db8::1", 53);
	evbuffer_free(b);
}
END_TEST

/*
 * frame_deliver_all: every frame, in order, read where it lies. A
 * recorder checks each payload when it is handed over and again at the
 * flush that follows (it must still be valid then), and notes whether
 * it points into the caller's own memory (not copied) or elsewhere.
 */
#define DELIVER_FRAMES	12
static unsigned char dwire[DELIVER_FRAMES * (FRAME_MAX_HEADER + 1500) + 64];

struct recorder {
	enum framing		 fr;
	size_t			 n, malformed, flushes, unflushed;
	const unsigned char	*payload[DELIVER_FRAMES + 4];
	size_t			 len[DELIVER_FRAMES + 4];
	int			 in_place[DELIVER_FRAMES + 4];
};

/* The payload of frame i: its size and bytes are the index's. */
static size_t
dsize(size_t i)
{
	return (i * 131 % 1500);
}

static void
dcheck(const unsigned char *p, size_t len, size_t i)
{
	unsigned char	want[1500];

	ck_assert_uint_eq(len, dsize(i));
	fill(want, len, (unsigned int)i);
	ck_assert_mem_eq(p, want, len);
}

static void
rec_frame(const struct frame *f, enum frame_result r, void *arg)
{
	struct recorder	*rec = arg;

	if (r == FRAME_MALFORMED) {
		rec->malformed++;
		return;
	}
	ck_assert_int_eq(r, FRAME_OK);
	ck_assert_uint_lt(rec->n, DELIVER_FRAMES);
	dcheck(f->payload, f->len, rec->n);
	if (rec->fr == FRAMING_FLOW)
		check_src_v4(f, "192.0.2.7", (uint16_t)(1000 + rec->n));
	rec->payload[rec->n] = f->payload;
	rec->len[rec->n] = f->len;
	rec->in_place[rec->n] = f->payload >= dwire &&
	    f->payload < dwire + sizeof dwire;
	rec->n++;
	rec->unflushed++;
}

static void
rec_flush(void *arg)
{
	struct recorder	*rec = arg;
	size_t		 i;

	ck_assert_uint_gt(rec->unflushed, 0);
	for (i = rec->n - rec->unflushed; i < rec->n; i++)
		dcheck(rec->payload[i], rec->len[i], i);
	rec->unflushed = 0;
	rec->flushes++;
}

/*
 * A fresh recorder for framing fr, and DELIVER_FRAMES frames in it into
 * dwire; ends[i] is where frame i ends. Returns their length.
 */
static size_t
dstart(struct recorder *rec, enum framing fr, size_t *ends)
{
	struct evbuffer		*enc = evbuffer_new();
	struct sockaddr_storage	 ss;
	unsigned char		 payload[1500];
	size_t			 i, total;

	memset(rec, 0, sizeof *rec);
	rec->fr = fr;
	for (i = 0; i < DELIVER_FRAMES; i++) {
		make_sa(&ss, "192.0.2.7", (uint16_t)(1000 + i));
		fill(payload, dsize(i), (unsigned int)i);
		ck_assert_int_eq(frame_encode(enc, fr, (struct sockaddr *)&ss,
		    payload, dsize(i)), 0);
		ends[i] = evbuffer_get_length(enc);
	}
	total = evbuffer_get_length(enc);
	ck_assert_uint_le(total, sizeof dwire);
	evbuffer_copyout(enc, dwire, total);
	evbuffer_free(enc);
	return (total);
}

/* frame_deliver_all over b, into the recorder. */
static enum frame_result
deliver(struct evbuffer *b, struct recorder *rec)
{
	return (frame_deliver_all(b, rec->fr, rec_frame, rec_flush, rec));
}

/*
 * Three pieces: the first ends on a frame boundary, the second in the
 * middle of frame 6. Only frame 6 may be copied; the rest are read in
 * place, and each piece's frames are flushed before it is drained.
 */
START_TEST(test_deliver_in_place)
{
	enum framing	 fr = all_framings[_i];
	struct evbuffer	*b = evbuffer_new();
	struct recorder	 rec;
	size_t		 ends[DELIVER_FRAMES], total, cut1, cut2, i;

	total = dstart(&rec, fr, ends);
	cut1 = ends[3];
	cut2 = ends[5] + 3;	/* inside frame 6's length field */
	ck_assert_int_eq(evbuffer_add_reference(b, dwire, cut1, NULL, NULL), 0);
	ck_assert_int_eq(evbuffer_add_reference(b, dwire + cut1, cut2 - cut1,
	    NULL, NULL), 0);
	ck_assert_int_eq(evbuffer_add_reference(b, dwire + cut2, total - cut2,
	    NULL, NULL), 0);

	ck_assert_int_eq(deliver(b, &rec), FRAME_PARTIAL);
	ck_assert_uint_eq(rec.n, DELIVER_FRAMES);
	ck_assert_uint_eq(rec.malformed, 0);
	ck_assert_uint_eq(rec.unflushed, 0);
	ck_assert_uint_ge(rec.flushes, 3);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	for (i = 0; i < DELIVER_FRAMES; i++)
		ck_assert_msg(rec.in_place[i] == (i != 6),
		    "frame %zu: %s", i, rec.in_place[i] ? "read in place, "
		    "but it straddles two pieces" : "copied, but it lies "
		    "whole in one piece");
	evbuffer_free(b);
}
END_TEST

/* Every byte a piece of its own: each frame is joined, all arrive. */
START_TEST(test_deliver_bytewise)
{
	enum framing	 fr = all_framings[_i];
	struct evbuffer	*b = evbuffer_new();
	struct recorder	 rec;
	size_t		 ends[DELIVER_FRAMES], total, i;

	total = dstart(&rec, fr, ends);
	for (i = 0; i < total; i++)
		ck_assert_int_eq(evbuffer_add_reference(b, dwire + i, 1, NULL,
		    NULL), 0);
	ck_assert_int_eq(deliver(b, &rec), FRAME_PARTIAL);
	ck_assert_uint_eq(rec.n, DELIVER_FRAMES);
	ck_assert_uint_eq(rec.unflushed, 0);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}
END_TEST

/* A partial frame at the end stays, whole, for the next read. */
START_TEST(test_deliver_partial_tail)
{
	enum framing	 fr = all_framings[_i];
	struct evbuffer	*b = evbuffer_new();
	struct recorder	 rec;
	size_t		 ends[DELIVER_FRAMES], total, cut, left;

	total = dstart(&rec, fr, ends);
	cut = ends[DELIVER_FRAMES - 2] + 1;
	left = total - 1 - cut;		/* all but the last byte */
	ck_assert_int_eq(evbuffer_add_reference(b, dwire, cut, NULL, NULL), 0);
	ck_assert_int_eq(evbuffer_add_reference(b, dwire + cut, left, NULL,
	    NULL), 0);
	ck_assert_int_eq(deliver(b, &rec), FRAME_PARTIAL);
	ck_assert_uint_eq(rec.n, DELIVER_FRAMES - 1);
	ck_assert_uint_eq(evbuffer_get_length(b), total - 1 -
	    ends[DELIVER_FRAMES - 2]);
	ck_assert_int_eq(evbuffer_add(b, dwire + total - 1, 1), 0);
	ck_assert_int_eq(deliver(b, &rec), FRAME_PARTIAL);
	ck_assert_uint_eq(rec.n, DELIVER_FRAMES);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}
END_TEST

/*
 * Good frames, a malformed one (skipped and reported), good frames, an
 * oversized length: everything before it is delivered and flushed,
 * then the stream is given up.
 */
START_TEST(test_deliver_bad)
{
	struct evbuffer	*b = evbuffer_new();
	struct recorder	 rec;
	size_t		 ends[DELIVER_FRAMES], total;
	unsigned char	 bad[9] = { 5, 0, 0, 0, 1, 2, 3, 4, 5 };
	unsigned char	 huge[4];

	total = dstart(&rec, FRAMING_FLOW, ends);
	le32(huge, 18 + 65536);
	evbuffer_add(b, dwire, ends[1]);
	evbuffer_add(b, bad, sizeof bad);
	evbuffer_add(b, dwire + ends[1], total - ends[1]);
	evbuffer_add(b, huge, sizeof huge);
	evbuffer_add(b, dwire, 100);
	ck_assert_int_eq(deliver(b, &rec), FRAME_OVERSIZED);
	ck_assert_uint_eq(rec.n, DELIVER_FRAMES);
	ck_assert_uint_eq(rec.malformed, 1);
	ck_assert_uint_eq(rec.unflushed, 0);
	evbuffer_free(b);
}
END_TEST

static Suite *
frame_suite(void)
{
	Suite	*s;
	TCase	*tc;
	int	 nf = (int)NFRAMINGS;

	s = suite_create("frame");

	tc = tcase_create("names");
	tcase_add_test(tc, test_parse_name);
	tcase_add_loop_test(tc, test_names_roundtrip, 0, nf);
	tcase_add_test(tc, test_names_values);
	tcase_add_test(tc, test_has_address);
	tcase_add_test(tc, test_header_len);
	suite_add_tcase(s, tc);

	tc = tcase_create("golden");
	tcase_add_test(tc, test_encode_golden_v4);
	tcase_add_test(tc, test_encode_golden_v6);
	tcase_add_test(tc, test_encode_mapped_v6_src);
	tcase_add_test(tc, test_encode_golden_len);
	tcase_add_test(tc, test_encode_byte_order);
	tcase_add_test(tc, test_encode_null_src);
	tcase_add_test(tc, test_encode_appends);
	tcase_add_test(tc, test_write_header_golden);
	tcase_add_test(tc, test_decode_golden_v4);
	tcase_add_test(tc, test_decode_golden_v6);
	tcase_add_test(tc, test_decode_golden_len);
	tcase_add_test(tc, test_decode_near_mapped);
	suite_add_tcase(s, tc);

	tc = tcase_create("sizes");
	tcase_add_test(tc, test_roundtrip_sources);
	tcase_add_loop_test(tc, test_roundtrip_empty, 0, nf);
	tcase_add_loop_test(tc, test_roundtrip_one, 0, nf);
	tcase_add_loop_test(tc, test_roundtrip_max, 0, nf);
	tcase_add_loop_test(tc, test_roundtrip_boundaries, 0, nf);
	tcase_add_loop_test(tc, test_encode_too_big, 0, nf);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_partial_empty, 0, nf);
	tcase_add_test(tc, test_partial_header);
	tcase_add_loop_test(tc, test_malformed_flow, 0, 18);
	tcase_add_loop_test(tc, test_short_len32_ok, 0, 18);
	tcase_add_test(tc, test_malformed_then_good);
	tcase_add_loop_test(tc, test_oversized, 0,
	    (int)(sizeof oversized / sizeof oversized[0]));
	tcase_add_test(tc, test_largest_len_partial);
	tcase_add_test(tc, test_len16_big_endian);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_loop_test(tc, test_byte_at_a_time, 0, nf);
	tcase_add_test(tc, test_many_mixed);
	tcase_add_loop_test(tc, test_many_one_framing, 0, nf);
	tcase_add_loop_test(tc, test_chunked, 0, nf);
	tcase_add_test(tc, test_chunked_add);
	suite_add_tcase(s, tc);

	tc = tcase_create("deliver");
	tcase_add_loop_test(tc, test_deliver_in_place, 0, nf);
	tcase_add_loop_test(tc, test_deliver_bytewise, 0, nf);
	tcase_add_loop_test(tc, test_deliver_partial_tail, 0, nf);
	tcase_add_test(tc, test_deliver_bad);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(frame_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
