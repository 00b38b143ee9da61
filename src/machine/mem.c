/* Guest RAM backed by a memfd, so later snapshot and migration code can map
 * and dirty-track it without copying. */
#include "machine/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int mem_init(struct guest_mem *m, uint64_t size)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    size = (size + 0x1fffff) & ~0x1fffffULL;
    if (size < (2ULL << 20))
        return -EINVAL;
    int fd = memfd_create("hostel-ram", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        return -e;
    }
    madvise(p, size, MADV_MERGEABLE);
    m->fd = fd;
    m->host = p;
    m->size = size;
    m->low_size = size < MEM_HOLE_START ? size : MEM_HOLE_START;
    m->high_size = size - m->low_size;
    return 0;
}

void mem_destroy(struct guest_mem *m)
{
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
    return 0;
}
