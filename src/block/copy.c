/* Copying an image, its whole backing chain flattened, into a new one of
 * any format (`hostel image convert`, backups of machines); and merging an
 * overlay into the image under it (snapshot layers no longer needed). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "block/block.h"
#include "block/block_info.h"

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

int block_copy_image(const char *src, const char *dst, enum block_format format, struct err *e)
{
    struct blockdev *in, *out;
    struct block_open_opts ro = { .format = BLOCK_FORMAT_AUTO, .readonly = true };
    int r = block_open(src, &ro, &in, e);
    if (r < 0)
        return r;
    struct block_create_opts o = { .format = format, .size = block_size(in) };
    struct block_open_opts rw = { .format = format };
    if ((r = block_create(dst, &o, e)) < 0 || (r = block_open(dst, &rw, &out, e)) < 0) {
        block_close(in);
        return r;
    }
    const size_t chunk = 1 << 20;
    uint8_t *buf = malloc(chunk);
    r = buf ? 0 : err_set(e, -ENOMEM, "out of memory");
    for (uint64_t off = 0; r == 0 && off < o.size; off += chunk) {
        size_t n = o.size - off < chunk ? (size_t)(o.size - off) : chunk;
        struct iovec v = { buf, n };
        r = block_preadv(in, off, &v, 1);
        if (r < 0) {
            err_set(e, r, "cannot read %s at offset %" PRIu64 ": %s", src, off, strerror(-r));
            break;
        }
        /* Zeros stay holes in the copy. */
        for (size_t p = 0; p < n && r == 0; p += 65536) {
            size_t m = n - p < 65536 ? n - p : 65536;
            if (all_zero(buf + p, m))
                continue;
            struct iovec w = { buf + p, m };
            r = block_pwritev(out, off + p, &w, 1);
            if (r < 0)
                err_set(e, r, "cannot write %s at offset %" PRIu64 ": %s", dst, off + p,
                        strerror(-r));
        }
    }
    if (r == 0 && (r = block_flush(out)) < 0)
        err_set(e, r, "cannot flush %s: %s", dst, strerror(-r));
    free(buf);
    block_close(in);
    block_close(out);
    return r;
}

int block_commit(struct blockdev *top, struct blockdev *base, struct err *e)
{
    if (block_size(top) != block_size(base))
        return err_set(e, -EINVAL, "cannot merge %s into %s: %llu bytes against %llu",
                       block_path(top), block_path(base),
                       (unsigned long long)block_size(top), (unsigned long long)block_size(base));
    const uint64_t chunk = 1 << 20, size = block_size(top);
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return err_set(e, -ENOMEM, "out of memory");
    int r = 0;
    uint64_t run = 0;
    for (uint64_t off = 0; r == 0 && off < size; off += run) {
        int k = block_alloc_status(top, off, chunk, &run);
        if (k < 0) {
            r = err_set(e, k, "cannot read the tables of %s at offset %" PRIu64 ": %s",
                        block_path(top), off, strerror(-k));
        } else if (k == BLOCK_ALLOC_DATA) {
            struct iovec v = { buf, (size_t)run };
            if ((r = block_preadv(top, off, &v, 1)) < 0)
                err_set(e, r, "cannot read %s at offset %" PRIu64 ": %s", block_path(top), off,
                        strerror(-r));
            else if ((r = block_pwritev(base, off, &v, 1)) < 0)
                err_set(e, r, "cannot write %s at offset %" PRIu64 ": %s", block_path(base), off,
                        strerror(-r));
        } else if (k == BLOCK_ALLOC_ZERO && (r = block_write_zeroes(base, off, run)) < 0) {
            err_set(e, r, "cannot write zeros into %s at offset %" PRIu64 ": %s",
                    block_path(base), off, strerror(-r));
        }
        if (r == 0 && run == 0)
            r = err_set(e, -EIO, "%s: no progress at offset %" PRIu64, block_path(top), off);
    }
    free(buf);
    if (r == 0 && (r = block_flush(base)) < 0)
        err_set(e, r, "cannot flush %s: %s", block_path(base), strerror(-r));
    return r;
}
