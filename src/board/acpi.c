/* ACPI tables for the board (ACPI 6.x): RSDP, RSDT/XSDT, FADT with the PM1
 * block and reset register, FACS, MADT (vCPUs, IOAPIC, overrides) and a DSDT
 * with the PCI host bridge, COM1, processors and \_S5_ for poweroff; then
 * the MP table (mptable.c) for kernels booted with acpi=off. */
#include "board/acpi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board/aml.h"
#include "board/layout.h"
#include "board/mptable.h"
#include "hw/hpet.h"

#define OEM_ID        "HOSTEL"
#define OEM_TABLE_ID  "HOSTELVM"
#define CREATOR_ID    "HSTL"

#define FADT_SIZE     276
#define FACS_SIZE     64
#define HPET_TABLE_SIZE 56

/* FADT flags. */
#define FADT_WBINVD         (1u << 0)
#define FADT_PROC_C1        (1u << 2)
#define FADT_SLP_BUTTON     (1u << 5)
#define FADT_RESET_REG_SUP  (1u << 10)
/* IAPC_BOOT_ARCH. */
#define BOOT_ARCH_LEGACY_DEVICES  (1u << 0)
#define BOOT_ARCH_8042            (1u << 1)
#define BOOT_ARCH_NO_VGA          (1u << 2)

#define GAS_SYSTEM_IO   1

uint8_t acpi_checksum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;
    while (len--)
        s += *b++;
    return s;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* Bump allocator over the buffer the tables are built in: the ACPI area of
 * guest RAM (direct kernel boot), or a buffer handed to the firmware, whose
 * guest address is only known once the firmware placed it (base 0, and each
 * pointer field recorded for the firmware's table loader). */
struct area {
    uint8_t *host;        /* host view of the buffer */
    uint64_t base;        /* its guest address (0: relocated by the firmware) */
    uint64_t cap;
    uint64_t next;        /* offset of the next free byte */
    struct acpi_firmware_tables *rel;   /* NULL: direct boot, nothing to record */
};

static uint8_t *area_alloc(struct area *a, size_t size, size_t align, uint64_t *gpa)
{
    uint64_t at = (a->next + align - 1) & ~(uint64_t)(align - 1);
    if (at + size > a->cap)
        return NULL;
    a->next = at + size;
    *gpa = a->base + at;
    return a->host + at;
}

/* A pointer field at p (size 4 or 8) whose value is an address in the
 * buffer: the firmware adds the buffer's real address to it. */
static void note_pointer(struct area *a, const uint8_t *p, unsigned size)
{
    struct acpi_firmware_tables *r = a->rel;
    if (r && r->npointers < ACPI_FW_MAX_RELOCS)
        r->pointers[r->npointers++] = (struct acpi_fw_pointer){
            .offset = (uint32_t)(p - a->host), .size = (uint8_t)size };
}

/* A table whose checksum (byte 9) the firmware recomputes after the pointers. */
static void note_table(struct area *a, const uint8_t *t, uint32_t len)
{
    struct acpi_firmware_tables *r = a->rel;
    if (r && r->ntables < ACPI_FW_MAX_RELOCS)
        r->tables[r->ntables++] = (struct acpi_fw_table){
            .offset = (uint32_t)(t - a->host), .len = len };
}

static void table_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, OEM_ID, 6);
    memcpy(t + 16, OEM_TABLE_ID, 8);
    put32(t + 24, 1);
    memcpy(t + 28, CREATOR_ID, 4);
    put32(t + 32, 1);
}

static void table_finish(uint8_t *t)
{
    uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
    t[9] = 0;
    t[9] = (uint8_t)-acpi_checksum(t, len);
}

/* Generic Address Structure for a port in system I/O space. */
static void gas_io(uint8_t *p, uint16_t port, uint8_t bits, uint8_t access)
{
    p[0] = GAS_SYSTEM_IO;
    p[1] = bits;
    p[2] = 0;
    p[3] = access;
    put64(p + 4, port);
}

/* PCI INTx routing: slot s, pin p (0 = INTA) is swizzled onto ISA lines 10
 * and 11, the same rule as the PCI bus model (pci_intx_gsi in hw/pci.c),
 * which also writes the line into each device's Interrupt Line register. */
static unsigned prt_gsi(unsigned slot, unsigned pin)
{
    return ((slot + pin) & 1) ? 11 : 10;
}

static void build_prt(struct aml *a)
{
    static const uint8_t pkg_op[] = { 0x12 };
    aml_byte(a, 0x08);
    aml_name(a, "_PRT");
    size_t outer = aml_open(a, pkg_op, 1);
    aml_byte(a, 32 * 4);
    for (unsigned slot = 0; slot < 32; slot++)
        for (unsigned pin = 0; pin < 4; pin++) {
            size_t e = aml_open(a, pkg_op, 1);
            aml_byte(a, 4);
            aml_integer(a, (uint64_t)slot << 16 | 0xffff);   /* any function of the slot */
            aml_integer(a, pin);
            aml_integer(a, 0);                               /* source 0: a GSI follows */
            aml_integer(a, prt_gsi(slot, pin));
            aml_close(a, e);
        }
    aml_close(a, outer);
}

static int build_dsdt(uint8_t *buf, size_t cap, const struct acpi_config *cfg, size_t *len)
{
    struct aml a;
    aml_init(&a, buf, cap);
    static const uint8_t header_room[36];
    aml_bytes(&a, header_room, sizeof(header_room));   /* the caller writes the header */

    size_t sb = aml_scope(&a, "\\_SB");

    size_t pci = aml_device(&a, "PCI0");
    aml_name_eisaid(&a, "_HID", "PNP0A03");
    aml_name_int(&a, "_ADR", 0);
    aml_name_int(&a, "_BBN", 0);
    aml_name_int(&a, "_UID", 0);
    struct aml_res r = { .n = 0 };
    res_word_bus(&r, 0, 0xff);
    res_io(&r, 0xcf8, 8);
    res_word_io(&r, 0x0000, 0x0cf7);
    res_word_io(&r, 0x0d00, 0xffff);
    res_dword_mem(&r, (uint32_t)(cfg->pci_mmio_start ? cfg->pci_mmio_start : LAYOUT_PCI_MMIO),
                  (uint32_t)(LAYOUT_PCI_MMIO_END - 1));
    aml_name_resources(&a, "_CRS", &r);
    build_prt(&a);
    aml_close(&a, pci);

    size_t com = aml_device(&a, "COM1");
    aml_name_eisaid(&a, "_HID", "PNP0501");
    aml_name_int(&a, "_UID", 1);
    struct aml_res cr = { .n = 0 };
    res_io(&cr, PORT_COM1, 8);
    res_irq(&cr, IRQ_COM1);
    aml_name_resources(&a, "_CRS", &cr);
    aml_close(&a, com);

    /* Processor devices whose _UID matches the MADT's ACPI processor id. */
    for (int i = 0; i < cfg->ncpus; i++) {
        char name[8];
        snprintf(name, sizeof(name), "C%03X", (unsigned)i & 0xfff);
        size_t cpu = aml_device(&a, name);
        aml_byte(&a, 0x08);
        aml_name(&a, "_HID");
        aml_string(&a, "ACPI0007");
        aml_name_int(&a, "_UID", (uint64_t)i);
        aml_close(&a, cpu);
    }
    aml_close(&a, sb);

    /* \_S5_: SLP_TYP 5 for PM1a and PM1b, the value the PM1 block powers off on. */
    static const uint8_t pkg_op[] = { 0x12 };
    aml_byte(&a, 0x08);
    aml_name(&a, "\\_S5_");
    size_t pkg = aml_open(&a, pkg_op, 1);
    aml_byte(&a, 4);
    aml_integer(&a, 5);
    aml_integer(&a, 5);
    aml_integer(&a, 0);
    aml_integer(&a, 0);
    aml_close(&a, pkg);

    if (a.overflow)
        return -ENOSPC;
    *len = a.len;
    return 0;
}

/* err, not e: e walks the MADT's entries below. */
static int build_tables(struct area *a_, const struct acpi_config *cfg, uint64_t *dsdt_end,
                        struct err *err)
{
    struct area a = *a_;
    int ncpus = cfg->ncpus;
    if (ncpus < 1 || ncpus > 254)
        return err_set(err, -EINVAL, "cannot describe %d CPUs in the MADT (1 to 254)", ncpus);
    memset(a.host, 0, a.cap);

    uint64_t rsdp_at = 0, rsdt_at = 0, xsdt_at = 0, fadt_at = 0, facs_at = 0, madt_at = 0, dsdt_at = 0;
    uint32_t madt_len = 44 + 8 * (uint32_t)ncpus + 12 + 10 * 2 + 6;
    uint8_t *rsdp = area_alloc(&a, 36, 16, &rsdp_at);
    uint32_t ntables = cfg->hpet ? 3 : 2, rsdt_len = 36 + 4 * ntables, xsdt_len = 36 + 8 * ntables;
    uint8_t *rsdt = area_alloc(&a, rsdt_len, 16, &rsdt_at);
    uint8_t *xsdt = area_alloc(&a, xsdt_len, 16, &xsdt_at);
    uint8_t *fadt = area_alloc(&a, FADT_SIZE, 16, &fadt_at);
    uint8_t *facs = area_alloc(&a, FACS_SIZE, 64, &facs_at);
    uint8_t *madt = area_alloc(&a, madt_len, 16, &madt_at);
    uint64_t hpet_at = 0;
    uint8_t *hpet = cfg->hpet ? area_alloc(&a, HPET_TABLE_SIZE, 16, &hpet_at) : NULL;
    uint8_t *dsdt = area_alloc(&a, 0, 16, &dsdt_at);
    size_t dsdt_len = 0;
    if (!rsdp || !rsdt || !xsdt || !fadt || !facs || !madt || !dsdt || (cfg->hpet && !hpet) ||
        build_dsdt(dsdt, a.cap - (dsdt_at - a.base), cfg, &dsdt_len) < 0)
        return err_set(err, -ENOSPC, "ACPI tables for %d CPUs do not fit in %llu bytes", ncpus,
                       (unsigned long long)a.cap);
    table_header(dsdt, "DSDT", (uint32_t)dsdt_len, 2);
    table_finish(dsdt);
    note_table(&a, dsdt, (uint32_t)dsdt_len);

    /* FACS: no checksum; the firmware waking vector stays 0 (no S3). */
    memcpy(facs, "FACS", 4);
    put32(facs + 4, FACS_SIZE);
    facs[32] = 2;

    table_header(fadt, "FACP", FADT_SIZE, 6);
    put32(fadt + 36, (uint32_t)facs_at);
    put32(fadt + 40, (uint32_t)dsdt_at);
    note_pointer(&a, fadt + 36, 4);
    note_pointer(&a, fadt + 40, 4);
    put16(fadt + 46, IRQ_SCI);
    /* SMI_CMD, ACPI_ENABLE, ACPI_DISABLE all 0: the board is always in ACPI mode. */
    put32(fadt + 56, PORT_ACPI_PM1A_EVT);
    put32(fadt + 64, PORT_ACPI_PM1A_CNT);
    put32(fadt + 76, PORT_ACPI_PM_TMR);
    fadt[88] = 4;                       /* PM1_EVT_LEN */
    fadt[89] = 2;                       /* PM1_CNT_LEN */
    fadt[91] = 4;                       /* PM_TMR_LEN */
    put16(fadt + 96, 101);              /* P_LVL2_LAT > 100: C2 unsupported */
    put16(fadt + 98, 1001);             /* P_LVL3_LAT > 1000: C3 unsupported */
    put16(fadt + 109, BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA);
    put32(fadt + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
    gas_io(fadt + 116, PORT_ACPI_RESET, 8, 1);
    fadt[128] = 1;                      /* RESET_VALUE */
    fadt[131] = 0;                      /* FADT minor version: 6.0 */
    put64(fadt + 132, facs_at);
    put64(fadt + 140, dsdt_at);
    note_pointer(&a, fadt + 132, 8);
    note_pointer(&a, fadt + 140, 8);
    gas_io(fadt + 148, PORT_ACPI_PM1A_EVT, 32, 0);
    gas_io(fadt + 172, PORT_ACPI_PM1A_CNT, 16, 0);
    gas_io(fadt + 208, PORT_ACPI_PM_TMR, 32, 0);
    memcpy(fadt + 268, "HOSTEL\0\0", 8);   /* hypervisor vendor identity */
    table_finish(fadt);
    note_table(&a, fadt, FADT_SIZE);

    table_header(madt, "APIC", madt_len, 5);
    put32(madt + 36, (uint32_t)LAYOUT_LAPIC);
    put32(madt + 40, 1);                /* PCAT_COMPAT: there are 8259s too */
    uint8_t *e = madt + 44;
    for (int i = 0; i < ncpus; i++, e += 8) {
        e[0] = 0;                       /* Processor Local APIC */
        e[1] = 8;
        e[2] = (uint8_t)i;              /* ACPI processor UID */
        e[3] = (uint8_t)i;              /* APIC id */
        put32(e + 4, 1);                /* enabled */
    }
    e[0] = 1;                           /* I/O APIC */
    e[1] = 12;
    e[2] = (uint8_t)ncpus;
    put32(e + 4, (uint32_t)LAYOUT_IOAPIC);
    put32(e + 8, 0);
    e += 12;
    e[0] = 2;                           /* Interrupt Source Override: ISA IRQ0 -> GSI 2 */
    e[1] = 10;
    e[2] = 0;
    e[3] = IRQ_PIT;
    put32(e + 4, 2);
    put16(e + 8, 0);                    /* conforms to the bus: edge, active high */
    e += 10;
    e[0] = 2;                           /* the SCI: level-triggered, active high */
    e[1] = 10;
    e[2] = 0;
    e[3] = IRQ_SCI;
    put32(e + 4, IRQ_SCI);
    put16(e + 8, 0x1 | 0x3 << 2);
    e += 10;
    e[0] = 4;                           /* Local APIC NMI on LINT1 of every processor */
    e[1] = 6;
    e[2] = 0xff;
    put16(e + 3, 0);
    e[5] = 1;
    table_finish(madt);
    note_table(&a, madt, madt_len);

    if (hpet) {
        /* The HPET: its capabilities' low half, the block in memory space. */
        table_header(hpet, "HPET", HPET_TABLE_SIZE, 1);
        put32(hpet + 36, HPET_VENDOR_ID << 16 | 1u << 15 | 1u << 13 |
                         (HPET_TIMERS - 1) << 8 | 1);
        hpet[40] = 0;                   /* GAS: system memory, 64 bits wide */
        hpet[41] = 64;
        put64(hpet + 44, LAYOUT_HPET);
        hpet[52] = 0;                   /* HPET number */
        put16(hpet + 53, 0x80);         /* minimum periodic tick, in counter ticks */
        hpet[55] = 0;                   /* no page protection */
        table_finish(hpet);
        note_table(&a, hpet, HPET_TABLE_SIZE);
    }

    uint64_t listed[3] = { fadt_at, madt_at, hpet_at };
    table_header(rsdt, "RSDT", rsdt_len, 1);
    table_header(xsdt, "XSDT", xsdt_len, 1);
    for (uint32_t i = 0; i < ntables; i++) {
        put32(rsdt + 36 + 4 * i, (uint32_t)listed[i]);
        note_pointer(&a, rsdt + 36 + 4 * i, 4);
        put64(xsdt + 36 + 8 * i, listed[i]);
        note_pointer(&a, xsdt + 36 + 8 * i, 8);
    }
    table_finish(rsdt);
    note_table(&a, rsdt, rsdt_len);
    table_finish(xsdt);
    note_table(&a, xsdt, xsdt_len);

    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, OEM_ID, 6);
    rsdp[15] = 2;
    put32(rsdp + 16, (uint32_t)rsdt_at);
    put32(rsdp + 20, 36);
    put64(rsdp + 24, xsdt_at);
    rsdp[8] = (uint8_t)-acpi_checksum(rsdp, 20);
    rsdp[32] = (uint8_t)-acpi_checksum(rsdp, 36);
    if (rsdp_at != a.base)
        return err_set(err, -EINVAL, "the RSDP must come first");   /* the layout below relies on it */
    *dsdt_end = dsdt_at - a.base + dsdt_len;
    *a_ = a;
    return 0;
}

int acpi_build(struct guest_mem *m, const struct acpi_config *cfg, struct err *err)
{
    struct area a = { .host = mem_ptr(m, LAYOUT_ACPI, LAYOUT_ACPI_END - LAYOUT_ACPI),
                      .base = LAYOUT_ACPI, .cap = LAYOUT_ACPI_END - LAYOUT_ACPI };
    if (!a.host)
        return err_set(err, -EFAULT, "no guest RAM at %#llx for the ACPI tables",
                       (unsigned long long)LAYOUT_ACPI);
    uint64_t dsdt_end;
    int r = build_tables(&a, cfg, &dsdt_end, err);
    if (r < 0)
        return r;
    int ncpus = cfg->ncpus;

    /* The MP table sits in the EBDA after its floating pointer when it fits
     * there (up to 39 CPUs), else after the ACPI tables. */
    uint64_t mp_at = LAYOUT_MPTABLE + 16;
    if (mp_at + mptable_size(ncpus) > 0xa0000) {
        a.next = dsdt_end;
        if (!area_alloc(&a, mptable_size(ncpus), 16, &mp_at))
            return err_set(err, -ENOSPC, "no room for the MP table of %d CPUs", ncpus);
    }
    return mptable_build(m, ncpus, mp_at, err);
}

int acpi_build_for_firmware(const struct acpi_config *cfg, struct acpi_firmware_tables *out,
                            struct err *err)
{
    memset(out, 0, sizeof(*out));
    struct area a = { .host = calloc(1, ACPI_FW_TABLES_MAX), .base = 0,
                      .cap = ACPI_FW_TABLES_MAX, .rel = out };
    if (!a.host)
        return err_set(err, -ENOMEM, "out of memory for the ACPI tables");
    uint64_t end;
    int r = build_tables(&a, cfg, &end, err);
    if (r < 0) {
        free(a.host);
        return r;
    }
    /* The RSDP goes to the firmware as a file of its own (it must sit in
     * the BIOS area, the tables anywhere); its two pointers are into the
     * tables, and its place in the tables is left blank. */
    memcpy(out->rsdp, a.host, 36);
    memset(a.host, 0, 36);
    out->tables_data = a.host;
    out->tables_len = (size_t)end;
    return 0;
}

void acpi_firmware_tables_free(struct acpi_firmware_tables *t)
{
    free(t->tables_data);
    t->tables_data = NULL;
}
