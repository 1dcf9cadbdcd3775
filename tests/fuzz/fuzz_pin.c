/*
 * fuzz_pin.c - libFuzzer target for the pin parser (src/pin.c).
 *
 * The input, up to its first NUL, is a --tls-pin value as a user would
 * write it. pin_parse() must accept it or refuse it with a reason; a
 * pin it accepts must format (pin_format) to a string that is the
 * input itself, but for curl's "sha256//" spelling of the prefix, and
 * that parses back to the same 32 bytes. pin_format() into every
 * shorter buffer writes a NUL-ended prefix of the same string.
 *
 * The input's first 32 bytes are also taken as a pin, which must go
 * through pin_format() and pin_parse() unchanged.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pin.h"

/* pin_format() into every buffer size up to the full one: prefixes. */
static void
fz_format(const unsigned char pin[PIN_LEN], const char *full)
{
	char	*buf;
	size_t	 n;

	for (n = 1; n <= PIN_STRLEN; n++) {
		FUZZ_CHECK((buf = malloc(n)) != NULL);
		FUZZ_CHECK(pin_format(pin, buf, n) == buf);
		FUZZ_CHECK(strlen(buf) == n - 1);
		FUZZ_CHECK(strncmp(buf, full, n - 1) == 0);
		free(buf);
	}
}

/* Formats pin, checks the string's shape, parses it back. */
static void
fz_round_trip(const unsigned char pin[PIN_LEN], char out[PIN_STRLEN])
{
	unsigned char	 again[PIN_LEN];
	const char	*why = NULL;

	FUZZ_CHECK(pin_format(pin, out, PIN_STRLEN) == out);
	FUZZ_CHECK(strlen(out) == PIN_STRLEN - 1);
	FUZZ_CHECK(strncmp(out, "sha256:", 7) == 0);
	FUZZ_CHECK(out[PIN_STRLEN - 2] == '=');
	FUZZ_CHECK(pin_parse(out, again, &why) == 0);
	FUZZ_CHECK(memcmp(again, pin, PIN_LEN) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char	 pin[PIN_LEN], raw[PIN_LEN];
	char		 out[PIN_STRLEN];
	const char	*why = NULL, *body;
	char		*s;
	int		 rc;

	/* Exactly sized and NUL-ended, so an overread is caught. */
	FUZZ_CHECK((s = malloc(size + 1)) != NULL);
	if (size != 0)
		memcpy(s, data, size);
	s[size] = '\0';

	rc = pin_parse(s, pin, &why);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		/* What was taken is the canonical form, prefix aside. */
		if (strncmp(s, "sha256:", 7) == 0)
			body = s + 7;
		else {
			FUZZ_CHECK(strncmp(s, "sha256//", 8) == 0);
			body = s + 8;
		}
		fz_round_trip(pin, out);
		FUZZ_CHECK(strcmp(body, out + 7) == 0);
		fz_format(pin, out);
	} else
		FUZZ_CHECK(why != NULL && why[0] != '\0');
	free(s);

	/* Any 32 bytes are a pin. */
	memset(raw, 0, sizeof raw);
	memcpy(raw, data, size < PIN_LEN ? size : PIN_LEN);
	fz_round_trip(raw, out);
	return (0);
}
