/* ACPI table discovery for the test guests; see acpitab.h. */
#include "acpitab.h"

uint8_t acpi_sum(const void *p, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + ((const uint8_t *)p)[i]);
    return s;
}

int acpi_sig_is(const void *p, const char *sig)
{
    const char *c = p;
    for (int i = 0; sig[i]; i++)
        if (c[i] != sig[i])
            return 0;
    return 1;
}

const uint8_t *acpi_find_rsdp(void)
{
    uint64_t bda = 0x40e;                   /* BIOS data area: EBDA segment */
    __asm__("" : "+r"(bda));                /* gcc: a low address is not NULL here */
    uint64_t ebda = (uint64_t)*(volatile uint16_t *)bda << 4;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        for (uint64_t a = ebda; a < ebda + 1024; a += 16)
            if (acpi_sig_is((const void *)a, "RSD PTR ") && acpi_sum((const void *)a, 20) == 0)
                return (const uint8_t *)a;
    for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
        if (acpi_sig_is((const void *)a, "RSD PTR ") && acpi_sum((const void *)a, 20) == 0)
            return (const uint8_t *)a;
    return NULL;
}

const struct sdt_header *acpi_table_at(uint64_t addr, const char *what)
{
    if (addr == 0 || addr >= 0x100000000ull - sizeof(struct sdt_header))
        fail(10, "%s at %lx is outside the identity-mapped 4 GiB", what, addr);
    const struct sdt_header *h = (const struct sdt_header *)addr;
    if (h->length < sizeof(*h) || h->length > 0x100000 || addr + h->length > 0x100000000ull)
        fail(11, "%s at %lx has length %u", what, addr, h->length);
    if (acpi_sum(h, h->length) != 0)
        fail(12, "%s (%.4s) at %lx has a bad checksum", what, h->sig, addr);
    return h;
}

const struct sdt_header *acpi_root(int *entry_size)
{
    const uint8_t *rsdp = acpi_find_rsdp();
    if (!rsdp)
        fail(1, "no RSDP with a valid checksum in the EBDA or 0xe0000-0xfffff");
    uint8_t rev = rsdp[15];
    static int shown;
    if (!shown++)
        gprintf("RSDP at %p, revision %u, OEM %.6s\n", (const void *)rsdp, rev,
                (const char *)rsdp + 9);
    if (rev >= 2 && rd32(rsdp + 20) >= 36 && acpi_sum(rsdp, 36) != 0)
        fail(2, "RSDP extended checksum is wrong");
    const struct sdt_header *root;
    if (rev >= 2 && rd64(rsdp + 24)) {
        root = acpi_table_at(rd64(rsdp + 24), "XSDT");
        *entry_size = 8;
    } else {
        root = acpi_table_at(rd32(rsdp + 16), "RSDT");
        *entry_size = 4;
    }
    if (!acpi_sig_is(root->sig, *entry_size == 8 ? "XSDT" : "RSDT"))
        fail(3, "root table signature '%.4s'", root->sig);
    return root;
}

const struct sdt_header *acpi_find(const char *sig, int print)
{
    int esz;
    const struct sdt_header *root = acpi_root(&esz), *found = NULL;
    unsigned n = (root->length - 36) / (unsigned)esz;
    const uint8_t *ent = (const uint8_t *)root + 36;
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = esz == 8 ? rd64(ent + i * 8) : rd32(ent + i * 4);
        const struct sdt_header *h = acpi_table_at(a, "table");
        if (print)
            gprintf("%s[%u]: %.4s at %lx, %u bytes\n", esz == 8 ? "XSDT" : "RSDT", i, h->sig, a,
                    h->length);
        if (!found && acpi_sig_is(h->sig, sig))
            found = h;
    }
    return found;
}
