/*
 * check_tls.c - unit tests for TLS on the link (tls.c, handshake.c,
 * tls_accept.c), or, in a build without OpenSSL, for tls_none.c.
 *
 * The keys and certificates are made here, with OpenSSL's own API, in
 * a directory of the test's (mkdtemp): a CA, a server certificate it
 * signed for localhost and 127.0.0.1, a second one for the reload, an
 * expired one, one not yet valid, a client certificate, a client of
 * another CA, and a self-signed server. Pins are computed here too,
 * from the DER SubjectPublicKeyInfo, independently of tls.c.
 *
 * Sessions run over socketpair(AF_UNIX, SOCK_STREAM), non-blocking,
 * both ends in this process: tls_handshake() is stepped on each end in
 * turn, with poll() between turns (bounded; no sleeps), then records go
 * both ways through tls_send()/tls_recv(). The listen side's gate and
 * the deadline of handshake.c run on a libevent loop.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#ifdef HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#endif

#include "handshake.h"
#include "pin.h"
#include "tls.h"
#include "tls_accept.h"

#ifdef HAVE_OPENSSL

#define DAY		(24L * 3600)
#define POLL_MS		2000	/* a turn waits this long only if stuck */
#define MAX_TURNS	200	/* handshake steps per end, at most */
#define LOOP_S		8	/* the longest a loop test runs */
#define TEST_TIMEOUT	60	/* seconds per test, a backstop only */

/* ---- the test's PKI ---- */

static char	pki[512];		/* the mkdtemp directory */
static int	pki_made;

/* The pins of the certificates, computed by the test. */
static unsigned char	pin_srv[PIN_LEN], pin_srv2[PIN_LEN], pin_self[PIN_LEN];
static unsigned char	pin_cli[PIN_LEN];

/* The path of a file in the test's directory (a few at a time). */
static const char *
path(const char *name)
{
	static char	buf[8][PATH_MAX];
	static int	n;
	char		*p = buf[n++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", pki, name);
	return (p);
}

static void
die(const char *what)
{
	fprintf(stderr, "check_tls: %s\n", what);
	ERR_print_errors_fp(stderr);
	abort();
}

static EVP_PKEY *
mkkey(void)
{
	EVP_PKEY_CTX	*pc;
	EVP_PKEY	*k = NULL;

	if ((pc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(pc) != 1 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pc,
	    NID_X9_62_prime256v1) != 1 ||
	    EVP_PKEY_keygen(pc, &k) != 1)
		die("EC P-256 key generation");
	EVP_PKEY_CTX_free(pc);
	return (k);
}

static void
add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION	*e;
	char		 v[256];

	snprintf(v, sizeof v, "%s", value);	/* 1.1.1 wants it writable */
	if ((e = X509V3_EXT_conf_nid(NULL, v3, nid, v)) == NULL ||
	    X509_add_ext(x, e, -1) != 1)
		die(value);
	X509_EXTENSION_free(e);
}

/*
 * A certificate for key, named cn, valid from..to seconds from now,
 * signed by issuer's key (NULL: self-signed).
 */
static X509 *
mkcert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long from, long to, int ca, const char *san)
{
	static long	 serial = 1000;
	X509		*x;
	X509_NAME	*n;
	X509V3_CTX	 v3;

	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), from) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), to) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		die("X509 fields");
	n = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"udp-over-tcp check_tls", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n) != 1)
		die("X509 names");
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (ca) {
		add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, &v3, NID_basic_constraints, "CA:FALSE");
		add_ext(x, &v3, NID_key_usage, "critical,digitalSignature");
		add_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth");
	}
	add_ext(x, &v3, NID_subject_key_identifier, "hash");
	if (san != NULL)
		add_ext(x, &v3, NID_subject_alt_name, san);
	if (X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) == 0)
		die("X509_sign");
	return (x);
}

static FILE *
pki_open(const char *name, const char *mode)
{
	FILE	*f;

	if ((f = fopen(path(name), mode)) == NULL)
		die(name);
	return (f);
}

/* Writes a PEM file: any of a certificate, a key, both (in that order). */
static void
pki_write(const char *name, X509 *x, EVP_PKEY *k)
{
	FILE	*f = pki_open(name, "w");

	if ((x != NULL && PEM_write_X509(f, x) != 1) ||
	    (k != NULL && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
	    NULL) != 1) || fclose(f) != 0)
		die(name);
}

static void
pki_text(const char *name, const char *text)
{
	FILE	*f = pki_open(name, "w");

	fputs(text, f);
	if (fclose(f) != 0)
		die(name);
}

/* The pin of a certificate, the test's way: SHA-256 of i2d_PUBKEY. */
static void
pin_of(X509 *x, unsigned char pin[PIN_LEN])
{
	EVP_PKEY	*k = X509_get_pubkey(x);
	unsigned char	*der = NULL;
	int		 len = 0;

	if (k == NULL || (len = i2d_PUBKEY(k, &der)) <= 0)
		die("i2d_PUBKEY");
	SHA256(der, (size_t)len, pin);
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

static void
pki_setup(void)
{
	const char	*tmp = getenv("TMPDIR");
	EVP_PKEY	*ca_k, *srv_k, *srv2_k, *exp_k, *fut_k, *cli_k, *oca_k;
	EVP_PKEY	*ocli_k, *self_k;
	X509		*ca, *srv, *srv2, *exp, *fut, *cli, *oca, *ocli, *self;
	const char	*san = "DNS:localhost,IP:127.0.0.1";

	if (pki_made)
		return;
	snprintf(pki, sizeof pki, "%s/uot-check-tls.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(pki) == NULL)
		die("mkdtemp");

	ca_k = mkkey();
	ca = mkcert("uot test CA", ca_k, NULL, NULL, -DAY, 30 * DAY, 1, NULL);
	srv_k = mkkey();
	srv = mkcert("localhost", srv_k, ca, ca_k, -3600, DAY, 0, san);
	srv2_k = mkkey();
	srv2 = mkcert("localhost", srv2_k, ca, ca_k, -3600, DAY, 0, san);
	exp_k = mkkey();
	exp = mkcert("localhost", exp_k, ca, ca_k, -2 * DAY, -DAY, 0, san);
	fut_k = mkkey();
	fut = mkcert("localhost", fut_k, ca, ca_k, DAY, 2 * DAY, 0, san);
	cli_k = mkkey();
	cli = mkcert("client", cli_k, ca, ca_k, -3600, DAY, 0, NULL);
	oca_k = mkkey();
	oca = mkcert("another CA", oca_k, NULL, NULL, -DAY, 30 * DAY, 1,
	    NULL);
	ocli_k = mkkey();
	ocli = mkcert("stranger", ocli_k, oca, oca_k, -3600, DAY, 0, NULL);
	self_k = mkkey();
	self = mkcert("localhost", self_k, NULL, NULL, -3600, DAY, 0, san);

	pki_write("ca.pem", ca, NULL);
	pki_write("srv.pem", srv, NULL);
	pki_write("srv.key", NULL, srv_k);
	pki_write("srv-full.pem", srv, srv_k);
	pki_write("srv2.pem", srv2, NULL);
	pki_write("srv2.key", NULL, srv2_k);
	pki_write("exp.pem", exp, NULL);
	pki_write("exp.key", NULL, exp_k);
	pki_write("fut.pem", fut, NULL);
	pki_write("fut.key", NULL, fut_k);
	pki_write("cli.pem", cli, NULL);
	pki_write("cli.key", NULL, cli_k);
	pki_write("oca.pem", oca, NULL);
	pki_write("ocli.pem", ocli, NULL);
	pki_write("ocli.key", NULL, ocli_k);
	pki_write("self.pem", self, NULL);
	pki_write("self.key", NULL, self_k);
	pki_text("garbage.txt", "this is not PEM\n");
	pki_text("empty.pem", "");
	if (mkdir(path("adir"), 0700) != 0)
		die("mkdir");

	pin_of(srv, pin_srv);
	pin_of(srv2, pin_srv2);
	pin_of(self, pin_self);
	pin_of(cli, pin_cli);

	X509_free(ca); X509_free(srv); X509_free(srv2); X509_free(exp);
	X509_free(fut); X509_free(cli); X509_free(oca); X509_free(ocli);
	X509_free(self);
	EVP_PKEY_free(ca_k); EVP_PKEY_free(srv_k); EVP_PKEY_free(srv2_k);
	EVP_PKEY_free(exp_k); EVP_PKEY_free(fut_k); EVP_PKEY_free(cli_k);
	EVP_PKEY_free(oca_k); EVP_PKEY_free(ocli_k); EVP_PKEY_free(self_k);
	pki_made = 1;
}

static void
pki_cleanup(void)
{
	static const char	*names[] = {
		"ca.pem", "srv.pem", "srv.key", "srv-full.pem", "srv2.pem",
		"srv2.key", "exp.pem", "exp.key", "fut.pem", "fut.key",
		"cli.pem", "cli.key", "oca.pem", "ocli.pem", "ocli.key",
		"self.pem", "self.key", "garbage.txt", "empty.pem", "rl.pem",
		"rl.key"
	};
	size_t			 i;

	if (!pki_made)
		return;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		(void)unlink(path(names[i]));
	(void)rmdir(path("adir"));
	(void)rmdir(pki);
}

/* Copies a file of the directory over another, whole, by rename. */
static void
pki_copy(const char *from, const char *to)
{
	char	 buf[8192], tmp[PATH_MAX];
	FILE	*in, *out;
	size_t	 n;

	snprintf(tmp, sizeof tmp, "%s.tmp", path(to));
	ck_assert_ptr_nonnull(in = fopen(path(from), "r"));
	ck_assert_ptr_nonnull(out = fopen(tmp, "w"));
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_int_eq(rename(tmp, path(to)), 0);
}

/* ---- contexts ---- */

static struct tls_ctx *
ctx_try(int server, const char *cert, const char *key, const char *ca,
    const char *name, const unsigned char (*pins)[PIN_LEN], size_t npins,
    char *err, size_t errlen)
{
	struct tls_config	cfg;
	char			c[PATH_MAX], k[PATH_MAX], a[PATH_MAX];

	memset(&cfg, 0, sizeof cfg);
	cfg.server = server;
	if (cert != NULL)
		cfg.cert_file = strcpy(c, path(cert));
	if (key != NULL)
		cfg.key_file = strcpy(k, path(key));
	if (ca != NULL)
		cfg.ca_file = strcpy(a, path(ca));
	cfg.name = name;
	ck_assert_uint_le(npins, TLS_MAX_PINS);
	if (npins > 0)
		memcpy(cfg.pins, pins, npins * PIN_LEN);
	cfg.npins = npins;
	err[0] = '\0';
	return (tls_ctx_new(&cfg, err, errlen));
}

static struct tls_ctx *
server_ctx(const char *cert, const char *key, const char *ca)
{
	struct tls_ctx	*t;
	char		 err[512];

	t = ctx_try(1, cert, key, ca, NULL, NULL, 0, err, sizeof err);
	ck_assert_msg(t != NULL, "server context: %s", err);
	return (t);
}

static struct tls_ctx *
client_ctx(const char *ca, const char *name,
    const unsigned char (*pins)[PIN_LEN], size_t npins, const char *cert,
    const char *key)
{
	struct tls_ctx	*t;
	char		 err[512];

	t = ctx_try(0, cert, key, ca, name, pins, npins, err, sizeof err);
	ck_assert_msg(t != NULL, "client context: %s", err);
	return (t);
}

/* ---- sessions over a socket pair ---- */

/* One end of a session: ours (tls_conn) or a bare OpenSSL server. */
struct end {
	struct tls_conn		*c;
	SSL			*raw;
	int			 fd;
	enum tls_result		 r;
};

static void
nonblock(int fd)
{
	int	fl = fcntl(fd, F_GETFL);

	ck_assert_int_ne(fl, -1);
	ck_assert_int_ne(fcntl(fd, F_SETFL, fl | O_NONBLOCK), -1);
}

static void
mkpair(int fds[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	nonblock(fds[0]);
	nonblock(fds[1]);
}

/* A client end and a server end of a new pair. */
static void
ends(struct end *cl, struct tls_ctx *cctx, struct end *sv,
    struct tls_ctx *sctx)
{
	int	fds[2];

	mkpair(fds);
	memset(cl, 0, sizeof *cl);
	memset(sv, 0, sizeof *sv);
	cl->fd = fds[0];
	sv->fd = fds[1];
	ck_assert_ptr_nonnull(cl->c = tls_conn_new(cctx));
	if (sctx != NULL)
		ck_assert_ptr_nonnull(sv->c = tls_conn_new(sctx));
	cl->r = sv->r = TLS_AGAIN;
}

static void
end_close(struct end *e)
{
	tls_conn_free(e->c);
	if (e->raw != NULL)
		SSL_free(e->raw);
	if (e->fd != -1)
		close(e->fd);
	e->c = NULL;
	e->raw = NULL;
	e->fd = -1;
}

static enum tls_result
step(struct end *e)
{
	int	r;

	if (e->c != NULL)
		return (tls_handshake(e->c, e->fd));
	if ((r = SSL_do_handshake(e->raw)) == 1)
		return (TLS_DONE);
	switch (SSL_get_error(e->raw, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return (TLS_AGAIN);
	default:
		ERR_clear_error();
		return (TLS_FAIL);
	}
}

/*
 * Steps both ends, the client first, until both are done or one
 * fails; poll() between turns, so a stuck handshake ends the pump
 * after POLL_MS instead of spinning.
 */
static void
pump(struct end *a, struct end *b)
{
	struct pollfd	p[2];
	struct end	*e[2] = { a, b };
	int		i, j, n;

	for (i = 0; i < MAX_TURNS; i++) {
		for (j = 0; j < 2; j++)
			if (e[j]->r == TLS_AGAIN)
				e[j]->r = step(e[j]);
		if (a->r == TLS_FAIL || b->r == TLS_FAIL)
			return;
		if (a->r == TLS_DONE && b->r == TLS_DONE)
			return;
		for (j = n = 0; j < 2; j++) {
			if (e[j]->r != TLS_AGAIN)
				continue;
			p[n].fd = e[j]->fd;
			p[n].events = POLLIN;
			if (e[j]->c != NULL && tls_conn_want_write(e[j]->c))
				p[n].events |= POLLOUT;
			p[n++].revents = 0;
		}
		if (poll(p, (nfds_t)n, POLL_MS) <= 0)
			return;		/* stuck: the caller sees AGAIN */
	}
}

/* A pair that must come up: both ends done, TLS 1.3. */
static void
up(struct end *cl, struct tls_ctx *cctx, struct end *sv,
    struct tls_ctx *sctx)
{
	ends(cl, cctx, sv, sctx);
	pump(cl, sv);
	ck_assert_msg(cl->r == TLS_DONE, "client: %d: %s", cl->r,
	    tls_conn_error(cl->c));
	ck_assert_msg(sv->r == TLS_DONE, "server: %d: %s", sv->r,
	    tls_conn_error(sv->c));
	ck_assert_str_eq(tls_conn_version(cl->c), "TLSv1.3");
	ck_assert(strncmp(tls_conn_version(sv->c), "TLSv1.3", 7) == 0);
	ck_assert_uint_eq(tls_unsent(cl->c), 0);
	ck_assert_uint_eq(tls_unsent(sv->c), 0);
}

/* A pair whose client must fail; its error must contain want. */
static void
client_fails(struct tls_ctx *cctx, struct tls_ctx *sctx, const char *want)
{
	struct end	cl, sv;

	ends(&cl, cctx, &sv, sctx);
	pump(&cl, &sv);
	ck_assert_msg(cl.r == TLS_FAIL, "client %d, not failed", cl.r);
	ck_assert_msg(strstr(tls_conn_error(cl.c), want) != NULL,
	    "client's error \"%s\" does not say \"%s\"",
	    tls_conn_error(cl.c), want);
	end_close(&cl);
	end_close(&sv);
}

static void
fill(unsigned char *p, size_t len, uint32_t seed)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

/*
 * len bytes from one end to the other, handed to tls_send in batches
 * of batch bytes, read with tls_recv max bytes at a time; what arrives
 * must be the same bytes.
 */
static void
xfer(struct end *from, struct end *to, size_t len, size_t batch,
    size_t max, uint32_t seed)
{
	struct evbuffer	*plain, *in;
	unsigned char	*src;
	size_t		 queued = 0, got = 0, n;
	ssize_t		 r;
	struct pollfd	 p[2];
	int		 turns;

	ck_assert_ptr_nonnull(src = malloc(len));
	fill(src, len, seed);
	ck_assert_ptr_nonnull(plain = evbuffer_new());
	ck_assert_ptr_nonnull(in = evbuffer_new());
	for (turns = 0; got < len; turns++) {
		ck_assert_uint_lt((size_t)turns, 100000 + len);
		if (queued < len) {
			n = len - queued < batch ? len - queued : batch;
			ck_assert_int_eq(evbuffer_add(plain, src + queued, n),
			    0);
			queued += n;
		}
		if (evbuffer_get_length(plain) > 0 || tls_unsent(from->c) > 0)
			ck_assert_int_ge(tls_send(from->c, from->fd, plain), 0);
		r = tls_recv(to->c, to->fd, in, max);
		ck_assert_msg(r >= 0, "tls_recv: %s", tls_conn_error(to->c));
		got += (size_t)r;
		ck_assert_uint_eq(got, evbuffer_get_length(in));
		if (r == 0 && queued == len) {
			/* Nothing came: wait for the socket, bounded. */
			p[0].fd = to->fd;
			p[0].events = POLLIN;
			p[1].fd = from->fd;
			p[1].events = tls_unsent(from->c) > 0 ? POLLOUT : 0;
			ck_assert_int_gt(poll(p, 2, POLL_MS), 0);
		}
	}
	ck_assert_uint_eq(got, len);
	ck_assert_uint_eq(evbuffer_get_length(plain), 0);
	ck_assert_uint_eq(tls_unsent(from->c), 0);
	ck_assert(memcmp(evbuffer_pullup(in, -1), src, len) == 0);
	evbuffer_free(plain);
	evbuffer_free(in);
	free(src);
}

/* ---- contexts from files: what is refused, and how it is said ---- */

struct ctx_bad {
	int		 server;
	const char	*cert, *key, *ca;
	const char	*opt;		/* the option named */
	const char	*file;		/* the file named */
	const char	*why;		/* and what is said of it */
};

static const struct ctx_bad ctx_bads[] = {
	{ 1, "nope.pem", NULL, NULL, "--tls-cert", "nope.pem",
	    "No such file" },
	{ 1, "nope.pem", "srv.key", NULL, "--tls-cert", "nope.pem",
	    "No such file" },
	{ 1, "srv.pem", "nope.key", NULL, "--tls-key", "nope.key",
	    "No such file" },
	{ 1, "srv-full.pem", NULL, "nope.pem", "--tls-client-ca", "nope.pem",
	    "No such file" },
	{ 0, NULL, NULL, "nope.pem", "--tls-ca", "nope.pem",
	    "No such file" },
	{ 0, "nope.pem", "cli.key", "ca.pem", "--tls-cert", "nope.pem",
	    "No such file" },
	/* A key that is not the certificate's. */
	{ 1, "srv.pem", "cli.key", NULL, "--tls-key", "cli.key",
	    "does not match" },
	{ 1, "srv.pem", "srv2.key", NULL, "--tls-key", "srv2.key",
	    "does not match" },
	{ 0, "cli.pem", "srv.key", "ca.pem", "--tls-key", "srv.key",
	    "does not match" },
	/* Out of its dates. */
	{ 1, "exp.pem", "exp.key", NULL, "--tls-cert", "exp.pem",
	    "expired" },
	{ 1, "fut.pem", "fut.key", NULL, "--tls-cert", "fut.pem",
	    "not valid before" },
	{ 0, "exp.pem", "exp.key", "ca.pem", "--tls-cert", "exp.pem",
	    "expired" },
	/* No certificate where one must be. */
	{ 0, NULL, NULL, "srv.key", "--tls-ca", "srv.key",
	    "no PEM certificate" },
	{ 0, NULL, NULL, "garbage.txt", "--tls-ca", "garbage.txt",
	    "no PEM certificate" },
	{ 0, NULL, NULL, "empty.pem", "--tls-ca", "empty.pem",
	    "no PEM certificate" },
	{ 1, "srv-full.pem", NULL, "srv.key", "--tls-client-ca", "srv.key",
	    "no PEM certificate" },
	{ 1, "garbage.txt", "srv.key", NULL, "--tls-cert", "garbage.txt",
	    "no PEM certificate" },
	{ 1, "srv.key", "srv.key", NULL, "--tls-cert", "srv.key",
	    "no PEM certificate" },
	{ 1, "empty.pem", "srv.key", NULL, "--tls-cert", "empty.pem",
	    "no PEM certificate" },
	{ 1, "adir", "srv.key", NULL, "--tls-cert", "adir", "" },
	/* No key where one must be. */
	{ 1, "srv.pem", NULL, NULL, "--tls-cert", "srv.pem",
	    "no PEM private key in it" },
	{ 1, "srv.pem", "garbage.txt", NULL, "--tls-key", "garbage.txt",
	    "no PEM private key" },
	{ 1, "srv.pem", "srv.pem", NULL, "--tls-key", "srv.pem",
	    "no PEM private key" },
	{ 0, "cli.pem", NULL, "ca.pem", "--tls-cert", "cli.pem",
	    "no PEM private key in it" },
};

#define NCTX_BADS	(sizeof ctx_bads / sizeof ctx_bads[0])

START_TEST(test_ctx_bad)
{
	const struct ctx_bad	*b = &ctx_bads[_i];
	struct tls_ctx		*t;
	char			 err[512], want[PATH_MAX + 64];
	unsigned char		 pins[1][PIN_LEN];

	memcpy(pins[0], pin_srv, PIN_LEN);
	t = ctx_try(b->server, b->cert, b->key, b->ca, "localhost",
	    b->server ? NULL : (const unsigned char (*)[PIN_LEN])pins,
	    b->server || b->ca != NULL ? 0 : 1, err, sizeof err);
	ck_assert_msg(t == NULL, "case %d accepted", _i);
	/* One line, "--opt FILE: ...". */
	snprintf(want, sizeof want, "%s %s: ", b->opt, path(b->file));
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "case %d: \"%s\" does not begin \"%s\"", _i, err, want);
	ck_assert_msg(strstr(err, b->why) != NULL,
	    "case %d: \"%s\" does not say \"%s\"", _i, err, b->why);
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

/* What is good is taken: the key in the cert file, or beside it. */
START_TEST(test_ctx_good)
{
	struct tls_ctx	*t;
	unsigned char	 pins[1][PIN_LEN];

	memcpy(pins[0], pin_srv, PIN_LEN);
	tls_ctx_free(server_ctx("srv-full.pem", NULL, NULL));
	tls_ctx_free(server_ctx("srv.pem", "srv.key", NULL));
	tls_ctx_free(server_ctx("srv-full.pem", NULL, "ca.pem"));
	tls_ctx_free(client_ctx("ca.pem", "localhost", NULL, 0, NULL, NULL));
	tls_ctx_free(client_ctx(NULL, "localhost",
	    (const unsigned char (*)[PIN_LEN])pins, 1, NULL, NULL));
	tls_ctx_free(client_ctx("ca.pem", "localhost", NULL, 0, "cli.pem",
	    "cli.key"));
	/* The system's trust store: no file of ours at all. */
	t = client_ctx(NULL, "localhost", NULL, 0, NULL, NULL);
	tls_ctx_free(t);
	tls_ctx_free(NULL);
	ck_assert_ptr_nonnull(tls_library());
	ck_assert_ptr_nonnull(strstr(tls_library(), "SSL"));
	ck_assert_ptr_null(strchr(tls_library(), '\n'));
}
END_TEST

/* --print-pin: the same value as the test's own computation. */
START_TEST(test_cert_pin)
{
	unsigned char	 pin[PIN_LEN];
	char		 err[512], s[PIN_STRLEN];
	const char	*why;
	unsigned char	 back[PIN_LEN];

	memset(pin, 0, sizeof pin);
	ck_assert_int_eq(tls_cert_pin(path("srv.pem"), pin, err, sizeof err),
	    0);
	ck_assert_mem_eq(pin, pin_srv, PIN_LEN);
	ck_assert_int_eq(tls_cert_pin(path("srv-full.pem"), pin, err,
	    sizeof err), 0);
	ck_assert_mem_eq(pin, pin_srv, PIN_LEN);
	ck_assert_int_eq(tls_cert_pin(path("self.pem"), pin, err, sizeof err),
	    0);
	ck_assert_mem_eq(pin, pin_self, PIN_LEN);
	ck_assert_int_eq(tls_cert_pin(path("cli.pem"), pin, err, sizeof err),
	    0);
	ck_assert_mem_eq(pin, pin_cli, PIN_LEN);
	ck_assert(memcmp(pin_srv, pin_srv2, PIN_LEN) != 0);

	/* As printed, it parses back to the same bytes. */
	pin_format(pin_srv, s, sizeof s);
	ck_assert_int_eq(pin_parse(s, back, &why), 0);
	ck_assert_mem_eq(back, pin_srv, PIN_LEN);

	ck_assert_int_eq(tls_cert_pin(path("nope.pem"), pin, err, sizeof err),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, path("nope.pem")));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	ck_assert_int_eq(tls_cert_pin(path("srv.key"), pin, err, sizeof err),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "no PEM certificate"));
	ck_assert_int_eq(tls_cert_pin(path("empty.pem"), pin, err,
	    sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no PEM certificate"));
}
END_TEST

/* ---- handshakes ---- */

/* A CA and the name in the certificate: up, and data both ways. */
START_TEST(test_ca_ok)
{
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", NULL);
	struct tls_ctx	*c = client_ctx("ca.pem", "localhost", NULL, 0, NULL,
			    NULL);
	struct tls_ctx	*ci = client_ctx("ca.pem", "127.0.0.1", NULL, 0, NULL,
			    NULL);
	struct end	 cl, sv;

	up(&cl, c, &sv, s);
	/* No client certificate: no CN in the server's description. */
	ck_assert_str_eq(tls_conn_version(sv.c), "TLSv1.3");
	xfer(&cl, &sv, 1000, 1000, 65536, 1);
	xfer(&sv, &cl, 1000, 1000, 65536, 2);
	end_close(&cl);
	end_close(&sv);

	/* An address is checked against the IP SAN. */
	up(&cl, ci, &sv, s);
	end_close(&cl);
	end_close(&sv);
	tls_ctx_free(s);
	tls_ctx_free(c);
	tls_ctx_free(ci);
}
END_TEST

/* A name or an address the certificate does not hold. */
START_TEST(test_ca_wrong_name)
{
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", NULL);
	struct tls_ctx	*c = client_ctx("ca.pem", "example.com", NULL, 0,
			    NULL, NULL);
	struct tls_ctx	*ci = client_ctx("ca.pem", "127.0.0.2", NULL, 0, NULL,
			    NULL);

	client_fails(c, s, "hostname mismatch");
	client_fails(c, s, "certificate verify failed");
	client_fails(ci, s, "IP address mismatch");
	tls_ctx_free(s);
	tls_ctx_free(c);
	tls_ctx_free(ci);
}
END_TEST

/* A server whose certificate no CA of the client's signed. */
START_TEST(test_ca_untrusted)
{
	struct tls_ctx	*self = server_ctx("self.pem", "self.key", NULL);
	struct tls_ctx	*c = client_ctx("ca.pem", "localhost", NULL, 0, NULL,
			    NULL);
	struct tls_ctx	*co = client_ctx("oca.pem", "localhost", NULL, 0, NULL,
			    NULL);
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", NULL);

	client_fails(c, self, "certificate verify failed");
	client_fails(co, s, "certificate verify failed");
	tls_ctx_free(self);
	tls_ctx_free(c);
	tls_ctx_free(co);
	tls_ctx_free(s);
}
END_TEST

/* A bare OpenSSL server with a certificate of the files'. */
static SSL_CTX *
raw_server_ctx(const char *cert, const char *key, int max_version)
{
	SSL_CTX	*ctx;

	ck_assert_ptr_nonnull(ctx = SSL_CTX_new(TLS_server_method()));
	ck_assert_int_eq(SSL_CTX_use_certificate_chain_file(ctx, path(cert)),
	    1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx, path(key),
	    SSL_FILETYPE_PEM), 1);
	if (max_version != 0)
		ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx,
		    max_version), 1);
	return (ctx);
}

static void
raw_ends(struct end *cl, struct tls_ctx *cctx, struct end *sv,
    SSL_CTX *raw)
{
	ends(cl, cctx, sv, NULL);
	ck_assert_ptr_nonnull(sv->raw = SSL_new(raw));
	ck_assert_int_eq(SSL_set_fd(sv->raw, sv->fd), 1);
	SSL_set_accept_state(sv->raw);
}

/*
 * A server that serves an expired certificate (tls_ctx_new would not
 * start with one, so a bare OpenSSL server does), and one that speaks
 * TLS 1.2 at most.
 */
START_TEST(test_raw_servers)
{
	SSL_CTX		*expired = raw_server_ctx("exp.pem", "exp.key", 0);
	SSL_CTX		*v12 = raw_server_ctx("srv.pem", "srv.key",
			    TLS1_2_VERSION);
	struct tls_ctx	*c = client_ctx("ca.pem", "localhost", NULL, 0, NULL,
			    NULL);
	struct end	 cl, sv;

	raw_ends(&cl, c, &sv, expired);
	pump(&cl, &sv);
	ck_assert_int_eq(cl.r, TLS_FAIL);
	ck_assert_msg(strstr(tls_conn_error(cl.c), "certificate has expired")
	    != NULL, "%s", tls_conn_error(cl.c));
	end_close(&cl);
	end_close(&sv);

	raw_ends(&cl, c, &sv, v12);
	pump(&cl, &sv);
	ck_assert_msg(cl.r == TLS_DONE, "%s", tls_conn_error(cl.c));
	ck_assert_int_eq(sv.r, TLS_DONE);
	ck_assert_str_eq(tls_conn_version(cl.c), "TLSv1.2");
	end_close(&cl);
	end_close(&sv);

	tls_ctx_free(c);
	SSL_CTX_free(expired);
	SSL_CTX_free(v12);
}
END_TEST

/* Pins alone: no chain, no name; any of four may match. */
START_TEST(test_pin_match)
{
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", NULL);
	struct tls_ctx	*self = server_ctx("self.pem", "self.key", NULL);
	unsigned char	 pins[TLS_MAX_PINS][PIN_LEN];
	struct tls_ctx	*c1, *c4;
	struct end	 cl, sv;

	memcpy(pins[0], pin_srv, PIN_LEN);
	c1 = client_ctx(NULL, "not-the-name.example", (const unsigned char
	    (*)[PIN_LEN])pins, 1, NULL, NULL);
	memcpy(pins[0], pin_cli, PIN_LEN);
	memcpy(pins[1], pin_srv2, PIN_LEN);
	memcpy(pins[2], pin_self, PIN_LEN);
	memcpy(pins[3], pin_srv, PIN_LEN);
	c4 = client_ctx(NULL, "localhost", (const unsigned char
	    (*)[PIN_LEN])pins, 4, NULL, NULL);

	up(&cl, c1, &sv, s);
	xfer(&cl, &sv, 100, 100, 65536, 3);
	end_close(&cl);
	end_close(&sv);
	up(&cl, c4, &sv, s);
	end_close(&cl);
	end_close(&sv);
	/* Self-signed, pinned: taken. */
	up(&cl, c4, &sv, self);
	end_close(&cl);
	end_close(&sv);
	tls_ctx_free(s);
	tls_ctx_free(self);
	tls_ctx_free(c1);
	tls_ctx_free(c4);
}
END_TEST

/* A key no pin names: refused, and the line names the key it saw. */
START_TEST(test_pin_mismatch)
{
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", NULL);
	unsigned char	 pins[2][PIN_LEN];
	struct tls_ctx	*c;
	char		 want[128], p[PIN_STRLEN];

	memcpy(pins[0], pin_self, PIN_LEN);
	memcpy(pins[1], pin_srv2, PIN_LEN);
	c = client_ctx(NULL, "localhost", (const unsigned char
	    (*)[PIN_LEN])pins, 2, NULL, NULL);
	client_fails(c, s, "matches no --tls-pin");
	snprintf(want, sizeof want, "the server's key %s matches no "
	    "--tls-pin", pin_format(pin_srv, p, sizeof p));
	client_fails(c, s, want);
	tls_ctx_free(s);
	tls_ctx_free(c);
}
END_TEST

/* Both a CA and pins: the chain and a pin must both hold. */
START_TEST(test_pin_and_ca)
{
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", NULL);
	struct tls_ctx	*self = server_ctx("self.pem", "self.key", NULL);
	unsigned char	 pins[1][PIN_LEN];
	struct tls_ctx	*good, *wrong, *selfpin;
	struct end	 cl, sv;

	memcpy(pins[0], pin_srv, PIN_LEN);
	good = client_ctx("ca.pem", "localhost", (const unsigned char
	    (*)[PIN_LEN])pins, 1, NULL, NULL);
	memcpy(pins[0], pin_srv2, PIN_LEN);
	wrong = client_ctx("ca.pem", "localhost", (const unsigned char
	    (*)[PIN_LEN])pins, 1, NULL, NULL);
	memcpy(pins[0], pin_self, PIN_LEN);
	selfpin = client_ctx("ca.pem", "localhost", (const unsigned char
	    (*)[PIN_LEN])pins, 1, NULL, NULL);

	up(&cl, good, &sv, s);
	end_close(&cl);
	end_close(&sv);
	client_fails(wrong, s, "matches no --tls-pin");
	client_fails(selfpin, self, "certificate verify failed");
	tls_ctx_free(s);
	tls_ctx_free(self);
	tls_ctx_free(good);
	tls_ctx_free(wrong);
	tls_ctx_free(selfpin);
}
END_TEST

/*
 * The server's side of a refused handshake: it fails, and the client,
 * done already in TLS 1.3, learns it from the alert at its first read.
 */
static void
server_refuses(struct tls_ctx *cctx, struct tls_ctx *sctx, const char *want)
{
	struct evbuffer	*in;
	struct end	 cl, sv;
	struct pollfd	 p;
	ssize_t		 r = 0;
	int		 i;

	ends(&cl, cctx, &sv, sctx);
	pump(&cl, &sv);
	ck_assert_msg(sv.r == TLS_FAIL, "server %d, not failed", sv.r);
	ck_assert_msg(strstr(tls_conn_error(sv.c), want) != NULL,
	    "server's error \"%s\" does not say \"%s\"",
	    tls_conn_error(sv.c), want);
	if (cl.r == TLS_DONE) {
		ck_assert_ptr_nonnull(in = evbuffer_new());
		for (i = 0; i < 10 && (r = tls_recv(cl.c, cl.fd, in,
		    65536)) == 0; i++) {
			p.fd = cl.fd;
			p.events = POLLIN;
			ck_assert_int_eq(poll(&p, 1, POLL_MS), 1);
		}
		ck_assert_int_eq(r, -1);
		ck_assert_uint_eq(evbuffer_get_length(in), 0);
		evbuffer_free(in);
	} else
		ck_assert_int_eq(cl.r, TLS_FAIL);
	end_close(&cl);
	end_close(&sv);
}

/* Mutual TLS: the CA's client is taken and named; others are not. */
START_TEST(test_mutual)
{
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", "ca.pem");
	struct tls_ctx	*good = client_ctx("ca.pem", "localhost", NULL, 0,
			    "cli.pem", "cli.key");
	struct tls_ctx	*none = client_ctx("ca.pem", "localhost", NULL, 0,
			    NULL, NULL);
	struct tls_ctx	*other = client_ctx("ca.pem", "localhost", NULL, 0,
			    "ocli.pem", "ocli.key");
	struct end	 cl, sv;

	up(&cl, good, &sv, s);
	ck_assert_str_eq(tls_conn_version(sv.c), "TLSv1.3, client CN=client");
	ck_assert_str_eq(tls_conn_version(cl.c), "TLSv1.3");
	xfer(&cl, &sv, 5000, 700, 65536, 4);
	xfer(&sv, &cl, 5000, 700, 65536, 5);
	end_close(&cl);
	end_close(&sv);

	server_refuses(none, s, "certificate");
	server_refuses(other, s, "certificate verify failed");
	tls_ctx_free(s);
	tls_ctx_free(good);
	tls_ctx_free(none);
	tls_ctx_free(other);
}
END_TEST

/* ---- records ---- */

/* Byte exact both ways: one byte, 16 KiB and around, big, small batches. */
START_TEST(test_data)
{
	struct tls_ctx	*s = server_ctx("srv-full.pem", NULL, NULL);
	unsigned char	 pins[1][PIN_LEN];
	struct tls_ctx	*c;
	struct end	 cl, sv;

	memcpy(pins[0], pin_srv, PIN_LEN);
	c = client_ctx(NULL, "localhost", (const unsigned char
	    (*)[PIN_LEN])pins, 1, NULL, NULL);
	up(&cl, c, &sv, s);
	xfer(&cl, &sv, 1, 1, 65536, 10);
	xfer(&sv, &cl, 1, 1, 65536, 11);
	xfer(&cl, &sv, 16383, 16383, 65536, 12);
	xfer(&cl, &sv, 16384, 16384, 65536, 13);
	xfer(&cl, &sv, 16385, 16385, 65536, 14);
	xfer(&sv, &cl, 16385, 16385, 65536, 15);
	/* A batch of many records, read in pieces smaller than a record. */
	xfer(&cl, &sv, 300000, 300000, 65536, 16);
	xfer(&sv, &cl, 300000, 300000, 1000, 17);
	/* Many small batches, queued faster than they go. */
	xfer(&cl, &sv, 100000, 37, 65536, 18);
	xfer(&sv, &cl, 20000, 1, 65536, 19);
	/* Reads of one byte of records at a time. */
	xfer(&cl, &sv, 3000, 3000, 1, 20);
	/* Still one session, still in step. */
	xfer(&cl, &sv, 10, 10, 65536, 21);
	xfer(&sv, &cl, 10, 10, 65536, 22);
	end_close(&cl);
	end_close(&sv);
	tls_ctx_free(s);
	tls_ctx_free(c);
}
END_TEST

/*
 * tls_send leaves the plaintext in its buffer until every record made
 * of it is written: with a small send buffer and a peer that does not
 * read, the batch stays whole; a second batch added meanwhile waits
 * its turn, and goes once the first is drained.
 */
START_TEST(test_send_partial)
{
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", NULL);
	struct tls_ctx	*c = client_ctx("ca.pem", "localhost", NULL, 0, NULL,
			    NULL);
	const size_t	 first = 200000, second = 1000;
	unsigned char	*src;
	struct evbuffer	*plain, *in;
	struct end	 cl, sv;
	struct pollfd	 p;
	ssize_t		 n;
	size_t		 unsent, len, got = 0;
	int		 sndbuf = 4096, turns, first_gone = 0;

	up(&cl, c, &sv, s);
	ck_assert_int_eq(setsockopt(cl.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof sndbuf), 0);
	ck_assert_ptr_nonnull(src = malloc(first + second));
	fill(src, first + second, 30);
	ck_assert_ptr_nonnull(plain = evbuffer_new());
	ck_assert_ptr_nonnull(in = evbuffer_new());

	ck_assert_int_eq(evbuffer_add(plain, src, first), 0);
	n = tls_send(cl.c, cl.fd, plain);
	ck_assert_int_gt(n, 0);
	unsent = tls_unsent(cl.c);
	ck_assert_uint_gt(unsent, 0);
	ck_assert_uint_gt(unsent + (size_t)n, first);	/* records' overhead */
	ck_assert_uint_eq(evbuffer_get_length(plain), first);

	/* The socket is full: nothing goes, nothing is drained. */
	ck_assert_int_eq(evbuffer_add(plain, src + first, second), 0);
	ck_assert_int_eq(tls_send(cl.c, cl.fd, plain), 0);
	ck_assert_uint_eq(tls_unsent(cl.c), unsent);
	ck_assert_uint_eq(evbuffer_get_length(plain), first + second);

	/* The peer reads: the records go, the plaintext only then. */
	for (turns = 0; got < first + second; turns++) {
		ck_assert_int_lt(turns, 100000);
		n = tls_recv(sv.c, sv.fd, in, 4096);
		ck_assert_int_ge(n, 0);
		got += (size_t)n;
		ck_assert_int_ge(tls_send(cl.c, cl.fd, plain), 0);
		len = evbuffer_get_length(plain);
		if (!first_gone) {
			if (len == first + second) {
				/* Its records are not all written yet. */
				ck_assert_uint_gt(tls_unsent(cl.c), 0);
				ck_assert_uint_lt(got, first);
			} else {
				ck_assert_uint_eq(len, second);
				first_gone = 1;
			}
		} else if (len == second)
			ck_assert_uint_lt(got, first + second);
		else
			ck_assert_uint_eq(len, 0);
		if (len == 0 && tls_unsent(cl.c) == 0 && n == 0) {
			p.fd = sv.fd;
			p.events = POLLIN;
			ck_assert_int_eq(poll(&p, 1, POLL_MS), 1);
		}
	}
	ck_assert(first_gone);
	ck_assert_uint_eq(got, first + second);
	ck_assert_uint_eq(evbuffer_get_length(plain), 0);
	ck_assert_uint_eq(tls_unsent(cl.c), 0);
	ck_assert(memcmp(evbuffer_pullup(in, -1), src, first + second) == 0);

	evbuffer_free(plain);
	evbuffer_free(in);
	free(src);
	end_close(&cl);
	end_close(&sv);
	tls_ctx_free(s);
	tls_ctx_free(c);
}
END_TEST

/*
 * Records that came with the client's Finished are read with it: the
 * socket will not be readable for them again, and tls_conn_buffered
 * says they wait.
 */
START_TEST(test_buffered_after_handshake)
{
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", NULL);
	struct tls_ctx	*c = client_ctx("ca.pem", "localhost", NULL, 0, NULL,
			    NULL);
	struct evbuffer	*plain, *in;
	struct end	 cl, sv;
	int		 i;

	ends(&cl, c, &sv, s);
	for (i = 0; i < MAX_TURNS && cl.r == TLS_AGAIN; i++) {
		cl.r = tls_handshake(cl.c, cl.fd);
		if (cl.r == TLS_AGAIN)
			ck_assert_int_eq(tls_handshake(sv.c, sv.fd), TLS_AGAIN);
	}
	ck_assert_int_eq(cl.r, TLS_DONE);
	ck_assert_ptr_nonnull(plain = evbuffer_new());
	ck_assert_ptr_nonnull(in = evbuffer_new());
	ck_assert_int_eq(evbuffer_add(plain, "hello", 5), 0);
	ck_assert_int_gt(tls_send(cl.c, cl.fd, plain), 0);
	ck_assert_uint_eq(evbuffer_get_length(plain), 0);

	ck_assert_int_eq(tls_handshake(sv.c, sv.fd), TLS_DONE);
	ck_assert_int_eq(tls_conn_buffered(sv.c), 1);
	ck_assert_int_eq(tls_recv(sv.c, sv.fd, in, 65536), 5);
	ck_assert(memcmp(evbuffer_pullup(in, -1), "hello", 5) == 0);
	ck_assert_int_eq(tls_conn_buffered(sv.c), 0);
	ck_assert_int_eq(tls_recv(sv.c, sv.fd, in, 65536), 0);

	evbuffer_free(plain);
	evbuffer_free(in);
	end_close(&cl);
	end_close(&sv);
	tls_ctx_free(s);
	tls_ctx_free(c);
}
END_TEST

/* The peer's end: what it sent first is delivered, then -1. */
START_TEST(test_peer_closed)
{
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", NULL);
	struct tls_ctx	*c = client_ctx("ca.pem", "localhost", NULL, 0, NULL,
			    NULL);
	struct evbuffer	*plain, *in;
	struct end	 cl, sv;
	ssize_t		 r;

	up(&cl, c, &sv, s);
	ck_assert_ptr_nonnull(plain = evbuffer_new());
	ck_assert_ptr_nonnull(in = evbuffer_new());
	ck_assert_int_eq(evbuffer_add(plain, "bye", 3), 0);
	ck_assert_int_gt(tls_send(cl.c, cl.fd, plain), 0);
	ck_assert_uint_eq(evbuffer_get_length(plain), 0);
	end_close(&cl);

	/* The records and the end are both there already. */
	r = tls_recv(sv.c, sv.fd, in, 65536);
	ck_assert_int_eq(r, 3);
	ck_assert(memcmp(evbuffer_pullup(in, -1), "bye", 3) == 0);
	ck_assert_int_eq(tls_recv(sv.c, sv.fd, in, 65536), -1);
	ck_assert_str_eq(tls_conn_error(sv.c), "peer closed the connection");
	ck_assert_int_eq(tls_conn_reset(sv.c), 0);
	/* And it stays over. */
	ck_assert_int_eq(tls_recv(sv.c, sv.fd, in, 65536), -1);
	ck_assert_str_eq(tls_conn_error(sv.c), "peer closed the connection");
	ck_assert_uint_eq(evbuffer_get_length(in), 3);

	evbuffer_free(plain);
	evbuffer_free(in);
	end_close(&sv);
	tls_ctx_free(s);
	tls_ctx_free(c);
}
END_TEST

/* A peer that closes with our records unread resets: said so. */
START_TEST(test_peer_reset)
{
	struct tls_ctx	*s = server_ctx("srv.pem", "srv.key", NULL);
	struct tls_ctx	*c = client_ctx("ca.pem", "localhost", NULL, 0, NULL,
			    NULL);
	struct evbuffer	*plain, *in;
	struct end	 cl, sv;
	ssize_t		 r;

	up(&cl, c, &sv, s);
	ck_assert_ptr_nonnull(plain = evbuffer_new());
	ck_assert_ptr_nonnull(in = evbuffer_new());
	ck_assert_int_eq(evbuffer_add(plain, "unread", 6), 0);
	ck_assert_int_gt(tls_send(cl.c, cl.fd, plain), 0);
	end_close(&sv);		/* with "unread" in its socket */

	r = tls_recv(cl.c, cl.fd, in, 65536);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(tls_conn_reset(cl.c), 1);
	ck_assert_ptr_nonnull(tls_conn_error(cl.c));
	ck_assert_str_ne(tls_conn_error(cl.c), "unknown error");
	/* Sending: the socket is gone. */
	ck_assert_int_eq(evbuffer_add(plain, "more", 4), 0);
	ck_assert_int_eq(tls_send(cl.c, cl.fd, plain), -1);
	ck_assert_uint_eq(evbuffer_get_length(plain), 4);

	evbuffer_free(plain);
	evbuffer_free(in);
	end_close(&cl);
	tls_ctx_free(s);
	tls_ctx_free(c);
}
END_TEST

/* Bytes that are no TLS, into a server's handshake: it fails, cleanly. */
START_TEST(test_garbage)
{
	static const char	 http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct tls_ctx		*s = server_ctx("srv.pem", "srv.key", NULL);
	unsigned char		 junk[4096];
	struct end		 sv;
	enum tls_result		 r = TLS_AGAIN;
	int			 fds[2], kind, i;
	struct pollfd		 p;

	for (kind = 0; kind < 4; kind++) {
		mkpair(fds);
		memset(&sv, 0, sizeof sv);
		sv.fd = fds[1];
		ck_assert_ptr_nonnull(sv.c = tls_conn_new(s));
		switch (kind) {
		case 0:		/* plain text */
			ck_assert_int_eq(write(fds[0], http, sizeof http - 1),
			    (ssize_t)sizeof http - 1);
			break;
		case 1:		/* random bytes */
			fill(junk, sizeof junk, 40);
			ck_assert_int_eq(write(fds[0], junk, sizeof junk),
			    (ssize_t)sizeof junk);
			break;
		case 2:		/* a handshake record header, then junk */
			fill(junk, sizeof junk, 41);
			memcpy(junk, "\x16\x03\x01\x0f\xfb\x01\x00\x0f\xf7"
			    "\x03\x03", 11);
			ck_assert_int_eq(write(fds[0], junk, sizeof junk),
			    (ssize_t)sizeof junk);
			break;
		case 3:		/* half a record header, then the end */
			ck_assert_int_eq(write(fds[0], "\x16\x03", 2), 2);
			break;
		}
		ck_assert_int_eq(shutdown(fds[0], SHUT_WR), 0);
		for (i = 0; i < MAX_TURNS && (r = tls_handshake(sv.c,
		    sv.fd)) == TLS_AGAIN; i++) {
			p.fd = sv.fd;
			p.events = POLLIN;
			ck_assert_int_eq(poll(&p, 1, POLL_MS), 1);
		}
		ck_assert_msg(r == TLS_FAIL, "kind %d: %d", kind, r);
		ck_assert_str_ne(tls_conn_error(sv.c), "unknown error");
		ck_assert_uint_gt(strlen(tls_conn_error(sv.c)), 0);
		/* Once failed, it stays failed. */
		ck_assert_int_eq(tls_handshake(sv.c, sv.fd), TLS_FAIL);
		close(fds[0]);
		end_close(&sv);
	}
	tls_ctx_free(s);
}
END_TEST

/* A client whose server answers junk fails too. */
START_TEST(test_garbage_to_client)
{
	struct tls_ctx	*c = client_ctx("ca.pem", "localhost", NULL, 0, NULL,
			    NULL);
	unsigned char	 junk[512], hello[8192];
	struct end	 cl;
	enum tls_result	 r;
	int		 fds[2], i;
	struct pollfd	 p;

	mkpair(fds);
	memset(&cl, 0, sizeof cl);
	cl.fd = fds[0];
	ck_assert_ptr_nonnull(cl.c = tls_conn_new(c));
	ck_assert_int_eq(tls_handshake(cl.c, cl.fd), TLS_AGAIN);
	/* The hello, read and dropped. */
	ck_assert_int_gt(read(fds[1], hello, sizeof hello), 0);
	fill(junk, sizeof junk, 50);
	ck_assert_int_eq(write(fds[1], junk, sizeof junk),
	    (ssize_t)sizeof junk);
	ck_assert_int_eq(shutdown(fds[1], SHUT_WR), 0);
	for (i = 0; i < MAX_TURNS && (r = tls_handshake(cl.c, cl.fd)) ==
	    TLS_AGAIN; i++) {
		p.fd = cl.fd;
		p.events = POLLIN;
		ck_assert_int_eq(poll(&p, 1, POLL_MS), 1);
	}
	ck_assert_int_eq(r, TLS_FAIL);
	ck_assert_str_ne(tls_conn_error(cl.c), "unknown error");
	close(fds[1]);
	end_close(&cl);
	tls_ctx_free(c);
}
END_TEST

/*
 * SIGHUP's reload: new sessions get the new key, one under way keeps
 * working; files that do not hold together leave the old context.
 */
START_TEST(test_reload)
{
	unsigned char	 p1[1][PIN_LEN], p2[1][PIN_LEN], pin[PIN_LEN];
	struct tls_ctx	*s, *c1, *c2;
	struct end	 cla, sva, cl, sv;
	char		 err[512], want[128], ps[PIN_STRLEN];

	memcpy(p1[0], pin_srv, PIN_LEN);
	memcpy(p2[0], pin_srv2, PIN_LEN);
	c1 = client_ctx(NULL, "localhost", (const unsigned char
	    (*)[PIN_LEN])p1, 1, NULL, NULL);
	c2 = client_ctx(NULL, "localhost", (const unsigned char
	    (*)[PIN_LEN])p2, 1, NULL, NULL);
	pki_copy("srv.pem", "rl.pem");
	pki_copy("srv.key", "rl.key");
	s = server_ctx("rl.pem", "rl.key", NULL);

	up(&cla, c1, &sva, s);
	xfer(&cla, &sva, 20000, 20000, 65536, 60);
	client_fails(c2, s, "matches no --tls-pin");

	/* The files change: nothing changes until the reload. */
	pki_copy("srv2.pem", "rl.pem");
	pki_copy("srv2.key", "rl.key");
	up(&cl, c1, &sv, s);
	end_close(&cl);
	end_close(&sv);
	ck_assert_int_eq(tls_ctx_reload(s, err, sizeof err), 0);
	ck_assert_int_eq(tls_cert_pin(path("rl.pem"), pin, err, sizeof err),
	    0);
	ck_assert_mem_eq(pin, pin_srv2, PIN_LEN);
	snprintf(want, sizeof want, "the server's key %s matches no",
	    pin_format(pin_srv2, ps, sizeof ps));
	client_fails(c1, s, want);
	up(&cl, c2, &sv, s);
	xfer(&cl, &sv, 1000, 1000, 65536, 61);
	end_close(&cl);
	end_close(&sv);

	/* The session of before goes on, both ways. */
	xfer(&cla, &sva, 20000, 20000, 65536, 62);
	xfer(&sva, &cla, 20000, 20000, 65536, 63);

	/* A key that does not match: refused, the last good one stays. */
	pki_copy("srv.key", "rl.key");
	err[0] = '\0';
	ck_assert_int_eq(tls_ctx_reload(s, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "does not match") != NULL, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, path("rl.key")));
	up(&cl, c2, &sv, s);
	end_close(&cl);
	end_close(&sv);
	/* A file gone: the same. */
	ck_assert_int_eq(unlink(path("rl.pem")), 0);
	ck_assert_int_eq(tls_ctx_reload(s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	up(&cl, c2, &sv, s);
	end_close(&cl);
	end_close(&sv);
	xfer(&cla, &sva, 10, 10, 65536, 64);

	end_close(&cla);
	end_close(&sva);
	tls_ctx_free(s);
	tls_ctx_free(c1);
	tls_ctx_free(c2);
}
END_TEST

/* ---- on the loop: handshake.c and the listen side's gate ---- */

struct hs_result {
	int			 done;
	enum handshake_result	 r;
	struct handshake	*h;
	struct timeval		 at;
};

static void
hs_donecb(struct handshake *h, enum handshake_result r, void *arg)
{
	struct hs_result	*res = arg;

	ck_assert_ptr_eq(h, res->h);
	ck_assert_int_eq(res->done, 0);
	res->done = 1;
	res->r = r;
	gettimeofday(&res->at, NULL);
	handshake_free(h);
}

static double
elapsed(const struct timeval *from, const struct timeval *to)
{
	return ((double)(to->tv_sec - from->tv_sec) +
	    (double)(to->tv_usec - from->tv_usec) / 1e6);
}

/* Turns the loop until *a (and *b, if given) are set, LOOP_S at most. */
static void
loop_until(struct event_base *base, const int *a, const int *b)
{
	struct timeval	start, now;

	gettimeofday(&start, NULL);
	while (!*a || (b != NULL && !*b)) {
		gettimeofday(&now, NULL);
		ck_assert_msg(elapsed(&start, &now) < LOOP_S, "loop: %d s",
		    LOOP_S);
		ck_assert_int_ne(event_base_loop(base, EVLOOP_ONCE), -1);
	}
}

/* A ticking timer, so that no turn of the loop blocks for long. */
static void
tickcb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
}

static struct event *
ticker(struct event_base *base)
{
	struct event	*ev;
	struct timeval	 tv = { 0, 50 * 1000 };

	ck_assert_ptr_nonnull(ev = event_new(base, -1, EV_PERSIST, tickcb,
	    NULL));
	ck_assert_int_eq(event_add(ev, &tv), 0);
	return (ev);
}

/* Both sides on the loop: both succeed. */
START_TEST(test_handshake_loop_ok)
{
	struct event_base	*base;
	struct event		*tick;
	struct tls_ctx		*s = server_ctx("srv.pem", "srv.key", NULL);
	struct tls_ctx		*c = client_ctx("ca.pem", "localhost", NULL,
				    0, NULL, NULL);
	struct hs_result	 rs, rc;
	struct end		 cl, sv;

	ck_assert_ptr_nonnull(base = event_base_new());
	tick = ticker(base);
	ends(&cl, c, &sv, s);
	memset(&rs, 0, sizeof rs);
	memset(&rc, 0, sizeof rc);
	ck_assert_ptr_nonnull(rs.h = handshake_start(base, sv.fd, sv.c, 5,
	    hs_donecb, &rs));
	ck_assert_ptr_nonnull(rc.h = handshake_start(base, cl.fd, cl.c, 5,
	    hs_donecb, &rc));
	/* Never from within handshake_start. */
	ck_assert_int_eq(rs.done + rc.done, 0);
	loop_until(base, &rs.done, &rc.done);
	ck_assert_int_eq(rs.r, HANDSHAKE_OK);
	ck_assert_int_eq(rc.r, HANDSHAKE_OK);
	xfer(&cl, &sv, 1000, 1000, 65536, 70);

	end_close(&cl);
	end_close(&sv);
	event_free(tick);
	event_base_free(base);
	tls_ctx_free(s);
	tls_ctx_free(c);
}
END_TEST

/* A failing handshake ends at once; a silent peer at the deadline. */
START_TEST(test_handshake_loop_fail_timeout)
{
	struct event_base	*base;
	struct event		*tick;
	struct tls_ctx		*s = server_ctx("srv.pem", "srv.key", NULL);
	struct hs_result	 res;
	struct timeval		 start;
	struct tls_conn		*conn;
	int			 fds[2];
	double			 took;

	ck_assert_ptr_nonnull(base = event_base_new());
	tick = ticker(base);

	/* Junk: failed, long before the deadline. */
	mkpair(fds);
	ck_assert_ptr_nonnull(conn = tls_conn_new(s));
	memset(&res, 0, sizeof res);
	gettimeofday(&start, NULL);
	ck_assert_ptr_nonnull(res.h = handshake_start(base, fds[1], conn, 5,
	    hs_donecb, &res));
	ck_assert_int_eq(write(fds[0], "GET / HTTP/1.0\r\n\r\n", 18), 18);
	loop_until(base, &res.done, NULL);
	ck_assert_int_eq(res.r, HANDSHAKE_FAILED);
	ck_assert_double_lt(elapsed(&start, &res.at), 4.0);
	tls_conn_free(conn);
	close(fds[0]);
	close(fds[1]);

	/* Silence: timed out after 1 s, not before. */
	mkpair(fds);
	ck_assert_ptr_nonnull(conn = tls_conn_new(s));
	memset(&res, 0, sizeof res);
	gettimeofday(&start, NULL);
	ck_assert_ptr_nonnull(res.h = handshake_start(base, fds[1], conn, 1,
	    hs_donecb, &res));
	loop_until(base, &res.done, NULL);
	ck_assert_int_eq(res.r, HANDSHAKE_TIMED_OUT);
	took = elapsed(&start, &res.at);
	ck_assert_msg(took >= 0.95 && took < 5.0, "timed out after %.3f s",
	    took);
	tls_conn_free(conn);
	close(fds[0]);
	close(fds[1]);

	/* Freed before it ends: nothing is called after. */
	mkpair(fds);
	ck_assert_ptr_nonnull(conn = tls_conn_new(s));
	memset(&res, 0, sizeof res);
	ck_assert_ptr_nonnull(res.h = handshake_start(base, fds[1], conn, 1,
	    hs_donecb, &res));
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	handshake_free(res.h);
	ck_assert_int_eq(write(fds[0], "junk", 4), 4);
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	ck_assert_int_eq(res.done, 0);
	tls_conn_free(conn);
	close(fds[0]);
	close(fds[1]);

	event_free(tick);
	event_base_free(base);
	tls_ctx_free(s);
}
END_TEST

struct gate_seen {
	int			 calls;
	int			 fd;
	struct tls_conn		*conn;
	struct sockaddr_in	 sin;
};

static void
gatecb(int fd, const struct sockaddr *sa, struct tls_conn *conn, void *arg)
{
	struct gate_seen	*g = arg;

	g->calls++;
	g->fd = fd;
	g->conn = conn;
	ck_assert_int_eq(sa->sa_family, AF_INET);
	memcpy(&g->sin, sa, sizeof g->sin);
}

static struct sockaddr *
fake_addr(struct sockaddr_in *sin, unsigned int port)
{
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return ((struct sockaddr *)sin);
}

/* Closed by the gate: its peer reads (an alert, maybe, and) the end. */
static int
closed_by_peer(int fd)
{
	char	buf[4096];
	ssize_t	n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		continue;
	if (n == -1)
		ck_assert_int_eq(errno, EAGAIN);
	return (n == 0);
}

/*
 * The listen side's gate: silent clients do not hold up a good one;
 * the 129th pending handshake pushes out the oldest; a client that
 * fails is refused and counted; the good one is handed on, its fd and
 * session with it.
 */
START_TEST(test_accept_gate)
{
	struct event_base	*base;
	struct event		*tick;
	struct tls_ctx		*s = server_ctx("srv.pem", "srv.key", NULL);
	struct tls_ctx		*c = client_ctx("ca.pem", "localhost", NULL,
				    0, NULL, NULL);
	struct tls_accept	*gate;
	struct gate_seen	 seen;
	struct hs_result	 rc;
	struct sockaddr_in	 sin;
	struct tls_conn		*cconn;
	int			 silent[TLS_ACCEPT_PENDING_MAX + 1][2];
	int			 good[2], bad[2], i, before;

	ck_assert_ptr_nonnull(base = event_base_new());
	tick = ticker(base);
	memset(&seen, 0, sizeof seen);
	seen.fd = -1;
	ck_assert_ptr_nonnull(gate = tls_accept_new(base, s, gatecb, &seen));

	/* As many silent ones as may wait: none is pushed out. */
	for (i = 0; i < TLS_ACCEPT_PENDING_MAX; i++) {
		mkpair(silent[i]);
		tls_accept_start(gate, silent[i][1], fake_addr(&sin,
		    20000 + (unsigned int)i));
	}
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	ck_assert_uint_eq(tls_accept_refused(gate), 0);
	ck_assert(!closed_by_peer(silent[0][0]));

	/* One more: the oldest goes. */
	mkpair(silent[i]);
	tls_accept_start(gate, silent[i][1], fake_addr(&sin, 20000 +
	    (unsigned int)i));
	ck_assert_uint_eq(tls_accept_refused(gate), 1);
	ck_assert(closed_by_peer(silent[0][0]));
	ck_assert(!closed_by_peer(silent[1][0]));
	ck_assert(!closed_by_peer(silent[TLS_ACCEPT_PENDING_MAX][0]));

	/* A good client, behind all of them: the next oldest goes. */
	mkpair(good);
	tls_accept_start(gate, good[1], fake_addr(&sin, 40000));
	ck_assert_uint_eq(tls_accept_refused(gate), 2);
	ck_assert(closed_by_peer(silent[1][0]));
	ck_assert(!closed_by_peer(silent[2][0]));
	ck_assert_ptr_nonnull(cconn = tls_conn_new(c));
	memset(&rc, 0, sizeof rc);
	ck_assert_ptr_nonnull(rc.h = handshake_start(base, good[0], cconn, 5,
	    hs_donecb, &rc));
	loop_until(base, &rc.done, &seen.calls);
	ck_assert_int_eq(rc.r, HANDSHAKE_OK);
	ck_assert_int_eq(seen.calls, 1);
	ck_assert_int_eq(seen.fd, good[1]);
	ck_assert_ptr_nonnull(seen.conn);
	ck_assert_str_eq(tls_conn_version(seen.conn), "TLSv1.3");
	ck_assert_uint_eq(ntohs(seen.sin.sin_port), 40000);
	ck_assert_uint_eq(tls_accept_refused(gate), 2);
	/* The silent ones are all still waiting. */
	ck_assert(!closed_by_peer(silent[2][0]));
	ck_assert(!closed_by_peer(silent[TLS_ACCEPT_PENDING_MAX][0]));

	/* The session handed on works, and is the callee's to keep. */
	{
		struct end	cl = { cconn, NULL, good[0], TLS_DONE };
		struct end	sv = { seen.conn, NULL, good[1], TLS_DONE };

		xfer(&cl, &sv, 5000, 5000, 65536, 80);
		xfer(&sv, &cl, 5000, 5000, 65536, 81);
		end_close(&cl);
		end_close(&sv);
	}

	/* A client that speaks no TLS: refused and counted. */
	before = (int)tls_accept_refused(gate);
	mkpair(bad);
	tls_accept_start(gate, bad[1], fake_addr(&sin, 40001));
	ck_assert_uint_eq(tls_accept_refused(gate), (uint64_t)before);
	ck_assert(!closed_by_peer(silent[2][0]));	/* 128 pending again */
	ck_assert_int_eq(write(bad[0], "SSH-2.0-OpenSSH_9.2\r\n", 21), 21);
	{
		struct timeval	start, now;

		gettimeofday(&start, NULL);
		while (tls_accept_refused(gate) == (uint64_t)before) {
			gettimeofday(&now, NULL);
			ck_assert(elapsed(&start, &now) < LOOP_S);
			ck_assert_int_ne(event_base_loop(base, EVLOOP_ONCE),
			    -1);
		}
	}
	ck_assert_uint_eq(tls_accept_refused(gate), (uint64_t)before + 1);
	ck_assert(closed_by_peer(bad[0]));
	ck_assert_int_eq(seen.calls, 1);

	/* Freed with handshakes pending: each is closed. */
	tls_accept_free(gate);
	for (i = 2; i <= TLS_ACCEPT_PENDING_MAX; i++) {
		ck_assert_msg(closed_by_peer(silent[i][0]), "silent %d", i);
		close(silent[i][0]);
	}
	close(silent[0][0]);
	close(silent[1][0]);
	close(bad[0]);
	ck_assert_uint_eq(tls_accept_refused(NULL), 0);
	tls_accept_free(NULL);
	event_free(tick);
	event_base_free(base);
	tls_ctx_free(s);
	tls_ctx_free(c);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("tls");
	tc = tcase_create("files");
	tcase_add_unchecked_fixture(tc, pki_setup, NULL);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_loop_test(tc, test_ctx_bad, 0, (int)NCTX_BADS);
	tcase_add_test(tc, test_ctx_good);
	tcase_add_test(tc, test_cert_pin);
	suite_add_tcase(s, tc);

	tc = tcase_create("handshake");
	tcase_add_unchecked_fixture(tc, pki_setup, NULL);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_ca_ok);
	tcase_add_test(tc, test_ca_wrong_name);
	tcase_add_test(tc, test_ca_untrusted);
	tcase_add_test(tc, test_raw_servers);
	tcase_add_test(tc, test_pin_match);
	tcase_add_test(tc, test_pin_mismatch);
	tcase_add_test(tc, test_pin_and_ca);
	tcase_add_test(tc, test_mutual);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_garbage_to_client);
	suite_add_tcase(s, tc);

	tc = tcase_create("records");
	tcase_add_unchecked_fixture(tc, pki_setup, NULL);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_data);
	tcase_add_test(tc, test_send_partial);
	tcase_add_test(tc, test_buffered_after_handshake);
	tcase_add_test(tc, test_peer_closed);
	tcase_add_test(tc, test_peer_reset);
	tcase_add_test(tc, test_reload);
	suite_add_tcase(s, tc);

	tc = tcase_create("loop");
	tcase_add_unchecked_fixture(tc, pki_setup, NULL);
	tcase_set_timeout(tc, TEST_TIMEOUT);
	tcase_add_test(tc, test_handshake_loop_ok);
	tcase_add_test(tc, test_handshake_loop_fail_timeout);
	tcase_add_test(tc, test_accept_gate);
	suite_add_tcase(s, tc);
	return (s);
}

#else /* !HAVE_OPENSSL */

/* Built without OpenSSL: every way in says so, in the same words. */
START_TEST(test_no_tls)
{
	struct tls_config	 cfg;
	unsigned char		 pin[PIN_LEN];
	char			 err[256];

	memset(&cfg, 0, sizeof cfg);
	cfg.server = 1;
	cfg.cert_file = "/nonexistent/cert.pem";
	err[0] = '\0';
	ck_assert_ptr_null(tls_ctx_new(&cfg, err, sizeof err));
	ck_assert_str_eq(err, "this build has no TLS support (configure "
	    "--with-openssl)");
	cfg.server = 0;
	cfg.cert_file = NULL;
	cfg.name = "localhost";
	err[0] = '\0';
	ck_assert_ptr_null(tls_ctx_new(&cfg, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "no TLS support"));
	err[0] = '\0';
	ck_assert_int_eq(tls_cert_pin("/nonexistent/cert.pem", pin, err,
	    sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no TLS support"));
	err[0] = '\0';
	ck_assert_int_eq(tls_ctx_reload(NULL, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no TLS support"));
	ck_assert_ptr_null(tls_library());
	ck_assert_ptr_null(tls_conn_new(NULL));
	tls_ctx_free(NULL);
	tls_conn_free(NULL);
}
END_TEST

static void
pki_cleanup(void)
{
}

static Suite *
tls_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("tls");
	tc = tcase_create("none");
	tcase_add_test(tc, test_no_tls);
	suite_add_tcase(s, tc);
	return (s);
}

#endif /* HAVE_OPENSSL */

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* A write to a peer that is gone must fail, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(tls_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pki_cleanup();
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
