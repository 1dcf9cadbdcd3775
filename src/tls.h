/*
 * tls.h - TLS on the link (issue 13). A context is made from the
 * command line's files and can be made again from them (SIGHUP); a
 * connection is a TLS session whose records go through two buffers of
 * its own, so the link keeps its own reads and writes: one read of the
 * socket is decrypted in one pass, one batch of frames becomes records
 * that leave in one write.
 *
 * Built without OpenSSL (configure --without-openssl), tls_none.c
 * stands in: every context fails to start, saying so.
 */
#ifndef UOT_TLS_H
#define UOT_TLS_H

#include <sys/types.h>
#include <stddef.h>

#include "pin.h"

#define TLS_MAX_PINS		4
#define TLS_HANDSHAKE_TIMEOUT_S	10

struct evbuffer;
struct tls_ctx;
struct tls_conn;

struct tls_config {
	int		 server;	/* the listen side */
	const char	*cert_file;	/* ours; the client's is optional */
	const char	*key_file;	/* NULL: in cert_file */
	const char	*ca_file;	/* server: peers' CA (mutual TLS);
					 * client: the server's, NULL: the
					 * system's, unless only pins */
	const char	*name;		/* client: SNI and name to check */
	unsigned char	 pins[TLS_MAX_PINS][PIN_LEN];
	size_t		 npins;
};

enum tls_result {
	TLS_DONE,	/* handshake complete */
	TLS_AGAIN,	/* wait for the socket */
	TLS_FAIL	/* failed: tls_conn_error() says why */
};

/* tls.c or tls_none.c */
const char	*tls_library(void);
struct tls_ctx	*tls_ctx_new(const struct tls_config *, char *, size_t);
int		 tls_ctx_reload(struct tls_ctx *, char *, size_t);
void		 tls_ctx_free(struct tls_ctx *);
int		 tls_cert_pin(const char *, unsigned char [PIN_LEN], char *,
		    size_t);

struct tls_conn	*tls_conn_new(struct tls_ctx *);
void		 tls_conn_free(struct tls_conn *);
int		 tls_conn_set_name(struct tls_conn *, const char *);
enum tls_result	 tls_handshake(struct tls_conn *, int);
int		 tls_conn_want_write(const struct tls_conn *);
int		 tls_conn_buffered(const struct tls_conn *);
int		 tls_conn_reset(const struct tls_conn *);
const char	*tls_conn_error(const struct tls_conn *);
const char	*tls_conn_version(const struct tls_conn *);
ssize_t		 tls_recv(struct tls_conn *, int, struct evbuffer *, size_t);
ssize_t		 tls_send(struct tls_conn *, int, struct evbuffer *);
size_t		 tls_unsent(const struct tls_conn *);

#endif
