/* Linux bzImage loader, 64-bit boot protocol (Documentation/arch/x86/boot.rst):
 * the protected-mode kernel at 1 MiB, boot_params in the zero page, entry at
 * load address + 0x200 in long mode with rsi = boot_params. */
#include <errno.h>
#include <string.h>

#include "boot/boot_layout.h"
#include "boot/loader.h"
#include "boot/loader_priv.h"

/* Offsets in the file's first sector and in boot_params (the same bytes). */
#define BP_ACPI_RSDP       0x070
/* screen_info, at the start of boot_params. */
#define SI_ORIG_VIDEO_MODE   0x06
#define SI_ORIG_VIDEO_COLS   0x07
#define SI_ORIG_VIDEO_LINES  0x0e
#define SI_ORIG_VIDEO_ISVGA  0x0f
#define SI_ORIG_VIDEO_POINTS 0x10
#define BP_SETUP_SECTS     0x1f1
#define BP_SYSSIZE         0x1f4
#define BP_JUMP            0x200
#define BP_HEADER          0x202
#define BP_VERSION         0x206
#define BP_TYPE_OF_LOADER  0x210
#define BP_LOADFLAGS       0x211
#define BP_CODE32_START    0x214
#define BP_RAMDISK_IMAGE   0x218
#define BP_RAMDISK_SIZE    0x21c
#define BP_HEAP_END_PTR    0x224
#define BP_CMD_LINE_PTR    0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_KERNEL_ALIGN    0x230
#define BP_RELOCATABLE     0x234
#define BP_XLOADFLAGS      0x236
#define BP_CMDLINE_SIZE    0x238
#define BP_PREF_ADDRESS    0x258
#define BP_INIT_SIZE       0x260
#define BP_HDR_MIN_END     0x268   /* protocol 2.12 has fields up to handover_offset */

#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64         0x01

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

int load_bzimage(struct guest_mem *m, const struct boot_input *in, struct cpu_state *bsp,
                 struct err *e)
{
    const uint8_t *img = in->kernel;
    size_t len = in->kernel_len;
    int r;

    if (!img || len < BP_HEADER + 6 || memcmp(img + BP_HEADER, "HdrS", 4))
        return err_set(e, -ENOEXEC,
                       "not a Linux bzImage: no \"HdrS\" boot header at offset 0x202");
    uint16_t version = rd16(img + BP_VERSION);
    if (version < 0x020c)
        return err_set(e, -ENOEXEC,
                       "boot protocol %u.%02u is too old: hostel needs 2.12 or later "
                       "(Linux 3.8+) with a 64-bit entry point",
                       version >> 8, version & 0xff);
    size_t hdr_end = (size_t)BP_HEADER + img[BP_JUMP + 1];
    if (hdr_end < BP_HDR_MIN_END || hdr_end > len)
        return err_set(e, -ENOEXEC,
                       "malformed bzImage: setup header ends at %#zx (file has %zu bytes, "
                       "protocol 2.12 needs at least %#x)", hdr_end, len, BP_HDR_MIN_END);
    if (!(rd16(img + BP_XLOADFLAGS) & XLF_KERNEL_64))
        return err_set(e, -ENOEXEC,
                       "not a 64-bit kernel: XLF_KERNEL_64 is not set in xloadflags; "
                       "hostel boots x86-64 kernels only");

    uint64_t setup_sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
    uint64_t setup_size = (setup_sects + 1) * 512;
    uint64_t syssize = (uint64_t)rd32(img + BP_SYSSIZE) * 16;
    if (setup_size >= len || (syssize && setup_size + syssize > len))
        return err_set(e, -ENOEXEC,
                       "bzImage is truncated: it needs %llu bytes (setup %llu + kernel %llu) "
                       "but the file has %zu", (unsigned long long)(setup_size + syssize),
                       (unsigned long long)setup_size, (unsigned long long)syssize, len);
    uint64_t kernel_size = len - setup_size;

    /* Relocatable kernels go at 1 MiB (startup_64 moves itself to an aligned
     * address); others only run where they were linked. */
    uint64_t align = rd32(img + BP_KERNEL_ALIGN);
    if (align == 0 || (align & (align - 1)))
        align = 2ULL << 20;
    uint64_t pref = rd64(img + BP_PREF_ADDRESS);
    uint64_t init_size = rd32(img + BP_INIT_SIZE);
    int relocatable = img[BP_RELOCATABLE] != 0;
    uint64_t load = LAYOUT_KERNEL;
    uint64_t run = align_up(load, align) > pref ? align_up(load, align) : pref;
    if (!relocatable) {
        if (pref < LAYOUT_KERNEL || pref >= MEM_HOLE_START)
            return err_set(e, -ENOEXEC,
                           "kernel is not relocatable and wants to load at %#llx, "
                           "outside usable RAM", (unsigned long long)pref);
        load = run = pref;
    }
    uint64_t kernel_end = load + kernel_size;
    if (run + init_size > kernel_end)
        kernel_end = run + init_size;
    if (kernel_end > m->low_size)
        return err_set(e, -ENOMEM,
                       "kernel needs guest RAM up to %llu MiB to unpack itself but the "
                       "machine has %llu MiB below 3 GiB; give it more memory",
                       (unsigned long long)((kernel_end + 0xfffff) >> 20),
                       (unsigned long long)(m->low_size >> 20));
    if (mem_write(m, load, img + setup_size, kernel_size) < 0)
        return err_set(e, -EFAULT, "cannot write the kernel at %#llx",
                       (unsigned long long)load);

    uint8_t *zp = mem_ptr(m, LAYOUT_ZERO_PAGE, 4096);
    if (!zp)
        return err_set(e, -EFAULT, "no guest RAM for the zero page");
    memset(zp, 0, 4096);
    memcpy(zp + BP_SETUP_SECTS, img + BP_SETUP_SECTS, hdr_end - BP_SETUP_SECTS);
    zp[BP_TYPE_OF_LOADER] = 0xff;
    zp[BP_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
    wr16(zp + BP_HEAP_END_PTR, 0xfe00);
    wr32(zp + BP_CODE32_START, (uint32_t)load);

    uint64_t cmdmax = rd32(img + BP_CMDLINE_SIZE);
    r = loader_write_cmdline(m, in->cmdline, cmdmax, e);
    if (r < 0)
        return r;
    wr32(zp + BP_CMD_LINE_PTR, (uint32_t)LAYOUT_CMDLINE);

    uint64_t initrd_limit = (uint64_t)rd32(img + BP_INITRD_ADDR_MAX) + 1;
    uint64_t initrd_at;
    r = loader_place_initrd(m, in, kernel_end, initrd_limit, &initrd_at, e);
    if (r < 0)
        return r;
    wr32(zp + BP_RAMDISK_IMAGE, (uint32_t)initrd_at);
    wr32(zp + BP_RAMDISK_SIZE, initrd_at ? (uint32_t)in->initrd_len : 0);

    if (in->vga_text) {
        /* screen_info as a BIOS leaves it in mode 3: 80x25 colour VGA text,
         * 16-line characters, the cursor at the top left. */
        zp[SI_ORIG_VIDEO_MODE] = 3;
        zp[SI_ORIG_VIDEO_COLS] = 80;
        zp[SI_ORIG_VIDEO_LINES] = 25;
        zp[SI_ORIG_VIDEO_ISVGA] = 1;
        wr16(zp + SI_ORIG_VIDEO_POINTS, 16);
    }
    r = loader_zero_page_e820(in, zp, e);
    if (r < 0)
        return r;
    /* Saves the kernel a scan when our ACPI tables are already in place. */
    const uint8_t *rsdp = in->acpi_rsdp ? mem_ptr(m, in->acpi_rsdp, 8) : NULL;
    if (rsdp && !memcmp(rsdp, "RSD PTR ", 8))
        wr64(zp + BP_ACPI_RSDP, in->acpi_rsdp);

    r = boot_setup_long_mode(m, bsp);
    if (r < 0)
        return err_set(e, r, "cannot write the boot page tables and GDT");
    bsp->rip = load + 0x200;
    bsp->gpr[R_RSI] = LAYOUT_ZERO_PAGE;
    bsp->gpr[R_RSP] = BOOT_STACK_TOP;
    return 0;
}
