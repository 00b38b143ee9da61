/* Image administration beyond the device contract (block.h): what `hostel
 * image info` and `hostel image check` need.  Not for device models. */
#ifndef HOSTEL_BLOCK_INFO_H
#define HOSTEL_BLOCK_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct blockdev;

struct block_image_info {
    const char *format;         /* "raw", "qcow2" */
    uint64_t virtual_size;
    uint64_t disk_size;         /* bytes the file occupies on the host disk */
    uint32_t cluster_size;      /* 0 for raw */
    int qcow2_version;          /* 2 or 3; 0 for raw */
    int refcount_bits;
    const char *compression;    /* "zlib", "zstd"; NULL for raw */
    bool dirty, corrupt;
    char backing[4096];         /* as stored in the image ("" when none) */
    char backing_format[32];
};

int block_get_info(struct blockdev *bd, struct block_image_info *info);
/* The backing image opened under bd, or NULL. */
struct blockdev *block_backing(struct blockdev *bd);
const char *block_path(const struct blockdev *bd);

/* What the image itself holds (not its backing chain) from offset on. */
enum block_alloc {
    BLOCK_ALLOC_NONE,           /* nothing: reads come from the backing image (or zeros) */
    BLOCK_ALLOC_DATA,           /* its own data (raw images: everywhere) */
    BLOCK_ALLOC_ZERO,           /* marked as zeros, hiding the backing image */
};
/* Returns the kind at offset and, in *run, how many bytes from offset on
 * (at most max, cut at the disk's end) are of that kind; or -errno. */
int block_alloc_status(struct blockdev *bd, uint64_t offset, uint64_t max, uint64_t *run);

/* Writes into base every range top holds itself (data and zero marks), then
 * flushes base.  Made for base being top's backing image: top over base
 * reads the same before, during and after, and afterwards base alone reads
 * as top did (a snapshot layer merged back).  Both disks must be the same
 * size. */
int block_commit(struct blockdev *top, struct blockdev *base, struct err *e);

struct block_check_report {
    uint64_t leaks;             /* clusters with a refcount but no reference */
    uint64_t errors;            /* references the refcounts do not cover, bad offsets */
    uint64_t leaks_fixed, errors_fixed;
    uint64_t allocated_clusters, total_clusters;
    bool supported;             /* false for formats without metadata (raw) */
};

/* Checks an image's metadata; with repair (image opened with
 * block_open_repair) rewrites the refcounts to match the references. */
int block_check(struct blockdev *bd, bool repair, struct block_check_report *r,
                struct err *e);
/* Opens read-write even when the image is marked dirty, for check --repair. */
int block_open_repair(const char *path, struct blockdev **out, struct err *e);

#endif
