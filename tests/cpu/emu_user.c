/* hostel-emu-user: runs an x86-64 Linux program on emu at CPL 3, with
 * its system calls forwarded to the host (one thread; no fork or exec).
 * A dynamically linked program gets its interpreter (ld.so) loaded beside
 * it, as Linux does.  Guest addresses are offsets into
 * one flat RAM buffer (paging off), so every guest pointer is checked
 * against the buffer before the host touches it.
 * Usage: hostel-emu-user [-s] [-v] PROGRAM [ARGS...]
 *   -s  print instructions, time and instructions per second on stderr
 *   -v  report unsupported system calls on stderr
 *   -p  print the guest addresses where most time goes (sampled) */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "engine/emu/cache.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/jit.h"

#define RAM_SIZE    (4ULL << 30)
#define PAGE        4096ULL
#define STACK_TOP   (RAM_SIZE - PAGE)
#define STACK_SIZE  (8ULL << 20)
/* emu's TLB is direct-mapped on bits 12-21 of the address, so the layout
 * decides which hot pages share an entry and evict each other on every
 * alternate access.  With the mmap area 16 MiB under the stack, the stack's
 * top page and the first mapping shared one (v3_string spent a tenth of
 * its time walking page tables; 2 million misses), and gzip's buffers
 * shared busybox's data page (500 thousand); at 17 MiB both are gone
 * (bench/README.md, branch natjit).  Linux randomizes both addresses, so a
 * guest meets a fixed alias like these only by chance. */
#define MMAP_TOP    (RAM_SIZE - 17 * (1ULL << 20))
#define BRK_MAX     (256ULL << 20)
/* Where a position-independent program goes: above the 4 MiB where a
 * program that is not (Python, loaded by ld.so) expects to be. */
#define PIE_BIAS    0x10000000ULL
/* Where the interpreter of a dynamically linked program goes: the top of
 * the mmap area, which then starts below it. */
#define INTERP_SPAN (4ULL << 20)
#define INTERP_BIAS (MMAP_TOP - INTERP_SPAN)

struct user {
    uint8_t *ram;
    uint64_t brk_start, brk_cur, brk_limit;
    uint64_t mmap_cur;           /* grows down from MMAP_TOP to brk_limit */
    /* Mappings mremap moved, with room to grow in place up to cap bytes
     * (do_mremap): glibc grows a realloc'd block a page at a time. */
    struct { uint64_t addr, cap; } grown[8];
    bool exited;
    int status;
    bool verbose;
    /* System calls write guest RAM behind the CPU's back, as a device's
     * DMA does: each range the host may write is looked up in the CPU's
     * code marks (written()), and one that holds code the CPU has decoded
     * ends the epoch after the call (syscall_hook), so no stale block or
     * translation runs.  Other writes need nothing: the CPU is told every
     * one (mmu.writes_announced) and calls keep their epoch. */
    struct emu_cpu *cpu;
    bool code_written;
};

static void written(struct user *u, uint64_t g, uint64_t len)
{
    if (u->cpu && emu_mmu_holds_code(u->cpu, g, len))
        u->code_written = true;
}

static uint64_t page_up(uint64_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }

/* Host pointer for guest [g, g+len), or NULL when any byte is outside RAM
 * (or in the first page, so a guest NULL is never dereferenced). */
static void *gptr(struct user *u, uint64_t g, uint64_t len)
{
    if (g < PAGE || g >= RAM_SIZE || len > RAM_SIZE - g)
        return NULL;
    written(u, g, len);   /* the caller may write there */
    return u->ram + g;
}

/* A NUL-terminated guest string, or NULL. */
static const char *gstr(struct user *u, uint64_t g)
{
    if (g < PAGE || g >= RAM_SIZE)
        return NULL;
    const char *s = (const char *)u->ram + g;
    if (!memchr(s, 0, RAM_SIZE - g > 4096 ? 4096 : RAM_SIZE - g))
        return NULL;
    return s;
}

static long sys_ret(long r) { return r < 0 ? -errno : r; }

/* Guest iovec array -> host iovec array; returns count or -errno. */
static long iov_in(struct user *u, uint64_t giov, uint64_t cnt, struct iovec *out)
{
    if (cnt > 1024)
        return -EINVAL;
    const struct iovec *gi = gptr(u, giov, cnt * sizeof(struct iovec));
    if (!gi && cnt)
        return -EFAULT;
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t base = (uint64_t)(uintptr_t)gi[i].iov_base, len = gi[i].iov_len;
        out[i].iov_len = len;
        out[i].iov_base = len ? gptr(u, base, len) : u->ram;
        if (!out[i].iov_base)
            return -EFAULT;
    }
    return (long)cnt;
}

static uint64_t mmap_alloc(struct user *u, uint64_t len)
{
    if (len > u->mmap_cur - u->brk_limit)
        return 0;
    u->mmap_cur -= len;
    return u->mmap_cur;
}

static long do_mmap(struct user *u, uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
    (void)prot;
    if (!len || (off & (PAGE - 1)))
        return -EINVAL;
    len = page_up(len);
    if (len > RAM_SIZE)
        return -ENOMEM;
    uint64_t g;
    if (flags & MAP_FIXED) {
        if ((addr & (PAGE - 1)) || !gptr(u, addr, len))
            return -EINVAL;
        g = addr;
        memset(u->ram + g, 0, len);
    } else {
        g = mmap_alloc(u, len);
        if (!g)
            return -ENOMEM;
        written(u, g, len);
    }
    if (!(flags & MAP_ANONYMOUS)) {
        /* A private copy of the file: enough for programs that read files. */
        uint64_t done = 0;
        while (done < len) {
            ssize_t n = pread(fd, u->ram + g + done, len - done, (off_t)(off + done));
            if (n < 0) {
                if (!(flags & MAP_FIXED) && g == u->mmap_cur)
                    u->mmap_cur += len;
                return -errno;
            }
            if (n == 0)
                break;
            done += (uint64_t)n;
        }
    }
    return (long)g;
}

static long do_munmap(struct user *u, uint64_t addr, uint64_t len)
{
    len = page_up(len);
    if ((addr & (PAGE - 1)) || !gptr(u, addr, len))
        return -EINVAL;
    /* Gives the pages back to the host; they read as zero if reused. */
    madvise(u->ram + addr, len, MADV_DONTNEED);
    for (int k = 0; k < 8; k++)
        if (u->grown[k].addr >= addr && u->grown[k].addr < addr + len)
            u->grown[k].cap = 0;
    if (addr == u->mmap_cur && addr + len <= MMAP_TOP)
        u->mmap_cur += len;
    return 0;
}

/* mremap as Linux does it for a private anonymous mapping: shrinking
 * gives the tail back; growing (MREMAP_MAYMOVE) moves the mapping to a new
 * place in the mmap area with room to grow twice as big in place after it,
 * moving the host pages there with the host's own mremap rather than
 * copying them, and maps fresh zero pages where it was; a mapping moved
 * so grows in place while the room lasts.  glibc's realloc of a big block
 * (busybox sort's line buffer) grows it a page at a time: without the
 * room every step would move it, Linux grows it in place.  Other growing
 * in place and MREMAP_FIXED are refused (-ENOMEM, -EINVAL): glibc then
 * allocates, copies and frees. */
static long do_mremap(struct user *u, uint64_t old, uint64_t old_len, uint64_t new_len, int flags)
{
    old_len = page_up(old_len);
    new_len = page_up(new_len);
    if ((old & (PAGE - 1)) || !new_len || !gptr(u, old, old_len ? old_len : PAGE) ||
        (flags & ~MREMAP_MAYMOVE))
        return -EINVAL;
    if (new_len <= old_len) {
        if (new_len < old_len)
            madvise(u->ram + old + new_len, old_len - new_len, MADV_DONTNEED);
        return (long)old;
    }
    int slot = -1;
    for (int k = 0; k < 8; k++)
        if (u->grown[k].addr == old && u->grown[k].cap) {
            if (new_len <= u->grown[k].cap)
                return (long)old;   /* the room after it is untouched: zero pages */
            slot = k;
        }
    if (!(flags & MREMAP_MAYMOVE) || !old_len || new_len > RAM_SIZE / 4)
        return -ENOMEM;
    uint64_t cap = 2 * new_len;
    uint64_t g = mmap_alloc(u, cap);
    if (!g)
        return -ENOMEM;
    written(u, g, cap);
    uint8_t *from = u->ram + old, *to = u->ram + g;
    if (mremap(from, old_len, old_len, MREMAP_MAYMOVE | MREMAP_FIXED, to) != to) {
        u->mmap_cur += cap;
        return -ENOMEM;
    }
    if (mmap(from, old_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
             -1, 0) != from) {
        fprintf(stderr, "hostel-emu-user: cannot map guest RAM again after mremap: %s\n", strerror(errno));
        exit(1);
    }
    if (slot < 0) {
        slot = 0;
        for (int k = 0; k < 8; k++)
            if (!u->grown[k].cap) {
                slot = k;
                break;
            }
    }
    u->grown[slot].addr = g;
    u->grown[slot].cap = cap;
    return (long)g;
}

static long do_brk(struct user *u, uint64_t want)
{
    if (want >= u->brk_start && want <= u->brk_limit) {
        uint64_t old = page_up(u->brk_cur), nw = page_up(want);
        if (nw < old) {
            written(u, nw, old - nw);
            madvise(u->ram + nw, old - nw, MADV_DONTNEED);
        }
        u->brk_cur = want;
    }
    return (long)u->brk_cur;
}

#define P(i) (c->gpr[i])
enum { RDI = 7, RSI = 6, RDX = 2, R10 = 10, R8 = 8, R9 = 9, RAX = 0 };

static long path_call(struct user *u, long nr, int dirfd_arg, bool has_dirfd, uint64_t gpath,
                      long a1, long a2, long a3)
{
    const char *p = gstr(u, gpath);
    if (!p)
        return -EFAULT;
    if (has_dirfd)
        return sys_ret(syscall(nr, dirfd_arg, p, a1, a2, a3));
    return sys_ret(syscall(nr, p, a1, a2, a3));
}

static long handle_syscall(struct emu_cpu *c, struct user *u)
{
    long nr = (long)c->gpr[RAX];
    uint64_t a0 = P(RDI), a1 = P(RSI), a2 = P(RDX), a3 = P(R10), a4 = P(R8), a5 = P(R9);
    void *b;
    struct iovec iov[1024];
    long r;

    switch (nr) {
    case SYS_read: case SYS_write: case SYS_pread64: case SYS_pwrite64:
        b = a2 ? gptr(u, a1, a2) : u->ram;
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, (int)a0, b, a2, a3));
    case SYS_readv: case SYS_writev:
        r = iov_in(u, a1, a2, iov);
        if (r < 0) return r;
        return sys_ret(syscall(nr, (int)a0, iov, (int)a2));
    case SYS_open:
        return path_call(u, nr, 0, false, a0, (long)a1, (long)a2, 0);
    case SYS_openat:
        return path_call(u, nr, (int)a0, true, a1, (long)a2, (long)a3, 0);
    case SYS_close: case SYS_dup: case SYS_dup2: case SYS_dup3: case SYS_lseek:
    case SYS_fsync: case SYS_fdatasync: case SYS_ftruncate: case SYS_fchmod:
    case SYS_umask: case SYS_fchdir: case SYS_flock:
        return sys_ret(syscall(nr, a0, a1, a2));
    case SYS_fcntl:
        switch ((int)a1) {
        case F_GETFD: case F_SETFD: case F_GETFL: case F_SETFL: case F_DUPFD: case F_DUPFD_CLOEXEC:
            return sys_ret(syscall(nr, (int)a0, (int)a1, a2));
        default:
            return -EINVAL;
        }
    case SYS_stat: case SYS_lstat:
        b = gptr(u, a1, sizeof(struct stat));
        if (!b) return -EFAULT;
        return path_call(u, nr, 0, false, a0, (long)(uintptr_t)b, 0, 0);
    case SYS_fstat:
        b = gptr(u, a1, sizeof(struct stat));
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, (int)a0, b));
    case SYS_newfstatat:
        b = gptr(u, a2, sizeof(struct stat));
        if (!b) return -EFAULT;
        return path_call(u, nr, (int)a0, true, a1, (long)(uintptr_t)b, (long)a3, 0);
    case SYS_statx:
        b = gptr(u, a4, 256);
        if (!b) return -EFAULT;
        return path_call(u, nr, (int)a0, true, a1, (long)a2, (long)a3, (long)(uintptr_t)b);
    case SYS_access: case SYS_unlink: case SYS_rmdir: case SYS_chdir: case SYS_mkdir: case SYS_chmod:
        return path_call(u, nr, 0, false, a0, (long)a1, 0, 0);
    case SYS_faccessat: case SYS_faccessat2: case SYS_unlinkat: case SYS_mkdirat: case SYS_fchmodat:
        return path_call(u, nr, (int)a0, true, a1, (long)a2, (long)a3, 0);
    case SYS_rename: {
        const char *from = gstr(u, a0), *to = gstr(u, a1);
        if (!from || !to) return -EFAULT;
        return sys_ret(rename(from, to));
    }
    case SYS_readlink:
        b = gptr(u, a1, a2);
        if (!b) return -EFAULT;
        return path_call(u, nr, 0, false, a0, (long)(uintptr_t)b, (long)a2, 0);
    case SYS_readlinkat:
        b = gptr(u, a2, a3);
        if (!b) return -EFAULT;
        return path_call(u, nr, (int)a0, true, a1, (long)(uintptr_t)b, (long)a3, 0);
    case SYS_getcwd:
        b = gptr(u, a0, a1);
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, b, a1));
    case SYS_getdents64:
        b = gptr(u, a1, a2);
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, (int)a0, b, a2));
    case SYS_mmap:
        return do_mmap(u, a0, a1, (int)a2, (int)a3, (int)a4, a5);
    case SYS_munmap:
        return do_munmap(u, a0, a1);
    case SYS_mprotect: case SYS_madvise:
        return 0;
    case SYS_mremap:
        return do_mremap(u, a0, a1, a2, (int)a3);
    case SYS_brk:
        return do_brk(u, a0);
    case SYS_arch_prctl:
        switch (a0) {
        case 0x1001: c->seg[S_GS].base = a1; return 0;   /* ARCH_SET_GS */
        case 0x1002: c->seg[S_FS].base = a1; return 0;   /* ARCH_SET_FS */
        case 0x1003: case 0x1004:
            b = gptr(u, a1, 8);
            if (!b) return -EFAULT;
            memcpy(b, &c->seg[a0 == 0x1003 ? S_FS : S_GS].base, 8);
            return 0;
        default:
            return -EINVAL;
        }
    case SYS_set_tid_address: case SYS_gettid:
        return getpid();
    case SYS_set_robust_list:
        return 0;
    case SYS_rseq:
        return -ENOSYS;
    case SYS_rt_sigaction:
        if (a2 && (b = gptr(u, a2, 32))) memset(b, 0, 32);
        return 0;
    case SYS_rt_sigprocmask:
        if (a2 && (b = gptr(u, a2, 8))) memset(b, 0, 8);
        return 0;
    case SYS_sigaltstack:
        return 0;
    case SYS_ioctl:
        if (a1 == 0x5401 || a1 == 0x5413) {   /* TCGETS, TIOCGWINSZ */
            b = gptr(u, a2, 64);
            if (!b) return -EFAULT;
            return sys_ret(syscall(nr, (int)a0, a1, b));
        }
        return -ENOTTY;
    case SYS_exit: case SYS_exit_group:
        u->exited = true;
        u->status = (int)(a0 & 0xff);
        emu_post_events(c, EMU_EV_STOP);
        return 0;
    case SYS_getpid: case SYS_getppid: case SYS_getuid: case SYS_geteuid:
    case SYS_getgid: case SYS_getegid: case SYS_getpgrp: case SYS_setsid:
    case SYS_sched_yield:
        return sys_ret(syscall(nr));
    case SYS_uname:
        b = gptr(u, a0, 390);
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, b));
    case SYS_sysinfo:
        b = gptr(u, a0, 112);
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, b));
    case SYS_getrandom:
        b = a1 ? gptr(u, a0, a1) : u->ram;
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, b, a1, (unsigned)a2));
    case SYS_clock_gettime: case SYS_clock_getres:
        b = a1 ? gptr(u, a1, 16) : NULL;
        if (a1 && !b) return -EFAULT;
        return sys_ret(syscall(nr, (int)a0, b));
    case SYS_gettimeofday:
        b = a0 ? gptr(u, a0, 16) : NULL;
        if (a0 && !b) return -EFAULT;
        return sys_ret(syscall(nr, b, NULL));
    case SYS_time: {
        long t = (long)time(NULL);
        if (a0 && (b = gptr(u, a0, 8))) memcpy(b, &t, 8);
        return t;
    }
    case SYS_nanosleep:
        /* No remaining time reported. */
        b = gptr(u, a0, 16);
        if (!b) return -EFAULT;
        return sys_ret(nanosleep(b, NULL));
    case SYS_clock_nanosleep:
        /* The clock and the flags too: Python's time.sleep() sleeps until
         * a CLOCK_MONOTONIC deadline (TIMER_ABSTIME), not for a duration. */
        b = gptr(u, a2, 16);
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, (int)a0, (int)a1, b, NULL));
    case SYS_prlimit64:
        b = a3 ? gptr(u, a3, 16) : NULL;
        if (a3 && !b) return -EFAULT;
        return sys_ret(syscall(nr, (int)a0, (int)a1, NULL, b));   /* limits are never changed */
    case SYS_getrlimit:
        b = gptr(u, a1, 16);
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, (int)a0, b));
    case SYS_sched_getaffinity:
        b = gptr(u, a2, a1);
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, (int)a0, a1, b));
    case SYS_pipe:
        b = gptr(u, a0, 8);
        if (!b) return -EFAULT;
        return sys_ret(pipe(b));
    case SYS_pipe2:
        b = gptr(u, a0, 8);
        if (!b) return -EFAULT;
        return sys_ret(pipe2(b, (int)a1));
    case SYS_poll:
        if (a1 > 1024) return -EINVAL;
        b = a1 ? gptr(u, a0, a1 * sizeof(struct pollfd)) : u->ram;
        if (!b) return -EFAULT;
        return sys_ret(syscall(nr, b, a1, (int)a2));
    case SYS_futex:
        return (a1 & 0x7f) == 1 ? 0 : -EAGAIN;   /* one thread: wakes nobody, never waits */
    default:
        if (u->verbose)
            fprintf(stderr, "hostel-emu-user: unsupported system call %ld at rip %#" PRIx64 " (returning -ENOSYS)\n",
                    nr, c->rip);
        return -ENOSYS;
    }
}

static void syscall_hook(struct emu_cpu *c)
{
    struct user *u = c->user;
    c->gpr[RAX] = (uint64_t)handle_syscall(c, u);
    if (u->code_written) {
        u->code_written = false;
        emu_epoch_end(&c->mmu, EMU_EPOCH_CODE);
        c->mmu.blk_stop = 1;   /* the block goes no further than the SYSCALL */
    }
}

/* Loads the ELF's PT_LOAD segments; returns the entry point or 0. */
/* Maps a segment's file bytes [va, va + filesz) into the guest RAM as a
 * private file mapping, as Linux's loader does: pages come in when the
 * program touches them (busybox is 2 MB; `true` touches a few pages), not
 * read in whole.  Only whole pages above the last segment mapped
 * (mapped_end) and a file offset on the same page offset as va; the rest
 * of the last page (the start of .bss) is zeroed.  false: not mapped,
 * read it instead. */
static bool map_segment(struct user *u, int fd, uint64_t va, uint64_t off, uint64_t filesz,
                        uint64_t *mapped_end)
{
    uint64_t start = va & ~(PAGE - 1), end = page_up(va + filesz);
    if (!filesz || (va & (PAGE - 1)) != (off & (PAGE - 1)) || start < *mapped_end)
        return false;
    void *want = u->ram + start;
    if (mmap(want, end - start, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
             (off_t)(off - (va - start))) != want) {
        /* MAP_FIXED failed and left the range as it was: read instead. */
        return false;
    }
    memset(u->ram + va + filesz, 0, end - (va + filesz));
    *mapped_end = end;
    return true;
}

/* Loads the program at path: ET_EXEC where it says, ET_DYN at dyn_bias,
 * each segment below limit.  Returns the entry point (0 on failure, said
 * on stderr); *phdr, *phnum: its program headers; *end: the end of its
 * highest segment; *bias: what was added.  interp (PATH_MAX bytes) gets
 * the PT_INTERP path, or "" for a static program; NULL: one is refused. */
static uint64_t load_elf(struct user *u, const char *path, uint64_t dyn_bias, uint64_t limit, uint64_t *phdr,
                         uint64_t *phnum, uint64_t *end, uint64_t *bias_out, char *interp)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "hostel-emu-user: cannot open %s: %s\n", path, strerror(errno));
        return 0;
    }
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
        (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        eh.e_phnum == 0 || eh.e_phnum > 64) {
        fprintf(stderr, "hostel-emu-user: %s is not an x86-64 ELF executable\n", path);
        close(fd);
        return 0;
    }
    Elf64_Phdr ph[64];
    size_t phsz = sizeof(Elf64_Phdr) * eh.e_phnum;
    if (pread(fd, ph, phsz, (off_t)eh.e_phoff) != (ssize_t)phsz) {
        fprintf(stderr, "hostel-emu-user: cannot read the program headers of %s\n", path);
        close(fd);
        return 0;
    }
    uint64_t bias = eh.e_type == ET_DYN ? dyn_bias : 0, hi = 0, mapped_end = 0;
    *phdr = 0;
    if (interp)
        interp[0] = 0;
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_INTERP) {
            if (!interp) {
                fprintf(stderr, "hostel-emu-user: %s, an interpreter, names an interpreter of its own\n", path);
                close(fd);
                return 0;
            }
            if (ph[i].p_filesz < 2 || ph[i].p_filesz > PATH_MAX ||
                pread(fd, interp, ph[i].p_filesz, (off_t)ph[i].p_offset) != (ssize_t)ph[i].p_filesz ||
                interp[ph[i].p_filesz - 1] != 0 || strlen(interp) != ph[i].p_filesz - 1) {
                fprintf(stderr, "hostel-emu-user: %s has a malformed interpreter path (PT_INTERP)\n", path);
                close(fd);
                return 0;
            }
        }
        if (ph[i].p_type == PT_PHDR)
            *phdr = ph[i].p_vaddr + bias;
        if (ph[i].p_type != PT_LOAD)
            continue;
        uint64_t va = ph[i].p_vaddr + bias;
        if (ph[i].p_filesz > ph[i].p_memsz || !gptr(u, va, ph[i].p_memsz) || va + ph[i].p_memsz > limit) {
            fprintf(stderr, "hostel-emu-user: segment %d of %s does not fit the guest RAM\n", i, path);
            close(fd);
            return 0;
        }
        if (!map_segment(u, fd, va, ph[i].p_offset, ph[i].p_filesz, &mapped_end) &&
            pread(fd, u->ram + va, ph[i].p_filesz, (off_t)ph[i].p_offset) != (ssize_t)ph[i].p_filesz) {
            fprintf(stderr, "hostel-emu-user: short read of segment %d of %s\n", i, path);
            close(fd);
            return 0;
        }
        if (!*phdr && eh.e_phoff >= ph[i].p_offset && eh.e_phoff + phsz <= ph[i].p_offset + ph[i].p_filesz)
            *phdr = va + eh.e_phoff - ph[i].p_offset;
        if (va + ph[i].p_memsz > hi)
            hi = va + ph[i].p_memsz;
    }
    close(fd);
    *phnum = eh.e_phnum;
    *end = hi;
    *bias_out = bias;
    return eh.e_entry + bias;
}

/* Builds argv, envp and auxv at the top of the stack; returns the guest RSP. */
static uint64_t build_stack(struct user *u, struct emu_cpu *c, int argc, char **argv, char **envp,
                            uint64_t phdr, uint64_t phnum, uint64_t entry, uint64_t base)
{
    uint64_t sp = STACK_TOP;
    int envc = 0;
    while (envp[envc]) envc++;
    uint64_t *ga = calloc((size_t)(argc + envc + 2), sizeof(uint64_t));
    if (!ga) return 0;
    for (int i = 0; i < argc + envc; i++) {
        const char *s = i < argc ? argv[i] : envp[i - argc];
        size_t n = strlen(s) + 1;
        if (sp - n < STACK_TOP - STACK_SIZE / 2) { free(ga); return 0; }
        sp -= n;
        memcpy(u->ram + sp, s, n);
        ga[i] = sp;
    }
    sp -= 16;
    uint64_t random_at = sp;
    for (int i = 0; i < 16; i++) u->ram[sp + i] = (uint8_t)(rand() >> 7);
    sp -= 8;
    uint64_t platform = sp;
    memcpy(u->ram + sp, "x86_64", 7);
    uint32_t id[4] = { 0, 0, 0, 0 };
    emu_cpuid(c, 1, 0, id);
    uint64_t aux[][2] = {
        { AT_PHDR, phdr }, { AT_PHENT, sizeof(Elf64_Phdr) }, { AT_PHNUM, phnum },
        { AT_PAGESZ, PAGE }, { AT_BASE, base }, { AT_FLAGS, 0 }, { AT_ENTRY, entry },
        { AT_UID, getuid() }, { AT_EUID, geteuid() }, { AT_GID, getgid() }, { AT_EGID, getegid() },
        { AT_SECURE, 0 }, { AT_RANDOM, random_at }, { AT_HWCAP, id[3] }, { AT_HWCAP2, 0 },
        { AT_CLKTCK, 100 }, { AT_PLATFORM, platform }, { AT_EXECFN, ga[0] }, { AT_NULL, 0 },
    };
    size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1 + sizeof(aux) / 8;
    sp = (sp - words * 8) & ~15ULL;
    uint64_t *w = (uint64_t *)(u->ram + sp);
    size_t k = 0;
    w[k++] = (uint64_t)argc;
    for (int i = 0; i < argc; i++) w[k++] = ga[i];
    w[k++] = 0;
    for (int i = 0; i < envc; i++) w[k++] = ga[argc + i];
    w[k++] = 0;
    memcpy(&w[k], aux, sizeof(aux));
    free(ga);
    return sp;
}

extern char **environ;

#define PROF_SLOTS 4096
static struct { uint64_t rip, n; } prof[PROF_SLOTS];

static void prof_add(uint64_t rip)
{
    unsigned h = (unsigned)((rip * 0x9e3779b97f4a7c15ULL) >> 52) % PROF_SLOTS;
    for (unsigned i = 0; i < PROF_SLOTS; i++, h = (h + 1) % PROF_SLOTS) {
        if (prof[h].rip == rip || !prof[h].n) {
            prof[h].rip = rip;
            prof[h].n++;
            return;
        }
    }
}

static int prof_cmp(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[1] < y[1] ? 1 : x[1] > y[1] ? -1 : 0;
}

static void prof_print(void)
{
    qsort(prof, PROF_SLOTS, sizeof(prof[0]), prof_cmp);
    for (int i = 0; i < 20 && prof[i].n; i++)
        fprintf(stderr, "hostel-emu-user: profile %#" PRIx64 " %" PRIu64 "\n", prof[i].rip, prof[i].n);
}

int main(int argc, char **argv)
{
    struct user u = { 0 };
    bool stats = false, profile = false;
    int first = 1;
    while (first < argc && argv[first][0] == '-') {
        if (!strcmp(argv[first], "-s")) stats = true;
        else if (!strcmp(argv[first], "-p")) profile = true;
        else if (!strcmp(argv[first], "-v")) u.verbose = true;
        else if (!strcmp(argv[first], "--")) { first++; break; }
        else { fprintf(stderr, "hostel-emu-user: unknown option %s\n", argv[first]); return 2; }
        first++;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: hostel-emu-user [-s] [-v] PROGRAM [ARGS...]\n");
        return 2;
    }
    u.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (u.ram == MAP_FAILED) {
        fprintf(stderr, "hostel-emu-user: cannot reserve %llu MiB for the guest: %s\n",
                RAM_SIZE >> 20, strerror(errno));
        return 1;
    }
    /* Huge pages where the host allows, as a machine's RAM has (machine/
     * mem.c): a program's heap is touched a page at a time, and each fault
     * costs several microseconds on a nested-virtualization host. */
    madvise(u.ram, RAM_SIZE, MADV_HUGEPAGE);
    /* Zeroed, on a huge page where the host allows (its TLBs are half a
     * MiB: 130 faults in .bss). */
    struct emu_cpu *c = emu_alloc_huge(sizeof(*c), true);
    if (!c) {
        fprintf(stderr, "hostel-emu-user: no memory for the CPU\n");
        return 1;
    }
    emu_cpu_init_flat(c, u.ram, RAM_SIZE, 3);
    uint64_t phdr, phnum, end, bias, start;
    static char interp[PATH_MAX];
    uint64_t entry = load_elf(&u, argv[first], PIE_BIAS, MMAP_TOP / 2, &phdr, &phnum, &end, &bias, interp);
    if (!entry)
        return 1;
    u.brk_start = u.brk_cur = page_up(end);
    u.brk_limit = u.brk_start + BRK_MAX;
    u.mmap_cur = MMAP_TOP;
    start = entry;
    uint64_t interp_base = 0;
    if (interp[0]) {
        /* Dynamically linked: Linux maps the interpreter too and starts
         * there, telling it where the program is (AT_PHDR, AT_ENTRY) and
         * where it is itself (AT_BASE). */
        uint64_t iphdr, iphnum, iend;
        start = load_elf(&u, interp, INTERP_BIAS, MMAP_TOP, &iphdr, &iphnum, &iend, &interp_base, NULL);
        if (!start) {
            fprintf(stderr, "hostel-emu-user: cannot load %s, the interpreter of %s\n", interp, argv[first]);
            return 1;
        }
        if (interp_base != INTERP_BIAS) {
            fprintf(stderr, "hostel-emu-user: %s, the interpreter of %s, is not position-independent\n",
                    interp, argv[first]);
            return 1;
        }
        u.mmap_cur = INTERP_BIAS;
    }
    srand((unsigned)getpid());
    uint64_t sp = build_stack(&u, c, argc - first, argv + first, environ, phdr, phnum, entry, interp_base);
    if (!sp) {
        fprintf(stderr, "hostel-emu-user: arguments and environment do not fit the guest stack\n");
        return 1;
    }
    c->rip = start;
    c->gpr[4] = sp;
    c->exc_to_caller = true;
    c->syscall_hook = syscall_hook;
    c->user = &u;
    u.cpu = c;
    c->mmu.writes_announced = true;

    struct timespec t0, t1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    uint64_t total = 0;
    while (!u.exited) {
        if (profile) {
            /* Crude profile: where the guest is every 997 instructions. */
            total += emu_execute(c, 997);
            prof_add(c->rip);
        } else {
            total += emu_execute(c, 1u << 22);
        }
        if (c->exc.vector >= 0) {
            uint8_t bytes[16] = { 0 };
            uint64_t rip = c->rip;
            if (rip < RAM_SIZE - 16) memcpy(bytes, u.ram + rip, 16);
            fprintf(stderr, "hostel-emu-user: guest exception %d (error %d, cr2 %#" PRIx64 ") at rip %#" PRIx64
                    " after %" PRIu64 " instructions; bytes:", c->exc.vector, c->exc.errcode, c->exc.cr2, rip, total);
            for (int i = 0; i < 16; i++) fprintf(stderr, " %02x", bytes[i]);
            fprintf(stderr, "\n");
            return c->exc.vector == EXC_UD ? 132 : 139;
        }
        if (atomic_load(&c->events) & EMU_EV_STOP)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    if (profile)
        prof_print();
    if (stats) {
        /* CPU time too: on a shared host the wall clock mostly measures the neighbours. */
        double w = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        double cs = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
        fprintf(stderr, "hostel-emu-user: %" PRIu64 " instructions, %.3f s wall, %.3f s cpu: "
                "%.1f million instructions per cpu second\n",
                c->insn_count, w, cs, cs > 0 ? (double)c->insn_count / cs / 1e6 : 0.0);
        struct emu_jit_stats js;
        emu_jit_get_stats(c, &js);
        if (js.blocks)
            fprintf(stderr, "hostel-emu-user: translated %" PRIu64 " blocks (%" PRIu64 " KiB of code, %" PRIu64 " KiB of data, %"
                    PRIu64 " cache flushes, %" PRIu64 " following a jump back, %" PRIu64
                    " going on through calls and jumps, %" PRIu64 " Jccs they go on through, %" PRIu64
                    " given up, %" PRIu64 " instructions across pages, %" PRIu64 " reads straight to RAM), %" PRIu64
                    " entries from the dispatcher, %" PRIu64 " links\n",
                    js.blocks, js.code_bytes >> 10, js.data_bytes >> 10, js.flushes, js.followed, js.traced, js.jcc_followed,
                    js.failed, js.crossed, js.flat_reads, js.entries, js.links);
        fprintf(stderr, "hostel-emu-user: TLB: %" PRIu64 " misses in both ways, %" PRIu64
                " way-0 misses found in way 1; %" PRIu64 " handler calls from translated code\n",
                c->mmu.st.misses, c->mmu.st.way1_hits, js.handler_calls);
        fprintf(stderr, "hostel-emu-user: epochs: %" PRIu64 " ended by calls, %" PRIu64
                " by stores into code; %" PRIu64 " blocks compared with RAM\n",
                c->mmu.st.epochs[EMU_EPOCH_EXECUTE], c->mmu.st.epochs[EMU_EPOCH_CODE], c->mmu.st.compares);
    }
    return u.status;
}
