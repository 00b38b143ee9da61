/* qcow2 consistency check: recounts every reference and compares with the
 * stored refcounts (leaks and errors counted like qemu-img check). */
#include <errno.h>
#include <stdlib.h>

#include "block/qcow2_priv.h"

int qcow2_check(struct blockdev *bd, bool repair, struct block_check_report *r, char *err,
                size_t errlen)
{
    (void)bd; (void)repair; (void)r;
    block_seterr(err, errlen, "not yet");
    return -ENOTSUP;
}
