/* ACPI tables built by hostel: RSDP, XSDT, FADT (PM1 block for poweroff),
 * MADT (every vCPU, the IOAPIC, IRQ0 -> pin 2), DSDT, HPET when asked, plus an MP table. */
#ifndef HOSTEL_ACPI_H
#define HOSTEL_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "machine/mem.h"

struct acpi_config {
    int ncpus;
    uint64_t pci_mmio_start;   /* the PCI host bridge's 32-bit window; 0: LAYOUT_PCI_MMIO */
    bool hpet;                 /* an HPET table for the HPET at LAYOUT_HPET */
};

/* Writes the tables at LAYOUT_ACPI (and the MP table at LAYOUT_MPTABLE). */
int acpi_build(struct guest_mem *m, const struct acpi_config *cfg, struct err *err);

/* The same tables for a firmware that places them itself (SeaBIOS's and
 * OVMF's table loader, through fw_cfg): the RSDP and the other tables as
 * two blobs, every pointer field in them holding an offset into the tables
 * blob (the firmware adds where it put it), and the tables whose checksums
 * it then recomputes.  No MP table: the firmware makes its own. */
#define ACPI_FW_TABLES_MAX 0x10000
#define ACPI_FW_MAX_RELOCS 32
struct acpi_fw_pointer { uint32_t offset; uint8_t size; };   /* in the tables blob */
struct acpi_fw_table { uint32_t offset, len; };              /* checksum at offset + 9 */
struct acpi_firmware_tables {
    uint8_t rsdp[36];          /* pointers at 16 (RSDT, 4 bytes) and 24 (XSDT, 8 bytes) */
    uint8_t *tables_data;
    size_t tables_len;
    struct acpi_fw_pointer pointers[ACPI_FW_MAX_RELOCS];
    int npointers;
    struct acpi_fw_table tables[ACPI_FW_MAX_RELOCS];
    int ntables;
};
int acpi_build_for_firmware(const struct acpi_config *cfg, struct acpi_firmware_tables *out,
                            struct err *err);
void acpi_firmware_tables_free(struct acpi_firmware_tables *t);

/* Byte sum of a table, 0 for a valid one. */
uint8_t acpi_checksum(const void *p, size_t len);

#endif
