/*
 * ledger.c - the lengths of the frames in a stream, oldest first, in a
 * ring that grows as needed. The streams it describes are bounded (the
 * link's output takes a few ms of frames at a time, the reconnect queue
 * --queue-size), so the ring is too: four bytes a frame.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ledger.h"

#define LEDGER_MIN_SLOTS	64

struct ledger {
	uint32_t	*len;		/* ring of frame lengths */
	size_t		 size;		/* slots */
	size_t		 head;		/* oldest */
	size_t		 count;		/* frames in the ring */
	size_t		 head_done;	/* bytes of the oldest already gone */
	size_t		 bytes;		/* all bytes not yet consumed */
};

struct ledger *
ledger_new(void)
{
	return (calloc(1, sizeof(struct ledger)));
}

void
ledger_free(struct ledger *l)
{
	if (l == NULL)
		return;
	free(l->len);
	free(l);
}

/* Room for one more: double the ring, oldest first at slot 0. */
static int
ledger_grow(struct ledger *l)
{
	size_t		 size = l->size > 0 ? l->size * 2 : LEDGER_MIN_SLOTS;
	uint32_t	*len;
	size_t		 i;

	if (size > SIZE_MAX / sizeof *len ||
	    (len = malloc(size * sizeof *len)) == NULL)
		return (-1);
	for (i = 0; i < l->count; i++)
		len[i] = l->len[(l->head + i) % l->size];
	free(l->len);
	l->len = len;
	l->size = size;
	l->head = 0;
	return (0);
}

/* A frame of wire bytes was appended to the stream. */
int
ledger_add(struct ledger *l, size_t wire)
{
	if (wire > UINT32_MAX)
		return (-1);
	if (l->count == l->size && ledger_grow(l) != 0)
		return (-1);
	l->len[(l->head + l->count) % l->size] = (uint32_t)wire;
	l->count++;
	l->bytes += wire;
	return (0);
}

/* Takes back the newest frame (whose bytes never made it in). */
void
ledger_unadd(struct ledger *l)
{
	if (l->count == 0 || (l->count == 1 && l->head_done > 0))
		return;
	l->count--;
	l->bytes -= l->len[(l->head + l->count) % l->size];
}

/*
 * bytes left the front of the stream; returns how many frames are now
 * wholly gone. More bytes than the ledger holds are taken as all of it.
 */
size_t
ledger_consume(struct ledger *l, size_t bytes)
{
	size_t	done = 0, rest;

	while (bytes > 0 && l->count > 0) {
		rest = l->len[l->head] - l->head_done;
		if (bytes < rest) {
			l->head_done += bytes;
			l->bytes -= bytes;
			break;
		}
		bytes -= rest;
		l->bytes -= rest;
		l->head = (l->head + 1) % l->size;
		l->count--;
		l->head_done = 0;
		done++;
	}
	return (done);
}

/* Frames not wholly consumed: a started one counts. */
size_t
ledger_frames(const struct ledger *l)
{
	return (l->count);
}

size_t
ledger_bytes(const struct ledger *l)
{
	return (l->bytes);
}

/* Adds every frame of src to the end of dst; src must be untouched. */
int
ledger_copy(struct ledger *dst, const struct ledger *src)
{
	size_t	i;

	if (src->head_done != 0)
		return (-1);
	for (i = 0; i < src->count; i++)
		if (ledger_add(dst, src->len[(src->head + i) % src->size]) !=
		    0)
			return (-1);
	return (0);
}

/* Moves every frame of src to the end of dst. */
int
ledger_append(struct ledger *dst, struct ledger *src)
{
	if (ledger_copy(dst, src) != 0)
		return (-1);
	ledger_clear(src);
	return (0);
}

void
ledger_clear(struct ledger *l)
{
	l->head = l->count = l->head_done = l->bytes = 0;
}
