/*
 * check_pin.c - unit tests for the pin parser (pin.c): "sha256:BASE64"
 * to 32 bytes and back. Known vectors were computed outside the program
 * (python3 hashlib + base64, and openssl dgst | openssl enc -base64);
 * random values go round trip in both spellings (curl's "sha256//"
 * too); every malformed pin is refused with a reason.
 */

#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pin.h"

/* A pin the test spells out, and the 32 bytes it must stand for. */
struct vector {
	const char	*b64;
	unsigned char	 bytes[PIN_LEN];
};

static const struct vector vectors[] = {
	/* SHA-256("abc"), FIPS 180-2's first example. */
	{ "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", {
	    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
	    0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
	    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
	    0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad } },
	/* SHA-256 of nothing. */
	{ "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", {
	    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
	    0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
	    0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55 } },
	/* 0, 1, ..., 31. */
	{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", {
	    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
	    31 } },
	/* All zeros, all ones: the ends of the alphabet. */
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", { 0 } },
	{ "//////////////////////////////////////////8=", {
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
};

#define NVECTORS	(sizeof vectors / sizeof vectors[0])

/* A base64 that is good, to be spoilt by the cases below. */
#define GOOD	"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="

/* The words of the reason for a pin of the wrong length. */
#define LENGTH	"the SHA-256 of a public key"

/* A pin that must be refused, and a word its reason must contain. */
struct bad {
	const char	*pin;
	const char	*why;
};

static const struct bad bads[] = {
	{ "", "sha256:" },
	{ GOOD, "sha256:" },				/* no prefix */
	{ "sha256", "sha256:" },
	{ "sha256/" GOOD, "sha256:" },
	{ "sha256=" GOOD, "sha256:" },
	{ "SHA256:" GOOD, "sha256:" },			/* case matters */
	{ "sha1:" GOOD, "sha256:" },
	{ " sha256:" GOOD, "sha256:" },
	{ "sha512:" GOOD, "sha256:" },
	{ "sha256:", LENGTH },				/* nothing after */
	{ "sha256//", LENGTH },
	{ "sha256: " GOOD, LENGTH },			/* a space, 45 */
	{ "sha256:" GOOD " ", LENGTH },
	{ "sha256:" GOOD "\n", LENGTH },
	{ "sha256:" GOOD "=", LENGTH },			/* extra '=' */
	{ "sha256:" GOOD "A", LENGTH },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0", LENGTH },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0A", LENGTH },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa=", LENGTH },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa==", "is not base64" },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0==", LENGTH },
	/* 32 bytes of hex, as a SHA-256 is also written. */
	{ "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
	    "f20015ad", LENGTH },
	/* A character outside the alphabet, at each end and inside. */
	{ "sha256:-ngWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", "is not base64" },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa_=", "is not base64" },
	{ "sha256:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", "is not base64" },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0=", "is not base64" },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7AD aOWF3qctBD/YfIAFa0=", "is not base64" },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7AD=aOWF3qctBD/YfIAFa0=", "is not base64" },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7AD.aOWF3qctBD/YfIAFa0=", "is not base64" },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7AD\xc3\xa9OWF3qctBD/YfIAFa0=", "is not base64" },
	{ "sha256//ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa!=", "is not base64" },
	/*
	 * The last character carries 4 bits of the 32nd byte and 2 that
	 * must be zero: "0" is 52 (0b110100); "1", "2", "3" set them.
	 */
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa1=", "32 bytes" },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa2=", "32 bytes" },
	{ "sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa3=", "32 bytes" },
	{ "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", "32 bytes" },
	{ "sha256:///////////////////////////////////////////=", "32 bytes" },
	{ "sha256//ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa1=", "32 bytes" },
};

#define NBADS	(sizeof bads / sizeof bads[0])

/* A small generator of the test's own: the same values every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (*s);
}

/* Each vector parses to its bytes, in both spellings, and formats back. */
START_TEST(test_vectors)
{
	const struct vector	*v = &vectors[_i];
	unsigned char		 out[PIN_LEN];
	char			 s[128], buf[PIN_STRLEN];
	const char		*why;

	snprintf(s, sizeof s, "sha256:%s", v->b64);
	memset(out, 0xa5, sizeof out);
	why = NULL;
	ck_assert_int_eq(pin_parse(s, out, &why), 0);
	ck_assert_mem_eq(out, v->bytes, PIN_LEN);

	snprintf(s, sizeof s, "sha256//%s", v->b64);
	memset(out, 0x5a, sizeof out);
	ck_assert_int_eq(pin_parse(s, out, &why), 0);
	ck_assert_mem_eq(out, v->bytes, PIN_LEN);

	memset(buf, 'x', sizeof buf);
	ck_assert_ptr_eq(pin_format(v->bytes, buf, sizeof buf), buf);
	snprintf(s, sizeof s, "sha256:%s", v->b64);
	ck_assert_str_eq(buf, s);
	ck_assert_uint_eq(strlen(buf), PIN_STRLEN - 1);
}
END_TEST

/* Random values: format, parse, the same bytes; the curl form too. */
START_TEST(test_round_trip)
{
	unsigned char	 pin[PIN_LEN], out[PIN_LEN];
	char		 buf[PIN_STRLEN], curl[PIN_STRLEN + 1];
	const char	*why;
	uint64_t	 seed = 0x9e3779b97f4a7c15ULL, r;
	int		 i, j, seen_slash = 0, seen_plus = 0;

	for (i = 0; i < 5000; i++) {
		for (j = 0; j < PIN_LEN; j += 8) {
			r = rnd(&seed);
			memcpy(pin + j, &r, 8);
		}
		pin_format(pin, buf, sizeof buf);
		ck_assert_uint_eq(strlen(buf), PIN_STRLEN - 1);
		ck_assert(strncmp(buf, "sha256:", 7) == 0);
		ck_assert_int_eq(buf[PIN_STRLEN - 2], '=');
		seen_slash |= strchr(buf, '/') != NULL;
		seen_plus |= strchr(buf, '+') != NULL;

		why = NULL;
		memset(out, ~pin[0], sizeof out);
		ck_assert_msg(pin_parse(buf, out, &why) == 0, "%s: %s", buf,
		    why);
		ck_assert_mem_eq(out, pin, PIN_LEN);

		snprintf(curl, sizeof curl, "sha256//%s", buf + 7);
		memset(out, ~pin[1], sizeof out);
		ck_assert_int_eq(pin_parse(curl, out, &why), 0);
		ck_assert_mem_eq(out, pin, PIN_LEN);

		/* One bit flipped: a different pin, never the same one. */
		pin[r % PIN_LEN] ^= (unsigned char)(1u << (r >> 8) % 8);
		ck_assert_int_eq(pin_parse(buf, out, &why), 0);
		ck_assert(memcmp(out, pin, PIN_LEN) != 0);
	}
	/* The two characters where base64 and base64url differ came up. */
	ck_assert(seen_slash && seen_plus);
}
END_TEST

/* Every malformed pin is refused, with a reason that says what is wrong. */
START_TEST(test_bad)
{
	const struct bad	*b = &bads[_i];
	unsigned char		 out[PIN_LEN];
	const char		*why = NULL;

	ck_assert_msg(pin_parse(b->pin, out, &why) == -1, "accepted: \"%s\"",
	    b->pin);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, b->why) != NULL, "\"%s\": reason \"%s\", "
	    "not about \"%s\"", b->pin, why, b->why);
}
END_TEST

/* A C string ends at its NUL: a pin cut there is too short. */
START_TEST(test_embedded_nul)
{
	char		 s[64];
	unsigned char	 out[PIN_LEN];
	const char	*why = NULL;

	snprintf(s, sizeof s, "sha256:%s", GOOD);
	ck_assert_int_eq(pin_parse(s, out, &why), 0);
	s[7 + 20] = '\0';
	ck_assert_int_eq(pin_parse(s, out, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, LENGTH));
	s[7 + 20] = 'A';
	s[7 + 43] = '\0';	/* the '=' gone */
	ck_assert_int_eq(pin_parse(s, out, &why), -1);
	s[7] = '\0';
	ck_assert_int_eq(pin_parse(s, out, &why), -1);
}
END_TEST

/* The parser stops at the prefix: s is not read past a refused one. */
START_TEST(test_prefix_only)
{
	unsigned char	 out[PIN_LEN];
	const char	*why = NULL;
	char		*s;

	/* Exactly sized, so valgrind or ASan catches an overread. */
	ck_assert_ptr_nonnull(s = malloc(4));
	memcpy(s, "sha", 4);
	ck_assert_int_eq(pin_parse(s, out, &why), -1);
	free(s);
	ck_assert_ptr_nonnull(s = malloc(8));
	memcpy(s, "sha256:", 8);
	ck_assert_int_eq(pin_parse(s, out, &why), -1);
	free(s);
}
END_TEST

/* A buffer too small for the pin gets as much as fits, NUL-ended. */
START_TEST(test_format_short_buffer)
{
	unsigned char	pin[PIN_LEN];
	char		buf[PIN_STRLEN + 8];
	char		full[PIN_STRLEN];
	size_t		n;

	memcpy(pin, vectors[0].bytes, PIN_LEN);
	pin_format(pin, full, sizeof full);
	ck_assert_str_eq(full, "sha256:" GOOD);
	for (n = 1; n <= PIN_STRLEN; n++) {
		memset(buf, 'x', sizeof buf);
		ck_assert_ptr_eq(pin_format(pin, buf, n), buf);
		ck_assert_uint_eq(strlen(buf), n - 1);
		ck_assert(strncmp(buf, full, n - 1) == 0);
		ck_assert_int_eq(buf[n], 'x');	/* nothing past len */
	}
}
END_TEST

static Suite *
pin_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("pin");
	tc = tcase_create("good");
	tcase_add_loop_test(tc, test_vectors, 0, (int)NVECTORS);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_format_short_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_bad, 0, (int)NBADS);
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_prefix_only);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(pin_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
