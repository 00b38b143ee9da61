/* The guest's e820 memory map, as the board lays memory out. */
#ifndef HOSTEL_E820_H
#define HOSTEL_E820_H

#include "boot/loader.h"
#include "machine/mem.h"

/* Fills out (max entries); returns how many, or -ENOSPC / -EINVAL. */
int e820_build(const struct guest_mem *m, struct e820_entry *out, int max);

#endif
