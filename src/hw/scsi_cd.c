/* The CD-ROM drive's command set (hw/scsi_cd.h): SPC and MMC commands as
 * SeaBIOS's CD boot, GRUB (through the BIOS), isolinux and Linux's sr and
 * cdrom drivers use them.  Facts: T10 SPC-3 and MMC-5. */
#include "hw/scsi_cd.h"

#include <errno.h>
#include <string.h>

#include "block/block.h"
#include "lib/err.h"
#include "lib/iov.h"

/* Sense keys and additional sense codes (ASC << 8 | ASCQ). */
#define KEY_NO_SENSE        0x0
#define KEY_NOT_READY       0x2
#define KEY_MEDIUM_ERROR    0x3
#define KEY_ILLEGAL_REQUEST 0x5
#define KEY_UNIT_ATTENTION  0x6
#define KEY_DATA_PROTECT    0x7
#define ASC_INVALID_OPCODE  0x2000
#define ASC_LBA_OUT_OF_RANGE 0x2100
#define ASC_INVALID_FIELD   0x2400
#define ASC_WRITE_PROTECTED 0x2700
#define ASC_READ_ERROR      0x1100

#define MAX_IOV 1024

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

int scsi_cd_check_image(struct blockdev *bd, const char *path, struct err *e)
{
    uint8_t vd[SCSI_CD_BLOCK];
    struct iovec iov = { vd, sizeof(vd) };
    if (block_size(bd) < 34 * 1024)
        return err_set(e, -EINVAL, "--cdrom %s: %llu bytes is too small for an ISO image "
                       "(an ISO 9660 image has its first volume descriptor at 32 KiB)", path,
                       (unsigned long long)block_size(bd));
    int r = block_preadv(bd, 16 * SCSI_CD_BLOCK, &iov, 1);
    if (r < 0)
        return err_set(e, r, "--cdrom %s: cannot read its volume descriptor: %s", path,
                       strerror(-r));
    /* ISO 9660 ("CD001"), or the UDF volume recognition sequence. */
    if (memcmp(vd + 1, "CD001", 5) && memcmp(vd + 1, "BEA01", 5) && memcmp(vd + 1, "NSR0", 4))
        return err_set(e, -EINVAL, "--cdrom %s: not an ISO 9660 or UDF image (no volume "
                       "descriptor at 32 KiB); give an .iso file, or attach a disk image with "
                       "--disk", path);
    return 0;
}

void scsi_cd_init(struct scsi_cd *cd, struct blockdev *bd)
{
    memset(cd, 0, sizeof(*cd));
    cd->bd = bd;
    cd->blocks = block_size(bd) / SCSI_CD_BLOCK;
    cd->media_event = true;
}

static void fail(struct scsi_cd *cd, struct scsi_result *res, uint8_t key, uint16_t asc)
{
    memset(res->sense, 0, sizeof(res->sense));
    res->sense[0] = 0x70;                     /* current error, fixed format */
    res->sense[2] = key;
    res->sense[7] = SCSI_SENSE_LEN - 8;
    res->sense[12] = (uint8_t)(asc >> 8);
    res->sense[13] = (uint8_t)asc;
    res->sense_len = SCSI_SENSE_LEN;
    res->status = SCSI_STATUS_CHECK_CONDITION;
    res->data_len = 0;
    memcpy(cd->sense, res->sense, SCSI_SENSE_LEN);
}

/* Puts a reply of len bytes in the data-in buffers, cut to what the command
 * allows (alloc) and to the buffers' size. */
static void reply(struct scsi_result *res, const struct iovec *in, unsigned nin, uint64_t in_len,
                  const void *buf, size_t len, size_t alloc)
{
    if (len > alloc)
        len = alloc;
    if (len > in_len)
        len = (size_t)in_len;
    res->data_len = (uint32_t)iov_from_buf(in, nin, 0, buf, len);
}

static void inquiry(struct scsi_cd *cd, const uint8_t *cdb, const struct iovec *in, unsigned nin,
                    uint64_t in_len, struct scsi_result *res)
{
    uint8_t b[96];
    size_t alloc = get16(cdb + 3);
    memset(b, 0, sizeof(b));
    if (cdb[1] & 1) {                         /* EVPD */
        b[0] = 0x05;
        b[1] = cdb[2];
        switch (cdb[2]) {
        case 0x00:                            /* supported pages */
            b[3] = 2;
            b[4] = 0x00;
            b[5] = 0x80;
            return reply(res, in, nin, in_len, b, 6, alloc);
        case 0x80:                            /* unit serial number */
            b[3] = 8;
            memcpy(b + 4, "HOSTELCD", 8);
            return reply(res, in, nin, in_len, b, 12, alloc);
        default:
            return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        }
    }
    if (cdb[2])
        return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
    b[0] = 0x05;                              /* CD/DVD device */
    b[1] = 0x80;                              /* removable medium */
    b[2] = 0x05;                              /* SPC-3 */
    b[3] = 0x02;                              /* response data format 2 */
    b[4] = 36 - 5;
    memcpy(b + 8, "HOSTEL  ", 8);
    memcpy(b + 16, "CD-ROM          ", 16);
    memcpy(b + 32, "1.0 ", 4);
    reply(res, in, nin, in_len, b, 36, alloc);
}

/* READ TOC/PMA/ATIP: format 0 (the TOC: one data track and the lead-out)
 * and 1 (the last session), in LBA or MSF form. */
static void lba_to_msf(uint32_t lba, uint8_t *p)
{
    lba += 150;
    p[0] = 0;
    p[1] = (uint8_t)(lba / (60 * 75));
    p[2] = (uint8_t)(lba / 75 % 60);
    p[3] = (uint8_t)(lba % 75);
}

static void read_toc(struct scsi_cd *cd, const uint8_t *cdb, const struct iovec *in, unsigned nin,
                     uint64_t in_len, struct scsi_result *res)
{
    bool msf = cdb[1] & 2;
    unsigned format = cdb[2] & 0xf;
    if (!format)
        format = cdb[9] >> 6;                 /* the old place for it */
    size_t alloc = get16(cdb + 7);
    uint8_t b[32];
    memset(b, 0, sizeof(b));
    size_t len;
    uint32_t end = cd->blocks > 0xffffffffu ? 0xffffffffu : (uint32_t)cd->blocks;
    if (format == 0) {
        unsigned track = cdb[6];
        if (track > 1 && track != 0xaa)
            return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        b[2] = 1;                             /* first and last track */
        b[3] = 1;
        uint8_t *d = b + 4;
        if (track <= 1) {
            d[1] = 0x14;                      /* ADR 1, data track */
            d[2] = 1;
            if (msf) lba_to_msf(0, d + 4); else put32(d + 4, 0);
            d += 8;
        }
        d[1] = 0x14;
        d[2] = 0xaa;                          /* lead-out */
        if (msf) lba_to_msf(end, d + 4); else put32(d + 4, end);
        d += 8;
        len = (size_t)(d - b);
    } else if (format == 1) {
        b[2] = 1;
        b[3] = 1;
        b[5] = 0x14;
        b[6] = 1;
        if (msf) lba_to_msf(0, b + 8); else put32(b + 8, 0);
        len = 12;
    } else {
        return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
    }
    put16(b, (uint16_t)(len - 2));
    reply(res, in, nin, in_len, b, len, alloc);
}

/* MODE SENSE(6/10): the capabilities page (0x2a) only, which Linux's sr reads. */
static void mode_sense(struct scsi_cd *cd, const uint8_t *cdb, bool ten, const struct iovec *in,
                       unsigned nin, uint64_t in_len, struct scsi_result *res)
{
    unsigned page = cdb[2] & 0x3f;
    size_t alloc = ten ? get16(cdb + 7) : cdb[4];
    uint8_t b[64];
    memset(b, 0, sizeof(b));
    size_t hdr = ten ? 8 : 4;
    uint8_t *p = b + hdr;
    size_t plen = 0;
    if (page == 0x2a || page == 0x3f) {
        p[0] = 0x2a;
        p[1] = 20;
        p[2] = 0x3b;                          /* reads CD-R, CD-RW, method 2, DVD-ROM, ... */
        p[4] = 0x71;                          /* audio play, multisession, mode 2 forms */
        p[5] = 0x7f;
        p[6] = 0x29;                          /* tray, eject, lock */
        p[7] = 0x03;
        put16(p + 8, 706);                    /* 4x, in kB/s */
        put16(p + 12, 2048);                  /* buffer, KiB */
        put16(p + 14, 706);
        plen = 22;
    } else {
        return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
    }
    size_t len = hdr + plen;
    if (ten)
        put16(b, (uint16_t)(len - 2));
    else
        b[0] = (uint8_t)(len - 1);
    reply(res, in, nin, in_len, b, len, alloc);
}

static void read_blocks(struct scsi_cd *cd, uint64_t lba, uint32_t count, const struct iovec *in,
                        unsigned nin, uint64_t in_len, struct scsi_result *res)
{
    if (lba > cd->blocks || count > cd->blocks - lba)
        return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
    uint64_t bytes = (uint64_t)count * SCSI_CD_BLOCK;
    if (bytes > in_len)
        return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
    /* The first bytes of the data-in buffers, in as many pieces as needed. */
    struct iovec seg[MAX_IOV];
    unsigned n = 0;
    uint64_t left = bytes;
    for (unsigned i = 0; i < nin && left && n < MAX_IOV; i++) {
        size_t take = in[i].iov_len < left ? in[i].iov_len : (size_t)left;
        seg[n++] = (struct iovec){ in[i].iov_base, take };
        left -= take;
    }
    if (left)
        return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
    if (bytes && block_preadv(cd->bd, lba * SCSI_CD_BLOCK, seg, (int)n) < 0)
        return fail(cd, res, KEY_MEDIUM_ERROR, ASC_READ_ERROR);
    res->data_len = (uint32_t)bytes;
}

void scsi_cd_command(struct scsi_cd *cd, const uint8_t *cdb, unsigned cdb_len,
                     const struct iovec *in, unsigned nin, uint64_t in_len,
                     struct scsi_result *res)
{
    memset(res, 0, sizeof(*res));
    if (cdb_len < 6)
        return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
    uint8_t op = cdb[0];
    /* The length each opcode's group needs (SPC: groups 0, 1-2, 4, 5). */
    unsigned need = op < 0x20 ? 6 : op < 0x60 ? 10 : op >= 0x80 && op < 0xa0 ? 16 : op >= 0xa0 && op < 0xc0 ? 12 : 6;
    if (cdb_len < need)
        return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
    uint8_t b[64];
    memset(b, 0, sizeof(b));
    switch (op) {
    case 0x00:                                /* TEST UNIT READY */
    case 0x1b:                                /* START STOP UNIT */
    case 0x1e:                                /* PREVENT ALLOW MEDIUM REMOVAL */
    case 0x2b:                                /* SEEK(10) */
    case 0xbb:                                /* SET CD SPEED */
        return;
    case 0x03: {                              /* REQUEST SENSE */
        uint8_t s[SCSI_SENSE_LEN];
        memcpy(s, cd->sense, sizeof(s));
        if (!s[0]) {
            s[0] = 0x70;
            s[7] = SCSI_SENSE_LEN - 8;
        }
        memset(cd->sense, 0, sizeof(cd->sense));
        return reply(res, in, nin, in_len, s, sizeof(s), cdb[4]);
    }
    case 0x12:                                /* INQUIRY */
        return inquiry(cd, cdb, in, nin, in_len, res);
    case 0x1a:                                /* MODE SENSE(6) */
        return mode_sense(cd, cdb, false, in, nin, in_len, res);
    case 0x5a:                                /* MODE SENSE(10) */
        return mode_sense(cd, cdb, true, in, nin, in_len, res);
    case 0x25: {                              /* READ CAPACITY(10) */
        uint64_t last = cd->blocks ? cd->blocks - 1 : 0;
        put32(b, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
        put32(b + 4, SCSI_CD_BLOCK);
        return reply(res, in, nin, in_len, b, 8, 8);
    }
    case 0x28:                                /* READ(10) */
        return read_blocks(cd, get32(cdb + 2), get16(cdb + 7), in, nin, in_len, res);
    case 0xa8:                                /* READ(12) */
        return read_blocks(cd, get32(cdb + 2), get32(cdb + 6), in, nin, in_len, res);
    case 0x88:                                /* READ(16) */
        return read_blocks(cd, (uint64_t)get32(cdb + 2) << 32 | get32(cdb + 6), get32(cdb + 10),
                           in, nin, in_len, res);
    case 0x43:                                /* READ TOC/PMA/ATIP */
        return read_toc(cd, cdb, in, nin, in_len, res);
    case 0x46: {                              /* GET CONFIGURATION: the current profile */
        uint16_t profile = cd->blocks > 360000 ? 0x0010 : 0x0008;   /* DVD-ROM, CD-ROM */
        put32(b, 8 + 4 + 4 - 4);              /* data length after this field */
        put16(b + 6, profile);
        put16(b + 8, 0x0000);                 /* feature 0: the profile list */
        b[10] = 0x03;                         /* persistent, current */
        b[11] = 4;
        put16(b + 12, profile);
        b[14] = 1;                            /* current */
        return reply(res, in, nin, in_len, b, 16, get16(cdb + 7));
    }
    case 0x4a: {                              /* GET EVENT STATUS NOTIFICATION */
        if (!(cdb[1] & 1))                    /* only the polled form */
            return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        put16(b, 6);
        if (cdb[4] & 0x10) {                  /* media class asked for */
            b[2] = 0x04;
            b[4] = cd->media_event ? 0x02 : 0x00;   /* new media, or no change */
            b[5] = 0x02;                      /* media present, tray closed */
            cd->media_event = false;
        } else {
            b[2] = 0x80;                      /* no event available */
        }
        b[3] = 0x10;                          /* supported: media */
        return reply(res, in, nin, in_len, b, 8, get16(cdb + 7));
    }
    case 0x51: {                              /* READ DISC INFORMATION */
        put16(b, 32);
        b[2] = 0x0e;                          /* complete, last session complete */
        b[3] = 1;
        b[4] = 1;
        b[5] = 1;
        b[6] = 1;
        return reply(res, in, nin, in_len, b, 34, get16(cdb + 7));
    }
    case 0xa0: {                              /* REPORT LUNS: LUN 0 */
        put32(b, 8);
        return reply(res, in, nin, in_len, b, 16, get32(cdb + 6));
    }
    case 0x0a: case 0x2a: case 0xaa: case 0x8a: case 0x2e: case 0x35:
        return fail(cd, res, KEY_DATA_PROTECT, ASC_WRITE_PROTECTED);
    default:
        return fail(cd, res, KEY_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
    }
}
