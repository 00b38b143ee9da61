/* Unit tests for the ACPI tables and the AML writer: walk RSDP -> XSDT ->
 * FADT/MADT/DSDT the way an OS does and check every field we promise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "loader_images.h"
#include "board/acpi.h"
#include "board/aml.h"
#include "board/layout.h"
#include "boot/loader.h"

static struct guest_mem mem;
static struct err err;

static void fresh_mem(void)
{
    /* One mapping for the whole run: first-touching fresh RAM for every case is slow. */
    if (!mem.host && mem_init(&mem, 64ULL << 20) < 0) {
        printf("cannot allocate guest memory\n");
        exit(1);
    }
    memset(mem.host, 0xcc, mem.size);
}

static const uint8_t *gp(uint64_t gpa) { return mem_ptr(&mem, gpa, 1); }

/* Finds the RSDP the way Linux does: 16-byte steps through 0xe0000-0xfffff. */
static uint64_t find_rsdp(void)
{
    for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
        if (!memcmp(gp(a), "RSD PTR ", 8) && acpi_checksum(gp(a), 20) == 0)
            return a;
    return 0;
}

/* A table at gpa: inside the ACPI area, the right signature, checksum 0. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
    if (gpa < LAYOUT_ACPI || gpa + 36 > LAYOUT_ACPI_END) {
        printf("  table %s at %#llx is outside the ACPI area\n", sig, (unsigned long long)gpa);
        return NULL;
    }
    const uint8_t *t = gp(gpa);
    uint32_t len = t_r32(t + 4);
    if (memcmp(t, sig, 4) || len < 36 || gpa + len > LAYOUT_ACPI_END) {
        printf("  no valid %s table at %#llx\n", sig, (unsigned long long)gpa);
        return NULL;
    }
    if (acpi_checksum(t, len) != 0) {
        printf("  %s checksum is wrong\n", sig);
        return NULL;
    }
    if (memcmp(t + 10, "HOSTEL", 6)) {
        printf("  %s OEM id is not HOSTEL\n", sig);
        return NULL;
    }
    return t;
}

static const uint8_t *memfind(const uint8_t *h, size_t hl, const void *n, size_t nl)
{
    for (size_t i = 0; i + nl <= hl; i++)
        if (!memcmp(h + i, n, nl))
            return h + i;
    return NULL;
}

static void check_tables(int ncpus)
{
    fresh_mem();
    struct acpi_config cfg = { .ncpus = ncpus };
    CHECK_EQ(acpi_build(&mem, &cfg, &err), 0);

    uint64_t rsdp_at = find_rsdp();
    CHECK(rsdp_at != 0);
    if (!rsdp_at)
        return;
    CHECK_EQ(rsdp_at & 15, 0);
    const uint8_t *rsdp = gp(rsdp_at);
    CHECK_EQ(rsdp[15], 2);
    CHECK_EQ(t_r32(rsdp + 20), 36);
    CHECK_EQ(acpi_checksum(rsdp, 36), 0);
    CHECK(!memcmp(rsdp + 9, "HOSTEL", 6));

    const uint8_t *xsdt = table(t_r64(rsdp + 24), "XSDT");
    const uint8_t *rsdt = table(t_r32(rsdp + 16), "RSDT");
    CHECK(xsdt && rsdt);
    if (!xsdt || !rsdt)
        return;
    int nx = (int)(t_r32(xsdt + 4) - 36) / 8;
    CHECK_EQ(nx, (int)(t_r32(rsdt + 4) - 36) / 4);
    uint64_t fadt_at = 0, madt_at = 0;
    for (int i = 0; i < nx; i++) {
        uint64_t at = t_r64(xsdt + 36 + 8 * i);
        CHECK_EQ(at, t_r32(rsdt + 36 + 4 * i));
        if (!memcmp(gp(at), "FACP", 4))
            fadt_at = at;
        if (!memcmp(gp(at), "APIC", 4))
            madt_at = at;
    }

    /* FADT */
    const uint8_t *f = table(fadt_at, "FACP");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(t_r32(f + 4) >= 244);
    CHECK(f[8] >= 5);
    CHECK_EQ(t_r32(f + 40), t_r64(f + 140));          /* DSDT == X_DSDT */
    CHECK_EQ(t_r32(f + 36), t_r64(f + 132));          /* FACS == X_FACS */
    CHECK_EQ(t_r16(f + 46), 9);                       /* SCI_INT */
    CHECK_EQ(t_r32(f + 48), 0);                       /* SMI_CMD */
    CHECK_EQ(t_r32(f + 56), PORT_ACPI_PM1A_EVT);
    CHECK_EQ(t_r32(f + 64), PORT_ACPI_PM1A_CNT);
    CHECK_EQ(t_r32(f + 76), PORT_ACPI_PM_TMR);
    CHECK_EQ(f[88], 4);
    CHECK_EQ(f[89], 2);
    CHECK_EQ(f[91], 4);
    CHECK(t_r16(f + 109) & 2);                        /* 8042 present */
    uint32_t flags = t_r32(f + 112);
    CHECK(flags & (1u << 0));                         /* WBINVD */
    CHECK(flags & (1u << 2));                         /* PROC_C1 */
    CHECK(flags & (1u << 5));                         /* SLP_BUTTON */
    CHECK(flags & (1u << 10));                        /* RESET_REG_SUP */
    CHECK(!(flags & (1u << 20)));                     /* not hardware-reduced */
    CHECK_EQ(f[116], 1);                              /* RESET_REG: system I/O */
    CHECK_EQ(f[117], 8);
    CHECK_EQ(t_r64(f + 120), PORT_ACPI_RESET);
    CHECK_EQ(f[128], 1);                              /* RESET_VALUE */
    CHECK_EQ(f[148], 1);
    CHECK_EQ(f[149], 32);
    CHECK_EQ(t_r64(f + 152), PORT_ACPI_PM1A_EVT);     /* X_PM1a_EVT_BLK */
    CHECK_EQ(f[173], 16);
    CHECK_EQ(t_r64(f + 176), PORT_ACPI_PM1A_CNT);     /* X_PM1a_CNT_BLK */
    CHECK_EQ(t_r64(f + 212), PORT_ACPI_PM_TMR);       /* X_PM_TMR_BLK */
    uint64_t facs_at = t_r64(f + 132);
    CHECK_EQ(facs_at & 63, 0);
    CHECK(!memcmp(gp(facs_at), "FACS", 4));
    CHECK_EQ(t_r32(gp(facs_at) + 4), 64);

    /* MADT */
    const uint8_t *m = table(madt_at, "APIC");
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_EQ(t_r32(m + 36), LAYOUT_LAPIC);
    CHECK_EQ(t_r32(m + 40) & 1, 1);
    uint32_t mlen = t_r32(m + 4), off = 44;
    int lapics = 0, ioapics = 0, iso0 = 0, iso9 = 0, nmi = 0;
    while (off + 2 <= mlen) {
        const uint8_t *e = m + off;
        CHECK(e[1] >= 2);
        if (e[1] < 2)
            break;
        switch (e[0]) {
        case 0:
            CHECK_EQ(e[1], 8);
            CHECK_EQ(e[2], lapics);
            CHECK_EQ(e[3], lapics);
            CHECK_EQ(t_r32(e + 4) & 1, 1);
            lapics++;
            break;
        case 1:
            CHECK_EQ(e[1], 12);
            CHECK_EQ(e[2], ncpus);
            CHECK_EQ(t_r32(e + 4), LAYOUT_IOAPIC);
            CHECK_EQ(t_r32(e + 8), 0);
            ioapics++;
            break;
        case 2:
            CHECK_EQ(e[1], 10);
            CHECK_EQ(e[2], 0);
            if (e[3] == 0) {
                CHECK_EQ(t_r32(e + 4), 2);
                iso0++;
            } else if (e[3] == 9) {
                CHECK_EQ(t_r32(e + 4), 9);
                CHECK_EQ(t_r16(e + 8), 0xd);          /* active high, level */
                iso9++;
            } else {
                CHECK(0);
            }
            break;
        case 4:
            CHECK_EQ(e[1], 6);
            CHECK_EQ(e[2], 0xff);
            CHECK_EQ(e[5], 1);
            nmi++;
            break;
        default:
            CHECK(0);
        }
        off += e[1];
    }
    CHECK_EQ(off, mlen);
    CHECK_EQ(lapics, ncpus);
    CHECK_EQ(ioapics, 1);
    CHECK_EQ(iso0, 1);
    CHECK_EQ(iso9, 1);
    CHECK_EQ(nmi, 1);

    /* DSDT */
    const uint8_t *d = table(t_r64(f + 140), "DSDT");
    CHECK(d != NULL);
    if (!d)
        return;
    uint32_t dlen = t_r32(d + 4);
    static const uint8_t s5[] = { '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 5, 0x0a, 5, 0, 0 };
    CHECK(memfind(d, dlen, s5, sizeof(s5)) != NULL);
    static const uint8_t pnp0a03[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
    CHECK(memfind(d, dlen, pnp0a03, sizeof(pnp0a03)) != NULL);
    static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
    CHECK(memfind(d, dlen, pnp0501, sizeof(pnp0501)) != NULL);
    static const uint8_t sb[] = { 0x10 };
    CHECK_EQ(d[36], sb[0]);                                     /* Scope(\_SB) first */
    CHECK(memfind(d, dlen, "\\_SB_", 5) != NULL);
    CHECK(memfind(d, dlen, "PCI0", 4) != NULL);
    CHECK(memfind(d, dlen, "COM1", 4) != NULL);
    /* COM1 resources: I/O 0x3f8 length 8, IRQ 4. */
    static const uint8_t com1_io[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
                                       0x22, 0x10, 0x00, 0x79, 0x00 };
    CHECK(memfind(d, dlen, com1_io, sizeof(com1_io)) != NULL);
    /* PCI memory window. */
    static const uint8_t win[] = { 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xbf, 0xfe };
    CHECK(memfind(d, dlen, win, sizeof(win)) != NULL);
    /* _PRT: slot 1 INTA -> GSI 11, slot 2 INTB -> GSI 11, slot 2 INTA -> GSI 10. */
    CHECK(memfind(d, dlen, "_PRT", 4) != NULL);
    static const uint8_t prt1a[] = { 0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x0a, 11 };
    static const uint8_t prt2b[] = { 0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x02, 0x00, 0x01, 0x00, 0x0a, 11 };
    static const uint8_t prt2a[] = { 0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x0a, 10 };
    CHECK(memfind(d, dlen, prt1a, sizeof(prt1a)) != NULL);
    CHECK(memfind(d, dlen, prt2b, sizeof(prt2b)) != NULL);
    CHECK(memfind(d, dlen, prt2a, sizeof(prt2a)) != NULL);
    char cpu[5];
    snprintf(cpu, sizeof(cpu), "C%03X", ncpus - 1);
    CHECK(memfind(d, dlen, cpu, 4) != NULL);
}

static void check_mptable(int ncpus)
{
    fresh_mem();
    struct acpi_config cfg = { .ncpus = ncpus };
    CHECK_EQ(acpi_build(&mem, &cfg, &err), 0);
    const uint8_t *fp = gp(LAYOUT_MPTABLE);
    CHECK(!memcmp(fp, "_MP_", 4));
    CHECK_EQ(acpi_checksum(fp, 16), 0);
    CHECK_EQ(fp[8], 1);
    uint32_t at = t_r32(fp + 4);
    const uint8_t *t = mem_ptr(&mem, at, 44);
    CHECK(t && !memcmp(t, "PCMP", 4));
    if (!t || memcmp(t, "PCMP", 4))
        return;
    uint16_t len = t_r16(t + 4);
    CHECK(at + len <= 0xa0000 || (at >= LAYOUT_ACPI && at + len <= LAYOUT_ACPI_END));
    CHECK_EQ(acpi_checksum(t, len), 0);
    CHECK_EQ(t_r32(t + 36), LAYOUT_LAPIC);
    int cpus = 0, ioapics = 0, irq0_pin2 = 0, n = 0;
    for (uint32_t off = 44; off < len; n++) {
        const uint8_t *e = t + off;
        if (e[0] == 0) {
            CHECK_EQ(e[1], cpus);
            CHECK_EQ(e[3] & 1, 1);
            CHECK_EQ(!!(e[3] & 2), cpus == 0);
            cpus++;
            off += 20;
            continue;
        }
        CHECK(e[0] <= 4);
        if (e[0] == 2) {
            CHECK_EQ(e[1], ncpus);
            CHECK_EQ(t_r32(e + 4), LAYOUT_IOAPIC);
            ioapics++;
        }
        if (e[0] == 3 && e[1] == 0 && e[5] == 0)
            irq0_pin2 += e[7] == 2;
        off += 8;
    }
    CHECK_EQ(n, t_r16(t + 34));
    CHECK_EQ(cpus, ncpus);
    CHECK_EQ(ioapics, 1);
    CHECK_EQ(irq0_pin2, 1);
}

static void mptable_4cpus(void) { check_mptable(4); }
static void mptable_64cpus(void) { check_mptable(64); }

static void acpi_tables_1cpu(void) { check_tables(1); }
static void acpi_tables_4cpus(void) { check_tables(4); }
static void acpi_tables_64cpus(void) { check_tables(64); }

static void acpi_rejects_bad_cpu_counts(void)
{
    fresh_mem();
    struct acpi_config cfg = { .ncpus = 0 };
    CHECK_EQ(acpi_build(&mem, &cfg, &err), -EINVAL);
    CHECK(strstr(err.msg, "CPUs") != NULL);
    cfg.ncpus = 300;
    CHECK_EQ(acpi_build(&mem, &cfg, &err), -EINVAL);
}

/* The loaders point boot_params.acpi_rsdp_addr at our RSDP once it exists. */
static void acpi_rsdp_in_zero_page(void)
{
    fresh_mem();
    struct acpi_config cfg = { .ncpus = 2 };
    CHECK_EQ(acpi_build(&mem, &cfg, &err), 0);
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len };
    struct cpu_state s;
    CHECK_EQ(load_kernel(&mem, &in, &s, &err), 0);
    CHECK_EQ(t_r64(gp(LAYOUT_ZERO_PAGE + 0x70)), find_rsdp());
    /* and the loader did not disturb the tables */
    CHECK(!memcmp(gp(find_rsdp()), "RSD PTR ", 8));
    /* Where the board says there is none (or no RSDP is there), none is passed. */
    in.acpi_rsdp = 0;
    CHECK_EQ(load_kernel(&mem, &in, &s, &err), 0);
    CHECK_EQ(t_r64(gp(LAYOUT_ZERO_PAGE + 0x70)), 0);
    in.acpi_rsdp = LAYOUT_ACPI + 0x1000;
    CHECK_EQ(load_kernel(&mem, &in, &s, &err), 0);
    CHECK_EQ(t_r64(gp(LAYOUT_ZERO_PAGE + 0x70)), 0);
    free(bz);
}

static void aml_encodings(void)
{
    uint8_t buf[8192];
    struct aml a;
    aml_init(&a, buf, sizeof(buf));
    aml_name(&a, "\\_SB.PCI0");
    static const uint8_t n1[] = { '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0' };
    CHECK_EQ(a.len, sizeof(n1));
    CHECK(!memcmp(buf, n1, sizeof(n1)));

    aml_init(&a, buf, sizeof(buf));
    aml_name(&a, "A.B.C");
    static const uint8_t n2[] = { 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_' };
    CHECK(!memcmp(buf, n2, sizeof(n2)));

    aml_init(&a, buf, sizeof(buf));
    aml_integer(&a, 0); aml_integer(&a, 1); aml_integer(&a, 5);
    aml_integer(&a, 0x1234); aml_integer(&a, 0x12345678); aml_integer(&a, 0x100000000ULL);
    static const uint8_t ints[] = { 0x00, 0x01, 0x0a, 5, 0x0b, 0x34, 0x12, 0x0c, 0x78, 0x56, 0x34,
                                    0x12, 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 };
    CHECK_EQ(a.len, sizeof(ints));
    CHECK(!memcmp(buf, ints, sizeof(ints)));

    /* PkgLength: 1 byte up to 63, 2 bytes up to 4095, 3 bytes beyond. */
    static const uint8_t op[] = { 0x10 };
    uint8_t body[5000];
    memset(body, 0x55, sizeof(body));
    size_t sizes[3] = { 62, 100, 4500 };
    for (int i = 0; i < 3; i++) {
        aml_init(&a, buf, sizeof(buf));
        size_t at = aml_open(&a, op, 1);
        aml_bytes(&a, body, sizes[i]);
        aml_close(&a, at);
        size_t n = (size_t)i + 1;
        CHECK_EQ(a.len, 1 + n + sizes[i]);
        size_t total = sizes[i] + n;
        if (n == 1)
            CHECK_EQ(buf[1], total);
        else {
            CHECK_EQ(buf[1] >> 6, n - 1);
            size_t got = buf[1] & 0xf;
            for (size_t k = 1; k < n; k++)
                got |= (size_t)buf[1 + k] << (4 + 8 * (k - 1));
            CHECK_EQ(got, total);
        }
        CHECK_EQ(buf[1 + n], 0x55);
        CHECK_EQ(buf[a.len - 1], 0x55);
    }

    /* Overflow is reported, never written past the end. */
    uint8_t small[8];
    aml_init(&a, small, sizeof(small));
    aml_string(&a, "a long string");
    CHECK(a.overflow);
}

/* Optional: the iasl disassembler accepts our DSDT (acpica-tools). */
static void dsdt_disassembles(void)
{
    if (system("command -v iasl >/dev/null 2>&1") != 0) {
        printf("SKIP: dsdt_disassembles (iasl not installed; apt-get install acpica-tools)\n");
        return;
    }
    check_failed_now = 0;
    fresh_mem();
    struct acpi_config cfg = { .ncpus = 2 };
    CHECK_EQ(acpi_build(&mem, &cfg, &err), 0);
    uint64_t xsdt = t_r64(gp(find_rsdp()) + 24);
    const uint8_t *f = gp(t_r64(gp(xsdt + 36)));                /* first XSDT entry: FADT */
    const uint8_t *d = gp(t_r64(f + 140));
    char dir[] = "/tmp/hostel-acpi-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], cmd[512];
    snprintf(path, sizeof(path), "%s/dsdt.aml", dir);
    FILE *o = fopen(path, "wb");
    CHECK(o != NULL);
    if (o) {
        fwrite(d, 1, t_r32(d + 4), o);
        fclose(o);
    }
    snprintf(cmd, sizeof(cmd),
             "cd %s && iasl -d dsdt.aml >log 2>&1 && grep -q PNP0A03 dsdt.dsl && "
             "grep -q '_S5_' dsdt.dsl && grep -q PNP0501 dsdt.dsl && "
             "grep -q 'DWordMemory' dsdt.dsl && ! grep -qi 'error' log", dir);
    int r = system(cmd);
    if (r != 0) {
        snprintf(cmd, sizeof(cmd), "cat %s/log | head -20", dir);
        CHECK(system(cmd) >= 0);
    }
    CHECK_EQ(r, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) >= 0);
    printf("%s: dsdt_disassembles\n", check_failed_now ? "FAIL" : "PASS");
    check_failures += check_failed_now;
}

int main(void)
{
    RUN_TEST(acpi_tables_1cpu);
    RUN_TEST(acpi_tables_4cpus);
    RUN_TEST(acpi_tables_64cpus);
    RUN_TEST(acpi_rejects_bad_cpu_counts);
    RUN_TEST(mptable_4cpus);
    RUN_TEST(mptable_64cpus);
    RUN_TEST(acpi_rsdp_in_zero_page);
    RUN_TEST(aml_encodings);
    dsdt_disassembles();
    if (mem.host)
        mem_destroy(&mem);
    return CHECK_DONE();
}
