/* Multiboot v1 loader: the image by its header's address fields (flag 16) or
 * its ELF program headers, the initrd as module 0, and the info structure;
 * entry in flat 32-bit protected mode with EAX = 0x2BADB002, EBX = info. */
#include <errno.h>
#include <string.h>

#include "boot/boot_layout.h"
#include "boot/loader.h"
#include "boot/loader_priv.h"

#define MB_MAGIC        0x1BADB002u
#define MB_BOOT_MAGIC   0x2BADB002u
#define MB_SEARCH       8192

#define MBH_PAGE_ALIGN  (1u << 0)
#define MBH_MEMORY_INFO (1u << 1)
#define MBH_VIDEO_MODE  (1u << 2)
#define MBH_AOUT_KLUDGE (1u << 16)

#define MBI_MEMORY      (1u << 0)
#define MBI_CMDLINE     (1u << 2)
#define MBI_MODS        (1u << 3)
#define MBI_MMAP        (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

/* Offsets in the info structure. */
#define MBI_FLAGS       0
#define MBI_MEM_LOWER   4
#define MBI_MEM_UPPER   8
#define MBI_CMDLINE_PTR 16
#define MBI_MODS_COUNT  20
#define MBI_MODS_ADDR   24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR   48
#define MBI_NAME_PTR    64
#define MBI_SIZE        0x80

/* Loads the image by the header's address fields; offset is the header's file offset. */
static int load_aout_kludge(struct guest_mem *m, const uint8_t *img, size_t len, size_t offset,
                            uint64_t *entry, uint64_t *end, struct err *e)
{
    const uint8_t *h = img + offset;
    if (offset + 32 > len)
        return err_set(e, -ENOEXEC,
                       "Multiboot header is truncated: the address fields (flag 16) run "
                       "past the end of the file");
    uint64_t header_addr = rd32(h + 12), load_addr = rd32(h + 16);
    uint64_t load_end = rd32(h + 20), bss_end = rd32(h + 24), entry_addr = rd32(h + 28);

    if (load_addr > header_addr || header_addr - load_addr > offset)
        return err_set(e, -ENOEXEC,
                       "Multiboot address fields are inconsistent: load_addr %#llx, "
                       "header_addr %#llx, header at file offset %#zx",
                       (unsigned long long)load_addr, (unsigned long long)header_addr, offset);
    uint64_t file_start = offset - (header_addr - load_addr);
    uint64_t file_size = load_end ? load_end - load_addr : len - file_start;
    if (load_end && load_end < load_addr)
        return err_set(e, -ENOEXEC,
                       "Multiboot load_end_addr %#llx is below load_addr %#llx",
                       (unsigned long long)load_end, (unsigned long long)load_addr);
    if (file_size > len - file_start)
        return err_set(e, -ENOEXEC,
                       "Multiboot image is truncated: it asks for %#llx bytes from file "
                       "offset %#llx but the file has %zu bytes", (unsigned long long)file_size,
                       (unsigned long long)file_start, len);
    uint64_t mem_end = load_addr + file_size;
    if (bss_end) {
        if (bss_end < mem_end)
            return err_set(e, -ENOEXEC,
                           "Multiboot bss_end_addr %#llx is below the loaded image's end %#llx",
                           (unsigned long long)bss_end, (unsigned long long)mem_end);
        mem_end = bss_end;
    }
    if (load_addr < LAYOUT_KERNEL)
        return err_set(e, -ENOEXEC,
                       "Multiboot image at [%#llx, %#llx) overlaps hostel's boot area below "
                       "1 MiB; link it at 1 MiB or above",
                       (unsigned long long)load_addr, (unsigned long long)mem_end);
    uint8_t *p = mem_ptr(m, load_addr, mem_end - load_addr);
    if (!p)
        return err_set(e, -ENOMEM,
                       "Multiboot image at [%#llx, %#llx) is outside guest RAM (%llu MiB)",
                       (unsigned long long)load_addr, (unsigned long long)mem_end,
                       (unsigned long long)(m->low_size >> 20));
    if (entry_addr < load_addr || entry_addr >= mem_end)
        return err_set(e, -ENOEXEC,
                       "Multiboot entry_addr %#llx lies outside the image [%#llx, %#llx)",
                       (unsigned long long)entry_addr, (unsigned long long)load_addr,
                       (unsigned long long)mem_end);
    memcpy(p, img + file_start, file_size);
    memset(p + file_size, 0, mem_end - load_addr - file_size);
    *entry = entry_addr;
    *end = mem_end;
    return 0;
}

int load_multiboot(struct guest_mem *m, const struct boot_input *in, struct cpu_state *bsp,
                   struct err *e)
{
    const uint8_t *img = in->kernel;
    size_t len = in->kernel_len, off;
    size_t search = len < MB_SEARCH ? len : MB_SEARCH;
    int r;

    for (off = 0; off + 12 <= search; off += 4)
        if (img && rd32(img + off) == MB_MAGIC)
            break;
    if (!img || off + 12 > search)
        return err_set(e, -ENOEXEC,
                       "no Multiboot header (magic 0x1BADB002) in the first 8 KiB");
    uint32_t flags = rd32(img + off + 4);
    if ((uint32_t)(MB_MAGIC + flags + rd32(img + off + 8)) != 0)
        return err_set(e, -ENOEXEC,
                       "Multiboot header at offset %#zx has a bad checksum "
                       "(magic + flags + checksum must be 0)", off);
    if (flags & MBH_VIDEO_MODE)
        return err_set(e, -ENOTSUP,
                       "Multiboot kernel requires a video mode (flag 2); hostel has only a "
                       "serial console");
    uint32_t unknown = flags & 0xffffu & ~(MBH_PAGE_ALIGN | MBH_MEMORY_INFO);
    if (unknown)
        return err_set(e, -ENOTSUP,
                       "Multiboot kernel requires unsupported features (required flags %#x)",
                       unknown);

    uint64_t entry, end;
    if (flags & MBH_AOUT_KLUDGE) {
        r = load_aout_kludge(m, img, len, off, &entry, &end, e);
    } else {
        struct elf_image elf;
        r = elf_parse(img, len, &elf, e);
        if (r < 0) {
            err_wrap(e, "Multiboot kernel has no address fields (flag 16) and its ELF headers "
                     "are unusable");
            return r;
        }
        if (elf.machine != (elf.is64 ? EM_X86_64 : EM_386))
            return err_set(e, -ENOEXEC,
                           "Multiboot ELF kernel is for machine %u, not x86", elf.machine);
        if (elf.type != ET_EXEC)
            return err_set(e, -ENOEXEC,
                           "Multiboot ELF kernel has type %u, not an executable (ET_EXEC)",
                           elf.type);
        r = elf_load_segments(m, img, len, &elf, &entry, &end, e);
    }
    if (r < 0)
        return r;
    if (entry >= MEM_HIGH_START)
        return err_set(e, -ENOEXEC,
                       "Multiboot entry point %#llx is not a 32-bit address",
                       (unsigned long long)entry);

    uint8_t *mbi = mem_ptr(m, LAYOUT_MB_INFO, MB_INFO_STRINGS_END - LAYOUT_MB_INFO);
    if (!mbi)
        return err_set(e, -EFAULT, "no guest RAM for the Multiboot info");
    memset(mbi, 0, MB_INFO_STRINGS_END - LAYOUT_MB_INFO);
    uint32_t info_flags = MBI_MEMORY | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME;
    /* Lower memory: the RAM the map starts with (up to the EBDA). */
    uint64_t lower = in->e820_count > 0 && in->e820[0].addr == 0 && in->e820[0].type == E820_RAM
                     ? in->e820[0].size : 0;
    wr32(mbi + MBI_MEM_LOWER, (uint32_t)(lower >> 10));
    uint64_t upper = (m->low_size - LAYOUT_KERNEL) >> 10;
    wr32(mbi + MBI_MEM_UPPER, (uint32_t)upper);

    r = loader_write_cmdline(m, in->cmdline, LAYOUT_CMDLINE_MAX - 1, e);
    if (r < 0)
        return r;
    wr32(mbi + MBI_CMDLINE_PTR, (uint32_t)LAYOUT_CMDLINE);

    /* Strings: the loader's name, then the module's. */
    uint64_t str = MB_INFO_STRINGS;
    static const char name[] = "hostel";
    memcpy(mbi + (str - LAYOUT_MB_INFO), name, sizeof(name));
    wr32(mbi + MBI_NAME_PTR, (uint32_t)str);
    str += sizeof(name);

    uint64_t initrd_at;
    r = loader_place_initrd(m, in, end, MEM_HOLE_START, &initrd_at, e);
    if (r < 0)
        return r;
    if (initrd_at) {
        const char *modname = in->initrd_name ? in->initrd_name : "initrd";
        size_t n = strlen(modname);
        if (n > MB_INFO_STRINGS_END - str - 1)
            n = MB_INFO_STRINGS_END - str - 1;
        memcpy(mbi + (str - LAYOUT_MB_INFO), modname, n);
        uint8_t *mod = mbi + (MB_INFO_MODS - LAYOUT_MB_INFO);
        wr32(mod + 0, (uint32_t)initrd_at);
        wr32(mod + 4, (uint32_t)(initrd_at + in->initrd_len));
        wr32(mod + 8, (uint32_t)str);
        wr32(mbi + MBI_MODS_COUNT, 1);
        wr32(mbi + MBI_MODS_ADDR, (uint32_t)MB_INFO_MODS);
        info_flags |= MBI_MODS;
    }

    const struct e820_entry *map = in->e820;
    int n = in->e820_count;
    if (n < 1 || !map)
        return err_set(e, -EINVAL, "the board gave no memory map");
    if ((uint64_t)n * 24 > MB_INFO_STRINGS - MB_INFO_MMAP)
        return err_set(e, -ENOSPC, "memory map too large for the Multiboot info");
    uint8_t *mm = mbi + (MB_INFO_MMAP - LAYOUT_MB_INFO);
    for (int i = 0; i < n; i++, mm += 24) {
        wr32(mm, 20);      /* size of the entry after this field */
        wr64(mm + 4, map[i].addr);
        wr64(mm + 12, map[i].size);
        wr32(mm + 20, map[i].type);
    }
    wr32(mbi + MBI_MMAP_LENGTH, (uint32_t)n * 24);
    wr32(mbi + MBI_MMAP_ADDR, (uint32_t)MB_INFO_MMAP);
    wr32(mbi + MBI_FLAGS, info_flags);

    r = boot_setup_protected_mode(m, bsp);
    if (r < 0)
        return err_set(e, r, "cannot write the boot GDT");
    bsp->rip = entry;
    bsp->gpr[R_RAX] = MB_BOOT_MAGIC;
    bsp->gpr[R_RBX] = LAYOUT_MB_INFO;
    bsp->gpr[R_RSP] = BOOT_STACK_TOP;
    return 0;
}
