/* virtio-fs (virtio 1.x section 5.11): config space with the tag and the
 * number of request queues, a high-priority queue (FORGET, INTERRUPT) and
 * one request queue; each chain is one FUSE request whose readable part is
 * the request and whose writable part takes the reply. */
#include "hw/virtio/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/virtio/virtio_pci.h"
#include "share/server.h"

#define VIRTIO_ID_FS 26
#define QUEUE_SIZE 1024
#define CONFIG_SIZE 40           /* tag[36], le32 num_request_queues */

struct virtio_fs {
    struct virtio_pci *vp;
    struct share_server *srv;
    char tag[VIRTIO_FS_TAG_MAX];
};

static uint64_t fs_features(struct virtio_dev *vd)
{
    (void)vd;
    return 0;                    /* no VIRTIO_FS_F_NOTIFICATION */
}

static void fs_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
    struct virtio_fs *fs = vd->opaque;
    uint8_t cfg[CONFIG_SIZE] = {0};
    uint32_t nreq = 1;
    memcpy(cfg, fs->tag, VIRTIO_FS_TAG_MAX);
    memcpy(cfg + 36, &nreq, 4);
    memcpy(buf, cfg + off, len);
}

static void fs_notify(struct virtio_dev *vd, unsigned q)
{
    struct virtio_fs *fs = vd->opaque;
    struct virtq_chain *c = vd->chain;
    while (virtio_pop(vd, q, c) > 0) {
        size_t n = share_server_handle(fs->srv, c->iov, c->nout, c->iov + c->nout, c->nin);
        virtq_push(&vd->vq[q], c->head, (uint32_t)n);
    }
    virtio_queue_done(vd, q);
}

static void fs_reset(struct virtio_dev *vd)
{
    struct virtio_fs *fs = vd->opaque;
    share_server_reset(fs->srv);
}

static const struct virtio_device_ops fs_ops = {
    .name = "virtio-fs",
    .worker_names_files = true,
    .device_id = VIRTIO_ID_FS,
    .pci_class = 0x018000,        /* mass storage, other (as QEMU's vhost-user-fs) */
    .num_queues = 2,              /* hiprio, one request queue */
    .queue_max = QUEUE_SIZE,
    .config_size = CONFIG_SIZE,
    .features = fs_features,
    .config_read = fs_config_read,
    .queue_notify = fs_notify,
    .reset = fs_reset,
};

int virtio_fs_create(struct guest_mem *mem, struct pci_bus *bus, struct share_server *srv,
                     const char *tag, struct virtio_fs **out)
{
    size_t n = strlen(tag);
    if (n == 0 || n > VIRTIO_FS_TAG_MAX)
        return -EINVAL;
    struct virtio_fs *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    fs->srv = srv;
    memcpy(fs->tag, tag, n);
    int r = virtio_pci_create(mem, bus, &fs_ops, fs, &fs->vp);
    if (r < 0) {
        free(fs);
        return r;
    }
    *out = fs;
    return 0;
}

void virtio_fs_destroy(struct virtio_fs *fs)
{
    if (!fs)
        return;
    virtio_pci_destroy(fs->vp);
    free(fs);
}

void virtio_fs_pause(struct virtio_fs *fs)
{
    virtio_pci_pause(fs->vp);
}

void virtio_fs_resume(struct virtio_fs *fs)
{
    virtio_pci_resume(fs->vp);
}
