/*
 * replay.c - runs a fuzz target over files, without libFuzzer.
 *
 * Linked with one target (fuzz_frame.c, fuzz_addr.c, fuzz_options.c,
 * fuzz_proxy.c, fuzz_pin.c, fuzz_tls_server.c) into tests/fuzz/replay_*,
 * which 'make check' runs in every build: gcc or clang, plain, sanitized
 * or under valgrind. Each input of the target's seed corpus goes through
 * it once, so every input kept there (among them any crash fuzzing ever
 * found) stays a regression test.
 *
 * usage: replay_frame [FILE | DIRECTORY ...]
 * With no argument, the directory compiled in as FUZZ_CORPUS.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int	replay_file(const char *);
static int	replay_dir(const char *);
static int	replay_path(const char *);
static int	replay_cmp(const void *, const void *);

static size_t	replay_count;

static int
replay_file(const char *path)
{
	FILE		*f;
	uint8_t		*buf = NULL, *grown;
	size_t		 len = 0, size = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	for (;;) {
		if (size - len < 4096) {
			size = size == 0 ? 65536 : size * 2;
			if ((grown = realloc(buf, size)) == NULL) {
				fprintf(stderr, "replay: %s: out of memory\n",
				    path);
				free(buf);
				fclose(f);
				return (-1);
			}
			buf = grown;
		}
		if ((n = fread(buf + len, 1, size - len, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		free(buf);
		fclose(f);
		return (-1);
	}
	fclose(f);

	/* An exactly sized copy, as libFuzzer hands it over. */
	if ((grown = malloc(len == 0 ? 1 : len)) == NULL) {
		free(buf);
		return (-1);
	}
	if (len != 0)
		memcpy(grown, buf, len);
	free(buf);
	if (getenv("REPLAY_VERBOSE") != NULL)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(grown, len);
	free(grown);
	replay_count++;
	return (0);
}

static int
replay_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/* Every regular file in dir, in name order; not recursive. */
static int
replay_dir(const char *dir)
{
	DIR		 *d;
	struct dirent	 *de;
	struct stat	  st;
	char		**names = NULL, **grown, *path;
	size_t		  n = 0, cap = 0, i;
	int		  rc = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((grown = realloc(names, cap * sizeof *names)) ==
			    NULL) {
				rc = -1;
				break;
			}
			names = grown;
		}
		if ((path = malloc(strlen(dir) + strlen(de->d_name) + 2)) ==
		    NULL) {
			rc = -1;
			break;
		}
		sprintf(path, "%s/%s", dir, de->d_name);
		names[n++] = path;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, replay_cmp);
	for (i = 0; i < n; i++) {
		if (rc == 0 && stat(names[i], &st) == 0 &&
		    S_ISREG(st.st_mode) && replay_file(names[i]) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return (rc);
}

static int
replay_path(const char *path)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	if (S_ISDIR(st.st_mode))
		return (replay_dir(path));
	return (replay_file(path));
}

int
main(int argc, char *argv[])
{
	const char	*from = "the files given";
	int		 i, rc = 0;

	if (argc < 2) {
#ifdef FUZZ_CORPUS
		from = FUZZ_CORPUS;
		rc = replay_path(FUZZ_CORPUS);
#else
		fprintf(stderr, "usage: %s FILE|DIRECTORY ...\n", argv[0]);
		return (2);
#endif
	}
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i]) != 0)
			rc = -1;
	if (rc != 0)
		return (1);
	if (replay_count == 0) {
		fprintf(stderr, "%s: no inputs in %s\n", argv[0], from);
		return (1);
	}
	printf("%s: %zu inputs from %s, no invariant broken\n", argv[0],
	    replay_count, from);
	return (0);
}
