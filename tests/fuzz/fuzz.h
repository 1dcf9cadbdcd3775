/*
 * fuzz.h - shared by the libFuzzer targets in tests/fuzz and by replay.c,
 * the small driver that runs a target over its corpus in builds without
 * libFuzzer (make check, gcc, sanitizer and valgrind builds alike).
 */
#ifndef UOT_FUZZ_H
#define UOT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Each target defines this; libFuzzer (or replay.c) provides main(). */
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static inline void __attribute__((__noreturn__))
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
	fflush(stderr);
	abort();
}

/* An invariant that must hold whatever the input: a crash if it does not. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, #cond);			\
} while (0)

#endif
