/* Finding and checking ACPI tables from a 64-bit guest (identity map of
 * the first 4 GiB): the RSDP search, checksummed tables, XSDT/RSDT walk. */
#ifndef GUEST_ACPITAB_H
#define GUEST_ACPITAB_H

#include "cpu64.h"

struct sdt_header {
    char sig[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem[6], oem_table[8];
    uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

uint8_t acpi_sum(const void *p, uint32_t len);
int acpi_sig_is(const void *p, const char *sig);
static inline uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* The RSDP (EBDA first, then 0xe0000-0xfffff), or NULL. */
const uint8_t *acpi_find_rsdp(void);
/* The table at addr after checking place, length and checksum; exits
 * with codes 10-12 naming `what` when it is not sound. */
const struct sdt_header *acpi_table_at(uint64_t addr, const char *what);
/* The root table (XSDT when the RSDP has one, else RSDT); *entry_size is 8
 * or 4.  Exits with codes 1-3 when it is missing or bad. */
const struct sdt_header *acpi_root(int *entry_size);
/* The first table with this signature listed in the root, or NULL;
 * print != 0 lists every table on the way. */
const struct sdt_header *acpi_find(const char *sig, int print);

#endif
