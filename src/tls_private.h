/*
 * tls_private.h - what the two halves of TLS share: a context made from
 * the command line's files (tls_ctx.c), and the sessions made from it
 * (tls.c). Nothing else includes this.
 */
#ifndef UOT_TLS_PRIVATE_H
#define UOT_TLS_PRIVATE_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

struct tls_ctx {
	struct tls_config	 cfg;		/* strings our own */
	SSL_CTX			*ssl_ctx;
};

/* tls.c */
BIO_METHOD	*tls_bio(void);

/* tls_ctx.c */
const char	*tls_reason(void);
int		 tls_x509_pin(X509 *, unsigned char [PIN_LEN]);

#endif
