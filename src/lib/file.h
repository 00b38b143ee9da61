/* Whole-file reads and atomic whole-file writes. */
#ifndef HOSTEL_FILE_H
#define HOSTEL_FILE_H

#include <stddef.h>
#include <stdint.h>

struct file_buf {
    uint8_t *data;
    size_t len;
};

/* Reads a regular file; -errno on failure (-EISDIR, -EFBIG over 4 GiB). */
int file_read_all(const char *path, struct file_buf *out);
void file_buf_free(struct file_buf *b);

/* Writes path.tmp, fsyncs, renames over path: readers see old or new, never half. */
int file_write_atomic(const char *path, const void *data, size_t len);

/* Removes a folder and everything under it (no symlink is followed);
 * 0 when it did not exist. */
int file_remove_tree(const char *path);

/* mkdir -p, mode 0755: every missing folder of path.  0, or -errno. */
int file_mkdir_p(const char *path);

#endif
