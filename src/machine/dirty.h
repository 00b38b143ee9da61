/* Which guest pages were written, for live migration's pre-copy rounds:
 * the engine reports what its vCPUs write (kvm's dirty log, emu's TLB),
 * devices and emu's slow paths mark guest RAM themselves (mem.h), and a
 * sync gathers both into one bitmap and starts the next round afresh. */
#ifndef HOSTEL_DIRTY_H
#define HOSTEL_DIRTY_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

struct vm;

/* Pages of guest RAM (4 KiB, in the order of vm->mem's mapping: low RAM
 * then high) and the words of a bitmap covering them. */
uint64_t vm_dirty_pages(const struct vm *vm);
static inline uint64_t dirty_words(uint64_t pages) { return (pages + 63) / 64; }

/* Starts tracking: from its return, every page written is reported by the
 * next vm_dirty_sync.  -errno with e set (the engine cannot track). */
int vm_dirty_start(struct vm *vm, struct err *e);
/* ORs into bitmap every page written since the last sync (or the start)
 * and begins the next round.  Pages written while this runs are reported
 * by this sync or the next, never lost: whoever copies the reported pages
 * after it returns sees every write made before it. */
int vm_dirty_sync(struct vm *vm, uint64_t *bitmap);
void vm_dirty_stop(struct vm *vm);
bool vm_dirty_active(const struct vm *vm);

/* Bitmap helpers. */
static inline bool dirty_test(const uint64_t *b, uint64_t pg)
{
    return b[pg >> 6] & (1ULL << (pg & 63));
}
static inline void dirty_set(uint64_t *b, uint64_t pg)
{
    b[pg >> 6] |= 1ULL << (pg & 63);
}
uint64_t dirty_count(const uint64_t *b, uint64_t pages);

#endif
