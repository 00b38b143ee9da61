/* A read-only CD/DVD-ROM drive as a SCSI target (MMC): the commands that
 * firmware (SeaBIOS), boot loaders and OS drivers (Linux's sr, installers)
 * send, answered from an ISO image.  It does not know its transport:
 * virtio-scsi (hw/virtio/scsi.c) hands it CDBs and buffers, and an ATAPI
 * transport could do the same.  Every CDB field is checked; anything not
 * understood is answered with CHECK CONDITION and sense data, never acted
 * on. */
#ifndef HOSTEL_SCSI_CD_H
#define HOSTEL_SCSI_CD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct blockdev;
struct err;

#define SCSI_CD_BLOCK      2048
#define SCSI_SENSE_LEN     18         /* fixed-format sense data */

/* SCSI status bytes. */
#define SCSI_STATUS_GOOD            0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02

struct scsi_cd {
    struct blockdev *bd;
    uint64_t blocks;                  /* 2048-byte blocks */
    uint8_t sense[SCSI_SENSE_LEN];    /* from the last command that failed */
    bool media_event;                 /* the "new media" event is still to be reported */
};

/* The result of one command: status, data put in the data-in buffers, and
 * sense data when the status is CHECK CONDITION. */
struct scsi_result {
    uint8_t status;
    uint32_t data_len;                /* bytes written to the data-in buffers */
    uint8_t sense[SCSI_SENSE_LEN];
    uint8_t sense_len;
};

/* Checks that bd holds an ISO 9660 (or UDF) image: a volume descriptor at
 * 32 KiB and a size of at least 34 KiB.  -EINVAL with e saying what is
 * wrong with which file. */
int scsi_cd_check_image(struct blockdev *bd, const char *path, struct err *e);
void scsi_cd_init(struct scsi_cd *cd, struct blockdev *bd);

/* Runs one command: cdb (cdb_len bytes), data-in buffers in[] (nin of them,
 * in_len bytes in all) for what the command returns.  Commands that send
 * data (out) are refused: the drive is read-only. */
void scsi_cd_command(struct scsi_cd *cd, const uint8_t *cdb, unsigned cdb_len,
                     const struct iovec *in, unsigned nin, uint64_t in_len,
                     struct scsi_result *res);

#endif
