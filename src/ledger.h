/*
 * ledger.h - the frame boundaries of a byte stream that is consumed from
 * the front: how many frames a number of bytes gone from the front made
 * whole, and how many are left (a started one among them). It lets the
 * link count datagrams, not bytes, when the system takes part of its
 * output, and when a connection dies with output left.
 */
#ifndef UOT_LEDGER_H
#define UOT_LEDGER_H

#include <stddef.h>
#include <stdint.h>

struct ledger;

/* ledger.c */
struct ledger	*ledger_new(void);
void		 ledger_free(struct ledger *);
int		 ledger_add(struct ledger *, size_t);
void		 ledger_unadd(struct ledger *);
size_t		 ledger_consume(struct ledger *, size_t);
size_t		 ledger_frames(const struct ledger *);
size_t		 ledger_bytes(const struct ledger *);
int		 ledger_append(struct ledger *, struct ledger *);
int		 ledger_copy(struct ledger *, const struct ledger *);
void		 ledger_clear(struct ledger *);

#endif
