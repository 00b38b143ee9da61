/* acpi: finds the RSDP as an OS does (EBDA, then 0xe0000-0xfffff), checks
 * every checksum on the way through the XSDT (or RSDT), and what Linux needs
 * from the tables: a MADT with one enabled local APIC per CPU ("cpus=N" on
 * the command line), the I/O APIC at 0xfec00000 and ISA IRQ 0 overridden to
 * GSI 2; a FADT whose DSDT is sound and whose PM timer counts at about
 * 3.58 MHz. */
#include "lib/cpu64.h"

struct sdt_header {
    char sig[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem[6], oem_table[8];
    uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

static uint8_t sum(const void *p, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + ((const uint8_t *)p)[i]);
    return s;
}

static int sig_is(const void *p, const char *sig)
{
    const char *c = p;
    for (int i = 0; sig[i]; i++)
        if (c[i] != sig[i])
            return 0;
    return 1;
}

static const uint8_t *find_rsdp(void)
{
    uint64_t bda = 0x40e;                   /* BIOS data area: EBDA segment */
    __asm__("" : "+r"(bda));                /* gcc: a low address is not NULL here */
    uint64_t ebda = (uint64_t)*(volatile uint16_t *)bda << 4;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        for (uint64_t a = ebda; a < ebda + 1024; a += 16)
            if (sig_is((const void *)a, "RSD PTR ") && sum((const void *)a, 20) == 0)
                return (const uint8_t *)a;
    for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
        if (sig_is((const void *)a, "RSD PTR ") && sum((const void *)a, 20) == 0)
            return (const uint8_t *)a;
    return NULL;
}

/* A table at a physical address below 4 GiB (the identity map), checked. */
static const struct sdt_header *table_at(uint64_t addr, const char *what)
{
    if (addr == 0 || addr >= 0x100000000ull - sizeof(struct sdt_header))
        fail(10, "%s at %lx is outside the identity-mapped 4 GiB", what, addr);
    const struct sdt_header *h = (const struct sdt_header *)addr;
    if (h->length < sizeof(*h) || h->length > 0x100000 || addr + h->length > 0x100000000ull)
        fail(11, "%s at %lx has length %u", what, addr, h->length);
    if (sum(h, h->length) != 0)
        fail(12, "%s (%.4s) at %lx has a bad checksum", what, h->sig, addr);
    return h;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

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
    const struct sdt_header *d = table_at(dsdt, "DSDT");
    if (!sig_is(d->sig, "DSDT"))
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
    const uint8_t *rsdp = find_rsdp();
    if (!rsdp)
        fail(1, "no RSDP with a valid checksum in the EBDA or 0xe0000-0xfffff");
    uint8_t rev = rsdp[15];
    gprintf("RSDP at %p, revision %u, OEM %.6s\n", (const void *)rsdp, rev, (const char *)rsdp + 9);

    const struct sdt_header *root;
    int xsdt = 0;
    if (rev >= 2 && rd32(rsdp + 20) >= 36 && sum(rsdp, 36) != 0)
        fail(2, "RSDP extended checksum is wrong");
    if (rev >= 2 && rd64(rsdp + 24)) {
        root = table_at(rd64(rsdp + 24), "XSDT");
        xsdt = 1;
    } else {
        root = table_at(rd32(rsdp + 16), "RSDT");
    }
    if (!sig_is(root->sig, xsdt ? "XSDT" : "RSDT"))
        fail(3, "root table signature '%.4s'", root->sig);

    const struct sdt_header *madt = NULL, *fadt = NULL;
    unsigned esz = xsdt ? 8 : 4, n = (root->length - 36) / esz;
    const uint8_t *ent = (const uint8_t *)root + 36;
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = xsdt ? rd64(ent + i * esz) : rd32(ent + i * esz);
        const struct sdt_header *h = table_at(a, "table");
        gprintf("%s[%u]: %.4s at %lx, %u bytes\n", xsdt ? "XSDT" : "RSDT", i, h->sig, a, h->length);
        if (sig_is(h->sig, "APIC"))
            madt = h;
        if (sig_is(h->sig, "FACP"))
            fadt = h;
    }
    if (!madt)
        fail(4, "no MADT (APIC) table");
    if (!fadt)
        fail(5, "no FADT (FACP) table");
    check_madt(madt, ncpus);
    check_fadt(fadt);
    gprintf("acpi: ok\n");
}
