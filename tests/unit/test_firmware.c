/* Unit tests for what the firmware reads: fw_cfg (selector, data port, file
 * directory, DMA, and the guest's hostile requests), the boot order and
 * CMOS bytes, the ACPI table-loader script (pointers land in the tables,
 * checksums come out right once relocated, as SeaBIOS would do it), the
 * CD-ROM drive's commands, and the cloud-init seed. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "board/acpi.h"
#include "board/cloud_init.h"
#include "board/firmware.h"
#include "board/layout.h"
#include "check.h"
#include "dev_harness.h"
#include "hw/fw_cfg.h"
#include "hw/scsi_cd.h"

#define CHECK_MSG(e, text)                                                         \
    do {                                                                           \
        if (strcmp((e)->msg, (text))) {                                            \
            printf("  %s:%d: message \"%s\",\n    expected \"%s\"\n", __FILE__,     \
                   __LINE__, (e)->msg, (text));                                     \
            check_failed_now = 1;                                                  \
        }                                                                          \
    } while (0)

static struct dev_harness dh;
static struct fw_cfg *fw;

static void setup(void)
{
    dev_harness_init(&dh);
    CHECK_EQ(dev_harness_mem(&dh, 16 << 20), 0);
    CHECK_EQ(fw_cfg_create(&dh.pio, FW_CFG_PORT_SEL, &dh.mem, &fw), 0);
}

static void teardown(void)
{
    fw_cfg_destroy(fw);
    dev_harness_destroy(&dh);
}

static void read_item(uint16_t key, uint8_t *buf, size_t len)
{
    pio_out(&dh, FW_CFG_PORT_SEL, 2, key);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)pio_in(&dh, FW_CFG_PORT_DATA, 1);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

/* The directory entry for name: its key and size. */
static int find_file(const char *name, uint16_t *key, uint32_t *size)
{
    uint8_t n[4];
    read_item(FW_CFG_FILE_DIR, n, 4);
    for (uint32_t i = 0; i < be32(n); i++) {
        uint8_t e[64];
        for (int k = 0; k < 64; k++)
            e[k] = (uint8_t)pio_in(&dh, FW_CFG_PORT_DATA, 1);
        if (!strcmp((char *)e + 8, name)) {
            *key = (uint16_t)(e[4] << 8 | e[5]);
            *size = be32(e);
            return 0;
        }
    }
    return -ENOENT;
}

static void fw_cfg_signature_and_items(void)
{
    setup();
    uint8_t sig[4], id[4], past[2];
    read_item(FW_CFG_SIGNATURE, sig, 4);
    CHECK(!memcmp(sig, "QEMU", 4));
    read_item(FW_CFG_ID, id, 4);
    CHECK_EQ(id[0], 3);                           /* traditional and DMA */
    CHECK_EQ(fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, 3), 0);
    uint8_t cpus[2];
    read_item(FW_CFG_NB_CPUS, cpus, 2);
    CHECK_EQ(cpus[0] | cpus[1] << 8, 3);
    /* Past the end, and an item that does not exist, read zeros. */
    for (int i = 0; i < 2; i++)
        past[i] = (uint8_t)pio_in(&dh, FW_CFG_PORT_DATA, 1);
    CHECK_EQ(past[0] | past[1], 0);
    read_item(0x1234, past, 2);
    CHECK_EQ(past[0] | past[1], 0);
    /* The DMA register reads as "QEMU CFG". */
    CHECK_EQ(pio_in(&dh, FW_CFG_PORT_DMA, 4), 0x554d4551);   /* "QEMU" as bytes */
    /* Writes to the data port change nothing. */
    pio_out(&dh, FW_CFG_PORT_SEL, 2, FW_CFG_SIGNATURE);
    pio_out(&dh, FW_CFG_PORT_DATA, 1, 'X');
    read_item(FW_CFG_SIGNATURE, sig, 4);
    CHECK(!memcmp(sig, "QEMU", 4));
    teardown();
}

static void fw_cfg_files(void)
{
    setup();
    CHECK_EQ(fw_cfg_add_file(fw, "etc/one", "abc", 3), 0);
    CHECK_EQ(fw_cfg_add_file(fw, "bootorder", "/pci@i0cf8/scsi@3\n", 18), 0);
    CHECK_EQ(fw_cfg_add_file(fw, "etc/one", "abcdef", 6), 0);     /* replaces */
    uint16_t key;
    uint32_t size;
    CHECK_EQ(find_file("etc/one", &key, &size), 0);
    CHECK_EQ(size, 6);
    CHECK_EQ(key, FW_CFG_FILE_FIRST);
    uint8_t buf[6];
    read_item(key, buf, 6);
    CHECK(!memcmp(buf, "abcdef", 6));
    CHECK_EQ(find_file("bootorder", &key, &size), 0);
    CHECK_EQ(size, 18);
    char longname[80];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[79] = 0;
    CHECK_EQ(fw_cfg_add_file(fw, longname, "", 0), -ENAMETOOLONG);
    int full = 0;
    for (int i = 0; i < FW_CFG_FILE_MAX + 2; i++) {
        char name[20];
        snprintf(name, sizeof(name), "f%d", i);
        if (fw_cfg_add_file(fw, name, "x", 1) == -ENOSPC)
            full++;
    }
    CHECK(full > 0);
    teardown();
}

static void put_dma(uint64_t at, uint32_t control, uint32_t len, uint64_t addr)
{
    uint8_t d[16];
    for (int i = 0; i < 4; i++) {
        d[i] = (uint8_t)(control >> (24 - 8 * i));
        d[4 + i] = (uint8_t)(len >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; i++)
        d[8 + i] = (uint8_t)(addr >> (56 - 8 * i));
    mem_write(&dh.mem, at, d, 16);
}

static uint32_t dma_control(uint64_t at)
{
    uint8_t c[4];
    mem_read(&dh.mem, at, c, 4);
    return be32(c);
}

static void start_dma(uint64_t at)
{
    pio_out(&dh, FW_CFG_PORT_DMA + 4, 4, __builtin_bswap32((uint32_t)at));
}

static void fw_cfg_dma(void)
{
    setup();
    CHECK_EQ(fw_cfg_add_file(fw, "etc/data", "0123456789", 10), 0);
    uint16_t key;
    uint32_t size;
    CHECK_EQ(find_file("etc/data", &key, &size), 0);
    /* select + read 4, then skip 2, then read 8 (4 past the end: zeros). */
    put_dma(0x1000, (uint32_t)key << 16 | 0x08 | 0x02, 4, 0x2000);
    start_dma(0x1000);
    CHECK_EQ(dma_control(0x1000), 0);
    put_dma(0x1000, 0x04, 2, 0);
    start_dma(0x1000);
    CHECK_EQ(dma_control(0x1000), 0);
    memset(mem_ptr(&dh.mem, 0x2004, 8), 0xee, 8);
    put_dma(0x1000, 0x02, 8, 0x2004);
    start_dma(0x1000);
    CHECK_EQ(dma_control(0x1000), 0);
    CHECK(!memcmp(mem_ptr(&dh.mem, 0x2000, 12), "01236789\0\0\0\0", 12));
    /* A guest asking to write, or to read into no RAM, gets an error. */
    put_dma(0x1000, (uint32_t)key << 16 | 0x08 | 0x10, 4, 0x2000);
    start_dma(0x1000);
    CHECK_EQ(dma_control(0x1000), 1);
    put_dma(0x1000, (uint32_t)key << 16 | 0x08 | 0x02, 4, 0xfffff000ULL);
    start_dma(0x1000);
    CHECK_EQ(dma_control(0x1000), 1);
    put_dma(0x1000, (uint32_t)key << 16 | 0x08 | 0x02, 0xffffffffu, 0xfff000);
    start_dma(0x1000);
    CHECK_EQ(dma_control(0x1000), 1);   /* runs past the end of RAM */
    /* A control structure outside RAM is ignored. */
    start_dma(0xfffff000ULL);
    teardown();
}

static void boot_order_and_cmos(void)
{
    struct machine_spec s;
    spec_init(&s);
    struct firmware_devices d = { .ndisks = 2, .disk_slot = { 3, 4 }, .cdrom_slot = 5,
                                  .net_slot = 7 };
    char buf[512];
    CHECK(firmware_bootorder(&s, &d, buf, sizeof(buf)) > 0);
    CHECK(!strcmp(buf, "/pci@i0cf8/scsi@3\n/pci@i0cf8/scsi@4\n"
                       "/pci@i0cf8/scsi@5/channel@0/disk@0,0\n/pci@i0cf8/ethernet@7\nHALT\n"));
    struct err e = ERR_INIT;
    CHECK_EQ(spec_set_option(&s, "boot", "network,cdrom", &e), 0);
    CHECK(firmware_bootorder(&s, &d, buf, sizeof(buf)) > 0);
    CHECK(!strcmp(buf, "/pci@i0cf8/ethernet@7\n/pci@i0cf8/scsi@5/channel@0/disk@0,0\nHALT\n"));
    uint8_t r3d, r38;
    firmware_cmos_boot(&s, &r3d, &r38);
    CHECK_EQ(r3d, 0x34);
    CHECK_EQ(r38, 0x00);
    d.cdrom_slot = -1;
    CHECK(firmware_bootorder(&s, &d, buf, sizeof(buf)) > 0);
    CHECK(!strcmp(buf, "/pci@i0cf8/ethernet@7\nHALT\n"));
    CHECK_EQ(firmware_bootorder(&s, &d, buf, 8), -ENOSPC);
    CHECK_EQ(spec_set_option(&s, "boot", "disk,disk", &e), -EINVAL);
    CHECK_MSG(&e, "--boot 'disk,disk': 'disk' is listed twice");
    CHECK_EQ(spec_set_option(&s, "boot", "floppy", &e), -EINVAL);
    CHECK_MSG(&e, "--boot 'floppy': 'floppy' is not a boot device (disk, cdrom, network; "
                  "several in order: cdrom,disk)");
    spec_format_boot(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "network,cdrom"));
    spec_free(&s);
}

/* Runs the table loader the way SeaBIOS does (allocate, add pointer, add
 * checksum) into guest RAM, then checks every table by its checksum. */
static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s += *p++;
    return s;
}

static void acpi_table_loader(void)
{
    setup();
    struct machine_spec s;
    spec_defaults(&s);
    s.cpus = 2;
    struct firmware_devices d = { .cdrom_slot = -1, .net_slot = -1 };
    struct err e = ERR_INIT;
    CHECK_EQ(firmware_configure(fw, &dh.mem, &s, &d, &e), 0);
    size_t lsize, tsize, rsize;
    const uint8_t *loader = fw_cfg_file(fw, "etc/table-loader", &lsize);
    const uint8_t *tables = fw_cfg_file(fw, "etc/acpi/tables", &tsize);
    const uint8_t *rsdp = fw_cfg_file(fw, "etc/acpi/rsdp", &rsize);
    CHECK(loader && tables && rsdp && lsize % 128 == 0 && rsize == 36);
    if (!loader || !tables || !rsdp) {
        teardown();
        return;
    }
    uint64_t at_tables = 0x100000, at_rsdp = 0xf0000;
    memcpy(mem_ptr(&dh.mem, at_tables, tsize), tables, tsize);
    memcpy(mem_ptr(&dh.mem, at_rsdp, 36), rsdp, 36);
    for (size_t i = 0; i < lsize; i += 128) {
        const uint8_t *c = loader + i;
        uint32_t cmd = c[0] | c[1] << 8;
        const char *f1 = (const char *)c + 4;
        uint64_t base1 = !strcmp(f1, "etc/acpi/rsdp") ? at_rsdp : at_tables;
        if (cmd == 2) {
            const char *src = (const char *)c + 4 + 56;
            uint64_t sbase = !strcmp(src, "etc/acpi/rsdp") ? at_rsdp : at_tables;
            uint32_t off;
            memcpy(&off, c + 4 + 112, 4);
            uint8_t size = c[4 + 116];
            uint64_t v = 0;
            mem_read(&dh.mem, base1 + off, &v, size);
            v += sbase;
            mem_write(&dh.mem, base1 + off, &v, size);
        } else if (cmd == 3) {
            uint32_t off, start, len;
            memcpy(&off, c + 4 + 56, 4);
            memcpy(&start, c + 4 + 60, 4);
            memcpy(&len, c + 4 + 64, 4);
            uint8_t *p = mem_ptr(&dh.mem, base1, start + len);
            p[off] -= sum(p + start, len);
        } else {
            CHECK_EQ(cmd, 1);
        }
    }
    uint8_t *r = mem_ptr(&dh.mem, at_rsdp, 36);
    CHECK(!memcmp(r, "RSD PTR ", 8));
    CHECK_EQ(sum(r, 20), 0);
    CHECK_EQ(sum(r, 36), 0);
    uint64_t xsdt;
    memcpy(&xsdt, r + 24, 8);
    uint8_t *x = mem_ptr(&dh.mem, xsdt, 52);
    CHECK(x && !memcmp(x, "XSDT", 4));
    int found = 0;
    for (int i = 0; x && i < 2; i++) {
        uint64_t t;
        memcpy(&t, x + 36 + 8 * i, 8);
        uint8_t *tab = mem_ptr(&dh.mem, t, 36);
        uint32_t len;
        memcpy(&len, tab + 4, 4);
        CHECK_EQ(sum(tab, len), 0);
        if (!memcmp(tab, "FACP", 4)) {
            uint64_t dsdt;
            memcpy(&dsdt, tab + 140, 8);
            uint8_t *dt = mem_ptr(&dh.mem, dsdt, 36);
            CHECK(dt && !memcmp(dt, "DSDT", 4));
            memcpy(&len, dt + 4, 4);
            CHECK_EQ(sum(dt, len), 0);
            found++;
        }
        if (!memcmp(tab, "APIC", 4))
            found++;
    }
    CHECK_EQ(found, 2);
    size_t n;
    CHECK(fw_cfg_file(fw, "bootorder", &n) && fw_cfg_file(fw, "etc/e820", &n) && n == 40);
    spec_free(&s);
    teardown();
}

/* ---- the CD-ROM drive ---------------------------------------------------- */

static void cd_cmd(struct scsi_cd *cd, const uint8_t *cdb, void *buf, size_t len,
                   struct scsi_result *r)
{
    struct iovec iov = { buf, len };
    scsi_cd_command(cd, cdb, 16, &iov, 1, len, r);
}

static void scsi_cd_commands(void)
{
    char path[] = "/tmp/hostel-test-cd-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    uint8_t block[2048];
    for (int i = 0; i < 40; i++) {
        memset(block, i, sizeof(block));
        if (i == 16)
            memcpy(block, "\001CD001", 6);
        CHECK_EQ(write(fd, block, sizeof(block)), (long)sizeof(block));
    }
    close(fd);
    struct blockdev *bd;
    struct block_open_opts o = { .format = BLOCK_FORMAT_RAW, .readonly = true };
    struct err e = ERR_INIT;
    CHECK_EQ(block_open(path, &o, &bd, &e), 0);
    CHECK_EQ(scsi_cd_check_image(bd, path, &e), 0);
    struct scsi_cd cd;
    scsi_cd_init(&cd, bd);
    struct scsi_result r;
    uint8_t buf[8192];
    uint8_t inquiry[16] = { 0x12, 0, 0, 0, 96 };
    cd_cmd(&cd, inquiry, buf, sizeof(buf), &r);
    CHECK_EQ(r.status, SCSI_STATUS_GOOD);
    CHECK_EQ(r.data_len, 36);
    CHECK_EQ(buf[0], 0x05);
    CHECK_EQ(buf[1], 0x80);
    uint8_t cap[16] = { 0x25 };
    cd_cmd(&cd, cap, buf, sizeof(buf), &r);
    CHECK_EQ(r.data_len, 8);
    CHECK_EQ(be32(buf), 39);
    CHECK_EQ(be32(buf + 4), 2048);
    uint8_t rd[16] = { 0x28, 0, 0, 0, 0, 17, 0, 0, 2 };
    cd_cmd(&cd, rd, buf, sizeof(buf), &r);
    CHECK_EQ(r.status, SCSI_STATUS_GOOD);
    CHECK_EQ(r.data_len, 4096);
    CHECK(buf[0] == 17 && buf[2047] == 17 && buf[2048] == 18);
    /* Past the end: LBA out of range, with sense to read back. */
    uint8_t past[16] = { 0x28, 0, 0, 0, 0, 39, 0, 0, 2 };
    cd_cmd(&cd, past, buf, sizeof(buf), &r);
    CHECK_EQ(r.status, SCSI_STATUS_CHECK_CONDITION);
    CHECK_EQ(r.sense[2], 0x5);
    CHECK_EQ(r.sense[12], 0x21);
    uint8_t rs[16] = { 0x03, 0, 0, 0, 18 };
    cd_cmd(&cd, rs, buf, sizeof(buf), &r);
    CHECK_EQ(r.status, SCSI_STATUS_GOOD);
    CHECK_EQ(buf[12], 0x21);
    /* More data than the buffers hold, a write, an unknown opcode. */
    uint8_t big[16] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8 };
    cd_cmd(&cd, big, buf, sizeof(buf), &r);
    CHECK_EQ(r.status, SCSI_STATUS_CHECK_CONDITION);
    uint8_t wr[16] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1 };
    cd_cmd(&cd, wr, buf, sizeof(buf), &r);
    CHECK_EQ(r.sense[2], 0x7);
    uint8_t bad[16] = { 0xff };
    cd_cmd(&cd, bad, buf, sizeof(buf), &r);
    CHECK_EQ(r.sense[2], 0x5);
    CHECK_EQ(r.sense[12], 0x20);
    /* The TOC: track 1 at 0, lead-out at the end. */
    uint8_t toc[16] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 100 };
    cd_cmd(&cd, toc, buf, sizeof(buf), &r);
    CHECK_EQ(r.data_len, 20);
    CHECK_EQ(buf[14], 0xaa);
    CHECK_EQ(be32(buf + 16), 40);
    /* Short buffers are never overrun. */
    cd_cmd(&cd, inquiry, buf, 5, &r);
    CHECK_EQ(r.data_len, 5);
    block_close(bd);
    /* Not an ISO. */
    fd = open(path, O_WRONLY | O_TRUNC);
    memset(block, 0, sizeof(block));
    for (int i = 0; i < 20; i++)
        CHECK_EQ(write(fd, block, sizeof(block)), (long)sizeof(block));
    close(fd);
    CHECK_EQ(block_open(path, &o, &bd, &e), 0);
    CHECK_EQ(scsi_cd_check_image(bd, "x.iso", &e), -EINVAL);
    CHECK(strstr(e.msg, "--cdrom x.iso: not an ISO 9660 or UDF image") != NULL);
    block_close(bd);
    unlink(path);
}

static void seed_from_key_and_user_data(void)
{
    char dir[] = "/tmp/hostel-test-seed-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char key[300], ud[300], iso[300], bad[300];
    snprintf(key, sizeof(key), "%s/key.pub", dir);
    snprintf(ud, sizeof(ud), "%s/user-data", dir);
    snprintf(iso, sizeof(iso), "%s/seed.iso", dir);
    snprintf(bad, sizeof(bad), "%s/id_ed25519", dir);
    FILE *f = fopen(key, "w");
    fputs("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFTQ test@host\n", f);
    fclose(f);
    f = fopen(ud, "w");
    fputs("#cloud-config\nhostname: x\n", f);
    fclose(f);
    f = fopen(bad, "w");
    fputs("-----BEGIN OPENSSH PRIVATE KEY-----\n", f);
    fclose(f);
    struct machine_spec s;
    spec_init(&s);
    s.ssh_key = key;
    s.cloud_init = ud;
    struct seed_identity who = { "web", "abc123" };
    struct err e = ERR_INIT;
    int fd = open(iso, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK_EQ(cloud_init_write_seed(&s, &who, fd, &e), 0);
    /* An ISO 9660 volume labelled cidata, holding both files. */
    uint8_t pvd[2048];
    CHECK_EQ(pread(fd, pvd, sizeof(pvd), 16 * 2048), 2048);
    CHECK(!memcmp(pvd + 1, "CD001", 5));
    CHECK(!memcmp(pvd + 40, "CIDATA", 6) || !memcmp(pvd + 40, "cidata", 6));
    off_t end = lseek(fd, 0, SEEK_END);
    char *all = malloc((size_t)end + 1);
    CHECK_EQ(pread(fd, all, (size_t)end, 0), end);
    all[end] = 0;
    static const char want_meta[] = "instance-id: hostel-abc123\nlocal-hostname: web\npublic-keys:\n"
                                    "  - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFTQ test@host\"";
    static const char want_user[] = "#cloud-config\nhostname: x\n";
    bool meta = memmem(all, (size_t)end, want_meta, sizeof(want_meta) - 1) != NULL;
    bool user = memmem(all, (size_t)end, want_user, sizeof(want_user) - 1) != NULL;
    CHECK(meta);
    CHECK(user);
    free(all);
    close(fd);
    /* A private key is refused, and says so. */
    s.ssh_key = bad;
    fd = open(iso, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK_EQ(cloud_init_write_seed(&s, &who, fd, &e), -EINVAL);
    CHECK(strstr(e.msg, "not an OpenSSH public key") != NULL);
    close(fd);
    unlink(key);
    unlink(ud);
    unlink(iso);
    unlink(bad);
    rmdir(dir);
}

int main(void)
{
    RUN_TEST(fw_cfg_signature_and_items);
    RUN_TEST(fw_cfg_files);
    RUN_TEST(fw_cfg_dma);
    RUN_TEST(boot_order_and_cmos);
    RUN_TEST(acpi_table_loader);
    RUN_TEST(scsi_cd_commands);
    RUN_TEST(seed_from_key_and_user_data);
    return CHECK_DONE();
}
