/* The block device front: format detection, open/create dispatch, and the
 * per-image lock every request goes through. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block/block_priv.h"
#include "lib/jail.h"

size_t bdev_iov_total(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++)
        n += iov[i].iov_len;
    return n;
}

int bdev_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0) {           /* past the end of the file: sparse tail reads as zeros */
            memset(p, 0, len);
            return 0;
        }
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

int bdev_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* One preadv/pwritev for a whole vector (a guest request is up to 254
 * segments: one system call instead of one per segment), in IOV_MAX
 * pieces, retrying short transfers from where they stopped (only then is
 * the vector copied, to cut its first segment).  Past the end of the file
 * a read fills zeros, as bdev_pread_full does. */
static int iov_full(int fd, const struct iovec *iov, int iovcnt, uint64_t off, bool write)
{
    struct iovec v[IOV_MAX];
    while (iovcnt > 0) {
        int cnt = iovcnt < IOV_MAX ? iovcnt : IOV_MAX;
        const struct iovec *p = iov;
        int left = cnt;
        while (left > 0) {
            ssize_t got = write ? pwritev(fd, p, left, (off_t)off) : preadv(fd, p, left, (off_t)off);
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                return -errno;
            }
            if (got == 0) {
                if (write)
                    return -EIO;
                for (int i = 0; i < left; i++)   /* past the end: sparse tail reads as zeros */
                    memset(p[i].iov_base, 0, p[i].iov_len);
                break;
            }
            off += (uint64_t)got;
            size_t g = (size_t)got;
            while (left > 0 && g >= p->iov_len) {
                g -= p->iov_len;
                p++;
                left--;
            }
            if (left > 0 && g) {
                memmove(v, p, (size_t)left * sizeof(v[0]));
                v[0].iov_base = (char *)v[0].iov_base + g;
                v[0].iov_len -= g;
                p = v;
            }
        }
        iov += cnt;
        iovcnt -= cnt;
    }
    return 0;
}

int bdev_preadv_full(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return iov_full(fd, iov, iovcnt, off, false);
}

int bdev_pwritev_full(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return iov_full(fd, iov, iovcnt, off, true);
}

static bool is_qcow2_magic(int fd)
{
    unsigned char m[4];
    if (pread(fd, m, 4, 0) != 4)
        return false;
    return m[0] == 'Q' && m[1] == 'F' && m[2] == 'I' && m[3] == 0xfb;
}

int block_open_internal(const char *path, const struct block_open_opts *opts, bool repair,
                        struct blockdev **out, struct err *e)
{
    bool ro = opts && opts->readonly;
    enum block_format fmt = opts ? opts->format : BLOCK_FORMAT_AUTO;
    *out = NULL;
    /* O_NONBLOCK: a FIFO named as an image (or a backing file) must not hang us. */
    /* In the root jail, the image's fd kept before it (lib/jail.h). */
    int fd = jail_open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int en = errno;
        return err_set(e, -en, "cannot open disk image %s: %s%s", path, strerror(en),
                       (en == EACCES || en == EROFS) && !ro ? " (open it read-only?)" : "");
    }
    if (fmt == BLOCK_FORMAT_AUTO)
        fmt = is_qcow2_magic(fd) ? BLOCK_FORMAT_QCOW2 : BLOCK_FORMAT_RAW;
    int r;
    if (fmt == BLOCK_FORMAT_QCOW2)
        r = qcow2_open(path, fd, ro, repair, out, e);
    else
        r = raw_open(path, fd, ro, out, e);
    if (r < 0) {
        close(fd);
        return r;
    }
    struct blockdev *bd = *out;
    bd->fd = fd;
    bd->readonly = ro;
    bd->path = strdup(path);
    pthread_mutex_init(&bd->lock, NULL);
    if (!bd->path) {
        block_close(bd);
        *out = NULL;
        return err_set(e, -ENOMEM, "out of memory opening %s", path);
    }
    return 0;
}

int block_open(const char *path, const struct block_open_opts *opts, struct blockdev **out,
               struct err *e)
{
    return block_open_internal(path, opts, false, out, e);
}

int block_open_repair(const char *path, struct blockdev **out, struct err *e)
{
    struct block_open_opts o = { .format = BLOCK_FORMAT_AUTO, .readonly = false };
    return block_open_internal(path, &o, true, out, e);
}

void block_close(struct blockdev *bd)
{
    if (!bd)
        return;
    int fd = bd->fd;
    char *path = bd->path;
    free(bd->dirty);
    pthread_mutex_destroy(&bd->lock);
    bd->drv->close(bd);         /* frees bd */
    if (fd >= 0)
        close(fd);
    free(path);
}

uint64_t block_size(const struct blockdev *bd) { return bd->size; }
bool block_readonly(const struct blockdev *bd) { return bd->readonly; }
const char *block_format_name(const struct blockdev *bd) { return bd->drv->name; }
const char *block_path(const struct blockdev *bd) { return bd->path; }
struct blockdev *block_backing(struct blockdev *bd) { return bd->drv->backing ? bd->drv->backing(bd) : NULL; }

/* Requests must be 512-byte aligned and inside the disk. */
static int check_range(const struct blockdev *bd, uint64_t off, uint64_t len)
{
    if ((off | len) & 511)
        return -EINVAL;
    if (off > bd->size || len > bd->size - off)
        return -EINVAL;
    return 0;
}

int block_alloc_status(struct blockdev *bd, uint64_t off, uint64_t max, uint64_t *run)
{
    *run = 0;
    if (off >= bd->size)
        return -EINVAL;
    if (max > bd->size - off)
        max = bd->size - off;
    if (!bd->drv->alloc_status) {
        *run = max;
        return BLOCK_ALLOC_DATA;
    }
    pthread_mutex_lock(&bd->lock);
    int r = bd->drv->alloc_status(bd, off, max, run);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

/* Under bd->lock, after a write to [off, off + len). */
static void mark_dirty(struct blockdev *bd, uint64_t off, uint64_t len)
{
    if (!bd->dirty || !len)
        return;
    for (uint64_t g = off >> bd->dirty_shift; g <= (off + len - 1) >> bd->dirty_shift; g++)
        bd->dirty[g >> 6] |= 1ULL << (g & 63);
}

uint64_t block_dirty_granules(const struct blockdev *bd)
{
    return bd->dirty_shift ? (bd->size + (1ULL << bd->dirty_shift) - 1) >> bd->dirty_shift : 0;
}

int block_dirty_start(struct blockdev *bd, unsigned shift)
{
    if (shift < 9 || shift > 30)
        return -EINVAL;
    pthread_mutex_lock(&bd->lock);
    free(bd->dirty);
    bd->dirty_shift = shift;
    uint64_t words = (block_dirty_granules(bd) + 63) / 64;
    bd->dirty = calloc(words ? words : 1, sizeof(uint64_t));
    int r = bd->dirty ? 0 : -ENOMEM;
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_dirty_take(struct blockdev *bd, uint64_t *bitmap)
{
    pthread_mutex_lock(&bd->lock);
    if (!bd->dirty) {
        pthread_mutex_unlock(&bd->lock);
        return -EINVAL;
    }
    uint64_t words = (block_dirty_granules(bd) + 63) / 64;
    for (uint64_t w = 0; w < words; w++) {
        bitmap[w] |= bd->dirty[w];
        bd->dirty[w] = 0;
    }
    pthread_mutex_unlock(&bd->lock);
    return 0;
}

void block_dirty_stop(struct blockdev *bd)
{
    pthread_mutex_lock(&bd->lock);
    free(bd->dirty);
    bd->dirty = NULL;
    pthread_mutex_unlock(&bd->lock);
}

int block_preadv(struct blockdev *bd, uint64_t offset, const struct iovec *iov, int iovcnt)
{
    if (iovcnt < 0)
        return -EINVAL;
    int r = check_range(bd, offset, bdev_iov_total(iov, iovcnt));
    if (r < 0)
        return r;
    pthread_mutex_lock(&bd->lock);
    r = bd->drv->preadv(bd, offset, iov, iovcnt);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_pwritev(struct blockdev *bd, uint64_t offset, const struct iovec *iov, int iovcnt)
{
    if (bd->readonly)
        return -EROFS;
    if (iovcnt < 0)
        return -EINVAL;
    int r = check_range(bd, offset, bdev_iov_total(iov, iovcnt));
    if (r < 0)
        return r;
    pthread_mutex_lock(&bd->lock);
    r = bd->drv->pwritev(bd, offset, iov, iovcnt);
    mark_dirty(bd, offset, bdev_iov_total(iov, iovcnt));
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_flush(struct blockdev *bd)
{
    if (bd->readonly)
        return 0;
    pthread_mutex_lock(&bd->lock);
    int r = bd->drv->flush(bd);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

/* Discard and write-zeroes: writes to a range, checked, under the lock. */
static int range_op(struct blockdev *bd, uint64_t offset, uint64_t len,
                    int (*op)(struct blockdev *, uint64_t, uint64_t))
{
    if (bd->readonly)
        return -EROFS;
    int r = check_range(bd, offset, len);
    if (r < 0)
        return r;
    pthread_mutex_lock(&bd->lock);
    r = op(bd, offset, len);
    mark_dirty(bd, offset, len);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_discard(struct blockdev *bd, uint64_t offset, uint64_t len)
{
    return range_op(bd, offset, len, bd->drv->discard);
}

int block_write_zeroes(struct blockdev *bd, uint64_t offset, uint64_t len)
{
    return range_op(bd, offset, len, bd->drv->write_zeroes);
}

int block_get_info(struct blockdev *bd, struct block_image_info *info)
{
    memset(info, 0, sizeof(*info));
    info->format = bd->drv->name;
    info->virtual_size = bd->size;
    pthread_mutex_lock(&bd->lock);
    int r = bd->drv->info(bd, info);
    pthread_mutex_unlock(&bd->lock);
    return r;
}

int block_check(struct blockdev *bd, bool repair, struct block_check_report *r, struct err *e)
{
    memset(r, 0, sizeof(*r));
    if (repair && bd->readonly)
        return err_set(e, -EROFS, "cannot repair %s: opened read-only", bd->path);
    pthread_mutex_lock(&bd->lock);
    int ret = bd->drv->check(bd, repair, r, e);
    pthread_mutex_unlock(&bd->lock);
    return ret;
}

int block_create(const char *path, const struct block_create_opts *opts, struct err *e)
{
    if (opts->format == BLOCK_FORMAT_QCOW2)
        return qcow2_create(path, opts, e);
    if (opts->backing)
        return err_set(e, -EINVAL, "cannot create %s: raw images have no backing file (use "
                       "qcow2)", path);
    if (opts->size & 511)
        return err_set(e, -EINVAL, "cannot create %s: size %llu is not a multiple of 512", path,
                       (unsigned long long)opts->size);
    return raw_create(path, opts->size, e);
}
