/* Disk images behind a uniform block device: raw files and qcow2 (ours).
 * Devices (virtio-blk) see only this interface.  Offsets and lengths are in
 * bytes, multiples of 512.  Functions return 0 or -errno; every call is
 * thread-safe (a device may issue requests from several threads). */
#ifndef HOSTEL_BLOCK_H
#define HOSTEL_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/err.h"

struct blockdev;

enum block_format { BLOCK_FORMAT_AUTO, BLOCK_FORMAT_RAW, BLOCK_FORMAT_QCOW2 };

struct block_open_opts {
    enum block_format format;   /* AUTO: detected from the file's first bytes */
    bool readonly;
};

/* Opens an image (and its backing chain).  On failure e names the file and
 * what was wrong with it (bad magic, unsupported feature, corrupt table ...). */
int block_open(const char *path, const struct block_open_opts *opts, struct blockdev **out,
               struct err *e);
void block_close(struct blockdev *bd);

uint64_t block_size(const struct blockdev *bd);       /* virtual disk size in bytes */
bool block_readonly(const struct blockdev *bd);
const char *block_format_name(const struct blockdev *bd);

int block_preadv(struct blockdev *bd, uint64_t offset, const struct iovec *iov, int iovcnt);
int block_pwritev(struct blockdev *bd, uint64_t offset, const struct iovec *iov, int iovcnt);
int block_flush(struct blockdev *bd);                  /* reaches stable storage (fsync) */
int block_discard(struct blockdev *bd, uint64_t offset, uint64_t len);
int block_write_zeroes(struct blockdev *bd, uint64_t offset, uint64_t len);

/* Live migration with --disks copy: which parts of the disk were written.
 * After block_dirty_start, every write, discard and write-zeroes sets the
 * bits of the granules (2^shift bytes) it touched; block_dirty_take ORs
 * them into bitmap (block_dirty_granules bits) and clears them. */
int block_dirty_start(struct blockdev *bd, unsigned shift);
uint64_t block_dirty_granules(const struct blockdev *bd);
int block_dirty_take(struct blockdev *bd, uint64_t *bitmap);
void block_dirty_stop(struct blockdev *bd);

/* Creates a new image: raw (sparse) or qcow2 (cluster size 64 KiB unless
 * given; backing file optional, its format detected). */
struct block_create_opts {
    enum block_format format;
    uint64_t size;              /* 0 with a backing file: the backing file's size */
    const char *backing;        /* qcow2 only */
    uint32_t cluster_size;      /* qcow2; 0 = 65536 */
};
int block_create(const char *path, const struct block_create_opts *opts, struct err *e);

/* Creates dst (of format, the same size) holding what src reads, its
 * backing chain flattened; zeros stay holes. */
int block_copy_image(const char *src, const char *dst, enum block_format format, struct err *e);

#endif
