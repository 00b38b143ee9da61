/* Decoded basic blocks of the software CPU, cached per vCPU by guest
 * physical address and code size.  A block is revalidated against its
 * bytes each time it is entered, so stores by other vCPUs and device DMA
 * into code are seen; a store by this vCPU into the block it is running
 * stops that block (mmu.c sets mmu.blk_stop). */
#ifndef HOSTEL_EMU_CACHE_H
#define HOSTEL_EMU_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/emu/cpu.h"

#define EMU_BLOCK_MAX_INSNS 32

struct emu_block {
    struct emu_block *next;    /* hash chain */
    uint64_t pa;               /* guest physical address of the first byte */
    const uint8_t *host;       /* the bytes in guest RAM */
    const uint8_t *bytes;      /* copy taken at decode time */
    uint16_t nbytes;
    uint8_t ninsn;
    uint8_t csize;             /* code size the block was decoded for: 2, 4, 8 */
    struct emu_insn insn[];
};

struct emu_block_cache;

int emu_cache_create(struct emu_block_cache **out);
void emu_cache_destroy(struct emu_block_cache *bc);
void emu_cache_flush(struct emu_block_cache *bc);

/* The block starting at physical address pa (in RAM), decoding it when it
 * is not cached or its bytes changed.  NULL when the first instruction
 * crosses into the next page or pa is not RAM: the caller then decodes that
 * one instruction with emu_decode(). */
const struct emu_block *emu_cache_get(struct emu_cpu *c, uint64_t pa, unsigned csize);

/* decode.c */
#define EMU_DECODE_MORE     (-1)   /* the bytes end inside the instruction */
#define EMU_DECODE_TOO_LONG (-2)   /* over 15 bytes: #GP(0) when executed */
int emu_decode_bytes(const uint8_t *p, unsigned avail, unsigned csize, struct emu_insn *d);
bool emu_insn_ends_block(const struct emu_insn *d);
void emu_decode_init(void);

/* Code size (2, 4, 8) of the current mode: what decoding depends on. */
static inline unsigned emu_code_size(const struct emu_cpu *c)
{
    if (c->mode == MODE_LONG64)
        return 8;
    if (c->mode == MODE_REAL)
        return 2;
    return c->seg[S_CS].db ? 4 : 2;
}

static inline uint64_t emu_code_linear(const struct emu_cpu *c, uint64_t rip)
{
    if (c->mode == MODE_LONG64)
        return rip;
    return (c->seg[S_CS].base + rip) & 0xffffffffULL;
}

#endif
