/* MP table writer used by acpi_build (private to src/vmm/acpi.c, mptable.c). */
#ifndef HOSTEL_MPTABLE_H
#define HOSTEL_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "machine/mem.h"

/* Bytes of the configuration table for ncpus. */
size_t mptable_size(int ncpus);
/* Writes the floating pointer at LAYOUT_MPTABLE and the table at table_at. */
int mptable_build(struct guest_mem *m, int ncpus, uint64_t table_at, struct err *err);

#endif
