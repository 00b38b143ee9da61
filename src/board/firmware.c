/* What the board hands PC firmware (board/firmware.h): the image, and the
 * fw_cfg files SeaBIOS reads (docs/boot.md lists them). */
#include "board/firmware.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "board/acpi.h"
#include "board/layout.h"
#include "hw/fw_cfg.h"

#define E820_RAM      1
#define E820_RESERVED 2

/* Table-loader commands (QEMU's hw/acpi/bios-linker-loader.c, which
 * SeaBIOS's romfile_loader_execute and OVMF read): 128 bytes each. */
#define LOADER_ALLOCATE     1
#define LOADER_ADD_POINTER  2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH    1
#define LOADER_ZONE_FSEG    2
#define LOADER_ENTRY        128
#define LOADER_FILE         56

#define IPXE_VIRTIO_ROM "/usr/lib/ipxe/qemu/pxe-virtio.rom"
#define VIRTIO_NET_PCI_ID "pci1af4,1041.rom"    /* what SeaBIOS looks up for our NIC */

static const char *const bios_candidates[] = {
    "/usr/share/seabios/bios-256k.bin",
    "/usr/share/qemu/bios-256k.bin",
    "/usr/share/seabios/bios.bin",
    "/usr/share/qemu/bios.bin",
};

int firmware_load_bios(struct file_buf *out, char *path, size_t path_len, struct err *e)
{
    const char *env = getenv("HOSTEL_BIOS");
    const char *found = NULL;
    struct stat st;
    if (env && *env) {
        found = env;
    } else {
        for (size_t i = 0; i < sizeof(bios_candidates) / sizeof(bios_candidates[0]); i++)
            if (stat(bios_candidates[i], &st) == 0) {
                found = bios_candidates[i];
                break;
            }
    }
    if (!found)
        return err_set(e, -ENOENT, "no BIOS image: install Debian's seabios package "
                       "(scripts/deps.sh does), set HOSTEL_BIOS=FILE, or boot a --kernel with "
                       "--firmware none");
    snprintf(path, path_len, "%s", found);
    int r = file_read_all(found, out);
    if (r < 0)
        return err_set(e, r, "cannot read the BIOS image %s: %s", found, strerror(-r));
    if (out->len == 0 || out->len % (64u << 10) || out->len > FIRMWARE_BIOS_MAX) {
        size_t len = out->len;
        file_buf_free(out);
        return err_set(e, -EINVAL, "%s: %zu bytes is not a BIOS image (a multiple of 64 KiB, at "
                       "most %u KiB, such as SeaBIOS's bios-256k.bin)", found, len,
                       FIRMWARE_BIOS_MAX >> 10);
    }
    return 0;
}

int firmware_bootorder(const struct machine_spec *spec, const struct firmware_devices *devs,
                       char *buf, size_t len)
{
    uint8_t order[SPEC_BOOT_MAX];
    int n = spec_boot_order(spec, order);
    size_t at = 0;
    buf[0] = 0;
#define OUT(...)                                                         \
    do {                                                                 \
        int w_ = snprintf(buf + at, at < len ? len - at : 0, __VA_ARGS__); \
        if (w_ < 0 || (size_t)w_ >= len - at)                            \
            return -ENOSPC;                                              \
        at += (size_t)w_;                                                \
    } while (0)
    for (int i = 0; i < n; i++) {
        switch (order[i]) {
        case SPEC_BOOT_DISK:
            for (int d = 0; d < devs->ndisks; d++)
                OUT("/pci@i0cf8/scsi@%x\n", devs->disk_slot[d]);
            break;
        case SPEC_BOOT_CDROM:
            if (devs->cdrom_slot >= 0)
                OUT("/pci@i0cf8/scsi@%x/channel@0/disk@0,0\n", devs->cdrom_slot);
            break;
        case SPEC_BOOT_NETWORK:
            if (devs->net_slot >= 0)
                OUT("/pci@i0cf8/ethernet@%x\n", devs->net_slot);
            break;
        }
    }
    OUT("HALT\n");
#undef OUT
    return (int)at;
}

void firmware_cmos_boot(const struct machine_spec *spec, uint8_t *reg3d, uint8_t *reg38)
{
    /* Nibbles: 1 floppy, 2 hard disk, 3 CD-ROM, 4 network; first device in
     * 0x3d's low nibble, second in its high one, third in 0x38's high one. */
    static const uint8_t code[] = { 0, 2, 3, 4 };
    uint8_t order[SPEC_BOOT_MAX];
    int n = spec_boot_order(spec, order);
    uint8_t c[3] = { 0, 0, 0 };
    for (int i = 0; i < n && i < 3; i++)
        c[i] = code[order[i] & 3];
    *reg3d = (uint8_t)(c[0] | c[1] << 4);
    *reg38 = (uint8_t)(c[2] << 4);
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int add_e820(struct fw_cfg *fw, const struct guest_mem *mem)
{
    uint8_t map[4 * 20];
    int n = 0;
#define ENTRY(a, s, t)                                  \
    do {                                                \
        put_le(map + n * 20, (a), 8);                   \
        put_le(map + n * 20 + 8, (s), 8);               \
        put_le(map + n * 20 + 16, (t), 4);              \
        n++;                                            \
    } while (0)
    ENTRY(0, mem->low_size, E820_RAM);
    if (mem->high_size)
        ENTRY(MEM_HIGH_START, mem->high_size, E820_RAM);
    /* KVM's TSS and identity-map pages, just below the BIOS. */
    ENTRY(0xfffbc000ULL, 0x4000, E820_RESERVED);
#undef ENTRY
    return fw_cfg_add_file(fw, "etc/e820", map, (size_t)n * 20);
}

/* The loader script: allocate the RSDP in the BIOS area and the tables in
 * high memory, add the tables' address to every pointer, then fix the
 * checksums. */
static int add_acpi(struct fw_cfg *fw, const struct machine_spec *spec,
                    const struct guest_mem *mem, struct err *e)
{
    struct acpi_config cfg = {
        .ncpus = spec->cpus,
        .hpet = spec->hpet,
        /* Where SeaBIOS puts 32-bit BARs on an i440FX: above low RAM, from
         * 2 GiB when low RAM fits below it, else from 3 GiB. */
        .pci_mmio_start = mem->low_size <= 0x80000000ULL ? 0x80000000ULL : 0xc0000000ULL,
    };
    struct acpi_firmware_tables t;
    int r = acpi_build_for_firmware(&cfg, &t, e);
    if (r < 0)
        return err_wrap(e, "ACPI tables");
    size_t max = 2 + (size_t)t.npointers + (size_t)t.ntables + 2 + 2;
    uint8_t *script = calloc(max, LOADER_ENTRY);
    if (!script) {
        acpi_firmware_tables_free(&t);
        return err_set(e, -ENOMEM, "out of memory");
    }
    size_t n = 0;
    uint8_t *c;
#define CMD(kind) (c = script + LOADER_ENTRY * n++, put_le(c, (kind), 4), c + 4)
    uint8_t *p = CMD(LOADER_ALLOCATE);
    strcpy((char *)p, "etc/acpi/rsdp");
    put_le(p + LOADER_FILE, 16, 4);
    p[LOADER_FILE + 4] = LOADER_ZONE_FSEG;
    p = CMD(LOADER_ALLOCATE);
    strcpy((char *)p, "etc/acpi/tables");
    put_le(p + LOADER_FILE, 64, 4);                    /* the FACS wants 64 */
    p[LOADER_FILE + 4] = LOADER_ZONE_HIGH;
    /* RSDP -> RSDT (4 bytes at 16) and XSDT (8 bytes at 24). */
    static const struct { uint32_t off; uint8_t size; } rsdp_ptrs[] = { { 16, 4 }, { 24, 8 } };
    for (size_t i = 0; i < 2; i++) {
        p = CMD(LOADER_ADD_POINTER);
        strcpy((char *)p, "etc/acpi/rsdp");
        strcpy((char *)p + LOADER_FILE, "etc/acpi/tables");
        put_le(p + 2 * LOADER_FILE, rsdp_ptrs[i].off, 4);
        p[2 * LOADER_FILE + 4] = rsdp_ptrs[i].size;
    }
    for (int i = 0; i < t.npointers; i++) {
        p = CMD(LOADER_ADD_POINTER);
        strcpy((char *)p, "etc/acpi/tables");
        strcpy((char *)p + LOADER_FILE, "etc/acpi/tables");
        put_le(p + 2 * LOADER_FILE, t.pointers[i].offset, 4);
        p[2 * LOADER_FILE + 4] = t.pointers[i].size;
    }
    for (int i = 0; i < t.ntables; i++) {
        p = CMD(LOADER_ADD_CHECKSUM);
        strcpy((char *)p, "etc/acpi/tables");
        put_le(p + LOADER_FILE, t.tables[i].offset + 9, 4);
        put_le(p + LOADER_FILE + 4, t.tables[i].offset, 4);
        put_le(p + LOADER_FILE + 8, t.tables[i].len, 4);
    }
    /* The RSDP's two checksums: the first 20 bytes, then all 36. */
    static const uint32_t rsdp_sums[][3] = { { 8, 0, 20 }, { 32, 0, 36 } };
    for (size_t i = 0; i < 2; i++) {
        p = CMD(LOADER_ADD_CHECKSUM);
        strcpy((char *)p, "etc/acpi/rsdp");
        put_le(p + LOADER_FILE, rsdp_sums[i][0], 4);
        put_le(p + LOADER_FILE + 4, rsdp_sums[i][1], 4);
        put_le(p + LOADER_FILE + 8, rsdp_sums[i][2], 4);
    }
#undef CMD
    r = fw_cfg_add_file(fw, "etc/acpi/rsdp", t.rsdp, sizeof(t.rsdp));
    if (r == 0)
        r = fw_cfg_add_file(fw, "etc/acpi/tables", t.tables_data, t.tables_len);
    if (r == 0)
        r = fw_cfg_add_file(fw, "etc/table-loader", script, n * LOADER_ENTRY);
    free(script);
    acpi_firmware_tables_free(&t);
    return r < 0 ? err_set(e, r, "fw_cfg: cannot add the ACPI tables: %s", strerror(-r)) : 0;
}

static bool boots_network(const struct machine_spec *spec)
{
    uint8_t order[SPEC_BOOT_MAX];
    int n = spec_boot_order(spec, order);
    for (int i = 0; i < n; i++)
        if (order[i] == SPEC_BOOT_NETWORK)
            return true;
    return false;
}

int firmware_configure(struct fw_cfg *fw, const struct guest_mem *mem,
                       const struct machine_spec *spec, const struct firmware_devices *devs,
                       struct err *e)
{
    int r = 0;
    r |= fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, (uint16_t)spec->cpus);
    r |= fw_cfg_add_u16(fw, FW_CFG_MAX_CPUS, (uint16_t)spec->cpus);
    r |= fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, mem->size);
    r |= fw_cfg_add_u16(fw, FW_CFG_NOGRAPHIC, 1);
    r |= fw_cfg_add_u16(fw, FW_CFG_BOOT_MENU, 0);
    uint8_t uuid[16] = { 0 };
    r |= fw_cfg_add_item(fw, FW_CFG_UUID, uuid, sizeof(uuid));
    if (r < 0)
        return err_set(e, -ENOMEM, "fw_cfg: cannot add the firmware's items");
    uint8_t v[8];
    /* The firmware's console is COM1 (SeaBIOS's sercon: its own messages
     * and int 10h text output go there); no boot menu and its wait; when
     * nothing boots, say so once and wait rather than reboot forever. */
    put_le(v, PORT_COM1, 2);
    r = fw_cfg_add_file(fw, "etc/sercon-port", v, 2);
    put_le(v, 0, 2);
    if (r == 0)
        r = fw_cfg_add_file(fw, "etc/show-boot-menu", v, 2);
    put_le(v, 0xffffffffu, 4);
    if (r == 0)
        r = fw_cfg_add_file(fw, "etc/boot-fail-wait", v, 4);
    if (r == 0)
        r = add_e820(fw, mem);
    char order[1024];
    int n = firmware_bootorder(spec, devs, order, sizeof(order));
    if (r == 0)
        r = n < 0 ? n : fw_cfg_add_file(fw, "bootorder", order, (size_t)n);
    if (r < 0)
        return err_set(e, r, "fw_cfg: cannot add the firmware's files: %s", strerror(-r));
    r = add_acpi(fw, spec, mem, e);
    if (r < 0)
        return r;
    if (devs->net_slot >= 0 && boots_network(spec)) {
        struct file_buf rom;
        r = file_read_all(IPXE_VIRTIO_ROM, &rom);
        if (r < 0)
            return err_set(e, r, "network boot: cannot read iPXE's option ROM %s: %s (install "
                           "Debian's ipxe-qemu package; scripts/deps.sh does)", IPXE_VIRTIO_ROM,
                           strerror(-r));
        r = fw_cfg_add_file(fw, VIRTIO_NET_PCI_ID, rom.data, rom.len);
        file_buf_free(&rom);
        if (r < 0)
            return err_set(e, r, "fw_cfg: cannot add the iPXE ROM: %s", strerror(-r));
    }
    if (devs->vga) {
        struct file_buf rom;
        r = file_read_all(FIRMWARE_VGA_ROM, &rom);
        if (r < 0)
            return err_set(e, r, "--display: cannot read the VGA BIOS %s: %s (install Debian's "
                           "seabios package; scripts/deps.sh does)", FIRMWARE_VGA_ROM,
                           strerror(-r));
        r = fw_cfg_add_file(fw, FIRMWARE_VGA_ROM_ID, rom.data, rom.len);
        file_buf_free(&rom);
        if (r < 0)
            return err_set(e, r, "fw_cfg: cannot add the VGA BIOS: %s", strerror(-r));
    }
    return 0;
}
