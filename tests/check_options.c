/* check_options.c - unit tests for the command line parser. */

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define MAXARGS	32

static char	err[512];

/*
 * A copy of s for an argv. The copies are never freed: getopt may keep
 * pointers into an argv between calls, and each test runs in its own
 * process. They stay reachable from here, so that leak checkers (the
 * sanitizer build of .ci/run) do not report them.
 */
static char	**kept;
static size_t	  nkept, nkept_max;

static char *
keep(const char *s)
{
	char	**grown;

	if (nkept == nkept_max) {
		nkept_max = nkept_max == 0 ? 64 : nkept_max * 2;
		grown = realloc(kept, nkept_max * sizeof *kept);
		ck_assert_ptr_nonnull(grown);
		kept = grown;
	}
	kept[nkept] = strdup(s);
	ck_assert_ptr_nonnull(kept[nkept]);
	return (kept[nkept++]);
}

/* Parse a NULL-terminated argument list after the program name. */
static enum options_result
vparse(struct options *o, char *e, size_t elen, const char *first,
    va_list ap)
{
	char		*argv[MAXARGS + 2];
	const char	*a;
	int		 argc = 0;

	argv[argc++] = keep("udp-over-tcp");
	for (a = first; a != NULL; a = va_arg(ap, const char *)) {
		ck_assert_int_lt(argc, MAXARGS);
		argv[argc++] = keep(a);
	}
	argv[argc] = NULL;

	options_defaults(o);
	e[0] = '\0';
	return (options_parse(o, argc, argv, e, elen));
}

static enum options_result
parse(struct options *o, const char *first, ...)
{
	va_list			ap;
	enum options_result	r;

	va_start(ap, first);
	r = vparse(o, err, sizeof err, first, ap);
	va_end(ap);
	return (r);
}

static void
check_spec(const struct addr_spec *spec, const char *host, unsigned int port,
    int is_auto, int is_name)
{
	ck_assert_str_eq(spec->host, host);
	ck_assert_uint_eq(spec->port, port);
	ck_assert_int_eq(spec->is_auto, is_auto);
	ck_assert_int_eq(spec->is_name, is_name);
}

static void
check_defaults(const struct options *o)
{
	ck_assert_uint_eq(o->queue_size, OPTIONS_QUEUE_SIZE);
	ck_assert_uint_eq(o->backoff_min_ms, OPTIONS_BACKOFF_MIN_MS);
	ck_assert_uint_eq(o->backoff_max_ms, OPTIONS_BACKOFF_MAX_MS);
	ck_assert_uint_eq(o->keepalive_s, OPTIONS_KEEPALIVE_S);
	ck_assert_uint_eq(o->udp_buffer, OPTIONS_UDP_BUFFER);
	ck_assert_int_eq(o->udp_buffer_given, 0);
	ck_assert_uint_eq(o->tcp_buffer, 0);
}

static void
check_same_spec(const struct addr_spec *a, const struct addr_spec *b)
{
	ck_assert_str_eq(a->host, b->host);
	ck_assert_uint_eq(a->port, b->port);
	ck_assert_int_eq(a->is_auto, b->is_auto);
	ck_assert_int_eq(a->is_name, b->is_name);
}

static void
check_same(const struct options *a, const struct options *b)
{
	ck_assert_int_eq(a->side, b->side);
	check_same_spec(&a->tcp, &b->tcp);
	check_same_spec(&a->udp_bind, &b->udp_bind);
	check_same_spec(&a->udp_sendto, &b->udp_sendto);
	ck_assert_int_eq(a->framing, b->framing);
	ck_assert_int_eq(a->auto_mode, b->auto_mode);
	ck_assert_int_eq(a->verbosity, b->verbosity);
	ck_assert_uint_eq(a->queue_size, b->queue_size);
	ck_assert_uint_eq(a->backoff_min_ms, b->backoff_min_ms);
	ck_assert_uint_eq(a->backoff_max_ms, b->backoff_max_ms);
	ck_assert_uint_eq(a->keepalive_s, b->keepalive_s);
}

/* Does err contain one of the '|'-separated alternatives? */
static int
err_has(const char *alts)
{
	char	 buf[256], *p, *next;

	strncpy(buf, alts, sizeof buf - 1);
	buf[sizeof buf - 1] = '\0';
	for (p = buf; p != NULL; p = next) {
		next = strchr(p, '|');
		if (next != NULL)
			*next++ = '\0';
		if (strstr(err, p) != NULL)
			return (1);
	}
	return (0);
}

static void
check_err_line(void)
{
	ck_assert_msg(err[0] != '\0', "error without a message");
	ck_assert_msg(strchr(err, '\n') == NULL, "message is not one line: "
	    "\"%s\"", err);
}

/* Defaults. */

START_TEST(test_defaults)
{
	struct options	o;

	memset(&o, 0xa5, sizeof o);
	options_defaults(&o);
	check_defaults(&o);
	ck_assert_int_eq(o.framing, FRAMING_FLOW);
	ck_assert_int_eq(o.verbosity, 0);
	ck_assert_int_eq(o.auto_mode, 0);
	ck_assert_uint_le(o.backoff_min_ms, o.backoff_max_ms);
}
END_TEST

/* The seed's four examples, exactly as written. */

START_TEST(test_seed_listen_fixed)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "--tcp-listen", "7878", "--udp-bind",
	    "9999", "--udp-sendto", "192.168.1.100:8888", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.side, SIDE_LISTEN);
	check_spec(&o.tcp, "0.0.0.0", 7878, 0, 0);
	check_spec(&o.udp_bind, "0.0.0.0", 9999, 0, 0);
	check_spec(&o.udp_sendto, "192.168.1.100", 8888, 0, 0);
	ck_assert_int_eq(o.auto_mode, 0);
	ck_assert_int_eq(o.framing, FRAMING_FLOW);
	ck_assert_int_eq(o.verbosity, 0);
	check_defaults(&o);
}
END_TEST

START_TEST(test_seed_connect_fixed)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "--tcp-connect", "server:7878",
	    "--udp-bind", "8888", "--udp-sendto", "127.0.0.1:9999", NULL),
	    OPTIONS_RUN);
	ck_assert_int_eq(o.side, SIDE_CONNECT);
	check_spec(&o.tcp, "server", 7878, 0, 1);
	check_spec(&o.udp_bind, "0.0.0.0", 8888, 0, 0);
	check_spec(&o.udp_sendto, "127.0.0.1", 9999, 0, 0);
	ck_assert_int_eq(o.auto_mode, 0);
	ck_assert_int_eq(o.framing, FRAMING_FLOW);
	ck_assert_int_eq(o.verbosity, 0);
	check_defaults(&o);
}
END_TEST

START_TEST(test_seed_listen_auto)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "--tcp-listen", "7878", "--udp-bind",
	    "auto", "--udp-sendto", "192.168.1.100:9999", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.side, SIDE_LISTEN);
	check_spec(&o.tcp, "0.0.0.0", 7878, 0, 0);
	check_spec(&o.udp_bind, "", 0, 1, 0);
	check_spec(&o.udp_sendto, "192.168.1.100", 9999, 0, 0);
	ck_assert_int_eq(o.auto_mode, 1);
	ck_assert_int_eq(o.framing, FRAMING_FLOW);
}
END_TEST

START_TEST(test_seed_connect_auto)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "--tcp-connect", "server:7878",
	    "--udp-bind", "127.0.0.1:9999", "--udp-sendto",
	    "192.168.1.100:auto", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.side, SIDE_CONNECT);
	check_spec(&o.tcp, "server", 7878, 0, 1);
	check_spec(&o.udp_bind, "127.0.0.1", 9999, 0, 0);
	check_spec(&o.udp_sendto, "192.168.1.100", 0, 1, 0);
	ck_assert_int_eq(o.auto_mode, 1);
	ck_assert_int_eq(o.framing, FRAMING_FLOW);
}
END_TEST

START_TEST(test_seed_verbose_debug)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "--tcp-listen", "7878", "--udp-bind",
	    "auto", "--udp-sendto", "192.168.1.100:9999", "--verbose", NULL),
	    OPTIONS_RUN);
	ck_assert_int_eq(o.verbosity, 1);
	ck_assert_int_eq(o.auto_mode, 1);

	ck_assert_int_eq(parse(&o, "--tcp-listen", "7878", "--udp-bind",
	    "auto", "--udp-sendto", "192.168.1.100:9999", "--debug", NULL),
	    OPTIONS_RUN);
	ck_assert_int_eq(o.verbosity, 2);

	ck_assert_int_eq(parse(&o, "-l", "7878", "-u", "auto", "-p",
	    "192.168.1.100:9999", "-v", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.verbosity, 1);
}
END_TEST

/* Short and long forms give the same result. */

START_TEST(test_short_long_listen)
{
	struct options	a, b;

	ck_assert_int_eq(parse(&a, "--tcp-listen", "[::]:7878", "--udp-bind",
	    "auto", "--udp-sendto", "192.168.1.100:9999", "--verbose", NULL),
	    OPTIONS_RUN);
	ck_assert_int_eq(parse(&b, "-l", "[::]:7878", "-u", "auto", "-p",
	    "192.168.1.100:9999", "-v", NULL), OPTIONS_RUN);
	check_same(&a, &b);
	check_spec(&a.tcp, "::", 7878, 0, 0);
	ck_assert_int_eq(a.verbosity, 1);
}
END_TEST

START_TEST(test_short_long_connect)
{
	struct options	a, b, c;

	ck_assert_int_eq(parse(&a, "--tcp-connect", "server:7878",
	    "--udp-bind", "127.0.0.1:9999", "--udp-sendto",
	    "192.168.1.100:auto", NULL), OPTIONS_RUN);
	ck_assert_int_eq(parse(&b, "-t", "server:7878", "-u",
	    "127.0.0.1:9999", "-p", "192.168.1.100:auto", NULL), OPTIONS_RUN);
	check_same(&a, &b);
	/* Option order does not matter either, nor the --opt=value form. */
	ck_assert_int_eq(parse(&c, "--udp-sendto=192.168.1.100:auto",
	    "-u127.0.0.1:9999", "--tcp-connect=server:7878", NULL),
	    OPTIONS_RUN);
	check_same(&a, &c);
	ck_assert_int_eq(a.side, SIDE_CONNECT);
	ck_assert_int_eq(a.auto_mode, 1);
}
END_TEST

/* Other successful parses. */

START_TEST(test_connect_defaults)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "-t", "7878", "-u", "9999", "-p", "8888",
	    NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.side, SIDE_CONNECT);
	check_spec(&o.tcp, "127.0.0.1", 7878, 0, 0);
	check_spec(&o.udp_bind, "0.0.0.0", 9999, 0, 0);
	check_spec(&o.udp_sendto, "127.0.0.1", 8888, 0, 0);
	ck_assert_int_eq(o.auto_mode, 0);
}
END_TEST

START_TEST(test_ipv6_addresses)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "-t", "[2001:db8::1]:443", "-u",
	    "[::1]:9999", "-p", "[::1]:53", NULL), OPTIONS_RUN);
	check_spec(&o.tcp, "2001:db8::1", 443, 0, 0);
	check_spec(&o.udp_bind, "::1", 9999, 0, 0);
	check_spec(&o.udp_sendto, "::1", 53, 0, 0);
}
END_TEST

START_TEST(test_listen_bind_ip_auto)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "-l", "127.0.0.1:7878", "-u",
	    "127.0.0.1:auto", "-p", "localhost:9999", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.side, SIDE_LISTEN);
	check_spec(&o.tcp, "127.0.0.1", 7878, 0, 0);
	check_spec(&o.udp_bind, "127.0.0.1", 0, 1, 0);
	check_spec(&o.udp_sendto, "localhost", 9999, 0, 1);
	ck_assert_int_eq(o.auto_mode, 1);
}
END_TEST

START_TEST(test_framing_values)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "2", "-p", "3",
	    "--framing", "len32", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.framing, FRAMING_LEN32);
	ck_assert_int_eq(parse(&o, "-t", "1", "-u", "2", "-p", "3",
	    "--framing=len16", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.framing, FRAMING_LEN16);
	ck_assert_int_eq(parse(&o, "-t", "1", "-u", "2", "-p", "3",
	    "--framing", "flow", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.framing, FRAMING_FLOW);
	/* flow is fine in both auto modes. */
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "auto", "-p", "3",
	    "--framing", "flow", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.framing, FRAMING_FLOW);
	ck_assert_int_eq(parse(&o, "-t", "1", "-u", "2", "-p",
	    "127.0.0.1:auto", "--framing", "flow", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.auto_mode, 1);
}
END_TEST

START_TEST(test_numeric_values)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "2", "-p", "3",
	    "--queue-size", "4096", "--backoff-min", "50", "--backoff-max",
	    "1000", "--keepalive", "10", NULL), OPTIONS_RUN);
	ck_assert_uint_eq(o.queue_size, 4096);
	ck_assert_uint_eq(o.backoff_min_ms, 50);
	ck_assert_uint_eq(o.backoff_max_ms, 1000);
	ck_assert_uint_eq(o.keepalive_s, 10);

	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "2", "-p", "3",
	    "--keepalive", "0", NULL), OPTIONS_RUN);
	ck_assert_uint_eq(o.keepalive_s, 0);
	ck_assert_uint_eq(o.queue_size, OPTIONS_QUEUE_SIZE);

	/* Equal bounds are allowed. */
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "2", "-p", "3",
	    "--backoff-min=700", "--backoff-max=700", NULL), OPTIONS_RUN);
	ck_assert_uint_eq(o.backoff_min_ms, 700);
	ck_assert_uint_eq(o.backoff_max_ms, 700);

	/* Raising only the maximum keeps the default minimum. */
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "2", "-p", "3",
	    "--backoff-max", "60000", NULL), OPTIONS_RUN);
	ck_assert_uint_eq(o.backoff_min_ms, OPTIONS_BACKOFF_MIN_MS);
	ck_assert_uint_eq(o.backoff_max_ms, 60000);
}
END_TEST

/* Socket buffers: a size, or 0 for the system's; an explicit UDP size
 * is marked so that a capped one can be reported. */
START_TEST(test_buffer_values)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "2", "-p", "3",
	    "--udp-buffer", "65536", "--tcp-buffer=262144", NULL),
	    OPTIONS_RUN);
	ck_assert_uint_eq(o.udp_buffer, 65536);
	ck_assert_int_eq(o.udp_buffer_given, 1);
	ck_assert_uint_eq(o.tcp_buffer, 262144);

	ck_assert_int_eq(parse(&o, "-t", "1", "-u", "2", "-p", "3",
	    "--udp-buffer", "0", "--tcp-buffer", "1073741824", NULL),
	    OPTIONS_RUN);
	ck_assert_uint_eq(o.udp_buffer, 0);
	ck_assert_int_eq(o.udp_buffer_given, 1);
	ck_assert_uint_eq(o.tcp_buffer, OPTIONS_BUFFER_MAX);

	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "2", "-p", "3",
	    "--udp-buffer", "1073741825", NULL), OPTIONS_ERROR);
	ck_assert(err_has("--udp-buffer"));
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "2", "-p", "3",
	    "--tcp-buffer", "1M", NULL), OPTIONS_ERROR);
	ck_assert(err_has("--tcp-buffer"));
}
END_TEST

START_TEST(test_help_version)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "-h", NULL), OPTIONS_HELP);
	ck_assert_int_eq(parse(&o, "--help", NULL), OPTIONS_HELP);
	ck_assert_int_eq(parse(&o, "-V", NULL), OPTIONS_VERSION);
	ck_assert_int_eq(parse(&o, "--version", NULL), OPTIONS_VERSION);
}
END_TEST

/* Repeated calls in one process, including after errors mid-argument. */
START_TEST(test_repeated)
{
	struct options	o;
	int		i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(parse(&o, "-v", "--framing", "len16", "-l",
		    "1", "-u", "2", "-p", "3", NULL), OPTIONS_RUN);
		ck_assert_int_eq(o.verbosity, 1);
		ck_assert_int_eq(o.framing, FRAMING_LEN16);

		/* Stops on 'Q' with 'v' still pending in the same word. */
		ck_assert_int_eq(parse(&o, "-l", "1", "-Qv", "-u", "2", "-p",
		    "3", NULL), OPTIONS_ERROR);

		ck_assert_int_eq(parse(&o, "-t", "server:7878", "-u", "8888",
		    "-p", "127.0.0.1:9999", NULL), OPTIONS_RUN);
		ck_assert_int_eq(o.side, SIDE_CONNECT);
		ck_assert_int_eq(o.verbosity, 0);
		check_spec(&o.tcp, "server", 7878, 0, 1);
		check_spec(&o.udp_bind, "0.0.0.0", 8888, 0, 0);

		ck_assert_int_eq(parse(&o, "--bogus", NULL), OPTIONS_ERROR);
		ck_assert_int_eq(parse(&o, "-h", NULL), OPTIONS_HELP);
		ck_assert_int_eq(parse(&o, "-l", "7878", "-u", "9999",
		    "stray", "-p", "8888", NULL), OPTIONS_ERROR);

		ck_assert_int_eq(parse(&o, "-l", "7878", "-u", "9999", "-p",
		    "8888", NULL), OPTIONS_RUN);
		ck_assert_int_eq(o.side, SIDE_LISTEN);
		check_spec(&o.udp_sendto, "127.0.0.1", 8888, 0, 0);
		ck_assert_int_eq(o.verbosity, 0);
	}
}
END_TEST

/* Refused command lines: the message names the option and the value. */

static const struct {
	const char	*args[16];
	const char	*want1;		/* alternatives, '|'-separated */
	const char	*want2;
} bad[] = {
	/* Required options. */
	{ { "-l", "7878", "-p", "8888" }, "udp-bind|-u", NULL },
	{ { "-t", "7878", "-u", "8888" }, "udp-sendto|-p", NULL },
	{ { "-u", "9999", "-p", "8888" }, "tcp-listen|-l", NULL },
	{ { "-l", "7878" }, "udp-bind|udp-sendto|-u|-p", NULL },
	{ { "" }, "", NULL },
	{ { "-l", "7878", "-t", "7878", "-u", "1", "-p", "2" },
	    "tcp-listen|-l", "tcp-connect|-t" },

	/* Bad ports and addresses, in every address option. */
	{ { "--tcp-listen", "0", "-u", "1", "-p", "2" }, "--tcp-listen", "0" },
	{ { "--tcp-listen", "65536", "-u", "1", "-p", "2" },
	    "--tcp-listen", "65536" },
	{ { "--tcp-listen", "abc", "-u", "1", "-p", "2" },
	    "--tcp-listen", "abc" },
	{ { "--tcp-listen", "server:7878", "-u", "1", "-p", "2" },
	    "--tcp-listen", "server:7878" },
	{ { "--tcp-listen", "::1:7878", "-u", "1", "-p", "2" },
	    "--tcp-listen", "::1:7878" },
	{ { "--tcp-connect", "server:0", "-u", "1", "-p", "2" },
	    "--tcp-connect", "server:0" },
	{ { "--tcp-connect", "65536", "-u", "1", "-p", "2" },
	    "--tcp-connect", "65536" },
	{ { "--tcp-connect", "server:abc", "-u", "1", "-p", "2" },
	    "--tcp-connect", "server:abc" },
	{ { "--tcp-connect", "1.2.3.256:80", "-u", "1", "-p", "2" },
	    "--tcp-connect", "1.2.3.256:80" },
	{ { "-t", "1", "--udp-bind", "0", "-p", "2" }, "--udp-bind", "0" },
	/* Two literals of different families (issue 11, defect 1). */
	{ { "-l", "1", "-u", "127.0.0.1:7992", "-p", "[::1]:8888" },
	    "--udp-sendto", "[::1]:8888" },
	{ { "-t", "1", "-u", "[::1]:7992", "-p", "127.0.0.1:8888" },
	    "--udp-sendto", "--udp-bind" },
	{ { "-l", "1", "-u", "[::]:auto", "-p", "10.0.0.1:53" },
	    "--udp-sendto", "--udp-bind" },
	{ { "-t", "1", "--udp-bind", "127.0.0.1:0", "-p", "2" },
	    "--udp-bind", "127.0.0.1:0" },
	{ { "-l", "1", "--udp-bind", "65536", "-p", "2" },
	    "--udp-bind", "65536" },
	{ { "-l", "1", "--udp-bind", "abc", "-p", "2" }, "--udp-bind", "abc" },
	{ { "-l", "1", "--udp-bind", "1.2.3.256:80", "-p", "2" },
	    "--udp-bind", "1.2.3.256:80" },
	{ { "-l", "1", "--udp-bind", "server:80", "-p", "2" },
	    "--udp-bind", "server:80" },
	{ { "-l", "1", "-u", "2", "--udp-sendto", "0" }, "--udp-sendto", "0" },
	{ { "-l", "1", "-u", "2", "--udp-sendto", "65536" },
	    "--udp-sendto", "65536" },
	{ { "-l", "1", "-u", "2", "--udp-sendto", "abc" },
	    "--udp-sendto", "abc" },
	{ { "-l", "1", "-u", "2", "--udp-sendto", "1.2.3.256:80" },
	    "--udp-sendto", "1.2.3.256:80" },
	{ { "-l", "1", "-u", "2", "--udp-sendto", "1.2.3.4:65536" },
	    "--udp-sendto", "1.2.3.4:65536" },

	/* auto on the wrong side. */
	{ { "-t", "server:7878", "--udp-bind", "auto", "-p", "2" },
	    "--udp-bind", "auto" },
	{ { "-t", "server:7878", "--udp-bind", "127.0.0.1:auto", "-p", "2" },
	    "--udp-bind", "127.0.0.1:auto" },
	{ { "-l", "7878", "-u", "auto", "--udp-sendto",
	    "192.168.1.100:auto" }, "--udp-sendto", "192.168.1.100:auto" },
	{ { "-l", "7878", "-u", "9999", "--udp-sendto",
	    "192.168.1.100:auto" }, "--udp-sendto", "192.168.1.100:auto" },
	{ { "-t", "7878", "-u", "9999", "--udp-sendto", "auto" },
	    "--udp-sendto", "auto" },
	{ { "-l", "7878", "-u", "9999", "--udp-sendto", "auto" },
	    "--udp-sendto", "auto" },
	{ { "--tcp-connect", "auto", "-u", "1", "-p", "2" },
	    "--tcp-connect", "auto" },
	{ { "--tcp-listen", "auto", "-u", "1", "-p", "2" },
	    "--tcp-listen", "auto" },

	/* Framings without an address cannot serve auto modes. */
	{ { "-l", "7878", "-u", "auto", "-p", "1.2.3.4:9", "--framing",
	    "len32" }, "--framing", "len32" },
	{ { "-l", "7878", "-u", "auto", "-p", "1.2.3.4:9", "--framing",
	    "len16" }, "--framing", "len16" },
	{ { "--framing", "len32", "-t", "7878", "-u", "9999", "-p",
	    "127.0.0.1:auto" }, "--framing", "len32" },
	{ { "-t", "7878", "-u", "9999", "-p", "127.0.0.1:auto",
	    "--framing=len16" }, "--framing", "len16" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--framing", "bogus" },
	    "--framing", "bogus" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--framing", "" },
	    "--framing", NULL },

	/* Numbers. */
	{ { "-l", "1", "-u", "2", "-p", "3", "--queue-size", "abc" },
	    "--queue-size", "abc" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--queue-size", "-1" },
	    "--queue-size", "-1" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--queue-size", "12x" },
	    "--queue-size", "12x" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--backoff-min", "x" },
	    "--backoff-min", "x" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--backoff-max", "10x" },
	    "--backoff-max", "10x" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--backoff-max", "-5" },
	    "--backoff-max", "-5" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--keepalive", "abc" },
	    "--keepalive", "abc" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--keepalive", "-1" },
	    "--keepalive", "-1" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--keepalive",
	    "99999999999999999999999" }, "--keepalive",
	    "99999999999999999999999" },
	{ { "-l", "1", "-u", "2", "-p", "3", "--backoff-min", "2000",
	    "--backoff-max", "1000" }, "backoff-min|backoff-max", NULL },
	{ { "-l", "1", "-u", "2", "-p", "3", "--backoff-max", "1000",
	    "--backoff-min", "2000" }, "backoff-min|backoff-max", NULL },
	{ { "-l", "1", "-u", "2", "-p", "3", "--backoff-min", "6000" },
	    "backoff-min|backoff-max", NULL },

	/* Unknown options, missing values, stray arguments. */
	{ { "-l", "1", "-u", "2", "-p", "3", "--bogus-option" },
	    "bogus-option", NULL },
	{ { "--no-such-thing", "-l", "1", "-u", "2", "-p", "3" },
	    "no-such-thing", NULL },
	{ { "-l", "1", "-u", "2", "-p", "3", "-Q" }, "Q", NULL },
	{ { "-l", "1", "-u", "2", "-p" }, "udp-sendto|-p", NULL },
	{ { "-l", "1", "-u", "2", "--udp-sendto" }, "udp-sendto|-p", NULL },
	{ { "-u", "2", "-p", "3", "-l" }, "tcp-listen|-l", NULL },
	{ { "-l", "1", "-u", "2", "-p", "3", "--framing" }, "framing", NULL },
	{ { "-l", "1", "-u", "2", "-p", "3", "--keepalive" },
	    "keepalive", NULL },
	{ { "-l", "1", "-u", "2", "-p", "3", "extra" }, "extra", NULL },
	{ { "-l", "1", "stray", "-u", "2", "-p", "3" }, "stray", NULL },
	{ { "stray", "-l", "1", "-u", "2", "-p", "3" }, "stray", NULL },
	{ { "-l", "1", "-u", "2", "-p", "3", "--verbose=yes" },
	    "verbose", NULL }
};

START_TEST(test_bad)
{
	struct options	o;
	char		*argv[MAXARGS + 2];
	int		 argc = 0, i;

	argv[argc++] = keep("udp-over-tcp");
	for (i = 0; bad[_i].args[i] != NULL; i++) {
		/* An empty first word stands for no arguments at all. */
		if (i == 0 && bad[_i].args[0][0] == '\0')
			break;
		argv[argc++] = keep(bad[_i].args[i]);
	}
	argv[argc] = NULL;

	options_defaults(&o);
	memset(err, 0, sizeof err);
	ck_assert_msg(options_parse(&o, argc, argv, err, sizeof err) ==
	    OPTIONS_ERROR, "case %d accepted", _i);
	check_err_line();
	ck_assert_msg(err_has(bad[_i].want1), "case %d: \"%s\" lacks %s", _i,
	    err, bad[_i].want1);
	if (bad[_i].want2 != NULL)
		ck_assert_msg(err_has(bad[_i].want2), "case %d: \"%s\" lacks "
		    "%s", _i, err, bad[_i].want2);
}
END_TEST

/* The error never overruns a short buffer and stays terminated. */
START_TEST(test_short_err_buffer)
{
	struct options	o;
	char		small[64];
	static char	*argv[] = {
		"udp-over-tcp", "-l", "1", "-u", "2", "-p", "3",
		"--this-option-name-is-much-longer-than-the-buffer", NULL
	};

	options_defaults(&o);
	memset(small, 'X', sizeof small);
	ck_assert_int_eq(options_parse(&o, 8, argv, small, 10),
	    OPTIONS_ERROR);
	ck_assert_ptr_nonnull(memchr(small, '\0', 10));
	ck_assert_int_eq(small[10], 'X');
	ck_assert_int_eq(small[63], 'X');
}
END_TEST

/* Every option is documented in the usage text. */
START_TEST(test_usage_lists_options)
{
	static const char	*names[] = {
		"--tcp-listen", "--tcp-connect", "--udp-bind", "--udp-sendto",
		"--verbose", "--debug", "--framing", "--queue-size",
		"--backoff-min", "--backoff-max", "--keepalive", "--udp-buffer",
		"--tcp-buffer", "--help",
		"--version", "-l", "-t", "-u", "-p", "-v", "-h", "-V"
	};
	FILE			*f;
	char			 text[16384];
	size_t			 n, i;

	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	options_usage(f);
	rewind(f);
	n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	ck_assert_uint_gt(n, 0);
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		ck_assert_msg(strstr(text, names[i]) != NULL,
		    "usage does not mention %s", names[i]);
}
END_TEST

/* --allow: repeatable, listen side only, each range checked. */
START_TEST(test_allow)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "-l", "7878", "-u", "auto", "-p", "9999",
	    "--allow", "127.0.0.0/8", "--allow", "::1", NULL), OPTIONS_RUN);
	ck_assert_uint_eq(o.nallow, 2);
	ck_assert_uint_eq(o.allow[0].prefix, 8);
	ck_assert_uint_eq(o.allow[1].prefix, 128);

	ck_assert_int_eq(parse(&o, "-l", "7878", "-u", "1", "-p", "2", NULL),
	    OPTIONS_RUN);
	ck_assert_uint_eq(o.nallow, 0);

	ck_assert_int_eq(parse(&o, "-t", "7878", "-u", "1", "-p", "2",
	    "--allow", "127.0.0.0/8", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--allow"));
	ck_assert_ptr_nonnull(strstr(err, "listen side"));

	ck_assert_int_eq(parse(&o, "-l", "7878", "-u", "1", "-p", "2",
	    "--allow", "10.0.0.1/8", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--allow '10.0.0.1/8'"));
}
END_TEST

/* The TLS options: which side takes which, and what each implies. */
START_TEST(test_tls)
{
	static const char	pin[] =
	    "sha256:kTMgbK3nV251d+OvEIxjgtXrhHuDReQi+E1mXHi5QNo=";
	struct options		o;

	/* Plain by default, on both sides. */
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2", NULL),
	    OPTIONS_RUN);
	ck_assert_int_eq(o.tls, 0);
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "1", "-p", "2", NULL),
	    OPTIONS_RUN);
	ck_assert_int_eq(o.tls, 0);

	/* Listen side: a certificate turns TLS on; the key may follow. */
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "1", "-p", "2",
	    "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca",
	    "ca.pem", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.tls, 1);
	ck_assert_str_eq(o.tls_cert, "c.pem");
	ck_assert_str_eq(o.tls_key, "k.pem");
	ck_assert_str_eq(o.tls_client_ca, "ca.pem");

	/* Connect side: --tls, or anything that checks the server. */
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.tls, 1);
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls-ca", "ca.pem", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.tls, 1);
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls-name", "example.org", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.tls, 1);
	ck_assert_str_eq(o.tls_name, "example.org");
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls-pin", pin, "--tls-pin", pin, NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.tls, 1);
	ck_assert_uint_eq(o.ntls_pins, 2);
	ck_assert_uint_eq(o.tls_pins[1][0], 0x91);	/* "kT" */
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls", "--tls-cert", "c.pem", NULL), OPTIONS_RUN);

	/* --print-pin needs only the certificate. */
	ck_assert_int_eq(parse(&o, "--tls-cert", "c.pem", "--print-pin",
	    NULL), OPTIONS_PRINT_PIN);
	ck_assert_int_eq(parse(&o, "--print-pin", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--tls-cert"));

	/* Each on the wrong side, or without what it needs. */
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "1", "-p", "2", "--tls",
	    NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--tls:"));
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "1", "-p", "2",
	    "--tls-cert", "c.pem", "--tls-pin", pin, NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--tls-pin:"));
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "1", "-p", "2",
	    "--tls-client-ca", "ca.pem", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--tls-client-ca:"));
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls", "--tls-client-ca", "ca.pem", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "listen side"));
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls-cert", "c.pem", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--tls"));
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "1", "-p", "2",
	    "--tls-key", "k.pem", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--tls-key:"));
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls-name", "", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--tls-name"));

	/* Pins: the form of --print-pin's, at most OPTIONS_MAX_PINS. */
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls-pin", "kTMgbK3nV251d+OvEIxjgtXrhHuDReQi+E1mXHi5QNo=",
	    NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "sha256:"));
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls-pin", "sha256:kTMgbK3nV251d+OvEIxjgtXrhHuDReQi+E1mXHi5QN=",
	    NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--tls-pin 'sha256:kTM"));
	ck_assert_int_eq(parse(&o, "-t", "h:1", "-u", "1", "-p", "2",
	    "--tls-pin", pin, "--tls-pin", pin, "--tls-pin", pin,
	    "--tls-pin", pin, "--tls-pin", pin, NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "at most"));
}
END_TEST

/* --tcp-connect, repeated: every server, in order; the first is tcp. */
START_TEST(test_servers)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "-t", "a.example:1", "--tcp-connect",
	    "[::1]:2", "-t", "3", "-u", "1", "-p", "2", NULL), OPTIONS_RUN);
	ck_assert_uint_eq(o.nservers, 3);
	check_spec(&o.tcp, "a.example", 1, 0, 1);
	check_spec(&o.servers[0], "a.example", 1, 0, 1);
	check_spec(&o.servers[1], "::1", 2, 0, 0);
	ck_assert_uint_eq(o.servers[2].port, 3);

	ck_assert_int_eq(parse(&o, "-t", "1", "-t", "2", "-t", "3", "-t", "4",
	    "-t", "5", "-t", "6", "-t", "7", "-t", "8", "-t", "9", "-u", "1",
	    "-p", "2", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "at most 8"));
	ck_assert_int_eq(parse(&o, "-t", "1", "-t", "x:y", "-u", "1", "-p",
	    "2", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--tcp-connect 'x:y'"));
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "1", "-p", "2", NULL),
	    OPTIONS_RUN);
	ck_assert_uint_eq(o.nservers, 0);
}
END_TEST

/* Issue 14's listen-side options: workers, PROXY headers, drain. */
START_TEST(test_scale_out)
{
	struct options	o;

	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "auto", "-p", "2", NULL),
	    OPTIONS_RUN);
	ck_assert_uint_eq(o.workers, 1);
	ck_assert_int_eq(o.proxy_protocol, 0);
	ck_assert_uint_eq(o.drain_timeout_s, 0);
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "auto", "-p", "2",
	    "--workers", "4", "--proxy-protocol", "--drain-timeout", "30",
	    NULL), OPTIONS_RUN);
	ck_assert_uint_eq(o.workers, 4);
	ck_assert_int_eq(o.proxy_protocol, 1);
	ck_assert_uint_eq(o.drain_timeout_s, 30);
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "auto", "-p", "2",
	    "--workers", "auto", NULL), OPTIONS_RUN);
	ck_assert_uint_eq(o.workers, 0);	/* main counts the CPUs */

	/* Fixed mode: one active peer, one process. */
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "3", "-p", "2",
	    "--workers", "2", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "fixed mode"));
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "3", "-p", "2",
	    "--workers", "1", NULL), OPTIONS_RUN);
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "auto", "-p", "2",
	    "--workers", "0", NULL), OPTIONS_ERROR);
	ck_assert_int_eq(parse(&o, "-l", "1", "-u", "auto", "-p", "2",
	    "--workers", "257", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--workers '257'"));

	/* All three are the listen side's. */
	ck_assert_int_eq(parse(&o, "-t", "1", "-u", "1", "-p", "2",
	    "--workers", "2", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--workers: is for the listen"));
	ck_assert_int_eq(parse(&o, "-t", "1", "-u", "1", "-p", "2",
	    "--proxy-protocol", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--proxy-protocol: is for the"));
	ck_assert_int_eq(parse(&o, "-t", "1", "-u", "1", "-p", "2",
	    "--drain-timeout", "5", NULL), OPTIONS_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "--drain-timeout: is for the"));
}
END_TEST

static Suite *
options_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("options");

	tc = tcase_create("good");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_seed_listen_fixed);
	tcase_add_test(tc, test_seed_connect_fixed);
	tcase_add_test(tc, test_seed_listen_auto);
	tcase_add_test(tc, test_seed_connect_auto);
	tcase_add_test(tc, test_seed_verbose_debug);
	tcase_add_test(tc, test_short_long_listen);
	tcase_add_test(tc, test_short_long_connect);
	tcase_add_test(tc, test_connect_defaults);
	tcase_add_test(tc, test_ipv6_addresses);
	tcase_add_test(tc, test_listen_bind_ip_auto);
	tcase_add_test(tc, test_framing_values);
	tcase_add_test(tc, test_numeric_values);
	tcase_add_test(tc, test_buffer_values);
	tcase_add_test(tc, test_help_version);
	tcase_add_test(tc, test_repeated);
	tcase_add_test(tc, test_usage_lists_options);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, test_short_err_buffer);
	tcase_add_test(tc, test_allow);
	tcase_add_test(tc, test_tls);
	tcase_add_test(tc, test_servers);
	tcase_add_test(tc, test_scale_out);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(options_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
