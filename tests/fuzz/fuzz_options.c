/*
 * fuzz_options.c - libFuzzer target for the command line (src/options.c).
 *
 * The input, split on NUL bytes, is the argument list after the program
 * name: "--tcp-listen\0" "7000\0" "-u\0" "auto\0" and so on. Every
 * argument is its own exactly sized copy. options_parse() runs on it
 * twice, and both runs must agree to the byte: getopt's state is global,
 * and the parser must reset it whatever the previous run left behind
 * (an error in the middle of "-vvh", an option cluster half read).
 * Between the two, a fixed valid command line is parsed, which must
 * succeed whatever came before it.
 *
 * What comes back must be consistent: an error says why in one line
 * that fits the buffer; a command line to run has one side, a TCP
 * address, both UDP addresses, and auto mode only where the rules of
 * options.c allow it.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "fuzz.h"

#define FZ_MAXARGS	64
#define FZ_ERRLEN	256

static void	fz_check(enum options_result, const struct options *,
		    const char *);
static void	fz_known_good(void);

static void
fz_check(enum options_result r, const struct options *o, const char *err)
{
	size_t	i;

	FUZZ_CHECK(memchr(err, '\0', FZ_ERRLEN) != NULL);
	switch (r) {
	case OPTIONS_ERROR:
		FUZZ_CHECK(err[0] != '\0');
		break;
	case OPTIONS_RUN:
		FUZZ_CHECK(err[0] == '\0');
		FUZZ_CHECK(o->side == SIDE_LISTEN || o->side == SIDE_CONNECT);
		FUZZ_CHECK(o->tcp.host[0] != '\0' && o->tcp.port != 0);
		FUZZ_CHECK(!o->tcp.is_auto);
		/* Port 0, the system's pick, is for the listen side only. */
		FUZZ_CHECK(o->udp_bind.is_auto || o->udp_bind.port != 0 ||
		    o->side == SIDE_LISTEN);
		FUZZ_CHECK(o->udp_sendto.is_auto ||
		    o->udp_sendto.port != 0);
		FUZZ_CHECK(!o->udp_bind.is_auto || o->side == SIDE_LISTEN);
		FUZZ_CHECK(!o->udp_sendto.is_auto ||
		    o->side == SIDE_CONNECT);
		FUZZ_CHECK(o->auto_mode ==
		    (o->udp_bind.is_auto || o->udp_sendto.is_auto));
		FUZZ_CHECK(!o->auto_mode || o->framing == FRAMING_FLOW);
		FUZZ_CHECK(o->backoff_min_ms >= 1 &&
		    o->backoff_min_ms <= o->backoff_max_ms);
		FUZZ_CHECK(o->max_flows >= 1 && o->max_peers >= 1);
		FUZZ_CHECK(o->flow_timeout_s >= 1);
		FUZZ_CHECK(o->nallow <= OPTIONS_MAX_ALLOW);
		FUZZ_CHECK(o->nallow == 0 || o->side == SIDE_LISTEN);
		for (i = 0; i < o->nallow; i++)
			FUZZ_CHECK(o->allow[i].family == AF_INET ||
			    o->allow[i].family == AF_INET6);
		break;
	case OPTIONS_HELP:
	case OPTIONS_VERSION:
		FUZZ_CHECK(err[0] == '\0');
		break;
	default:
		FUZZ_CHECK(!"options_parse() returned no options_result");
	}
}

/* A valid command line parses, whatever the previous parse left. */
static void
fz_known_good(void)
{
	char			 a0[] = "udp-over-tcp", a1[] = "-l",
				 a2[] = "7000", a3[] = "-u", a4[] = "auto",
				 a5[] = "--udp-sendto", a6[] = "127.0.0.1:53";
	char			*argv[] = { a0, a1, a2, a3, a4, a5, a6, NULL };
	struct options		 o;
	char			 err[FZ_ERRLEN];
	enum options_result	 r;

	r = options_parse(&o, 7, argv, err, sizeof err);
	FUZZ_CHECK(r == OPTIONS_RUN);
	FUZZ_CHECK(o.side == SIDE_LISTEN && o.auto_mode);
	FUZZ_CHECK(o.tcp.port == 7000 && o.udp_sendto.port == 53);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*argv[FZ_MAXARGS + 2];
	struct options		*o1, *o2;
	char			 err1[FZ_ERRLEN], err2[FZ_ERRLEN];
	enum options_result	 r1, r2;
	const uint8_t		*p, *end = data + size, *nul;
	size_t			 len;
	int			 argc = 0, i;

	argv[argc++] = strdup("udp-over-tcp");
	FUZZ_CHECK(argv[0] != NULL);
	/* "a\0b" is two arguments, "a\0b\0" too; "" alone is none. */
	for (p = data; p < end && argc <= FZ_MAXARGS; p = nul + 1) {
		nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			nul = end;
		len = (size_t)(nul - p);
		FUZZ_CHECK((argv[argc] = malloc(len + 1)) != NULL);
		memcpy(argv[argc], p, len);
		argv[argc][len] = '\0';
		argc++;
		if (nul == end)
			break;
	}
	argv[argc] = NULL;

	/* Heap, so ASan sees a write past either struct. */
	FUZZ_CHECK((o1 = malloc(sizeof *o1)) != NULL);
	FUZZ_CHECK((o2 = malloc(sizeof *o2)) != NULL);
	memset(err1, 'x', sizeof err1);
	memset(err2, 'y', sizeof err2);

	r1 = options_parse(o1, argc, argv, err1, sizeof err1);
	fz_check(r1, o1, err1);
	fz_known_good();
	r2 = options_parse(o2, argc, argv, err2, sizeof err2);
	fz_check(r2, o2, err2);

	FUZZ_CHECK(r1 == r2);
	FUZZ_CHECK(strcmp(err1, err2) == 0);
	if (r1 == OPTIONS_RUN)
		FUZZ_CHECK(memcmp(o1, o2, sizeof *o1) == 0);
	/* And straight after itself, with nothing in between. */
	r2 = options_parse(o2, argc, argv, err2, sizeof err2);
	FUZZ_CHECK(r1 == r2);
	FUZZ_CHECK(strcmp(err1, err2) == 0);
	if (r1 == OPTIONS_RUN)
		FUZZ_CHECK(memcmp(o1, o2, sizeof *o1) == 0);

	free(o1);
	free(o2);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	return (0);
}
