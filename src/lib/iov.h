/* Copies between scatter-gather lists and flat buffers (block layer, virtio). */
#ifndef HOSTEL_IOV_H
#define HOSTEL_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Copy up to len bytes out of / into the list, starting skip bytes in;
 * return how many were copied (less when the list is shorter). */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len);

#endif
