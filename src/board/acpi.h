/* ACPI tables built by hostel: RSDP, XSDT, FADT (PM1 block for poweroff),
 * MADT (every vCPU, the IOAPIC, IRQ0 -> pin 2), DSDT, plus an MP table. */
#ifndef HOSTEL_ACPI_H
#define HOSTEL_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "machine/mem.h"

struct acpi_config {
    int ncpus;
};

/* Writes the tables at LAYOUT_ACPI (and the MP table at LAYOUT_MPTABLE). */
int acpi_build(struct guest_mem *m, const struct acpi_config *cfg, struct err *err);

/* Byte sum of a table, 0 for a valid one. */
uint8_t acpi_checksum(const void *p, size_t len);

#endif
