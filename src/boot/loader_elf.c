/* ELF loading: the header parser and PT_LOAD placement shared with the
 * Multiboot loader, and the ELF64 loader (Linux vmlinux or a freestanding
 * x86-64 kernel) entered in long mode with rsi = a Linux zero page. */
#include <errno.h>
#include <string.h>

#include "boot/boot_layout.h"
#include "boot/loader.h"
#include "boot/loader_priv.h"

#define PT_LOAD 1

int elf_parse(const uint8_t *img, size_t len, struct elf_image *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    if (!img || len < 52 || memcmp(img, "\x7f" "ELF", 4))
        return err_set(e, -ENOEXEC, "not an ELF file (no \\x7fELF magic)");
    if (img[4] != 1 && img[4] != 2)
        return err_set(e, -ENOEXEC, "ELF class %u is neither 32- nor 64-bit",
                       img[4]);
    if (img[5] != 1)
        return err_set(e, -ENOEXEC, "ELF file is not little-endian");
    out->is64 = img[4] == 2;
    if (out->is64 && len < 64)
        return err_set(e, -ENOEXEC,
                       "ELF file is truncated: %zu bytes, shorter than its 64-byte header", len);
    out->type = rd16(img + 16);
    out->machine = rd16(img + 18);

    uint64_t phoff, phentsize, phnum, minent;
    if (out->is64) {
        out->entry = rd64(img + 24);
        phoff = rd64(img + 32);
        phentsize = rd16(img + 54);
        phnum = rd16(img + 56);
        minent = 56;
    } else {
        out->entry = rd32(img + 24);
        phoff = rd32(img + 28);
        phentsize = rd16(img + 42);
        phnum = rd16(img + 44);
        minent = 32;
    }
    if (phnum == 0 || phnum == 0xffff)
        return err_set(e, -ENOEXEC, "ELF file has %s program headers",
                       phnum ? "an extended count of" : "no");
    if (phentsize < minent)
        return err_set(e, -ENOEXEC, "ELF program header size %llu is too small",
                       (unsigned long long)phentsize);
    if (phoff > len || phnum * phentsize > len - phoff)
        return err_set(e, -ENOEXEC,
                       "ELF file is truncated: program headers at %#llx (%llu bytes) "
                       "lie beyond the end of the file (%zu bytes)",
                       (unsigned long long)phoff, (unsigned long long)(phnum * phentsize), len);

    for (uint64_t i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + i * phentsize;
        if (rd32(ph) != PT_LOAD)
            continue;
        struct elf_load_seg s = { .index = (int)i };
        if (out->is64) {
            s.offset = rd64(ph + 8);
            s.vaddr = rd64(ph + 16);
            s.paddr = rd64(ph + 24);
            s.filesz = rd64(ph + 32);
            s.memsz = rd64(ph + 40);
        } else {
            s.offset = rd32(ph + 4);
            s.vaddr = rd32(ph + 8);
            s.paddr = rd32(ph + 12);
            s.filesz = rd32(ph + 16);
            s.memsz = rd32(ph + 20);
        }
        if (s.memsz == 0)
            continue;
        if (s.filesz > s.memsz)
            return err_set(e, -ENOEXEC,
                           "ELF segment %d is malformed: file size %#llx exceeds memory "
                           "size %#llx", s.index, (unsigned long long)s.filesz,
                           (unsigned long long)s.memsz);
        if (s.offset > len || s.filesz > len - s.offset)
            return err_set(e, -ENOEXEC,
                           "ELF segment %d (file offset %#llx, %#llx bytes) lies beyond the "
                           "end of the file (%zu bytes): is the file truncated?", s.index,
                           (unsigned long long)s.offset, (unsigned long long)s.filesz, len);
        if (out->nload == ELF_MAX_LOAD)
            return err_set(e, -E2BIG, "ELF file has more than %d loadable segments",
                           ELF_MAX_LOAD);
        out->load[out->nload++] = s;
    }
    if (out->nload == 0)
        return err_set(e, -ENOEXEC, "ELF file has no loadable (PT_LOAD) segments");
    return 0;
}

int elf_load_segments(struct guest_mem *m, const uint8_t *img, size_t len,
                      const struct elf_image *elf, uint64_t *entry_phys, uint64_t *end,
                      struct err *e)
{
    (void)len;   /* elf_parse checked every segment against it */
    *end = 0;
    for (int i = 0; i < elf->nload; i++) {
        const struct elf_load_seg *s = &elf->load[i];
        unsigned long long a = s->paddr, b = s->paddr + s->memsz;
        if (s->paddr + s->memsz < s->paddr)
            return err_set(e, -ENOEXEC,
                           "ELF segment %d at %#llx (%#llx bytes) wraps around the address "
                           "space", s->index, a, (unsigned long long)s->memsz);
        if (s->paddr < LAYOUT_KERNEL)
            return err_set(e, -ENOEXEC,
                           "ELF segment %d at [%#llx, %#llx) overlaps hostel's boot area "
                           "below 1 MiB (page tables, zero page, ACPI); link the kernel at "
                           "1 MiB or above", s->index, a, b);
        if (!mem_ptr(m, s->paddr, s->memsz))
            return err_set(e, -ENOMEM,
                           "ELF segment %d at [%#llx, %#llx) is outside guest RAM (%llu MiB); "
                           "give the machine more memory or link the kernel lower",
                           s->index, a, b, (unsigned long long)(m->size >> 20));
        for (int j = 0; j < i; j++) {
            const struct elf_load_seg *o = &elf->load[j];
            if (s->paddr < o->paddr + o->memsz && o->paddr < s->paddr + s->memsz)
                return err_set(e, -ENOEXEC,
                               "ELF segments %d [%#llx, %#llx) and %d [%#llx, %#llx) "
                               "overlap", o->index, (unsigned long long)o->paddr,
                               (unsigned long long)(o->paddr + o->memsz), s->index, a, b);
        }
    }
    for (int i = 0; i < elf->nload; i++) {
        const struct elf_load_seg *s = &elf->load[i];
        uint8_t *p = mem_ptr(m, s->paddr, s->memsz);
        memcpy(p, img + s->offset, s->filesz);
        memset(p + s->filesz, 0, s->memsz - s->filesz);
        if (s->paddr + s->memsz > *end)
            *end = s->paddr + s->memsz;
    }

    /* e_entry is virtual by the ELF rules, but vmlinux (and many small
     * kernels) put a physical address there: accept either. */
    for (int i = 0; i < elf->nload; i++) {
        const struct elf_load_seg *s = &elf->load[i];
        if (elf->entry >= s->vaddr && elf->entry - s->vaddr < s->memsz) {
            *entry_phys = elf->entry - s->vaddr + s->paddr;
            return 0;
        }
    }
    for (int i = 0; i < elf->nload; i++) {
        const struct elf_load_seg *s = &elf->load[i];
        if (elf->entry >= s->paddr && elf->entry - s->paddr < s->memsz) {
            *entry_phys = elf->entry;
            return 0;
        }
    }
    return err_set(e, -ENOEXEC,
                   "ELF entry point %#llx lies in no loadable segment",
                   (unsigned long long)elf->entry);
}

int load_elf64(struct guest_mem *m, const struct boot_input *in, struct cpu_state *bsp,
               struct err *e)
{
    struct elf_image elf;
    uint64_t entry, end;
    int r = elf_parse(in->kernel, in->kernel_len, &elf, e);
    if (r < 0)
        return r;
    if (!elf.is64 || elf.machine != EM_X86_64)
        return err_set(e, -ENOEXEC,
                       "ELF kernel is not x86-64 (class %d-bit, machine %u); 32-bit "
                       "kernels need a Multiboot header", elf.is64 ? 64 : 32, elf.machine);
    if (elf.type != ET_EXEC)
        return err_set(e, -ENOEXEC,
                       "ELF kernel has type %u, not an executable (ET_EXEC); link it "
                       "static and without -pie", elf.type);
    r = elf_load_segments(m, in->kernel, in->kernel_len, &elf, &entry, &end, e);
    if (r < 0)
        return r;
    if (entry >= MEM_HIGH_START)
        return err_set(e, -ENOEXEC,
                       "ELF entry point %#llx is above 4 GiB, beyond the boot identity map",
                       (unsigned long long)entry);

    /* A Linux vmlinux reads boot_params like a bzImage; other kernels ignore rsi. */
    uint8_t *zp = mem_ptr(m, LAYOUT_ZERO_PAGE, 4096);
    if (!zp)
        return err_set(e, -EFAULT, "no guest RAM for the zero page");
    memset(zp, 0, 4096);
    wr16(zp + 0x1fe, 0xaa55);
    memcpy(zp + 0x202, "HdrS", 4);
    wr16(zp + 0x206, 0x020f);
    zp[0x210] = 0xff;                          /* type_of_loader: undefined loader */
    zp[0x211] = 0x01 | 0x80;                   /* LOADED_HIGH | CAN_USE_HEAP */
    wr32(zp + 0x230, 0x1000000);               /* kernel_alignment */
    wr32(zp + 0x238, LAYOUT_CMDLINE_MAX - 1);  /* cmdline_size */
    r = loader_write_cmdline(m, in->cmdline, LAYOUT_CMDLINE_MAX - 1, e);
    if (r < 0)
        return r;
    wr32(zp + 0x228, (uint32_t)LAYOUT_CMDLINE);
    uint64_t initrd_at;
    r = loader_place_initrd(m, in, end, MEM_HIGH_START, &initrd_at, e);
    if (r < 0)
        return r;
    wr32(zp + 0x22c, 0xffffffffu);             /* initrd_addr_max */
    wr32(zp + 0x218, (uint32_t)initrd_at);
    wr32(zp + 0x21c, initrd_at ? (uint32_t)in->initrd_len : 0);
    r = loader_zero_page_e820(in, zp, e);
    if (r < 0)
        return r;
    const uint8_t *rsdp = in->acpi_rsdp ? mem_ptr(m, in->acpi_rsdp, 8) : NULL;
    if (rsdp && !memcmp(rsdp, "RSD PTR ", 8))
        wr64(zp + 0x070, in->acpi_rsdp);

    r = boot_setup_long_mode(m, bsp);
    if (r < 0)
        return err_set(e, r, "cannot write the boot page tables and GDT");
    bsp->rip = entry;
    bsp->gpr[R_RSI] = LAYOUT_ZERO_PAGE;
    bsp->gpr[R_RSP] = BOOT_STACK_TOP;
    return 0;
}
