/* STUB: ACPI tables (owned by the loaders helper; replaced). */
#include "vmm/acpi.h"

#include <errno.h>

int acpi_build(struct guest_mem *m, const struct acpi_config *cfg, char *err, size_t errlen)
{
    (void)m; (void)cfg; (void)err; (void)errlen;
    return 0;
}

uint8_t acpi_checksum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    while (len--)
        s += *b++;
    return s;
}
