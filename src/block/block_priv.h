/* Internals shared by the block dispatcher (block.c) and the format drivers
 * (raw.c, qcow2*.c): the driver table and the blockdev every format embeds. */
#ifndef HOSTEL_BLOCK_PRIV_H
#define HOSTEL_BLOCK_PRIV_H

#include "lib/iov.h"
#include <pthread.h>

#include "block/block.h"
#include "block/block_info.h"

struct block_driver {
    const char *name;
    int (*preadv)(struct blockdev *bd, uint64_t off, const struct iovec *iov, int iovcnt);
    int (*pwritev)(struct blockdev *bd, uint64_t off, const struct iovec *iov, int iovcnt);
    int (*flush)(struct blockdev *bd);
    int (*discard)(struct blockdev *bd, uint64_t off, uint64_t len);
    int (*write_zeroes)(struct blockdev *bd, uint64_t off, uint64_t len);
    /* What the image itself holds at off (block_alloc_status); NULL: data everywhere. */
    int (*alloc_status)(struct blockdev *bd, uint64_t off, uint64_t max, uint64_t *run);
    void (*close)(struct blockdev *bd);
    struct blockdev *(*backing)(struct blockdev *bd);
    int (*info)(struct blockdev *bd, struct block_image_info *info);
    int (*check)(struct blockdev *bd, bool repair, struct block_check_report *r,
                 struct err *e);
};

/* Every format's state starts with this. */
struct blockdev {
    const struct block_driver *drv;
    char *path;
    int fd;
    uint64_t size;
    bool readonly;
    pthread_mutex_t lock;       /* one request at a time per image */
    /* Live migration (block_dirty_*): a bit per granule written, under lock. */
    uint64_t *dirty;
    unsigned dirty_shift;
};

/* Opens with the mutex and fd set up by block.c; the drivers fill the rest. */
int raw_open(const char *path, int fd, bool readonly, struct blockdev **out, struct err *e);
int qcow2_open(const char *path, int fd, bool readonly, bool repair, struct blockdev **out,
               struct err *e);
int raw_create(const char *path, uint64_t size, struct err *e);
int qcow2_create(const char *path, const struct block_create_opts *opts, struct err *e);

/* Opens with an explicit repair permission (dirty qcow2 images). */
int block_open_internal(const char *path, const struct block_open_opts *opts, bool repair,
                        struct blockdev **out, struct err *e);

/* Total bytes of an iovec array. */
size_t bdev_iov_total(const struct iovec *iov, int iovcnt);

/* pread/pwrite of the whole length, retrying short transfers; bdev_pread_full zero-fills past EOF. */
int bdev_pread_full(int fd, void *buf, size_t len, uint64_t off);
int bdev_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
/* The same for a vector, one preadv/pwritev at a time. */
int bdev_preadv_full(int fd, const struct iovec *iov, int iovcnt, uint64_t off);
int bdev_pwritev_full(int fd, const struct iovec *iov, int iovcnt, uint64_t off);

#endif
