/*
 * pin.c - public-key pins: "sha256:BASE64" to 32 bytes and back.
 * Base64 as RFC 4648 section 4, with its padding: 32 bytes are always
 * 43 characters and one "=".
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "pin.h"

static const char	pin_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The value of one base64 character, or -1. */
static int
pin_b64_value(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(pin_b64, c)) == NULL)
		return (-1);
	return ((int)(p - pin_b64));
}

/*
 * Parses a pin into out. Returns 0, or -1 with *why saying what is
 * wrong in words a user can act on.
 */
int
pin_parse(const char *s, unsigned char out[PIN_LEN], const char **why)
{
	unsigned long	acc = 0;
	size_t		i, n = 0, bits = 0;
	int		v;

	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	else if (strncmp(s, "sha256//", 8) == 0)
		s += 8;
	else {
		*why = "must start with sha256: (a pin from --print-pin)";
		return (-1);
	}
	if (strlen(s) != 44 || s[43] != '=') {
		*why = "must be 43 base64 characters and '=', the SHA-256 "
		    "of a public key";
		return (-1);
	}
	for (i = 0; i < 43; i++) {
		if ((v = pin_b64_value(s[i])) < 0) {
			*why = "is not base64";
			return (-1);
		}
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* 43 characters carry 258 bits: the last 2 must be zero. */
	if (n != PIN_LEN || acc != 0) {
		*why = "is not the base64 of 32 bytes";
		return (-1);
	}
	return (0);
}

/* "sha256:" and the base64 of pin, into buf (PIN_STRLEN bytes at least). */
char *
pin_format(const unsigned char pin[PIN_LEN], char *buf, size_t len)
{
	char		 b[45];
	size_t		 i, o = 0;
	unsigned long	 v;

	for (i = 0; i + 3 <= PIN_LEN; i += 3) {
		v = (unsigned long)pin[i] << 16 | (unsigned long)pin[i + 1] <<
		    8 | pin[i + 2];
		b[o++] = pin_b64[v >> 18 & 63];
		b[o++] = pin_b64[v >> 12 & 63];
		b[o++] = pin_b64[v >> 6 & 63];
		b[o++] = pin_b64[v & 63];
	}
	/* 32 = 30 + 2: two bytes left, three characters and a pad. */
	v = (unsigned long)pin[30] << 16 | (unsigned long)pin[31] << 8;
	b[o++] = pin_b64[v >> 18 & 63];
	b[o++] = pin_b64[v >> 12 & 63];
	b[o++] = pin_b64[v >> 6 & 63];
	b[o++] = '=';
	b[o] = '\0';
	snprintf(buf, len, "sha256:%s", b);
	return (buf);
}
