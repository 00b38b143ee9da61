/* Raw disk images: the file is the disk, byte for byte, kept sparse
 * (discard punches holes, write-zeroes allocates nothing when it can). */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block_priv.h"

static int raw_preadv(struct blockdev *bd, uint64_t off, const struct iovec *iov, int iovcnt)
{
    return bdev_preadv_full(bd->fd, iov, iovcnt, off);
}

static int raw_pwritev(struct blockdev *bd, uint64_t off, const struct iovec *iov, int iovcnt)
{
    return bdev_pwritev_full(bd->fd, iov, iovcnt, off);
}

static int raw_flush(struct blockdev *bd)
{
    return fdatasync(bd->fd) < 0 ? -errno : 0;
}

static int raw_discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
    if (!len)
        return 0;
    if (fallocate(bd->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0) {
        /* A file system without hole punching: discard is only advice. */
        if (errno == EOPNOTSUPP || errno == ENOSYS)
            return 0;
        return -errno;
    }
    return 0;
}

static int raw_write_zeroes(struct blockdev *bd, uint64_t off, uint64_t len)
{
    if (!len)
        return 0;
    if (fallocate(bd->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    if (fallocate(bd->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    static const char zeros[65536];
    while (len) {
        size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
        int r = bdev_pwrite_full(bd->fd, zeros, n, off);
        if (r < 0)
            return r;
        off += n;
        len -= n;
    }
    return 0;
}

static void raw_close(struct blockdev *bd)
{
    free(bd);
}

static int raw_info(struct blockdev *bd, struct block_image_info *info)
{
    struct stat st;
    if (fstat(bd->fd, &st) == 0)
        info->disk_size = (uint64_t)st.st_blocks * 512;
    return 0;
}

static int raw_check(struct blockdev *bd, bool repair, struct block_check_report *r,
                     struct err *e)
{
    (void)bd; (void)repair; (void)e;
    r->supported = false;
    return 0;
}

static const struct block_driver raw_driver = {
    .name = "raw",
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .close = raw_close,
    .info = raw_info,
    .check = raw_check,
};

int raw_open(const char *path, int fd, bool readonly, struct blockdev **out, struct err *e)
{
    (void)readonly;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_set(e, -errno, "cannot stat disk image %s: %s", path, strerror(errno));
    uint64_t size;
    if (S_ISBLK(st.st_mode)) {
        off_t end = lseek(fd, 0, SEEK_END);
        if (end < 0)
            return err_set(e, -errno, "cannot size block device %s: %s", path, strerror(errno));
        size = (uint64_t)end;
    } else if (S_ISREG(st.st_mode)) {
        size = (uint64_t)st.st_size;
    } else {
        return err_set(e, -EINVAL, "disk image %s is neither a file nor a block device", path);
    }
    struct blockdev *bd = calloc(1, sizeof(*bd));
    if (!bd)
        return err_set(e, -ENOMEM, "out of memory opening %s", path);
    bd->drv = &raw_driver;
    bd->fd = -1;
    /* Devices see whole sectors: a trailing partial sector is not part of the disk. */
    bd->size = size & ~511ULL;
    *out = bd;
    return 0;
}

int raw_create(const char *path, uint64_t size, struct err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(e, -errno, "cannot create %s: %s", path, strerror(errno));
    int r = 0;
    if (ftruncate(fd, (off_t)size) < 0) {
        r = -errno;
        err_set(e, r, "cannot size %s to %llu bytes: %s", path, (unsigned long long)size,
                strerror(-r));
    }
    close(fd);
    return r;
}
