/* Scatter-gather copies. */
#include "lib/iov.h"

#include <stdint.h>
#include <string.h>

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t take = iov[i].iov_len - skip;
        if (take > len - done)
            take = len - done;
        memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + skip, take);
        done += take;
        skip = 0;
    }
    return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        size_t take = iov[i].iov_len - skip;
        if (take > len - done)
            take = len - done;
        memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done, take);
        done += take;
        skip = 0;
    }
    return done;
}
