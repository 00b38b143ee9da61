/* virtio-rng (device type 4): one request queue whose device-writable
 * buffers we fill from the host's getrandom(). */
#include "hw/virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "hw/virtio/virtio_pci.h"

struct virtio_rng {
    struct virtio_pci *vp;
};

/* Fills every writable segment; a short getrandom() just returns less. */
static void rng_notify(struct virtio_dev *vd, unsigned q)
{
    struct virtq_chain *c = vd->chain;
    while (virtio_pop(vd, q, c) > 0) {
        uint64_t written = 0;
        for (unsigned i = c->nout; i < c->nout + c->nin; i++) {
            uint8_t *p = c->iov[i].iov_base;
            size_t left = c->iov[i].iov_len;
            while (left) {
                ssize_t n = getrandom(p, left, 0);
                if (n <= 0) {
                    if (n < 0 && errno == EINTR)
                        continue;
                    break;
                }
                p += n;
                left -= (size_t)n;
                written += (uint64_t)n;
            }
            if (left)
                break;
        }
        virtq_push(&vd->vq[q], c->head, (uint32_t)written);
    }
    virtio_queue_done(vd, q);
}

static const struct virtio_device_ops rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .pci_class = 0x00ff00,
    .num_queues = 1,
    .queue_max = 64,
    .queue_notify = rng_notify,
};

int virtio_rng_create(struct guest_mem *mem, struct pci_bus *bus, struct virtio_rng **out)
{
    struct virtio_rng *rng = calloc(1, sizeof(*rng));
    if (!rng)
        return -ENOMEM;
    int r = virtio_pci_create(mem, bus, &rng_ops, rng, &rng->vp);
    if (r < 0) {
        free(rng);
        return r;
    }
    *out = rng;
    return 0;
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
    if (!rng)
        return;
    virtio_pci_destroy(rng->vp);
    free(rng);
}

/* ---- snapshots and pausing ------------------------------------------------ */

int virtio_rng_save(struct virtio_rng *rng, struct state_out *o)
{
    return virtio_pci_save(rng->vp, o);
}

int virtio_rng_load(struct virtio_rng *rng, struct state_in *in, struct err *e)
{
    return virtio_pci_load(rng->vp, in, e);
}

void virtio_rng_pause(struct virtio_rng *rng)
{
    virtio_pci_pause(rng->vp);
}

void virtio_rng_resume(struct virtio_rng *rng)
{
    virtio_pci_resume(rng->vp);
}
