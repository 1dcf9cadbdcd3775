/*
 * tls_none.c - tls.h in a build without OpenSSL: no context can be
 * made, so no connection ever exists, and the command line says why.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tls.h"

#define TLS_NONE	"this build has no TLS support (configure " \
			"--with-openssl)"

const char *
tls_library(void)
{
	return (NULL);
}

struct tls_ctx *
tls_ctx_new(const struct tls_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	snprintf(err, errlen, "%s", TLS_NONE);
	return (NULL);
}

int
tls_ctx_reload(struct tls_ctx *t, char *err, size_t errlen)
{
	(void)t;
	snprintf(err, errlen, "%s", TLS_NONE);
	return (-1);
}

void
tls_ctx_free(struct tls_ctx *t)
{
	(void)t;
}

int
tls_cert_pin(const char *file, unsigned char pin[PIN_LEN], char *err,
    size_t errlen)
{
	(void)file;
	(void)pin;
	snprintf(err, errlen, "%s", TLS_NONE);
	return (-1);
}

/* Never called: there is no context to make a connection from. */
struct tls_conn *
tls_conn_new(struct tls_ctx *t)
{
	(void)t;
	return (NULL);
}

void
tls_conn_free(struct tls_conn *c)
{
	(void)c;
}

int
tls_conn_set_name(struct tls_conn *c, const char *name)
{
	(void)c;
	(void)name;
	return (-1);
}

enum tls_result
tls_handshake(struct tls_conn *c, int fd)
{
	(void)c;
	(void)fd;
	return (TLS_FAIL);
}

int
tls_conn_want_write(const struct tls_conn *c)
{
	(void)c;
	return (0);
}

int
tls_conn_buffered(const struct tls_conn *c)
{
	(void)c;
	return (0);
}

int
tls_conn_reset(const struct tls_conn *c)
{
	(void)c;
	return (0);
}

const char *
tls_conn_error(const struct tls_conn *c)
{
	(void)c;
	return (TLS_NONE);
}

const char *
tls_conn_version(const struct tls_conn *c)
{
	(void)c;
	return ("");
}

ssize_t
tls_recv(struct tls_conn *c, int fd, struct evbuffer *in, size_t max)
{
	(void)c;
	(void)fd;
	(void)in;
	(void)max;
	return (-1);
}

ssize_t
tls_send(struct tls_conn *c, int fd, struct evbuffer *plain)
{
	(void)c;
	(void)fd;
	(void)plain;
	return (-1);
}

size_t
tls_unsent(const struct tls_conn *c)
{
	(void)c;
	return (0);
}
