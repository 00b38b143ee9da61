/* A stand-in for block/block.h until the real implementation (src/block/)
 * is linked: raw images only, through pread/pwrite.  Every definition is
 * weak, so src/block's strong ones replace these wholesale; delete this file
 * once src/block has landed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"

#define WEAK __attribute__((weak))

struct blockdev {
    int fd;
    uint64_t size;
    bool readonly;
};

WEAK int block_open(const char *path, const struct block_open_opts *opts, struct blockdev **out,
                    char *err, size_t errlen)
{
    if (opts->format == BLOCK_FORMAT_QCOW2) {
        snprintf(err, errlen, "%s: qcow2 images need src/block (not in this build)", path);
        return -ENOTSUP;
    }
    int fd = open(path, (opts->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open disk image %s: %s", path, strerror(e));
        return -e;
    }
    /* A qcow2 image read as raw would show the guest its metadata. */
    uint8_t magic[4] = {0};
    if (opts->format == BLOCK_FORMAT_AUTO && pread(fd, magic, 4, 0) == 4 &&
        !memcmp(magic, "QFI\xfb", 4)) {
        snprintf(err, errlen, "%s: qcow2 images need src/block (not in this build)", path);
        close(fd);
        return -ENOTSUP;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot stat disk image %s: %s", path, strerror(e));
        close(fd);
        return -e;
    }
    struct blockdev *bd = calloc(1, sizeof(*bd));
    if (!bd) {
        close(fd);
        return -ENOMEM;
    }
    bd->fd = fd;
    bd->size = (uint64_t)st.st_size & ~511ULL;
    bd->readonly = opts->readonly;
    *out = bd;
    return 0;
}

WEAK void block_close(struct blockdev *bd)
{
    if (!bd)
        return;
    close(bd->fd);
    free(bd);
}

WEAK uint64_t block_size(const struct blockdev *bd) { return bd->size; }
WEAK bool block_readonly(const struct blockdev *bd) { return bd->readonly; }
WEAK const char *block_format_name(const struct blockdev *bd) { (void)bd; return "raw"; }

static int check(const struct blockdev *bd, uint64_t offset, uint64_t len)
{
    return offset > bd->size || len > bd->size - offset ? -EINVAL : 0;
}

static uint64_t iov_total(const struct iovec *iov, int n)
{
    uint64_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

WEAK int block_preadv(struct blockdev *bd, uint64_t offset, const struct iovec *iov, int iovcnt)
{
    if (check(bd, offset, iov_total(iov, iovcnt)) < 0)
        return -EINVAL;
    for (int i = 0; i < iovcnt; i++) {
        size_t done = 0;
        while (done < iov[i].iov_len) {
            ssize_t n = pread(bd->fd, (uint8_t *)iov[i].iov_base + done, iov[i].iov_len - done,
                              (off_t)offset);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -errno;
            if (n == 0) {   /* past the end of a short file: zeroes */
                memset((uint8_t *)iov[i].iov_base + done, 0, iov[i].iov_len - done);
                n = (ssize_t)(iov[i].iov_len - done);
            }
            done += (size_t)n;
            offset += (uint64_t)n;
        }
    }
    return 0;
}

WEAK int block_pwritev(struct blockdev *bd, uint64_t offset, const struct iovec *iov, int iovcnt)
{
    if (bd->readonly)
        return -EROFS;
    if (check(bd, offset, iov_total(iov, iovcnt)) < 0)
        return -EINVAL;
    for (int i = 0; i < iovcnt; i++) {
        size_t done = 0;
        while (done < iov[i].iov_len) {
            ssize_t n = pwrite(bd->fd, (const uint8_t *)iov[i].iov_base + done,
                               iov[i].iov_len - done, (off_t)offset);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return n < 0 ? -errno : -EIO;
            done += (size_t)n;
            offset += (uint64_t)n;
        }
    }
    return 0;
}

WEAK int block_flush(struct blockdev *bd)
{
    return fdatasync(bd->fd) < 0 ? -errno : 0;
}

WEAK int block_discard(struct blockdev *bd, uint64_t offset, uint64_t len)
{
    if (bd->readonly)
        return -EROFS;
    if (check(bd, offset, len) < 0)
        return -EINVAL;
    /* Best effort: a discard that the file system refuses changes nothing. */
    fallocate(bd->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len);
    return 0;
}

WEAK int block_write_zeroes(struct blockdev *bd, uint64_t offset, uint64_t len)
{
    if (bd->readonly)
        return -EROFS;
    if (check(bd, offset, len) < 0)
        return -EINVAL;
    if (fallocate(bd->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) == 0)
        return 0;
    static const uint8_t zeroes[65536];
    while (len) {
        size_t n = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
        ssize_t w = pwrite(bd->fd, zeroes, n, (off_t)offset);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        offset += (uint64_t)w;
        len -= (uint64_t)w;
    }
    return 0;
}

WEAK int block_create(const char *path, const struct block_create_opts *opts, char *err,
                      size_t errlen)
{
    if (opts->format == BLOCK_FORMAT_QCOW2 || opts->backing) {
        snprintf(err, errlen, "%s: qcow2 images need src/block (not in this build)", path);
        return -ENOTSUP;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot create disk image %s: %s", path, strerror(e));
        return -e;
    }
    if (ftruncate(fd, (off_t)opts->size) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot size disk image %s: %s", path, strerror(e));
        close(fd);
        unlink(path);
        return -e;
    }
    close(fd);
    return 0;
}
