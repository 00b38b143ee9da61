/* STUB: kernel detection and dispatch (owned by the loaders helper; replaced). */
#include "vmm/loader.h"

#include <errno.h>
#include <stdio.h>

int load_kernel(struct guest_mem *m, const struct boot_input *in, struct cpu_state *bsp,
                char *err, size_t errlen)
{
    (void)m; (void)in; (void)bsp;
    snprintf(err, errlen, "no kernel loaders are built yet");
    return -ENOSYS;
}
