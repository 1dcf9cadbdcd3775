/*
 * pin.h - public-key pins as the command line spells them:
 * "sha256:" and the base64 of 32 bytes, the SHA-256 of a certificate's
 * SubjectPublicKeyInfo (curl's --pinnedpubkey "sha256//" is taken too).
 * Pure: no TLS library, so the parser can be fuzzed and options.c can
 * use it in every build.
 */
#ifndef UOT_PIN_H
#define UOT_PIN_H

#include <stddef.h>

#define PIN_LEN		32	/* bytes of a SHA-256 */
#define PIN_STRLEN	52	/* "sha256:" + 44 characters + NUL */

/* pin.c */
int	pin_parse(const char *, unsigned char [PIN_LEN], const char **);
char	*pin_format(const unsigned char [PIN_LEN], char *, size_t);

#endif
