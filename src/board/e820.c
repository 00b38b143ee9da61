/* The board's memory map for the guest (e820): RAM, the EBDA and firmware
 * holes, the ACPI tables, the IOAPIC and LAPIC windows, high RAM.  Loaders
 * hand it to the kernel in their format (boot/loader.h). */
#include "board/e820.h"

#include <errno.h>

#include "board/layout.h"

#define E820_RAM      1
#define E820_RESERVED 2

static int e820_add(struct e820_entry *out, int max, int *n, uint64_t addr, uint64_t size,
                    uint32_t type)
{
    if (size == 0)
        return 0;
    if (*n >= max)
        return -ENOSPC;
    out[*n].addr = addr;
    out[*n].size = size;
    out[*n].type = type;
    (*n)++;
    return 0;
}

int e820_build(const struct guest_mem *m, struct e820_entry *out, int max)
{
    int n = 0, r = 0;

    if (m->low_size < LAYOUT_KERNEL)
        return -EINVAL;   /* mem_init never makes less than 2 MiB */
    r |= e820_add(out, max, &n, 0, LAYOUT_EBDA_START, E820_RAM);
    r |= e820_add(out, max, &n, LAYOUT_EBDA_START, 0xa0000 - LAYOUT_EBDA_START, E820_RESERVED);
    r |= e820_add(out, max, &n, LAYOUT_ACPI, LAYOUT_ACPI_END - LAYOUT_ACPI, E820_RESERVED);
    r |= e820_add(out, max, &n, LAYOUT_KERNEL, m->low_size - LAYOUT_KERNEL, E820_RAM);
    r |= e820_add(out, max, &n, LAYOUT_IOAPIC, 0x1000, E820_RESERVED);
    r |= e820_add(out, max, &n, LAYOUT_LAPIC, 0x1000, E820_RESERVED);
    r |= e820_add(out, max, &n, MEM_HIGH_START, m->high_size, E820_RAM);
    return r ? -ENOSPC : n;
}
