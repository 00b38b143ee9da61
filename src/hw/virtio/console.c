/* virtio-console (device type 3) without MULTIPORT: port 0 only, queue 0
 * receives (host to guest) into device-writable buffers, queue 1 transmits
 * the guest's device-readable buffers to the chardev. */
#include "hw/virtio/console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/virtio/virtio_pci.h"
#include "host/chardev.h"

#define RX_QUEUE 0
#define TX_QUEUE 1
#define CONFIG_SIZE 12            /* cols, rows, max_nr_ports, emerg_wr */

struct virtio_console {
    struct virtio_pci *vp;
    struct virtio_dev *vd;
    struct chardev *cd;
    bool input_blocked;           /* we refused input for lack of buffers */
    bool wake_input;              /* after_notify must call chardev_input_ready */
    bool paused;                  /* virtio_console_pause: input refused */
    struct virtq_chain *rx_chain; /* the chardev thread's own scratch */
};

static void console_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
    (void)vd;
    uint8_t cfg[CONFIG_SIZE] = {0};
    memcpy(buf, cfg + off, len);
}

/* Input from the chardev (its own thread): fills receive buffers. */
static size_t console_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_console *con = opaque;
    struct virtio_dev *vd = con->vd;
    size_t taken = 0;
    pthread_mutex_lock(&vd->lock);
    struct virtq *vq = &vd->vq[RX_QUEUE];
    bool live = (vd->status & VIRTIO_STATUS_DRIVER_OK) &&
                !(vd->status & VIRTIO_STATUS_NEEDS_RESET) && vq->ready && !con->paused;
    while (live && taken < len) {
        struct virtq_chain *c = con->rx_chain;
        if (virtio_pop(vd, RX_QUEUE, c) <= 0)
            break;
        size_t n = iov_from_buf(c->iov + c->nout, c->nin, 0, buf + taken, len - taken);
        virtq_push(vq, c->head, (uint32_t)n);
        taken += n;
    }
    virtio_queue_done(vd, RX_QUEUE);
    con->input_blocked = taken < len;
    pthread_mutex_unlock(&vd->lock);
    return taken;
}

static void console_notify(struct virtio_dev *vd, unsigned q)
{
    struct virtio_console *con = vd->opaque;
    if (q == RX_QUEUE) {
        /* New receive buffers: input we refused can come now. */
        if (con->input_blocked)
            con->wake_input = true;
        return;
    }
    struct virtq_chain *c = vd->chain;
    while (virtio_pop(vd, q, c) > 0) {
        for (unsigned i = 0; i < c->nout; i++)
            if (con->cd && c->iov[i].iov_len)
                chardev_write(con->cd, c->iov[i].iov_base, c->iov[i].iov_len);
        virtq_push(&vd->vq[q], c->head, 0);
    }
    virtio_queue_done(vd, q);
}

static void console_after_notify(struct virtio_dev *vd)
{
    struct virtio_console *con = vd->opaque;
    pthread_mutex_lock(&vd->lock);
    bool wake = con->wake_input;
    con->wake_input = false;
    pthread_mutex_unlock(&vd->lock);
    if (wake && con->cd)
        chardev_input_ready(con->cd);
}

static void console_reset(struct virtio_dev *vd)
{
    struct virtio_console *con = vd->opaque;
    /* Whatever was refused is offered again once buffers appear. */
    con->wake_input = false;
    con->input_blocked = true;
}

static const struct virtio_device_ops console_ops = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .pci_class = 0x078000,        /* communication controller, other */
    .num_queues = 2,
    .queue_max = 128,
    .config_size = CONFIG_SIZE,
    .config_read = console_config_read,
    .queue_notify = console_notify,
    .after_notify = console_after_notify,
    .reset = console_reset,
};

int virtio_console_create(struct guest_mem *mem, struct pci_bus *bus, struct chardev *cd,
                          struct virtio_console **out)
{
    struct virtio_console *con = calloc(1, sizeof(*con));
    if (!con)
        return -ENOMEM;
    con->rx_chain = malloc(sizeof(*con->rx_chain));
    if (!con->rx_chain) {
        free(con);
        return -ENOMEM;
    }
    con->cd = cd;
    int r = virtio_pci_create(mem, bus, &console_ops, con, &con->vp);
    if (r < 0) {
        free(con->rx_chain);
        free(con);
        return r;
    }
    con->vd = virtio_pci_dev(con->vp);
    if (cd)
        chardev_set_receiver(cd, console_receive, con);
    *out = con;
    return 0;
}

void virtio_console_destroy(struct virtio_console *con)
{
    if (!con)
        return;
    if (con->cd)
        chardev_set_receiver(con->cd, NULL, NULL);
    virtio_pci_destroy(con->vp);
    free(con->rx_chain);
    free(con);
}

/* ---- snapshots and pausing ------------------------------------------------ */

int virtio_console_save(struct virtio_console *con, struct state_out *o)
{
    return virtio_pci_save(con->vp, o);
}

int virtio_console_load(struct virtio_console *con, struct state_in *in, struct err *e)
{
    int r = virtio_pci_load(con->vp, in, e);
    if (r < 0)
        return r;
    pthread_mutex_lock(&con->vd->lock);
    bool offer = !con->paused;
    con->input_blocked = con->paused;
    pthread_mutex_unlock(&con->vd->lock);
    if (offer && con->cd)
        chardev_input_ready(con->cd);
    return 0;
}

void virtio_console_pause(struct virtio_console *con)
{
    pthread_mutex_lock(&con->vd->lock);
    con->paused = true;
    pthread_mutex_unlock(&con->vd->lock);
    virtio_pci_pause(con->vp);
}

void virtio_console_resume(struct virtio_console *con)
{
    virtio_pci_resume(con->vp);
    pthread_mutex_lock(&con->vd->lock);
    con->paused = false;
    bool wake = con->input_blocked;
    pthread_mutex_unlock(&con->vd->lock);
    if (wake && con->cd)
        chardev_input_ready(con->cd);
}
