/* acpi: finds the RSDP as an OS does (EBDA, then 0xe0000-0xfffff), checks
 * every checksum on the way through the XSDT (or RSDT), and what Linux needs
 * from the tables: a MADT with one enabled local APIC per CPU ("cpus=N" on
 * the command line), the I/O APIC at 0xfec00000 and ISA IRQ 0 overridden to
 * GSI 2; a FADT whose DSDT is sound and whose PM timer counts at about
 * 3.58 MHz. */
#include "lib/acpitab.h"

static void check_madt(const struct sdt_header *madt, unsigned long ncpus)
{
    const uint8_t *p = (const uint8_t *)madt;
    uint32_t lapic = rd32(p + 36);
    gprintf("MADT: local APIC at %x, flags %x\n", lapic, rd32(p + 40));
    if (lapic != 0xfee00000u)
        fail(20, "MADT local APIC address %x, expected fee00000", lapic);
    unsigned cpus = 0, ioapics = 0, irq0_gsi = 0;
    for (uint32_t off = 44; off + 2 <= madt->length;) {
        uint8_t type = p[off], len = p[off + 1];
        if (len < 2 || off + len > madt->length)
            fail(21, "MADT entry at offset %u has length %u", off, len);
        if (type == 0 && len >= 8 && (rd32(p + off + 4) & 1))
            cpus++;
        if (type == 1 && len >= 12) {
            ioapics++;
            gprintf("MADT: I/O APIC id %u at %x, GSI base %u\n", p[off + 2], rd32(p + off + 4),
                    rd32(p + off + 8));
            if (rd32(p + off + 4) != 0xfec00000u)
                fail(22, "MADT I/O APIC at %x, expected fec00000", rd32(p + off + 4));
        }
        if (type == 2 && len >= 10 && p[off + 3] == 0)
            irq0_gsi = rd32(p + off + 4);
        off += len;
    }
    gprintf("MADT: %u enabled CPUs, %u I/O APICs, IRQ 0 -> GSI %u\n", cpus, ioapics, irq0_gsi);
    if (cpus != ncpus)
        fail(23, "MADT lists %u enabled CPUs, the command line says %lu", cpus, ncpus);
    if (ioapics != 1)
        fail(24, "MADT lists %u I/O APICs, expected 1", ioapics);
    if (irq0_gsi != 2)
        fail(25, "no MADT override of ISA IRQ 0 to GSI 2 (got %u)", irq0_gsi);
}

static uint32_t pm_timer_read(uint16_t port, int ext)
{
    uint32_t v = inl(port);
    return ext ? v : v & 0xffffff;
}

static void check_fadt(const struct sdt_header *fadt)
{
    const uint8_t *p = (const uint8_t *)fadt;
    if (fadt->length < 116)
        fail(30, "FADT is only %u bytes", fadt->length);
    uint64_t dsdt = rd32(p + 40);
    if (fadt->length >= 148 && rd64(p + 140))
        dsdt = rd64(p + 140);
    const struct sdt_header *d = acpi_table_at(dsdt, "DSDT");
    if (!acpi_sig_is(d->sig, "DSDT"))
        fail(31, "FADT's DSDT pointer %lx leads to '%.4s'", dsdt, d->sig);
    gprintf("DSDT: %u bytes ok\n", d->length);

    uint32_t tmr = rd32(p + 76), flags = rd32(p + 112);
    int ext = (flags >> 8) & 1;
    gprintf("FADT: PM timer at port %x (%s bits), SCI %u\n", tmr, ext ? "32" : "24",
            p[46] | p[47] << 8);
    if (tmr == 0 || tmr > 0xfffc)
        fail(32, "FADT PM timer block %x", tmr);
    /* 3.579545 MHz: 35795 ticks in 10 ms.  The least of three tries, so
     * a host hiccup during one does not count; bounds are loose. */
    uint32_t best = 0xffffffffu;
    for (int i = 0; i < 3; i++) {
        uint32_t t0 = pm_timer_read((uint16_t)tmr, ext);
        pit_delay_us(10000);
        uint32_t t1 = pm_timer_read((uint16_t)tmr, ext);
        uint32_t delta = (t1 - t0) & (ext ? 0xffffffffu : 0xffffffu);
        if (delta < best)
            best = delta;
    }
    gprintf("PM timer: %u ticks in 10 ms of PIT time\n", best);
    if (best < 17900 || best > 107400)
        fail(33, "the PM timer advanced %u ticks in 10 ms, expected about 35795", best);
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    unsigned long ncpus = cmdline_uint(mb_cmdline(magic, mbi), "cpus=", 1);
    gprintf("acpi: start, %lu cpus\n", ncpus);
    const struct sdt_header *madt = acpi_find("APIC", 1), *fadt = acpi_find("FACP", 0);
    if (!madt)
        fail(4, "no MADT (APIC) table");
    if (!fadt)
        fail(5, "no FADT (FACP) table");
    check_madt(madt, ncpus);
    check_fadt(fadt);
    gprintf("acpi: ok\n");
}
