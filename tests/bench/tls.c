/*
 * tls.c - what -t needs: a certificate and key for the listen side and
 * the pin of its key for the connect side, made once per invocation.
 *
 * The binary must have TLS (its --version names OpenSSL) and the openssl
 * command must be in PATH; otherwise tls_setup() says why in one line and
 * the TLS runs are left out. The files live in a directory of their own
 * under $TMPDIR (or /tmp), removed on any way out (tls_cleanup(), from
 * the exit and signal paths of proc.c).
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE
#endif

#include "bench.h"

#define CMD_MS		20000		/* for openssl or --print-pin */

char		 tls_cert[PATH_MAX], tls_key[PATH_MAX];
char		 tls_pin[128];
static char	 tls_dir[PATH_MAX - 32];

static int	 capture(char *const [], char **);
static const char *first_line(char *);

/*
 * Run argv to its end, its stdout and stderr into *out (NUL-ended, the
 * caller frees it): the exit status, or -1 if it did not end in time.
 */
static int
capture(char *const argv[], char **out)
{
	pid_t	pid;
	int	rfd, wfd, status = 0;

	rfd = tmp_file(&wfd);
	pid = spawn(argv, wfd, -1, -1);
	close(wfd);
	if (!wait_exit(pid, CMD_MS, &status, NULL)) {
		stop_kid(pid, &status, NULL);
		status = -1;
	} else
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	*out = read_all(rfd, NULL);
	close(rfd);
	return (status);
}

/* The first line of s, at most 200 characters, for a message. */
static const char *
first_line(char *s)
{
	size_t	n = strcspn(s, "\r\n");

	if (n > 200)
		n = 200;
	s[n] = '\0';
	return (n > 0 ? s : "(no output)");
}

/*
 * Certificate, key and pin for bin's TLS tunnels: 0, or -1 after one
 * line saying why the TLS runs are left out.
 */
int
tls_setup(const char *bin)
{
	const char	*dir;
	char		*out, *p, days[] = "2";
	char		*av[20];
	int		 rc, n;

	av[0] = (char *)bin;
	av[1] = (char *)"--version";
	av[2] = NULL;
	rc = capture(av, &out);
	if (rc != 0 || strstr(out, "OpenSSL") == NULL) {
		printf("uot-bench: TLS: %s has no TLS (its --version names no"
		    " OpenSSL): the TLS runs are left out\n", bin);
		free(out);
		return (-1);
	}
	free(out);
	if (!in_path("openssl")) {
		printf("uot-bench: TLS: no openssl command in PATH to make a"
		    " certificate: the TLS runs are left out\n");
		return (-1);
	}

	dir = getenv("TMPDIR");
	if (dir == NULL || *dir == '\0' || strlen(dir) > PATH_MAX - 64)
		dir = "/tmp";
	snprintf(tls_dir, sizeof tls_dir, "%s/uot-bench-tls.XXXXXX", dir);
	if (mkdtemp(tls_dir) == NULL) {
		warnx_("mkdtemp %s: %s", tls_dir, strerror(errno));
		tls_dir[0] = '\0';
		return (-1);
	}
	snprintf(tls_cert, sizeof tls_cert, "%s/cert.pem", tls_dir);
	snprintf(tls_key, sizeof tls_key, "%s/key.pem", tls_dir);

	/* A self-signed P-256 certificate, as the manual suggests. */
	n = 0;
	av[n++] = (char *)"openssl";
	av[n++] = (char *)"req";
	av[n++] = (char *)"-x509";
	av[n++] = (char *)"-newkey";
	av[n++] = (char *)"ec";
	av[n++] = (char *)"-pkeyopt";
	av[n++] = (char *)"ec_paramgen_curve:P-256";
	av[n++] = (char *)"-nodes";
	av[n++] = (char *)"-keyout";
	av[n++] = tls_key;
	av[n++] = (char *)"-out";
	av[n++] = tls_cert;
	av[n++] = (char *)"-days";
	av[n++] = days;
	av[n++] = (char *)"-subj";
	av[n++] = (char *)"/CN=uot-bench";
	av[n] = NULL;
	if ((rc = capture(av, &out)) != 0) {
		printf("uot-bench: TLS: openssl req failed (%d): %s: the TLS"
		    " runs are left out\n", rc, first_line(out));
		free(out);
		return (-1);
	}
	free(out);

	av[0] = (char *)bin;
	av[1] = (char *)"--tls-cert";
	av[2] = tls_cert;
	av[3] = (char *)"--print-pin";
	av[4] = NULL;
	rc = capture(av, &out);
	p = out + strspn(out, " \t");
	p[strcspn(p, "\r\n")] = '\0';
	if (rc != 0 || strncmp(p, "sha256:", 7) != 0 ||
	    strlen(p) >= sizeof tls_pin) {
		printf("uot-bench: TLS: %s --tls-cert %s --print-pin: %s: the"
		    " TLS runs are left out\n", bin, tls_cert, first_line(p));
		free(out);
		return (-1);
	}
	snprintf(tls_pin, sizeof tls_pin, "%s", p);
	free(out);
	return (0);
}

/* Async-signal-safe: the files and their directory go. */
void
tls_cleanup(void)
{
	if (tls_dir[0] == '\0')
		return;
	if (tls_cert[0] != '\0')
		unlink(tls_cert);
	if (tls_key[0] != '\0')
		unlink(tls_key);
	rmdir(tls_dir);
	tls_dir[0] = '\0';
}
