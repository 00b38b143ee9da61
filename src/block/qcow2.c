/* qcow2 images (versions 2 and 3): header and extension parsing with every
 * field checked, backing chains, image creation and the driver table. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2_priv.h"

static __thread int open_depth;     /* backing chain depth while opening */

static int qcow2_flush(struct blockdev *bd)
{
    return fdatasync(bd->fd) < 0 ? -errno : 0;
}

static void qcow2_close(struct blockdev *bd)
{
    struct qcow2 *s = (struct qcow2 *)bd;
    if (!bd->readonly && bd->fd >= 0)
        (void)fdatasync(bd->fd);
    if (s->backing)
        block_close(s->backing);
    qcache_free(&s->l2cache);
    qcache_free(&s->rbcache);
    free(s->l1);
    free(s->rt);
    free(s->buf);
    free(s->zbuf);
    free(s->backing_name);
    free(s);
}

static struct blockdev *qcow2_backing(struct blockdev *bd)
{
    return ((struct qcow2 *)bd)->backing;
}

static int qcow2_info(struct blockdev *bd, struct block_image_info *info)
{
    struct qcow2 *s = (struct qcow2 *)bd;
    struct stat st;
    if (fstat(bd->fd, &st) == 0)
        info->disk_size = (uint64_t)st.st_blocks * 512;
    info->cluster_size = s->cluster_size;
    info->qcow2_version = s->version;
    info->refcount_bits = 1 << s->refcount_order;
    info->compression = s->compression == 1 ? "zstd" : "zlib";
    info->dirty = s->incompat & QINCOMPAT_DIRTY;
    info->corrupt = s->incompat & QINCOMPAT_CORRUPT;
    if (s->backing_name)
        snprintf(info->backing, sizeof(info->backing), "%s", s->backing_name);
    snprintf(info->backing_format, sizeof(info->backing_format), "%s", s->backing_fmt);
    return 0;
}

static const struct block_driver qcow2_driver = {
    .name = "qcow2",
    .preadv = qcow2_preadv,
    .pwritev = qcow2_pwritev,
    .flush = qcow2_flush,
    .discard = qcow2_discard,
    .write_zeroes = qcow2_write_zeroes,
    .alloc_status = qcow2_alloc_status,
    .close = qcow2_close,
    .backing = qcow2_backing,
    .info = qcow2_info,
    .check = qcow2_check,
};

int qcow2_write_header_field64(struct qcow2 *s, unsigned field, uint64_t v)
{
    uint8_t b[8];
    put_be64(b, v);
    return bdev_pwrite_full(s->bd.fd, b, 8, field);
}

/* Names the unknown incompatible bits, from the image's feature table when it has one. */
static void describe_bits(uint64_t bits, const uint8_t *names, size_t nnames, char *out, size_t len)
{
    size_t pos = 0;
    out[0] = 0;
    for (int b = 0; b < 64 && pos + 1 < len; b++) {
        if (!(bits & (1ULL << b)))
            continue;
        const char *name = NULL;
        char nb[47];
        for (size_t i = 0; i < nnames; i++) {
            const uint8_t *e = names + i * 48;
            if (e[0] == 0 && e[1] == b) {
                memcpy(nb, e + 2, 46);
                nb[46] = 0;
                name = nb;
            }
        }
        int n = snprintf(out + pos, len - pos, "%sbit %d%s%s%s", pos ? ", " : "", b,
                         name ? " (" : "", name ? name : "", name ? ")" : "");
        if (n < 0)
            break;
        pos += (size_t)n;
    }
}

/* The backing file's path: relative names are relative to the image's directory. */
static char *resolve_backing(const char *image, const char *name)
{
    if (name[0] == '/')
        return strdup(name);
    char *copy = strdup(image);
    if (!copy)
        return NULL;
    char *dir = dirname(copy);
    char *out = NULL;
    if (asprintf(&out, "%s/%s", dir, name) < 0)
        out = NULL;
    free(copy);
    return out;
}

#define FAIL(code, ...)                                  \
    do {                                                 \
        r = err_set(e, (code), __VA_ARGS__);             \
        goto fail;                                       \
    } while (0)

int qcow2_open(const char *path, int fd, bool readonly, bool repair, struct blockdev **out,
               struct err *e)
{
    int r = 0;
    uint8_t *hdr = NULL, *features = NULL;
    size_t nfeatures = 0;
    struct qcow2 *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(e, -ENOMEM, "out of memory opening %s", path);
    s->bd.drv = &qcow2_driver;
    s->bd.fd = fd;
    s->bd.readonly = readonly;
    if (open_depth >= QCOW2_MAX_CHAIN)
        FAIL(-ELOOP, "%s: backing chain deeper than %d images (a loop?)", path, QCOW2_MAX_CHAIN);

    struct stat st;
    if (fstat(fd, &st) < 0)
        FAIL(-errno, "cannot stat %s: %s", path, strerror(errno));
    uint64_t fsize = (uint64_t)st.st_size;
    uint8_t h[QH_V3_LENGTH + 8];
    memset(h, 0, sizeof(h));
    if (fsize < QH_V2_LENGTH)
        FAIL(-EINVAL, "%s: too short for a qcow2 header (%llu bytes)", path,
             (unsigned long long)fsize);
    r = bdev_pread_full(fd, h, sizeof(h), 0);
    if (r < 0)
        FAIL(r, "cannot read the header of %s: %s", path, strerror(-r));
    if (get_be32(h) != QCOW2_MAGIC)
        FAIL(-EINVAL, "%s: bad magic, not a qcow2 image", path);
    s->version = (int)get_be32(h + QH_VERSION);
    if (s->version != 2 && s->version != 3)
        FAIL(-ENOTSUP, "%s: qcow2 version %d is not supported (only 2 and 3)", path, s->version);
    s->cluster_bits = get_be32(h + QH_CLUSTER_BITS);
    if (s->cluster_bits < 9 || s->cluster_bits > 21)
        FAIL(-EINVAL, "%s: corrupt header: cluster_bits %u outside 9..21", path, s->cluster_bits);
    s->cluster_size = 1u << s->cluster_bits;
    s->l2_bits = s->cluster_bits - 3;
    s->bd.size = get_be64(h + QH_SIZE);
    if (s->bd.size > (1ULL << 60) || (s->bd.size & 511))
        FAIL(-EINVAL, "%s: corrupt header: virtual size %llu is not a sane multiple of 512", path,
             (unsigned long long)s->bd.size);
    if (get_be32(h + QH_CRYPT))
        FAIL(-ENOTSUP, "%s: encrypted qcow2 images are not supported", path);
    s->l1_size = get_be32(h + QH_L1_SIZE);
    s->l1_offset = get_be64(h + QH_L1_OFFSET);
    s->rt_offset = get_be64(h + QH_RT_OFFSET);
    s->rt_clusters = get_be32(h + QH_RT_CLUSTERS);
    s->nb_snapshots = get_be32(h + QH_NB_SNAPSHOTS);
    s->snapshots_offset = get_be64(h + QH_SNAPSHOTS_OFFSET);
    s->refcount_order = 4;
    s->header_length = QH_V2_LENGTH;
    if (s->version == 3) {
        s->incompat = get_be64(h + QH_INCOMPAT);
        s->compat = get_be64(h + QH_COMPAT);
        s->autoclear = get_be64(h + QH_AUTOCLEAR);
        s->refcount_order = get_be32(h + QH_REFCOUNT_ORDER);
        s->header_length = get_be32(h + QH_HEADER_LENGTH);
        if (s->header_length < 104 || s->header_length > s->cluster_size ||
            (s->header_length & 7 && s->header_length != 104))
            FAIL(-EINVAL, "%s: corrupt header: header_length %u", path, s->header_length);
        if (s->header_length > QH_COMPRESSION_TYPE)
            s->compression = h[QH_COMPRESSION_TYPE];
    }
    s->file_end = (fsize + s->cluster_size - 1) & ~(uint64_t)(s->cluster_size - 1);

    /* Header extensions live in the rest of the first cluster. */
    hdr = malloc(s->cluster_size);
    if (!hdr)
        FAIL(-ENOMEM, "out of memory opening %s", path);
    r = bdev_pread_full(fd, hdr, s->cluster_size, 0);
    if (r < 0)
        FAIL(r, "cannot read the header of %s: %s", path, strerror(-r));
    for (uint64_t pos = s->header_length;;) {
        if (pos + 8 > s->cluster_size)
            break;
        uint32_t type = get_be32(hdr + pos), len = get_be32(hdr + pos + 4);
        if (type == QEXT_END)
            break;
        if (len > s->cluster_size - pos - 8)
            FAIL(-EINVAL, "%s: corrupt header extension 0x%08x: length %u runs past the first cluster",
                 path, type, len);
        if (type == QEXT_BACKING_FORMAT) {
            size_t n = len < sizeof(s->backing_fmt) - 1 ? len : sizeof(s->backing_fmt) - 1;
            memcpy(s->backing_fmt, hdr + pos + 8, n);
            s->backing_fmt[n] = 0;
        } else if (type == QEXT_FEATURE_TABLE) {
            features = hdr + pos + 8;
            nfeatures = len / 48;
        }
        pos += 8 + (((uint64_t)len + 7) & ~7ULL);
    }
    uint64_t unknown = s->incompat & ~QINCOMPAT_SUPPORTED;
    if (unknown) {
        char names[256];
        describe_bits(unknown, features, nfeatures, names, sizeof(names));
        FAIL(-ENOTSUP, "%s: unsupported incompatible qcow2 features: %s", path, names);
    }
    if (s->compression > 1 || (s->compression && !(s->incompat & QINCOMPAT_COMPRESSION)))
        FAIL(-ENOTSUP, "%s: unsupported compression type %d", path, s->compression);
    if (s->refcount_order < 3 || s->refcount_order > 6)
        FAIL(-ENOTSUP, "%s: refcount width of %u bits is not supported (8, 16, 32 or 64)", path,
             1u << (s->refcount_order & 31));
    s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
    s->refcount_max = s->refcount_order == 6 ? UINT64_MAX : (1ULL << (1u << s->refcount_order)) - 1;
    if (!readonly) {
        if (s->incompat & QINCOMPAT_CORRUPT)
            FAIL(-EROFS, "%s: the image is marked corrupt; open it read-only, or copy its data out "
                 "with 'hostel image convert'", path);
        if ((s->incompat & QINCOMPAT_DIRTY) && !repair)
            FAIL(-EROFS, "%s: the image was not closed cleanly (dirty bit set, refcounts may be "
                 "stale); run 'hostel image check --repair %s' first", path, path);
        if (s->nb_snapshots)
            FAIL(-ENOTSUP, "%s: the image has %u internal snapshots; hostel writes only images "
                 "without them (open it read-only)", path, s->nb_snapshots);
    }

    /* L1 table: big enough for the disk, bounded, aligned, inside the file. */
    uint64_t l2_span = (uint64_t)s->cluster_size << s->l2_bits;
    uint64_t l1_need = (s->bd.size + l2_span - 1) / l2_span;
    if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        FAIL(-EFBIG, "%s: corrupt header: L1 table of %u entries is too large", path, s->l1_size);
    if (s->l1_size < l1_need)
        FAIL(-EINVAL, "%s: corrupt header: L1 table of %u entries is too small for %llu bytes",
             path, s->l1_size, (unsigned long long)s->bd.size);
    if (s->l1_size && ((s->l1_offset & (s->cluster_size - 1)) || !s->l1_offset ||
                       s->l1_offset > fsize || s->l1_size * 8ULL > fsize - s->l1_offset))
        FAIL(-EINVAL, "%s: corrupt header: L1 table offset 0x%llx is unaligned or outside the file",
             path, (unsigned long long)s->l1_offset);
    s->l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
    if (!s->l1)
        FAIL(-ENOMEM, "out of memory for the L1 table of %s", path);
    if (s->l1_size) {
        r = bdev_pread_full(fd, s->l1, s->l1_size * 8ULL, s->l1_offset);
        if (r < 0)
            FAIL(r, "cannot read the L1 table of %s: %s", path, strerror(-r));
        for (uint32_t i = 0; i < s->l1_size; i++)
            s->l1[i] = be64toh(s->l1[i]);
    }

    /* Refcount table. */
    if (!s->rt_clusters || (uint64_t)s->rt_clusters * s->cluster_size > QCOW2_MAX_RT_BYTES)
        FAIL(-EINVAL, "%s: corrupt header: refcount table of %u clusters", path, s->rt_clusters);
    if ((s->rt_offset & (s->cluster_size - 1)) || !s->rt_offset || s->rt_offset > fsize ||
        (uint64_t)s->rt_clusters * s->cluster_size > s->file_end - s->rt_offset)
        FAIL(-EINVAL, "%s: corrupt header: refcount table offset 0x%llx is unaligned or outside "
             "the file", path, (unsigned long long)s->rt_offset);
    s->rt_entries = (uint64_t)s->rt_clusters << (s->cluster_bits - 3);
    s->rt = malloc(s->rt_entries * 8);
    if (!s->rt)
        FAIL(-ENOMEM, "out of memory for the refcount table of %s", path);
    r = bdev_pread_full(fd, s->rt, s->rt_entries * 8, s->rt_offset);
    if (r < 0)
        FAIL(r, "cannot read the refcount table of %s: %s", path, strerror(-r));
    for (uint64_t i = 0; i < s->rt_entries; i++)
        s->rt[i] = be64toh(s->rt[i]);

    s->buf = malloc(s->cluster_size);
    /* A compressed cluster may take a little more room than a plain one
     * (the buffer is made at the first one: most layers have none). */
    s->zbuf_len = (size_t)s->cluster_size * 2 + 512;
    if (!s->buf)
        FAIL(-ENOMEM, "out of memory opening %s", path);

    /* Backing file. */
    uint64_t boff = get_be64(h + QH_BACKING_OFFSET);
    uint32_t bsize = get_be32(h + QH_BACKING_SIZE);
    if (boff) {
        if (bsize == 0 || bsize > 1023 || boff > s->cluster_size || bsize > s->cluster_size - boff)
            FAIL(-EINVAL, "%s: corrupt header: backing file name at %llu (%u bytes)", path,
                 (unsigned long long)boff, bsize);
        s->backing_name = calloc(1, bsize + 1);
        if (!s->backing_name)
            FAIL(-ENOMEM, "out of memory opening %s", path);
        memcpy(s->backing_name, hdr + boff, bsize);
        if (strlen(s->backing_name) != bsize)
            FAIL(-EINVAL, "%s: corrupt header: backing file name contains a NUL byte", path);
        struct block_open_opts bo = { .format = BLOCK_FORMAT_AUTO, .readonly = true };
        if (!strcmp(s->backing_fmt, "raw"))
            bo.format = BLOCK_FORMAT_RAW;
        else if (!strcmp(s->backing_fmt, "qcow2"))
            bo.format = BLOCK_FORMAT_QCOW2;
        else if (s->backing_fmt[0])
            FAIL(-ENOTSUP, "%s: backing file %s has format '%s', which hostel cannot read", path,
                 s->backing_name, s->backing_fmt);
        /* After the checks that fail: nothing to free on their way out. */
        char *bpath = resolve_backing(path, s->backing_name);
        if (!bpath)
            FAIL(-ENOMEM, "out of memory opening %s", path);
        open_depth++;
        r = block_open(bpath, &bo, &s->backing, e);
        open_depth--;
        free(bpath);
        if (r < 0) {
            err_wrap(e, "%s: cannot open its backing file", path);
            goto fail;
        }
    }

    if (!readonly && s->autoclear) {
        /* We keep no bitmaps: clearing the bits tells others theirs are stale. */
        s->autoclear = 0;
        r = qcow2_write_header_field64(s, QH_AUTOCLEAR, 0);
        if (r < 0)
            FAIL(r, "cannot update the header of %s: %s", path, strerror(-r));
    }
    free(hdr);
    *out = &s->bd;
    return 0;
fail:
    free(hdr);
    s->bd.fd = -1;
    s->bd.readonly = true;
    qcow2_close(&s->bd);
    return r;
}

int qcow2_create(const char *path, const struct block_create_opts *opts, struct err *e)
{
    uint32_t cs = opts->cluster_size ? opts->cluster_size : 65536;
    if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1)))
        return err_set(e, -EINVAL, "cannot create %s: cluster size %u is not a power of two "
                       "between 512 and 2M", path, cs);
    unsigned cb = (unsigned)__builtin_ctz(cs);
    uint64_t size = opts->size;
    char bfmt[16] = "";
    if (opts->backing) {
        if (strlen(opts->backing) > 1023 || !opts->backing[0])
            return err_set(e, -EINVAL, "cannot create %s: backing file name must have 1..1023 "
                           "bytes", path);
        char *bpath = resolve_backing(path, opts->backing);
        if (!bpath)
            return err_set(e, -ENOMEM, "cannot create %s: out of memory", path);
        struct block_open_opts bo = { .format = BLOCK_FORMAT_AUTO, .readonly = true };
        struct blockdev *b;
        struct stat bs, is;
        if (stat(bpath, &bs) == 0 && stat(path, &is) == 0 && bs.st_dev == is.st_dev &&
            bs.st_ino == is.st_ino) {
            /* Creating would truncate the very file the new image reads from. */
            free(bpath);
            return err_set(e, -EINVAL, "cannot create %s: it would be its own backing file",
                           path);
        }
        int r = block_open(bpath, &bo, &b, e);
        free(bpath);
        if (r < 0) {
            err_wrap(e, "cannot create %s: backing file", path);
            return r;
        }
        snprintf(bfmt, sizeof(bfmt), "%s", block_format_name(b));
        if (!size)
            size = block_size(b);
        block_close(b);
    }
    if (size & 511)
        return err_set(e, -EINVAL, "cannot create %s: size %llu is not a multiple of 512", path,
                       (unsigned long long)size);
    if (size > (1ULL << 60))
        return err_set(e, -EINVAL, "cannot create %s: size too large", path);
    uint64_t l2_span = (uint64_t)cs << (cb - 3);
    uint64_t l1_size = (size + l2_span - 1) / l2_span;
    if (!l1_size)
        l1_size = 1;
    uint64_t l1_clusters = (l1_size * 8 + cs - 1) / cs;
    uint64_t nclusters = 3 + l1_clusters;
    uint64_t per_block = (uint64_t)cs * 8 / 16;
    if (l1_size * 8 > QCOW2_MAX_L1_BYTES || nclusters > per_block)
        return err_set(e, -EINVAL, "cannot create %s: size too large for %u-byte clusters", path,
                       cs);
    uint8_t *img = calloc(nclusters, cs);
    if (!img)
        return err_set(e, -ENOMEM, "cannot create %s: out of memory", path);
    uint8_t *h = img;
    put_be32(h, QCOW2_MAGIC);
    put_be32(h + QH_VERSION, 3);
    put_be32(h + QH_CLUSTER_BITS, cb);
    put_be64(h + QH_SIZE, size);
    put_be32(h + QH_L1_SIZE, (uint32_t)l1_size);
    put_be64(h + QH_L1_OFFSET, 3ULL * cs);
    put_be64(h + QH_RT_OFFSET, 1ULL * cs);
    put_be32(h + QH_RT_CLUSTERS, 1);
    put_be32(h + QH_REFCOUNT_ORDER, 4);
    put_be32(h + QH_HEADER_LENGTH, QH_V3_LENGTH);
    size_t pos = QH_V3_LENGTH;
    if (bfmt[0]) {
        size_t n = strlen(bfmt);
        put_be32(h + pos, QEXT_BACKING_FORMAT);
        put_be32(h + pos + 4, (uint32_t)n);
        memcpy(h + pos + 8, bfmt, n);
        pos += 8 + ((n + 7) & ~(size_t)7);
    }
    pos += 8;                   /* end-of-extensions marker: zeros */
    if (opts->backing) {
        size_t n = strlen(opts->backing);
        if (pos + n > cs) {
            free(img);
            return err_set(e, -EINVAL, "cannot create %s: backing file name too long for the "
                           "header", path);
        }
        memcpy(h + pos, opts->backing, n);
        put_be64(h + QH_BACKING_OFFSET, pos);
        put_be32(h + QH_BACKING_SIZE, (uint32_t)n);
    }
    put_be64(img + cs, 2ULL * cs);                      /* refcount table -> block */
    for (uint64_t c = 0; c < nclusters; c++)
        put_be16(img + 2ULL * cs + c * 2, 1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int en = errno;
        free(img);
        return err_set(e, -en, "cannot create %s: %s", path, strerror(en));
    }
    int r = bdev_pwrite_full(fd, img, nclusters * cs, 0);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (r < 0)
        err_set(e, r, "cannot write %s: %s", path, strerror(-r));
    close(fd);
    free(img);
    return r;
}
