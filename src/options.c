/*
 * options.c - the command line into one struct. Nothing here exits or
 * prints: errors come back as one line for main to show.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "options.h"

enum {
	OPT_DEBUG = 256,
	OPT_FRAMING,
	OPT_QUEUE_SIZE,
	OPT_BACKOFF_MIN,
	OPT_BACKOFF_MAX,
	OPT_KEEPALIVE,
	OPT_UDP_BUFFER,
	OPT_TCP_BUFFER,
	OPT_FLOW_TIMEOUT,
	OPT_MAX_FLOWS,
	OPT_MAX_PEERS,
	OPT_SYSLOG,
	OPT_SYSLOG_FACILITY,
	OPT_ALLOW,
	OPT_TARGET_DELAY,
	OPT_MAX_DELAY,
	OPT_QUEUE_MEMORY,
	OPT_DRAIN_TIMEOUT,
	OPT_PROXY_PROTOCOL,
	OPT_WORKERS,
	OPT_TLS,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_CA,
	OPT_TLS_CLIENT_CA,
	OPT_TLS_PIN,
	OPT_TLS_NAME,
	OPT_PRINT_PIN
};

static const struct option options_long[] = {
	{ "tcp-listen",		required_argument,	NULL, 'l' },
	{ "tcp-connect",	required_argument,	NULL, 't' },
	{ "udp-bind",		required_argument,	NULL, 'u' },
	{ "udp-sendto",		required_argument,	NULL, 'p' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "debug",		no_argument,		NULL, OPT_DEBUG },
	{ "framing",		required_argument,	NULL, OPT_FRAMING },
	{ "queue-size",		required_argument,	NULL, OPT_QUEUE_SIZE },
	{ "backoff-min",	required_argument,	NULL, OPT_BACKOFF_MIN },
	{ "backoff-max",	required_argument,	NULL, OPT_BACKOFF_MAX },
	{ "keepalive",		required_argument,	NULL, OPT_KEEPALIVE },
	{ "udp-buffer",		required_argument,	NULL, OPT_UDP_BUFFER },
	{ "tcp-buffer",		required_argument,	NULL, OPT_TCP_BUFFER },
	{ "target-delay",	required_argument,	NULL, OPT_TARGET_DELAY },
	{ "max-delay",		required_argument,	NULL, OPT_MAX_DELAY },
	{ "queue-memory",	required_argument,	NULL, OPT_QUEUE_MEMORY },
	{ "drain-timeout",	required_argument,	NULL, OPT_DRAIN_TIMEOUT },
	{ "proxy-protocol",	no_argument,		NULL, OPT_PROXY_PROTOCOL },
	{ "workers",		required_argument,	NULL, OPT_WORKERS },
	{ "flow-timeout",	required_argument,	NULL, OPT_FLOW_TIMEOUT },
	{ "max-flows",		required_argument,	NULL, OPT_MAX_FLOWS },
	{ "max-peers",		required_argument,	NULL, OPT_MAX_PEERS },
	{ "syslog",		no_argument,		NULL, OPT_SYSLOG },
	{ "allow",		required_argument,	NULL, OPT_ALLOW },
	{ "syslog-facility",	required_argument,	NULL, OPT_SYSLOG_FACILITY },
	{ "tls",		no_argument,		NULL, OPT_TLS },
	{ "tls-cert",		required_argument,	NULL, OPT_TLS_CERT },
	{ "tls-key",		required_argument,	NULL, OPT_TLS_KEY },
	{ "tls-ca",		required_argument,	NULL, OPT_TLS_CA },
	{ "tls-client-ca",	required_argument,	NULL, OPT_TLS_CLIENT_CA },
	{ "tls-pin",		required_argument,	NULL, OPT_TLS_PIN },
	{ "tls-name",		required_argument,	NULL, OPT_TLS_NAME },
	{ "print-pin",		no_argument,		NULL, OPT_PRINT_PIN },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

static const char options_short[] = "+:l:t:u:p:vhV";

static enum options_result options_error(char *, size_t, const char *, ...)
    LOG_PRINTF(3, 4);
static int	options_number(const char *, unsigned long long,
		    unsigned long long, unsigned long long *);
static const char *options_name(int);
static int	options_known(int);
static void	options_reset_getopt(void);
static enum options_result options_tls(struct options *, char *, size_t);

void
options_defaults(struct options *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->framing = FRAMING_FLOW;
	opts->verbosity = LOG_LEVEL_INFO;
	opts->syslog_facility = -1;
	opts->queue_size = OPTIONS_QUEUE_SIZE;
	opts->backoff_min_ms = OPTIONS_BACKOFF_MIN_MS;
	opts->backoff_max_ms = OPTIONS_BACKOFF_MAX_MS;
	opts->keepalive_s = OPTIONS_KEEPALIVE_S;
	opts->udp_buffer = OPTIONS_UDP_BUFFER;
	opts->flow_timeout_s = OPTIONS_FLOW_TIMEOUT_S;
	opts->max_flows = OPTIONS_MAX_FLOWS;
	opts->max_peers = OPTIONS_MAX_PEERS;
	opts->target_delay_ms = OPTIONS_TARGET_DELAY_MS;
	opts->max_delay_ms = OPTIONS_MAX_DELAY_MS;
	opts->queue_memory = OPTIONS_QUEUE_MEMORY;
	opts->workers = 1;
}

void
options_usage(FILE *f)
{
	fprintf(f,
"usage: udp-over-tcp --tcp-listen [IP:]PORT --udp-bind BIND --udp-sendto DEST [options]\n"
"       udp-over-tcp --tcp-connect ADDR --udp-bind BIND --udp-sendto DEST [options]\n"
"\n"
"  -l, --tcp-listen [IP:]PORT   accept TCP peers here (default IP 0.0.0.0)\n"
"  -t, --tcp-connect ADDR       connect to HOST:PORT, IP:PORT, [IPv6]:PORT or PORT\n"
"                               (HOST: the system's resolver, as for -p)\n"
"  -u, --udp-bind BIND          PORT, IP:PORT, [IPv6]:PORT (port 0 on the listen\n"
"                               side: the system picks); auto or IP:auto with\n"
"                               --tcp-listen (one UDP socket per client flow)\n"
"  -p, --udp-sendto DEST        PORT, HOST:PORT, IP:PORT, [IPv6]:PORT; IP:auto with\n"
"                               --tcp-connect (replies go back to each client)\n"
"      --framing NAME           flow (default), len32 or len16 (fixed mode only)\n"
"      --queue-size BYTES       frames held while the link is down, and by each\n"
"                               link's fair queue while up (default %d)\n"
"      --target-delay MS        queueing delay each flow is held to (default %d)\n"
"      --max-delay MS           never send a datagram that waited longer (default %d)\n"
"      --queue-memory BYTES     all links' fair queues together (default %d)\n"
"      --backoff-min MS         first reconnect delay (default %d)\n"
"      --backoff-max MS         longest reconnect delay (default %d)\n"
"      --keepalive SECONDS      declare a silent peer dead after this (default %d, 0 off)\n"
"      --udp-buffer BYTES       UDP socket buffers (default %d, 0 system default)\n"
"      --tcp-buffer BYTES       TCP socket buffers (default 0: system auto-tuning)\n"
"      --flow-timeout SECONDS   auto mode: close a flow idle this long (default %d)\n"
"      --max-flows N            auto mode: most client flows at once (default %d)\n"
"      --max-peers N            listen side, auto mode: most peers at once (default %d)\n"
"      --workers N|auto         listen side, auto mode: N processes, each with its\n"
"                               own peers (default 1; auto: one per CPU)\n"
"      --proxy-protocol         listen side: each peer starts with a PROXY header\n"
"                               (v1 or v2) naming the client, as HAProxy sends\n"
"      --drain-timeout SECONDS  listen side: on SIGTERM, take no new peers and give\n"
"                               those there this long to go (default 0: none)\n"
"      --allow CIDR             listen side: accept peers only from here\n"
"                               (repeatable; IPv4 or IPv6; default: anyone)\n"
"      --tls-cert FILE          our certificate (PEM, chain after it); on the listen\n"
"                               side it turns TLS on\n"
"      --tls-key FILE           its private key (default: in the --tls-cert file)\n"
"      --tls-client-ca FILE     listen side: peers must show a certificate of this CA\n"
"      --tls                    connect side: TLS, the server checked against the\n"
"                               system's trust store\n"
"      --tls-ca FILE            connect side: check the server against this CA\n"
"      --tls-pin sha256:BASE64  connect side: accept the server with this public key\n"
"                               (repeatable; from --print-pin)\n"
"      --tls-name NAME          connect side: name to ask for and check (default:\n"
"                               the host of --tcp-connect)\n"
"      --print-pin              print the pin of --tls-cert's key, and exit\n"
"      --syslog                 log to syslog instead of standard error\n"
"      --syslog-facility NAME   daemon (default), user, local0 ... local7\n"
"  -v, --verbose                log flow events\n"
"      --debug                  log every datagram\n"
"  -h, --help                   show this help\n"
"  -V, --version                show the version\n",
	    OPTIONS_QUEUE_SIZE, OPTIONS_TARGET_DELAY_MS, OPTIONS_MAX_DELAY_MS,
	    OPTIONS_QUEUE_MEMORY, OPTIONS_BACKOFF_MIN_MS, OPTIONS_BACKOFF_MAX_MS,
	    OPTIONS_KEEPALIVE_S, OPTIONS_UDP_BUFFER, OPTIONS_FLOW_TIMEOUT_S, OPTIONS_MAX_FLOWS,
	    OPTIONS_MAX_PEERS);
}

static enum options_result
options_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return (OPTIONS_ERROR);
}

/* Plain decimal in [min, max]; no sign, no suffix, no overflow. */
static int
options_number(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long	 v;
	char			*end;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

/* The long name of an option, for error lines. */
static const char *
options_name(int val)
{
	const struct option	*o;

	for (o = options_long; o->name != NULL; o++)
		if (o->val == val)
			return (o->name);
	return ("?");
}

static int
options_known(int val)
{
	const struct option	*o;

	for (o = options_long; o->name != NULL; o++)
		if (o->val == val)
			return (1);
	return (0);
}

static const struct {
	const char	*name;
	int		 facility;
} options_facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* A syslog facility by name, or -1. */
int
options_facility(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof options_facilities /
	    sizeof options_facilities[0]; i++)
		if (strcmp(name, options_facilities[i].name) == 0)
			return (options_facilities[i].facility);
	return (-1);
}

static void
options_reset_getopt(void)
{
#if HAVE_DECL_OPTRESET
	optreset = 1;
	optind = 1;
#else
	optind = 0;	/* glibc and musl: full re-initialisation */
#endif
	opterr = 0;
}

/* A numeric option's value, or an error line naming option and value. */
#define OPTIONS_NUMBER(var, min, max, what) do {			\
	unsigned long long v_;						\
	if (options_number(optarg, (min), (max), &v_) != 0)		\
		return (options_error(err, errlen,			\
		    "--%s '%s': must be %s from %llu to %llu",		\
		    options_name(ch), optarg, (what),			\
		    (unsigned long long)(min), (unsigned long long)(max)));\
	(var) = v_;							\
} while (0)

enum options_result
options_parse(struct options *opts, int argc, char *argv[], char *err,
    size_t errlen)
{
	const char	*why, *tcp_arg = NULL, *bind_arg = NULL;
	const char	*sendto_arg = NULL;
	int		 ch, have_listen = 0, have_connect = 0;
	int		 want_syslog = 0, facility = LOG_DAEMON;
	int		 print_pin = 0, workers_given = 0;
	const char	*server_args[OPTIONS_MAX_SERVERS];
	size_t		 i;

	options_defaults(opts);
	options_reset_getopt();
	err[0] = '\0';

	while ((ch = getopt_long(argc, argv, options_short, options_long,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			have_listen = 1;
			tcp_arg = optarg;
			break;
		case 't':
			if (have_connect == OPTIONS_MAX_SERVERS)
				return (options_error(err, errlen,
				    "--tcp-connect '%s': at most %d servers",
				    optarg, OPTIONS_MAX_SERVERS));
			server_args[have_connect++] = optarg;
			tcp_arg = server_args[0];
			break;
		case 'u':
			bind_arg = optarg;
			break;
		case 'p':
			sendto_arg = optarg;
			break;
		case 'v':
			if (opts->verbosity < LOG_LEVEL_VERBOSE)
				opts->verbosity = LOG_LEVEL_VERBOSE;
			break;
		case OPT_DEBUG:
			opts->verbosity = LOG_LEVEL_DEBUG;
			break;
		case OPT_FRAMING:
			if (frame_parse_name(optarg, &opts->framing) != 0)
				return (options_error(err, errlen,
				    "--framing '%s': must be flow, len32 or "
				    "len16", optarg));
			break;
		case OPT_QUEUE_SIZE:
			OPTIONS_NUMBER(opts->queue_size, 0, 1ULL << 30,
			    "a number of bytes");
			break;
		case OPT_TARGET_DELAY:
			OPTIONS_NUMBER(opts->target_delay_ms, 1, 10000,
			    "milliseconds");
			break;
		case OPT_MAX_DELAY:
			OPTIONS_NUMBER(opts->max_delay_ms, 1, 3600000,
			    "milliseconds");
			break;
		case OPT_WORKERS:
			if (strcmp(optarg, "auto") == 0)
				opts->workers = 0;
			else
				OPTIONS_NUMBER(opts->workers, 1,
				    OPTIONS_MAX_WORKERS, "a number or auto");
			workers_given = 1;
			break;
		case OPT_PROXY_PROTOCOL:
			opts->proxy_protocol = 1;
			break;
		case OPT_DRAIN_TIMEOUT:
			OPTIONS_NUMBER(opts->drain_timeout_s, 0, 86400,
			    "seconds");
			break;
		case OPT_QUEUE_MEMORY:
			OPTIONS_NUMBER(opts->queue_memory, 64 * 1024,
			    OPTIONS_BUFFER_MAX, "a number of bytes");
			break;
		case OPT_BACKOFF_MIN:
			OPTIONS_NUMBER(opts->backoff_min_ms, 1, 3600000,
			    "milliseconds");
			break;
		case OPT_BACKOFF_MAX:
			OPTIONS_NUMBER(opts->backoff_max_ms, 1, 3600000,
			    "milliseconds");
			break;
		case OPT_KEEPALIVE:
			OPTIONS_NUMBER(opts->keepalive_s, 0, 86400,
			    "seconds");
			break;
		case OPT_UDP_BUFFER:
			OPTIONS_NUMBER(opts->udp_buffer, 0, OPTIONS_BUFFER_MAX,
			    "a number of bytes");
			opts->udp_buffer_given = 1;
			break;
		case OPT_TCP_BUFFER:
			OPTIONS_NUMBER(opts->tcp_buffer, 0, OPTIONS_BUFFER_MAX,
			    "a number of bytes");
			break;
		case OPT_FLOW_TIMEOUT:
			OPTIONS_NUMBER(opts->flow_timeout_s, 1, 604800,
			    "seconds");
			break;
		case OPT_MAX_FLOWS:
			OPTIONS_NUMBER(opts->max_flows, 1, 1000000,
			    "a number");
			break;
		case OPT_MAX_PEERS:
			OPTIONS_NUMBER(opts->max_peers, 1, 100000, "a number");
			break;
		case OPT_SYSLOG:
			want_syslog = 1;
			break;
		case OPT_ALLOW:
			if (opts->nallow == OPTIONS_MAX_ALLOW)
				return (options_error(err, errlen,
				    "--allow '%s': at most %d ranges", optarg,
				    OPTIONS_MAX_ALLOW));
			if (addr_cidr_parse(&opts->allow[opts->nallow], optarg,
			    &why) != 0)
				return (options_error(err, errlen,
				    "--allow '%s': %s", optarg, why));
			opts->nallow++;
			break;
		case OPT_SYSLOG_FACILITY:
			if ((facility = options_facility(optarg)) == -1)
				return (options_error(err, errlen,
				    "--syslog-facility '%s': must be daemon, "
				    "user or local0 to local7", optarg));
			want_syslog = 1;	/* naming one means syslog */
			break;
		case OPT_TLS:
			opts->tls = 1;
			break;
		case OPT_TLS_CERT:
			opts->tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			opts->tls_key = optarg;
			break;
		case OPT_TLS_CA:
			opts->tls_ca = optarg;
			break;
		case OPT_TLS_CLIENT_CA:
			opts->tls_client_ca = optarg;
			break;
		case OPT_TLS_NAME:
			if (*optarg == '\0')
				return (options_error(err, errlen,
				    "--tls-name: must not be empty"));
			opts->tls_name = optarg;
			break;
		case OPT_TLS_PIN:
			if (opts->ntls_pins == OPTIONS_MAX_PINS)
				return (options_error(err, errlen,
				    "--tls-pin '%s': at most %d pins", optarg,
				    OPTIONS_MAX_PINS));
			if (pin_parse(optarg, opts->tls_pins[opts->ntls_pins],
			    &why) != 0)
				return (options_error(err, errlen,
				    "--tls-pin '%s': %s", optarg, why));
			opts->ntls_pins++;
			break;
		case OPT_PRINT_PIN:
			print_pin = 1;
			break;
		case 'h':
			return (OPTIONS_HELP);
		case 'V':
			return (OPTIONS_VERSION);
		case ':':
			/* Named from optopt: argv[optind - 1] is not portable. */
			return (options_error(err, errlen,
			    "option '--%s' needs a value", options_name(optopt)));
		default:
			/* A known option here was given a value it takes not. */
			if (optopt != 0 && options_known(optopt))
				return (options_error(err, errlen,
				    "option '--%s' takes no value",
				    options_name(optopt)));
			if (optopt != 0)
				return (options_error(err, errlen,
				    "unknown option '-%c'", optopt));
			return (options_error(err, errlen,
			    "unknown or ambiguous option '%s'",
			    argv[optind - 1]));
		}
	}
	if (optind < argc)
		return (options_error(err, errlen,
		    "unexpected argument '%s'", argv[optind]));
	if (want_syslog)
		opts->syslog_facility = facility;
	if (print_pin) {
		if (opts->tls_cert == NULL)
			return (options_error(err, errlen, "--print-pin: needs "
			    "--tls-cert FILE, the certificate to print the pin "
			    "of"));
		return (OPTIONS_PRINT_PIN);
	}

	if (have_listen && have_connect)
		return (options_error(err, errlen,
		    "--tcp-listen and --tcp-connect cannot be used together"));
	if (!have_listen && !have_connect)
		return (options_error(err, errlen,
		    "one of --tcp-listen or --tcp-connect is required"));
	if (bind_arg == NULL)
		return (options_error(err, errlen, "--udp-bind is required"));
	if (sendto_arg == NULL)
		return (options_error(err, errlen,
		    "--udp-sendto is required"));
	opts->side = have_listen ? SIDE_LISTEN : SIDE_CONNECT;
	if (workers_given && !have_listen)
		return (options_error(err, errlen, "--workers: is for the "
		    "listen side only (--tcp-listen)"));
	if (opts->proxy_protocol && !have_listen)
		return (options_error(err, errlen, "--proxy-protocol: is for "
		    "the listen side only (--tcp-listen)"));
	if (opts->drain_timeout_s > 0 && !have_listen)
		return (options_error(err, errlen, "--drain-timeout: is for "
		    "the listen side only (--tcp-listen)"));
	if (opts->nallow > 0 && !have_listen)
		return (options_error(err, errlen, "--allow: is for the listen "
		    "side only (--tcp-listen)"));

	if (addr_parse(&opts->tcp, tcp_arg, have_listen ? ADDR_LISTEN :
	    ADDR_CONNECT, &why) != 0)
		return (options_error(err, errlen, "--%s '%s': %s",
		    have_listen ? "tcp-listen" : "tcp-connect", tcp_arg, why));
	/* Connect side: every server, tried in the order given. */
	for (i = 0; have_connect && i < (size_t)have_connect; i++) {
		if (addr_parse(&opts->servers[i], server_args[i], ADDR_CONNECT,
		    &why) != 0)
			return (options_error(err, errlen, "--tcp-connect "
			    "'%s': %s", server_args[i], why));
		opts->nservers++;
	}
	if (addr_parse(&opts->udp_bind, bind_arg, ADDR_BIND, &why) != 0)
		return (options_error(err, errlen, "--udp-bind '%s': %s",
		    bind_arg, why));
	if (addr_parse(&opts->udp_sendto, sendto_arg, ADDR_SENDTO, &why) != 0)
		return (options_error(err, errlen, "--udp-sendto '%s': %s",
		    sendto_arg, why));

	/* The seed's rules: each auto form belongs to one side. */
	if (opts->udp_bind.is_auto && opts->side != SIDE_LISTEN)
		return (options_error(err, errlen, "--udp-bind '%s': auto is "
		    "for the listen side only (--tcp-listen)", bind_arg));
	if (opts->udp_sendto.is_auto && opts->side != SIDE_CONNECT)
		return (options_error(err, errlen, "--udp-sendto '%s': IP:auto "
		    "is for the connect side only (--tcp-connect)",
		    sendto_arg));
	/* An IPv4 socket cannot send to an IPv6 address, nor the reverse. */
	if (!opts->udp_bind.host_default && opts->udp_bind.host[0] != '\0' &&
	    !opts->udp_sendto.is_name && !opts->udp_sendto.is_auto &&
	    (strchr(opts->udp_bind.host, ':') != NULL) !=
	    (strchr(opts->udp_sendto.host, ':') != NULL))
		return (options_error(err, errlen, "--udp-sendto '%s': not of "
		    "the address family of --udp-bind '%s', so no datagram "
		    "could be sent", sendto_arg, bind_arg));
	/* Port 0 only where no client has to know the port. */
	if (!opts->udp_bind.is_auto && opts->udp_bind.port == 0 &&
	    opts->side != SIDE_LISTEN)
		return (options_error(err, errlen, "--udp-bind '%s': port 0 is "
		    "for the listen side only; here it is where applications "
		    "send, so it must be known", bind_arg));
	opts->auto_mode = opts->udp_bind.is_auto || opts->udp_sendto.is_auto;
	if (opts->auto_mode && !frame_has_address(opts->framing))
		return (options_error(err, errlen, "--framing '%s': carries no "
		    "client address, so it cannot serve auto mode; use flow",
		    frame_name(opts->framing)));
	if (workers_given && opts->workers != 1 && !opts->udp_bind.is_auto)
		return (options_error(err, errlen, "--workers: fixed mode "
		    "keeps one active peer, so it runs as one process; "
		    "several workers need --udp-bind auto"));
	if (opts->target_delay_ms >= opts->max_delay_ms)
		return (options_error(err, errlen, "--target-delay '%u': must "
		    "be below --max-delay (%u)", opts->target_delay_ms,
		    opts->max_delay_ms));
	if (opts->backoff_min_ms > opts->backoff_max_ms)
		return (options_error(err, errlen, "--backoff-min '%u': must "
		    "not exceed --backoff-max (%u)", opts->backoff_min_ms,
		    opts->backoff_max_ms));
	return (options_tls(opts, err, errlen));
}

/* The TLS options fit the side they are given on. */
static enum options_result
options_tls(struct options *opts, char *err, size_t errlen)
{
	if (opts->side == SIDE_LISTEN) {
		if (opts->tls || opts->tls_ca != NULL ||
		    opts->ntls_pins > 0 || opts->tls_name != NULL)
			return (options_error(err, errlen, "--%s: is for the "
			    "connect side; the listen side turns TLS on with "
			    "--tls-cert and --tls-key", opts->tls ? "tls" :
			    opts->tls_ca != NULL ? "tls-ca" :
			    opts->ntls_pins > 0 ? "tls-pin" : "tls-name"));
		if (opts->tls_client_ca != NULL && opts->tls_cert == NULL)
			return (options_error(err, errlen, "--tls-client-ca: "
			    "needs --tls-cert and --tls-key (TLS on the listen "
			    "side)"));
		opts->tls = opts->tls_cert != NULL;
	} else {
		if (opts->tls_client_ca != NULL)
			return (options_error(err, errlen, "--tls-client-ca: "
			    "is for the listen side; the connect side checks "
			    "the server with --tls-ca or --tls-pin"));
		if (opts->tls_ca != NULL || opts->ntls_pins > 0 ||
		    opts->tls_name != NULL)
			opts->tls = 1;
		if (opts->tls_cert != NULL && !opts->tls)
			return (options_error(err, errlen, "--tls-cert: a "
			    "client certificate needs --tls"));
	}
	if (opts->tls_key != NULL && opts->tls_cert == NULL)
		return (options_error(err, errlen, "--tls-key: needs "
		    "--tls-cert, the certificate it belongs to"));
	return (OPTIONS_RUN);
}
