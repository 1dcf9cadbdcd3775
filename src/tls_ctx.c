/*
 * tls_ctx.c - TLS contexts from the command line's files: our
 * certificate and key, checked before any peer comes (a key that does
 * not match, an expired certificate, a passphrase), the CA peers must
 * chain to, made again on SIGHUP; and --print-pin's pin. Sessions are
 * tls.c's.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "tls_private.h"

const char *
tls_library(void)
{
	static char	name[64];
	const char	*v = OpenSSL_version(OPENSSL_VERSION);
	size_t		 n;

	/* "OpenSSL 3.0.15 3 Sep 2024": the name and the version. */
	n = strcspn(v, " ");
	n += v[n] == ' ' ? 1 + strcspn(v + n + 1, " ") : 0;
	snprintf(name, sizeof name, "%.*s", (int)n, v);
	return (name);
}

/* OpenSSL's last error, in words, for a line that ends with it. */
const char *
tls_reason(void)
{
	static char	 buf[64];
	unsigned long	 e = ERR_peek_last_error();
	const char	*r = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (r != NULL)
		return (r);
	/* An alert OpenSSL has no words for: the peer's number, then. */
	if (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET) {
		snprintf(buf, sizeof buf, "TLS alert %d from the peer",
		    ERR_GET_REASON(e) - SSL_AD_REASON_OFFSET);
		return (buf);
	}
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		return (buf);
	}
	return ("unknown error");
}

/* A file without what was looked for: PEM's own words say no more. */
static const char *
tls_pem_reason(void)
{
	unsigned long	e = ERR_peek_last_error();

	if (ERR_GET_LIB(e) == ERR_LIB_PEM || (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == ERR_R_PEM_LIB))
		return ("none found");
	return (tls_reason());
}

/* The file can be opened: say why not in the system's words. */
static int
tls_readable(const char *opt, const char *file, char *err, size_t errlen)
{
	FILE	*f;

	if ((f = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "%s %s: %s", opt, file, strerror(errno));
		return (-1);
	}
	fclose(f);
	return (0);
}

/* An ASN.1 time as text, for a line about expiry. */
static void
tls_time(const ASN1_TIME *t, char *buf, size_t len)
{
	BIO	*m;
	int	 n;

	buf[0] = '\0';
	if ((m = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (ASN1_TIME_print(m, t) && (n = BIO_read(m, buf, (int)len - 1)) > 0)
		buf[n] = '\0';
	BIO_free(m);
}

/* The PEM file holds an encrypted private key. */
static int
tls_key_encrypted(const char *file)
{
	FILE	*f;
	char	 line[256];
	int	 found = 0;

	if ((f = fopen(file, "r")) == NULL)
		return (0);
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, "ENCRYPTED") != NULL;
	fclose(f);
	return (found);
}

/*
 * A key with a passphrase would have OpenSSL ask on the terminal, at
 * start and at every SIGHUP, with the loop stopped: refuse it instead.
 */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return (0);
}

/* Our certificate and key, checked as far as can be before any peer. */
static int
tls_load_identity(SSL_CTX *ctx, const struct tls_config *cfg, char *err,
    size_t errlen)
{
	const char	*key = cfg->key_file != NULL ? cfg->key_file :
			    cfg->cert_file;
	X509		*x;
	char		 when[64];

	if (tls_readable("--tls-cert", cfg->cert_file, err, errlen) != 0 ||
	    tls_readable("--tls-key", key, err, errlen) != 0)
		return (-1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
		snprintf(err, errlen, "--tls-cert %s: no PEM certificate "
		    "(%s)", cfg->cert_file, tls_pem_reason());
		return (-1);
	}
	SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		if (tls_key_encrypted(key))
			snprintf(err, errlen, "--tls-key %s: has a passphrase; "
			    "give the key without one (openssl pkey -in %s "
			    "-out FILE)", key, key);
		else if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH)
			snprintf(err, errlen, "--tls-key %s: does not match "
			    "the certificate in %s", key, cfg->cert_file);
		else if (cfg->key_file == NULL)
			snprintf(err, errlen, "--tls-cert %s: no PEM private "
			    "key in it (%s); name its file with --tls-key",
			    key, tls_pem_reason());
		else
			snprintf(err, errlen, "--tls-key %s: no PEM private "
			    "key (%s)", key, tls_pem_reason());
		return (-1);
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "--tls-key %s: does not match the "
		    "certificate in %s", key, cfg->cert_file);
		return (-1);
	}
	if ((x = SSL_CTX_get0_certificate(ctx)) == NULL) {
		snprintf(err, errlen, "--tls-cert %s: no certificate",
		    cfg->cert_file);
		return (-1);
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		tls_time(X509_get0_notAfter(x), when, sizeof when);
		snprintf(err, errlen, "--tls-cert %s: the certificate expired "
		    "on %s", cfg->cert_file, when);
		return (-1);
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
		tls_time(X509_get0_notBefore(x), when, sizeof when);
		snprintf(err, errlen, "--tls-cert %s: the certificate is not "
		    "valid before %s", cfg->cert_file, when);
		return (-1);
	}
	return (0);
}

/* The CA that peers' certificates must chain to. */
static int
tls_load_ca(SSL_CTX *ctx, const struct tls_config *cfg, char *err,
    size_t errlen)
{
	const char		*opt = cfg->server ? "--tls-client-ca" :
				    "--tls-ca";
	STACK_OF(X509_NAME)	*names;

	if (tls_readable(opt, cfg->ca_file, err, errlen) != 0)
		return (-1);
	if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(cfg->ca_file)) == NULL) {
		snprintf(err, errlen, "%s %s: no PEM certificate (%s)", opt,
		    cfg->ca_file, tls_pem_reason());
		return (-1);
	}
	/* The server names the CAs it takes; a client needs no list. */
	if (cfg->server)
		SSL_CTX_set_client_CA_list(ctx, names);
	else
		sk_X509_NAME_pop_free(names, X509_NAME_free);
	return (0);
}

static SSL_CTX *
tls_ssl_ctx(const struct tls_config *cfg, char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	long	 op = SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET;

	ctx = SSL_CTX_new(cfg->server ? TLS_server_method() :
	    TLS_client_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "TLS: %s", tls_reason());
		return (NULL);
	}
#ifdef SSL_OP_NO_RENEGOTIATION
	op |= SSL_OP_NO_RENEGOTIATION;
#endif
	SSL_CTX_set_options(ctx, op);
	/*
	 * No resumption: a session cache a stranger's handshakes could fill,
	 * and tickets on every link, to save one round trip per reconnect.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
#ifdef HAVE_SSL_CTX_SET_NUM_TICKETS
	(void)SSL_CTX_set_num_tickets(ctx, 0);
#endif
	/* TLS 1.3 where both have it; TLS 1.2 the floor. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		snprintf(err, errlen, "TLS: %s", tls_reason());
		goto fail;
	}
	if (cfg->cert_file != NULL &&
	    tls_load_identity(ctx, cfg, err, errlen) != 0)
		goto fail;
	if (cfg->ca_file != NULL && tls_load_ca(ctx, cfg, err, errlen) != 0)
		goto fail;
	if (cfg->server) {
		if (cfg->ca_file != NULL)
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
			    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	} else if (cfg->ca_file != NULL)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	else if (cfg->npins == 0) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			snprintf(err, errlen, "--tls: the system's trust "
			    "store: %s", tls_reason());
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	/* else: pins only, checked once the handshake is done. */
	ERR_clear_error();
	return (ctx);

fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return (NULL);
}

static char *
tls_strdup(const char *s)
{
	char	*d;

	if (s == NULL)
		return (NULL);
	if ((d = strdup(s)) == NULL)
		abort();
	return (d);
}

struct tls_ctx *
tls_ctx_new(const struct tls_config *cfg, char *err, size_t errlen)
{
	struct tls_ctx	*t;

	if (tls_bio() == NULL) {
		snprintf(err, errlen, "TLS: %s", tls_reason());
		return (NULL);
	}
	if ((t = calloc(1, sizeof *t)) == NULL) {
		snprintf(err, errlen, "TLS: out of memory");
		return (NULL);
	}
	t->cfg = *cfg;
	t->cfg.cert_file = tls_strdup(cfg->cert_file);
	t->cfg.key_file = tls_strdup(cfg->key_file);
	t->cfg.ca_file = tls_strdup(cfg->ca_file);
	t->cfg.name = tls_strdup(cfg->name);
	if ((t->ssl_ctx = tls_ssl_ctx(&t->cfg, err, errlen)) == NULL) {
		tls_ctx_free(t);
		return (NULL);
	}
	return (t);
}

/*
 * Reads the files again: new connections use them, sessions under way
 * keep the context they began with (OpenSSL counts its references).
 * On failure the old context stays.
 */
int
tls_ctx_reload(struct tls_ctx *t, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = tls_ssl_ctx(&t->cfg, err, errlen)) == NULL)
		return (-1);
	SSL_CTX_free(t->ssl_ctx);
	t->ssl_ctx = ctx;
	return (0);
}

void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ssl_ctx);
	free((char *)t->cfg.cert_file);
	free((char *)t->cfg.key_file);
	free((char *)t->cfg.ca_file);
	free((char *)t->cfg.name);
	free(t);
}

/* The SHA-256 of a certificate's SubjectPublicKeyInfo. */
int
tls_x509_pin(X509 *x, unsigned char pin[PIN_LEN])
{
	unsigned char	*der = NULL;
	unsigned int	 mdlen = 0;
	int		 len, ok;

	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0)
		return (-1);
	ok = EVP_Digest(der, (size_t)len, pin, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return (ok == 1 && mdlen == PIN_LEN ? 0 : -1);
}

/* --print-pin: the pin of the (first) certificate in a PEM file. */
int
tls_cert_pin(const char *file, unsigned char pin[PIN_LEN], char *err,
    size_t errlen)
{
	FILE	*f;
	X509	*x;
	int	 rc;

	if ((f = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "--tls-cert %s: %s", file,
		    strerror(errno));
		return (-1);
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		snprintf(err, errlen, "--tls-cert %s: no PEM certificate (%s)",
		    file, tls_pem_reason());
		ERR_clear_error();
		return (-1);
	}
	if ((rc = tls_x509_pin(x, pin)) != 0)
		snprintf(err, errlen, "--tls-cert %s: cannot hash its public "
		    "key (%s)", file, tls_reason());
	X509_free(x);
	ERR_clear_error();
	return (rc);
}
