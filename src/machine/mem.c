/* Guest RAM: private anonymous memory (or a saved RAM image mapped
 * copy-on-write), one mapping that snapshot and migration code read and
 * dirty-track without copying. */
#include "machine/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where guest RAM is mapped (one machine a process, so the last mapping). */
static _Atomic uintptr_t guest_lo, guest_hi;

static void guest_mapping(void *p, uint64_t size)
{
    atomic_store(&guest_lo, (uintptr_t)p);
    atomic_store(&guest_hi, (uintptr_t)p + size);
}

bool mem_is_guest_mapping(uintptr_t lo, uintptr_t hi)
{
    return lo >= atomic_load(&guest_lo) && hi <= atomic_load(&guest_hi) && lo < hi;
}

static void mem_set_sizes(struct guest_mem *m, uint64_t size)
{
    m->size = size;
    m->low_size = size < MEM_HOLE_START ? size : MEM_HOLE_START;
    m->high_size = size - m->low_size;
}

int mem_init(struct guest_mem *m, uint64_t size)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    size = (size + 0x1fffff) & ~0x1fffffULL;
    if (size < (2ULL << 20))
        return -EINVAL;
    /* Anonymous memory gets transparent huge pages where the host offers
     * them on request (THP "madvise", the usual default): the guest's first
     * touch of each 2 MiB costs one host fault instead of 512.  (It was a
     * memfd, which gets huge pages only where shmem_enabled allows, which
     * hosts rarely set: a guest writing 128 MiB through its page cache
     * took 1.65-1.70 s, and 0.91-1.08 s so; docs/snapshots.md.)  Pages the
     * guest never touched read as zeros and take no memory. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    madvise(p, size, MADV_HUGEPAGE);
    madvise(p, size, MADV_MERGEABLE);
    m->private_file = false;
    m->host = p;
    guest_mapping(p, size);
    mem_set_sizes(m, size);
    return 0;
}

int mem_init_from_file(struct guest_mem *m, uint64_t size, int fd)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    struct stat st;
    size = (size + 0x1fffff) & ~0x1fffffULL;
    if (size < (2ULL << 20))
        return -EINVAL;
    if (fstat(fd, &st) < 0)
        return -errno;
    if ((uint64_t)st.st_size != size)
        return -EINVAL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) {
        int e = errno;
        munmap(p, size);
        return -e;
    }
    m->fd = dup_fd;
    m->private_file = true;
    m->host = p;
    mem_set_sizes(m, size);
    guest_mapping(p, size);
    return 0;
}

int mem_remap_file(struct guest_mem *m, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if ((uint64_t)st.st_size != m->size)
        return -EINVAL;
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0)
        return -errno;
    /* Over the same addresses: every user of m->host (and KVM's memory
     * slots) sees the new contents without being told. */
    void *p = mmap(m->host, m->size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(dup_fd);
        return -e;
    }
    if (m->fd >= 0)
        close(m->fd);
    m->fd = dup_fd;
    m->private_file = true;
    return 0;
}

static bool page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    for (size_t i = 0; i < 4096 / 8; i += 8)
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
            return false;
    return true;
}

/* Writes the non-zero pages of [off, end) at their offsets. */
static int save_range(const struct guest_mem *m, int fd, uint64_t off, uint64_t end,
                      uint64_t *written)
{
    while (off < end) {
        if (page_is_zero(m->host + off)) {
            off += 4096;
            continue;
        }
        uint64_t run = off + 4096;
        while (run < end && run - off < (8ULL << 20) && !page_is_zero(m->host + run))
            run += 4096;
        for (uint64_t at = off; at < run;) {
            ssize_t n = pwrite(fd, m->host + at, run - at, (off_t)at);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return n < 0 ? -errno : -EIO;
            at += (uint64_t)n;
        }
        *written += run - off;
        off = run;
    }
    return 0;
}

/* The next region of [off, size) that may hold data: for anonymous RAM,
 * all of it (pages never touched read as the zero page, allocating
 * nothing, and save_range skips zero pages; residency would miss pages
 * swapped out); for RAM mapped from a saved image, its data regions and
 * the pages the guest has written since (resident, mincore).  Returns
 * false when none is left. */
static bool next_region(const struct guest_mem *m, uint64_t off, uint64_t *start, uint64_t *end)
{
    if (!m->private_file) {
        *start = off;
        *end = m->size;
        return off < m->size;
    }
    /* Private file mapping: 2 MiB windows that have file data or resident pages. */
    for (uint64_t w = off & ~0x1fffffULL; w < m->size; w += 0x200000) {
        uint64_t wend = w + 0x200000 < m->size ? w + 0x200000 : m->size;
        bool any = false;
        if (m->fd >= 0) {
            off_t d = lseek(m->fd, (off_t)w, SEEK_DATA);
            any = d >= 0 && (uint64_t)d < wend;
        }
        if (!any) {
            unsigned char vec[512];
            size_t pages = (wend - w) / 4096;
            if (mincore(m->host + w, wend - w, vec) < 0)
                any = true;   /* cannot tell: look */
            for (size_t i = 0; !any && i < pages; i++)
                any = vec[i] & 1;
        }
        if (any) {
            *start = w > off ? w : off;
            *end = wend;
            return true;
        }
    }
    return false;
}

int mem_save_sparse(const struct guest_mem *m, int fd, uint64_t *stored)
{
    uint64_t written = 0, start, end;
    if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)m->size) < 0)
        return -errno;
    for (uint64_t off = 0; off < m->size && next_region(m, off, &start, &end); off = end) {
        int r = save_range(m, fd, start, end, &written);
        if (r < 0)
            return r;
    }
    if (stored)
        *stored = written;
    return 0;
}

void mem_destroy(struct guest_mem *m)
{
    m->dirty = NULL;
    free(m->dirty_alloc);
    m->dirty_alloc = NULL;
    if (m->host)
        munmap(m->host, m->size);
    if (m->fd >= 0)
        close(m->fd);
    m->host = NULL;
    m->fd = -1;
}

int mem_read(const struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len)
{
    void *p = mem_ptr(m, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(buf, p, len);
    return 0;
}

int mem_write(const struct guest_mem *m, uint64_t gpa, const void *buf, uint64_t len)
{
    void *p = mem_ptr(m, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(p, buf, len);
    mem_mark_dirty_ptr(m, p, len);
    return 0;
}
