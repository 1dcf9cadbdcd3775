/*
 * fuzz_tls_server.c - libFuzzer target for the listen side's first
 * contact (src/tls.c): a stranger's bytes into a server session's
 * handshake, through the BIO over evbuffers that tls.c puts under
 * OpenSSL. Built only with OpenSSL.
 *
 * The input is what a client sends, whole, before it closes its side:
 * it is written into one end of a socket pair, and tls_handshake() is
 * stepped on the other until it is no longer TLS_AGAIN. It must end,
 * within a bound, and a failure must say why (tls_conn_error() has
 * something better than its "unknown error" fallback). Should it ever
 * succeed, tls_recv() must then end the same way.
 *
 * The server's key and certificate (EC P-256, self-signed) are made
 * once, with OpenSSL's API, in a directory that is removed again as
 * soon as the context has read them.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fuzz.h"
#include "tls.h"

#define FZ_MAX_INPUT	(64 * 1024)	/* what a socket pair holds at once */
#define FZ_MAX_STEPS	64

static struct tls_ctx	*fz_ctx;

static EVP_PKEY *
fz_key(void)
{
	EVP_PKEY_CTX	*pc;
	EVP_PKEY	*k = NULL;

	FUZZ_CHECK((pc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL)) != NULL);
	FUZZ_CHECK(EVP_PKEY_keygen_init(pc) == 1);
	FUZZ_CHECK(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pc,
	    NID_X9_62_prime256v1) == 1);
	FUZZ_CHECK(EVP_PKEY_keygen(pc, &k) == 1);
	EVP_PKEY_CTX_free(pc);
	return (k);
}

static X509 *
fz_cert(EVP_PKEY *k)
{
	X509		*x;
	X509_NAME	*n;

	FUZZ_CHECK((x = X509_new()) != NULL);
	FUZZ_CHECK(X509_set_version(x, 2) == 1);
	FUZZ_CHECK(ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1);
	FUZZ_CHECK(X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL);
	FUZZ_CHECK(X509_gmtime_adj(X509_getm_notAfter(x), 86400) != NULL);
	FUZZ_CHECK(X509_set_pubkey(x, k) == 1);
	n = X509_get_subject_name(x);
	FUZZ_CHECK(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0) == 1);
	FUZZ_CHECK(X509_set_issuer_name(x, n) == 1);
	FUZZ_CHECK(X509_sign(x, k, EVP_sha256()) != 0);
	return (x);
}

static void
fz_setup(void)
{
	struct tls_config	 cfg;
	const char		*tmp = getenv("TMPDIR");
	char			 dir[512], file[600], err[512];
	EVP_PKEY		*k;
	X509			*x;
	FILE			*f;

	/* A write to a peer that is gone must fail, not kill the run. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof dir, "%s/uot-fuzz-tls.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof file, "%s/server.pem", dir);
	k = fz_key();
	x = fz_cert(k);
	FUZZ_CHECK((f = fopen(file, "w")) != NULL);
	FUZZ_CHECK(PEM_write_X509(f, x) == 1);
	FUZZ_CHECK(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) ==
	    1);
	FUZZ_CHECK(fclose(f) == 0);
	X509_free(x);
	EVP_PKEY_free(k);

	memset(&cfg, 0, sizeof cfg);
	cfg.server = 1;
	cfg.cert_file = file;
	fz_ctx = tls_ctx_new(&cfg, err, sizeof err);
	if (fz_ctx == NULL)
		fprintf(stderr, "fuzz_tls_server: %s\n", err);
	FUZZ_CHECK(fz_ctx != NULL);
	(void)unlink(file);
	(void)rmdir(dir);
}

static void
fz_nonblock(int fd)
{
	int	fl = fcntl(fd, F_GETFL);

	FUZZ_CHECK(fl != -1);
	FUZZ_CHECK(fcntl(fd, F_SETFL, fl | O_NONBLOCK) != -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_conn	*c;
	struct evbuffer	*in;
	enum tls_result	 r = TLS_AGAIN;
	char		 sink[4096];
	ssize_t		 n;
	size_t		 off;
	int		 fds[2], i;

	if (fz_ctx == NULL)
		fz_setup();
	if (size > FZ_MAX_INPUT)
		size = FZ_MAX_INPUT;
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	fz_nonblock(fds[0]);
	fz_nonblock(fds[1]);
	FUZZ_CHECK((c = tls_conn_new(fz_ctx)) != NULL);

	/* The client's bytes, then its end of the stream. */
	for (off = 0; off < size; off += (size_t)n)
		FUZZ_CHECK((n = write(fds[0], data + off, size - off)) > 0);
	FUZZ_CHECK(shutdown(fds[0], SHUT_WR) == 0);

	for (i = 0; i < FZ_MAX_STEPS; i++) {
		if ((r = tls_handshake(c, fds[1])) != TLS_AGAIN)
			break;
		/* What the server says goes nowhere. */
		while (read(fds[0], sink, sizeof sink) > 0)
			continue;
	}
	FUZZ_CHECK(r != TLS_AGAIN);
	if (r == TLS_FAIL)
		FUZZ_CHECK(strcmp(tls_conn_error(c), "unknown error") != 0);
	else {
		FUZZ_CHECK((in = evbuffer_new()) != NULL);
		for (i = 0; i < FZ_MAX_STEPS; i++)
			if (tls_recv(c, fds[1], in, 16384) < 0)
				break;
		FUZZ_CHECK(i < FZ_MAX_STEPS);
		evbuffer_free(in);
	}
	tls_conn_free(c);
	close(fds[0]);
	close(fds[1]);
	return (0);
}
