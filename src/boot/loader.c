/* Kernel format detection, dispatch to the loaders, and the small pieces
 * they share: command line, initrd placement, e820 in the zero page. */
#include "boot/loader.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/boot_layout.h"
#include "boot/loader_priv.h"

/* A Multiboot v1 header: magic, flags, checksum, 4-byte aligned in the first 8 KiB. */
static int find_multiboot_magic(const uint8_t *img, size_t len, int want_valid)
{
    size_t end = len < 8192 ? len : 8192;
    for (size_t off = 0; off + 12 <= end; off += 4) {
        if (rd32(img + off) != 0x1BADB002)
            continue;
        uint32_t sum = rd32(img + off) + rd32(img + off + 4) + rd32(img + off + 8);
        if (!want_valid || sum == 0)
            return 1;
    }
    return 0;
}

enum kernel_format kernel_detect(const uint8_t *img, size_t len)
{
    if (!img)
        return KERNEL_UNKNOWN;
    if (find_multiboot_magic(img, len, 1))
        return KERNEL_MULTIBOOT;
    if (len >= 0x206 && !memcmp(img + 0x202, "HdrS", 4))
        return KERNEL_BZIMAGE;
    if (len >= 20 && !memcmp(img, "\x7f" "ELF", 4) && img[4] == 2 && rd16(img + 18) == EM_X86_64)
        return KERNEL_ELF64;
    /* A damaged Multiboot header is still the best guess: its loader explains what is wrong. */
    if (find_multiboot_magic(img, len, 0))
        return KERNEL_MULTIBOOT;
    return KERNEL_UNKNOWN;
}

const char *kernel_format_name(enum kernel_format f)
{
    switch (f) {
    case KERNEL_BZIMAGE:   return "Linux bzImage";
    case KERNEL_MULTIBOOT: return "Multiboot";
    case KERNEL_ELF64:     return "ELF64";
    default:               return "unknown";
    }
}

int load_kernel(struct guest_mem *m, const struct boot_input *in, struct cpu_state *bsp,
                struct err *e)
{
    if (!in->kernel || in->kernel_len == 0)
        return err_set(e, -EINVAL, "the kernel file is empty");
    switch (kernel_detect(in->kernel, in->kernel_len)) {
    case KERNEL_MULTIBOOT:
        return load_multiboot(m, in, bsp, e);
    case KERNEL_BZIMAGE:
        return load_bzimage(m, in, bsp, e);
    case KERNEL_ELF64:
        return load_elf64(m, in, bsp, e);
    default:
        break;
    }
    if (in->kernel_len >= 5 && !memcmp(in->kernel, "\x7f" "ELF", 4))
        return err_set(e, -ENOEXEC,
                       "unsupported ELF kernel: it is not x86-64 and has no Multiboot "
                       "header; build it for x86-64 or add a Multiboot header");
    return err_set(e, -ENOEXEC,
                   "not a kernel hostel can boot: expected a Linux bzImage, an x86-64 ELF "
                   "or a Multiboot image (check the --kernel path)");
}

int loader_write_cmdline(struct guest_mem *m, const char *cmdline, uint64_t max,
                         struct err *e)
{
    if (!cmdline)
        cmdline = "";
    if (max > LAYOUT_CMDLINE_MAX - 1)
        max = LAYOUT_CMDLINE_MAX - 1;
    size_t n = strlen(cmdline);
    if (n > max)
        return err_set(e, -E2BIG,
                       "command line is %zu bytes long but the kernel accepts at most %llu; "
                       "shorten it", n, (unsigned long long)max);
    if (mem_write(m, LAYOUT_CMDLINE, cmdline, n + 1) < 0)
        return err_set(e, -EFAULT, "no guest RAM for the command line at %#llx",
                       (unsigned long long)LAYOUT_CMDLINE);
    return 0;
}

int loader_place_initrd(struct guest_mem *m, const struct boot_input *in, uint64_t floor,
                        uint64_t limit, uint64_t *addr, struct err *e)
{
    *addr = 0;
    if (!in->initrd || in->initrd_len == 0)
        return 0;
    uint64_t top = limit < m->low_size ? limit : m->low_size;
    uint64_t len = in->initrd_len;
    if (len > top || ((top - len) & ~0xfffULL) < floor)
        return err_set(e, -ENOMEM,
                       "initrd is too big: %llu KiB do not fit in guest RAM between the "
                       "kernel's end (%#llx) and %#llx; give the machine more memory",
                       (unsigned long long)(len >> 10), (unsigned long long)floor,
                       (unsigned long long)top);
    uint64_t at = (top - len) & ~0xfffULL;
    if (mem_write(m, at, in->initrd, len) < 0)
        return err_set(e, -EFAULT, "cannot write the initrd at %#llx",
                       (unsigned long long)at);
    *addr = at;
    return 0;
}

int loader_zero_page_e820(const struct boot_input *in, uint8_t *zp, struct err *e)
{
    int n = in->e820_count;
    if (n < 1 || n > E820_MAX_ZERO_PAGE || !in->e820)
        return err_set(e, -EINVAL, "the board's memory map has %d entries "
                       "(1 to %d fit the zero page)", n, E820_MAX_ZERO_PAGE);
    memcpy(zp + 0x2d0, in->e820, (size_t)n * sizeof(in->e820[0]));
    zp[0x1e8] = (uint8_t)n;
    return 0;
}
