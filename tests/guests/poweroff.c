/* poweroff: turns the machine off the way an ACPI OS does: SLP_TYPa from
 * the DSDT's \_S5_ package, written with SLP_EN to the FADT's PM1a control
 * block.  hostel (and QEMU) must then exit with status 0; the guest never
 * writes to the debug-exit port unless the power stays on. */
#include "lib/acpitab.h"

/* The first element of the \_S5_ package, or -1.  AML: NameOp "_S5_"
 * PackageOp PkgLength NumElements, then ZeroOp, OneOp or BytePrefix n. */
static int s5_sleep_type(const struct sdt_header *dsdt)
{
    const uint8_t *p = (const uint8_t *)dsdt;
    for (uint32_t i = sizeof(*dsdt); i + 8 < dsdt->length; i++) {
        if (!acpi_sig_is(p + i, "_S5_") || p[i + 4] != 0x12)
            continue;
        uint32_t j = i + 5;
        j += 1 + (p[j] >> 6);               /* PkgLength: 1 to 4 bytes */
        j += 1;                             /* NumElements */
        if (j + 1 >= dsdt->length)
            return -1;
        if (p[j] == 0x00 || p[j] == 0x01)
            return p[j];
        if (p[j] == 0x0a)
            return p[j + 1];
        return -1;
    }
    return -1;
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("poweroff: start\n");
    const struct sdt_header *fadt = acpi_find("FACP", 0);
    if (!fadt || fadt->length < 116)
        fail(1, "no usable FADT");
    const uint8_t *f = (const uint8_t *)fadt;
    uint64_t dsdt_addr = rd32(f + 40);
    if (fadt->length >= 148 && rd64(f + 140))
        dsdt_addr = rd64(f + 140);
    const struct sdt_header *dsdt = acpi_table_at(dsdt_addr, "DSDT");
    int typ = s5_sleep_type(dsdt);
    uint32_t pm1a = rd32(f + 64);
    gprintf("\\_S5_ SLP_TYPa %d, PM1a control block at port %x\n", typ, pm1a);
    if (typ < 0 || typ > 7)
        fail(2, "no usable \\_S5_ package in the DSDT");
    if (pm1a == 0 || pm1a > 0xfffe)
        fail(3, "FADT PM1a control block %x", pm1a);
    gprintf("poweroff: writing SLP_TYP|SLP_EN\n");
    uint16_t cnt = inw((uint16_t)pm1a);
    outw((uint16_t)pm1a, (uint16_t)((cnt & ~(7u << 10)) | (unsigned)typ << 10 | 1u << 13));
    pit_delay_us(200000);
    fail(4, "still running 200 ms after the S5 request");
}
