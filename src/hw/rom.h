/* Read-only memory on the MMIO bus: the firmware image at the top of 4 GiB
 * (where the CPU's reset vector fetches), or any other ROM.  Reads return
 * the image, writes are dropped, as on a PC's flash.  Engines that can map
 * memory read-only (kvm) map rom_host() directly and only its writes reach
 * the bus; emu reads it through the bus. */
#ifndef HOSTEL_ROM_H
#define HOSTEL_ROM_H

#include <stddef.h>
#include <stdint.h>

#include "machine/bus.h"

struct rom;

/* Copies len bytes (a multiple of 4 KiB) into page-aligned memory and
 * registers them at base on mmio. */
int rom_create(struct bus *mmio, uint64_t base, const void *data, size_t len, struct rom **out);
void rom_destroy(struct rom *r);
/* The page-aligned copy and its length (for an engine's read-only map). */
void *rom_host(const struct rom *r);
size_t rom_len(const struct rom *r);

#endif
