/*
 * tls.c - TLS sessions on the link, with OpenSSL (1.1.1 or later) or
 * LibreSSL; their contexts are tls_ctx.c's.
 *
 * A session's records go through a BIO of ours over two evbuffers:
 * what came from the socket (cin) and what is to go to it (cout). The
 * socket I/O stays the link's kind: one read() per readable event,
 * decrypted whole; one batch of frames encrypted into records that
 * leave in one writev(). libevent's bufferevent_openssl would write
 * each chain of the output as a record of its own, with a write(2)
 * each, and pace itself, not by the fair queue's short send queue.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "tls_private.h"

/* Most bytes read from the socket per call during a handshake. */
#define TLS_HANDSHAKE_READ	(16 * 1024)
/* Plaintext encrypted per SSL_write: one full record. */
#define TLS_RECORD		16384

struct tls_conn {
	SSL			*ssl;
	int			 server;
	struct evbuffer		*cin;		/* records read, not consumed */
	struct evbuffer		*cout;		/* records to write */
	size_t			 inflight;	/* plaintext in cout's records */
	int			 eof;		/* close_notify or FIN seen */
	int			 reset;		/* ECONNRESET or EPIPE */
	unsigned char		 pins[TLS_MAX_PINS][PIN_LEN];
	size_t			 npins;
	char			 version[96];
	char			 error[256];
};

static BIO_METHOD	*tls_bio_method;
static unsigned char	 tls_stage[TLS_RECORD];

/* ---- the BIO: records to and from the connection's evbuffers ---- */

static int
tls_bio_write(BIO *b, const char *data, int len)
{
	struct tls_conn	*c = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return (0);
	if (evbuffer_add(c->cout, data, (size_t)len) != 0)
		return (-1);
	return (len);
}

static int
tls_bio_read(BIO *b, char *buf, int len)
{
	struct tls_conn	*c = BIO_get_data(b);
	int		 n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return (0);
	if (evbuffer_get_length(c->cin) == 0) {
		BIO_set_retry_read(b);
		return (-1);
	}
	n = evbuffer_remove(c->cin, buf, (size_t)len);
	return (n);
}

static long
tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls_conn	*c = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return (1);
	case BIO_CTRL_PENDING:
		return ((long)evbuffer_get_length(c->cin));
	case BIO_CTRL_WPENDING:
		return ((long)evbuffer_get_length(c->cout));
	default:
		return (0);
	}
}

static int
tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return (1);
}

BIO_METHOD *
tls_bio(void)
{
	if (tls_bio_method != NULL)
		return (tls_bio_method);
	tls_bio_method = BIO_meth_new(BIO_get_new_index() |
	    BIO_TYPE_SOURCE_SINK, "udp-over-tcp link");
	if (tls_bio_method == NULL)
		return (NULL);
	BIO_meth_set_write(tls_bio_method, tls_bio_write);
	BIO_meth_set_read(tls_bio_method, tls_bio_read);
	BIO_meth_set_ctrl(tls_bio_method, tls_bio_ctrl);
	BIO_meth_set_create(tls_bio_method, tls_bio_create);
	return (tls_bio_method);
}

/* ---- connections ---- */

/* A name that is an address is checked as one, and sent as no SNI. */
static int
tls_is_ip(const char *name)
{
	ASN1_OCTET_STRING	*ip = a2i_IPADDRESS(name);

	if (ip == NULL)
		return (0);
	ASN1_OCTET_STRING_free(ip);
	return (1);
}

struct tls_conn *
tls_conn_new(struct tls_ctx *t)
{
	struct tls_conn	*c;
	BIO		*bio;
	const char	*name = t->cfg.name;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return (NULL);
	c->server = t->cfg.server;
	memcpy(c->pins, t->cfg.pins, sizeof c->pins);
	c->npins = t->cfg.npins;
	if ((c->cin = evbuffer_new()) == NULL ||
	    (c->cout = evbuffer_new()) == NULL ||
	    (c->ssl = SSL_new(t->ssl_ctx)) == NULL ||
	    (bio = BIO_new(tls_bio())) == NULL)
		goto fail;
	BIO_set_data(bio, c);
	SSL_set_bio(c->ssl, bio, bio);
	if (c->server)
		SSL_set_accept_state(c->ssl);
	else {
		SSL_set_connect_state(c->ssl);
		if (name != NULL && tls_conn_set_name(c, name) != 0)
			goto fail;
	}
	return (c);

fail:
	ERR_clear_error();
	tls_conn_free(c);
	return (NULL);
}

/*
 * Client: the name to ask for (SNI) and to find in the server's
 * certificate; an address is checked as one, and asked for by none.
 */
int
tls_conn_set_name(struct tls_conn *c, const char *name)
{
	int	rc;

	if (!tls_is_ip(name))
		rc = SSL_set_tlsext_host_name(c->ssl, name) == 1 &&
		    SSL_set1_host(c->ssl, name) == 1 ? 0 : -1;
	else
		rc = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		    name) == 1 ? 0 : -1;
	ERR_clear_error();
	return (rc);
}

void
tls_conn_free(struct tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_free(c->ssl);	/* and the BIO */
	if (c->cin != NULL)
		evbuffer_free(c->cin);
	if (c->cout != NULL)
		evbuffer_free(c->cout);
	free(c);
}

const char *
tls_conn_error(const struct tls_conn *c)
{
	return (c->error[0] != '\0' ? c->error : "unknown error");
}

const char *
tls_conn_version(const struct tls_conn *c)
{
	return (c->version);
}

int
tls_conn_want_write(const struct tls_conn *c)
{
	return (evbuffer_get_length(c->cout) > 0);
}

/* Something is read but not yet decrypted: no readable event will say. */
int
tls_conn_buffered(const struct tls_conn *c)
{
	return (evbuffer_get_length(c->cin) > 0 || SSL_pending(c->ssl) > 0);
}

int
tls_conn_reset(const struct tls_conn *c)
{
	return (c->reset);
}

size_t
tls_unsent(const struct tls_conn *c)
{
	return (evbuffer_get_length(c->cout));
}

/* The peer's first bytes were no TLS record: plain TCP, or HTTP. */
static int
tls_not_tls(void)
{
	unsigned long	e = ERR_peek_last_error();

	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return (0);
	switch (ERR_GET_REASON(e)) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_UNKNOWN_PROTOCOL:
		return (1);
	default:
		return (0);
	}
}

/* Why OpenSSL failed a call, into c->error; ERR's queue emptied. */
static void
tls_set_error(struct tls_conn *c, int ret)
{
	long	v;

	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_SSL:
		snprintf(c->error, sizeof c->error, "%s%s%s",
		    tls_not_tls() ? "not TLS (" : "", tls_reason(),
		    tls_not_tls() ? "): is TLS on at both ends?" : "");
		v = SSL_get_verify_result(c->ssl);
		/* The check's own words, when it is what failed. */
		if (v != X509_V_OK && ERR_GET_REASON(ERR_peek_last_error()) ==
		    SSL_R_CERTIFICATE_VERIFY_FAILED)
			snprintf(c->error + strlen(c->error), sizeof c->error -
			    strlen(c->error), " (%s)",
			    X509_verify_cert_error_string(v));
		break;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(c->error, sizeof c->error, "peer closed the "
		    "connection");
		break;
	default:
		snprintf(c->error, sizeof c->error, "TLS error %d",
		    SSL_get_error(c->ssl, ret));
		break;
	}
	ERR_clear_error();
}

/* The server's key must be one of the pins, when there are pins. */
static int
tls_check_pins(struct tls_conn *c)
{
	X509		*x;
	unsigned char	 pin[PIN_LEN];
	char		 s[PIN_STRLEN];
	size_t		 i;
	int		 rc;

	if (c->server || c->npins == 0)
		return (0);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L && !defined(LIBRESSL_VERSION_NUMBER)
	x = SSL_get1_peer_certificate(c->ssl);
#else
	x = SSL_get_peer_certificate(c->ssl);
#endif
	if (x == NULL) {
		snprintf(c->error, sizeof c->error, "the server sent no "
		    "certificate");
		return (-1);
	}
	rc = tls_x509_pin(x, pin);
	X509_free(x);
	if (rc != 0) {
		snprintf(c->error, sizeof c->error, "cannot hash the "
		    "server's key");
		ERR_clear_error();
		return (-1);
	}
	for (i = 0; i < c->npins; i++)
		if (CRYPTO_memcmp(pin, c->pins[i], PIN_LEN) == 0)
			return (0);
	snprintf(c->error, sizeof c->error, "the server's key %s matches no "
	    "--tls-pin", pin_format(pin, s, sizeof s));
	return (-1);
}

/*
 * For the line that says the link is up: the version, and the name of
 * a client that showed a certificate (printable characters only: a
 * stranger's CA may have put anything there).
 */
static void
tls_describe(struct tls_conn *c)
{
	X509	*x;
	char	 cn[64];
	int	 n, i;

	snprintf(c->version, sizeof c->version, "%s", SSL_get_version(c->ssl));
	if (!c->server)
		return;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L && !defined(LIBRESSL_VERSION_NUMBER)
	x = SSL_get1_peer_certificate(c->ssl);
#else
	x = SSL_get_peer_certificate(c->ssl);
#endif
	if (x == NULL)
		return;
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof cn);
	X509_free(x);
	if (n <= 0)
		return;
	for (i = 0; i < n && cn[i] != '\0'; i++)
		if (cn[i] < 0x20 || cn[i] > 0x7e)
			cn[i] = '?';
	snprintf(c->version + strlen(c->version), sizeof c->version -
	    strlen(c->version), ", client CN=%s", cn);
}

/*
 * One read of the socket into cin, at most max bytes. Returns the bytes
 * read, 0 when there are none now, -1 at end of stream or on error
 * (c->error says which).
 */
static ssize_t
tls_read_socket(struct tls_conn *c, int fd, size_t max)
{
	struct evbuffer_iovec	v[2];
	ssize_t			n;
	size_t			left;
	int			nv, i;

	if ((nv = evbuffer_reserve_space(c->cin, (ev_ssize_t)max, v, 2)) <= 0) {
		snprintf(c->error, sizeof c->error, "out of memory");
		return (-1);
	}
	n = readv(fd, (struct iovec *)v, nv);
	if (n <= 0) {
		evbuffer_commit_space(c->cin, v, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return (0);
		if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
			c->reset = 1;
		snprintf(c->error, sizeof c->error, "%s", n == 0 ?
		    "peer closed the connection" : strerror(errno));
		return (-1);
	}
	for (i = 0, left = (size_t)n; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(c->cin, v, nv);
	return (n);
}

/* Writes what cout holds. Returns the bytes written, -1 on error. */
static ssize_t
tls_write_socket(struct tls_conn *c, int fd)
{
	int	n;

	if (evbuffer_get_length(c->cout) == 0)
		return (0);
	n = evbuffer_write(c->cout, fd);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (0);
		if (errno == ECONNRESET || errno == EPIPE)
			c->reset = 1;
		snprintf(c->error, sizeof c->error, "%s", strerror(errno));
		return (-1);
	}
	return (n);
}

/*
 * One step of the handshake over the socket: what came is read, what
 * is to go is written. TLS_AGAIN: call again when the socket is
 * readable (or writable, when tls_conn_want_write()).
 */
enum tls_result
tls_handshake(struct tls_conn *c, int fd)
{
	int	r;

	if (tls_read_socket(c, fd, TLS_HANDSHAKE_READ) < 0) {
		if (strcmp(c->error, "peer closed the connection") == 0)
			snprintf(c->error, sizeof c->error, "peer closed the "
			    "connection during the handshake");
		/* What came before the end may be the peer's alert. */
		if (evbuffer_get_length(c->cin) == 0)
			return (TLS_FAIL);
	}
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r != 1) {
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			if (tls_write_socket(c, fd) < 0)
				return (TLS_FAIL);
			if (c->error[0] != '\0')	/* the read's end */
				return (TLS_FAIL);
			return (TLS_AGAIN);
		default:
			tls_set_error(c, r);
			(void)tls_write_socket(c, fd);	/* the alert */
			return (TLS_FAIL);
		}
	}
	if (tls_check_pins(c) != 0)
		return (TLS_FAIL);
	if (tls_write_socket(c, fd) < 0)
		return (TLS_FAIL);
	tls_describe(c);
	c->error[0] = '\0';
	return (TLS_DONE);
}

/*
 * Reads the socket once (at most max bytes of records) and decrypts
 * every whole record there is into in. Returns the plaintext bytes
 * added (0: none yet), or -1 when the connection is over: closed, reset
 * or broken (c->error says which).
 */
ssize_t
tls_recv(struct tls_conn *c, int fd, struct evbuffer *in, size_t max)
{
	struct evbuffer_iovec	v;
	ssize_t			got = 0;
	int			n;

	if (!c->eof && tls_read_socket(c, fd, max) < 0)
		c->eof = 1;
	for (;;) {
		if (evbuffer_reserve_space(in, TLS_RECORD, &v, 1) != 1) {
			snprintf(c->error, sizeof c->error, "out of memory");
			return (-1);
		}
		ERR_clear_error();
		n = SSL_read(c->ssl, v.iov_base, (int)v.iov_len);
		if (n <= 0) {
			evbuffer_commit_space(in, &v, 0);
			break;
		}
		v.iov_len = (size_t)n;
		evbuffer_commit_space(in, &v, 1);
		got += n;
	}
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		break;
	default:
		/* What came before the end is delivered first. */
		if (!c->eof || c->error[0] == '\0')
			tls_set_error(c, n);
		c->eof = 1;
		break;
	}
	ERR_clear_error();
	if (got > 0)
		return (got);
	return (c->eof ? -1 : 0);
}

/*
 * Sends plaintext: the whole of plain becomes records (one per 16 KiB)
 * when the last batch is gone, and as much of the records as the
 * socket takes is written. The plaintext stays in plain until its
 * records are all written, so the link counts it sent only then.
 * Returns the bytes written, -1 when the connection broke.
 */
ssize_t
tls_send(struct tls_conn *c, int fd, struct evbuffer *plain)
{
	struct evbuffer_ptr	pos;
	size_t			len, off, chunk;
	ssize_t			n;
	int			r;

	len = evbuffer_get_length(plain);
	if (c->inflight == 0 && len > 0) {
		if (evbuffer_ptr_set(plain, &pos, 0, EVBUFFER_PTR_SET) != 0)
			return (-1);
		for (off = 0; off < len; off += chunk) {
			chunk = len - off < TLS_RECORD ? len - off : TLS_RECORD;
			if (evbuffer_copyout_from(plain, &pos, tls_stage,
			    chunk) != (ev_ssize_t)chunk)
				return (-1);
			ERR_clear_error();
			if ((r = SSL_write(c->ssl, tls_stage, (int)chunk)) !=
			    (int)chunk) {
				tls_set_error(c, r);
				errno = EPROTO;
				return (-1);
			}
			(void)evbuffer_ptr_set(plain, &pos, chunk,
			    EVBUFFER_PTR_ADD);
		}
		c->inflight = len;
	}
	if ((n = tls_write_socket(c, fd)) < 0)
		return (-1);
	if (evbuffer_get_length(c->cout) == 0 && c->inflight > 0) {
		evbuffer_drain(plain, c->inflight);
		c->inflight = 0;
	}
	return (n);
}
