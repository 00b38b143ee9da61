/* virtio-scsi (device type 8, spec 5.6): a control queue, an event queue and
 * one request queue; requests for target 0 LUN 0 go to the CD-ROM drive
 * (hw/scsi_cd.c), any other address is answered BAD_TARGET.  Headers are
 * checked against the chain's sizes; a request too short to answer is
 * returned with nothing written. */
#include "hw/virtio/scsi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/scsi_cd.h"
#include "hw/virtio/virtio_pci.h"
#include "lib/err.h"
#include "lib/iov.h"
#include "lib/state.h"

#define VIRTIO_ID_SCSI     8
#define CDB_SIZE           32
#define SENSE_SIZE         96
#define REQ_HEADER         (8 + 8 + 3 + CDB_SIZE)    /* lun, id, attr/prio/crn, cdb */
#define RESP_HEADER        (4 + 4 + 2 + 1 + 1 + SENSE_SIZE)
#define QUEUE_SIZE         128
#define CONFIG_SIZE        36

#define S_OK               0
#define S_BAD_TARGET       3
#define S_FUNCTION_REJECTED 11

#define CTRL_TMF           0
#define CTRL_AN_QUERY      1
#define CTRL_AN_SUBSCRIBE  2

enum { Q_CONTROL, Q_EVENT, Q_REQUEST };

struct virtio_scsi {
    struct virtio_pci *vp;
    struct scsi_cd cd;
    struct iovec data[VIRTQ_MAX_SIZE];
};

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void scsi_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
    (void)vd;
    uint8_t cfg[CONFIG_SIZE] = { 0 };
    put32(cfg + 0, 1);                        /* num_queues: request queues */
    put32(cfg + 4, QUEUE_SIZE - 2);           /* seg_max */
    put32(cfg + 8, 0xffff);                   /* max_sectors */
    put32(cfg + 12, QUEUE_SIZE);              /* cmd_per_lun */
    put32(cfg + 16, 16);                      /* event_info_size */
    put32(cfg + 20, SENSE_SIZE);
    put32(cfg + 24, CDB_SIZE);
    /* max_channel 0 (+28), max_target 0 (+30), max_lun 0 (+32) */
    memcpy(buf, cfg + off, len);
}

/* LUN field: 1, target, then the LUN in the flat format (0x40 | hi, lo). */
static bool addresses_our_drive(const uint8_t lun[8])
{
    return lun[0] == 1 && lun[1] == 0 && (lun[2] & 0x3f) == 0 && lun[3] == 0;
}

static void handle_request(struct virtio_scsi *s, struct virtio_dev *vd, struct virtq_chain *c)
{
    uint8_t req[REQ_HEADER];
    uint8_t resp[RESP_HEADER];
    if (c->out_len < REQ_HEADER || c->in_len < RESP_HEADER) {
        virtq_push(&vd->vq[Q_REQUEST], c->head, 0);
        return;
    }
    iov_to_buf(c->iov, c->nout, 0, req, sizeof(req));
    memset(resp, 0, sizeof(resp));
    const struct iovec *in = c->iov + c->nout;
    uint64_t data_in = c->in_len - RESP_HEADER;
    uint32_t written = RESP_HEADER;
    if (!addresses_our_drive(req)) {
        resp[11] = S_BAD_TARGET;
    } else if (c->out_len > REQ_HEADER) {
        /* Data for the device: a read-only drive takes none. */
        struct scsi_result r = { .status = SCSI_STATUS_CHECK_CONDITION };
        uint8_t write_cdb[6] = { 0x0a };
        scsi_cd_command(&s->cd, write_cdb, 6, NULL, 0, 0, &r);
        put32(resp + 0, r.sense_len);
        resp[10] = r.status;
        memcpy(resp + 12, r.sense, r.sense_len);
    } else {
        unsigned n = virtq_iov_slice(in, c->nin, RESP_HEADER, data_in, s->data, VIRTQ_MAX_SIZE);
        struct scsi_result r;
        scsi_cd_command(&s->cd, req + 19, CDB_SIZE, s->data, n, data_in, &r);
        put32(resp + 0, r.sense_len);
        put32(resp + 4, (uint32_t)(data_in - r.data_len));   /* residual */
        resp[10] = r.status;
        memcpy(resp + 12, r.sense, r.sense_len);
        written += r.data_len;
    }
    iov_from_buf(in, c->nin, 0, resp, sizeof(resp));
    virtq_push(&vd->vq[Q_REQUEST], c->head, written);
}

/* Task management and asynchronous notification: nothing is ever in
 * flight (requests finish before the worker takes the next), so aborts and
 * resets succeed at once; no notifications are offered. */
static void handle_control(struct virtio_dev *vd, struct virtq_chain *c)
{
    uint32_t type = 0;
    if (c->out_len < 4) {
        virtq_push(&vd->vq[Q_CONTROL], c->head, 0);
        return;
    }
    iov_to_buf(c->iov, c->nout, 0, &type, 4);
    const struct iovec *in = c->iov + c->nout;
    uint32_t written = 0;
    if (type == CTRL_TMF && c->in_len >= 1) {
        uint8_t resp = S_OK;
        written = (uint32_t)iov_from_buf(in, c->nin, 0, &resp, 1);
    } else if ((type == CTRL_AN_QUERY || type == CTRL_AN_SUBSCRIBE) && c->in_len >= 5) {
        uint8_t resp[5] = { 0, 0, 0, 0, S_OK };   /* event_actual 0 */
        written = (uint32_t)iov_from_buf(in, c->nin, 0, resp, 5);
    } else if (c->in_len >= 1) {
        uint8_t resp = S_FUNCTION_REJECTED;
        written = (uint32_t)iov_from_buf(in, c->nin, 0, &resp, 1);
    }
    virtq_push(&vd->vq[Q_CONTROL], c->head, written);
}

static void scsi_notify(struct virtio_dev *vd, unsigned q)
{
    struct virtio_scsi *s = vd->opaque;
    struct virtq_chain *c = vd->chain;
    if (q == Q_EVENT)
        return;      /* buffers wait there for events we never send */
    while (virtio_pop(vd, q, c) > 0) {
        if (q == Q_REQUEST)
            handle_request(s, vd, c);
        else
            handle_control(vd, c);
    }
    virtio_queue_done(vd, q);
}

static const struct virtio_device_ops scsi_ops = {
    .name = "virtio-scsi",
    .device_id = VIRTIO_ID_SCSI,
    .pci_class = 0x010000,        /* mass storage, SCSI */
    .num_queues = 3,
    .queue_max = QUEUE_SIZE,
    .config_size = CONFIG_SIZE,
    .config_read = scsi_config_read,
    .queue_notify = scsi_notify,
};

int virtio_scsi_create(struct guest_mem *mem, struct pci_bus *bus, struct blockdev *bd,
                       struct virtio_scsi **out)
{
    struct virtio_scsi *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    scsi_cd_init(&s->cd, bd);
    int r = virtio_pci_create(mem, bus, &scsi_ops, s, &s->vp);
    if (r < 0) {
        free(s);
        return r;
    }
    *out = s;
    return 0;
}

void virtio_scsi_destroy(struct virtio_scsi *s)
{
    if (!s)
        return;
    virtio_pci_destroy(s->vp);
    free(s);
}

int virtio_scsi_slot(const struct virtio_scsi *s)
{
    return virtio_pci_slot(s->vp);
}

/* ---- snapshots and pausing ------------------------------------------------ */

int virtio_scsi_save(struct virtio_scsi *s, struct state_out *o)
{
    int r = virtio_pci_save(s->vp, o);
    st_put_bytes(o, s->cd.sense, sizeof(s->cd.sense));
    st_put_u8(o, s->cd.media_event);
    return r < 0 || !state_out_ok(o) ? -ENOMEM : 0;
}

struct loaded_cd {
    uint8_t sense[SCSI_SENSE_LEN];
    bool media_event;
};

static void apply_cd(struct virtio_dev *vd, void *arg)
{
    struct virtio_scsi *s = vd->opaque;
    const struct loaded_cd *l = arg;
    memcpy(s->cd.sense, l->sense, sizeof(l->sense));
    s->cd.media_event = l->media_event;
}

int virtio_scsi_load(struct virtio_scsi *s, struct state_in *in, struct err *e)
{
    struct virtio_pci_loaded *l;
    int r = virtio_pci_load_check(s->vp, in, e, &l);
    if (r < 0)
        return r;
    struct loaded_cd cd;
    st_get_bytes(in, cd.sense, sizeof(cd.sense));
    uint8_t ev = st_get_u8(in);
    if (in->bad || ev > 1) {
        char name[64];
        virtio_pci_name(s->vp, name, sizeof(name));
        virtio_pci_load_abandon(l);
        return err_set(e, -EINVAL, "%s: the saved state is cut short or damaged", name);
    }
    cd.media_event = ev;
    virtio_pci_load_commit(s->vp, l, apply_cd, &cd);
    return 0;
}

void virtio_scsi_pause(struct virtio_scsi *s)
{
    virtio_pci_pause(s->vp);
}

void virtio_scsi_resume(struct virtio_scsi *s)
{
    virtio_pci_resume(s->vp);
}
