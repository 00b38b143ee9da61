/* End-to-end tests of virtio-blk as a guest driver sees it: config space,
 * reads, writes, flush, GET_ID, discard, write-zeroes, and the requests it
 * must refuse (out of range, read-only disk, bad header, unknown type). */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "check.h"
#include "hw/virtio/blk.h"
#include "lib/ratelimit.h"
#include "virtio_test_driver.h"

#define F_VERSION_1 (1ULL << 32)
#define F_RO        (1ULL << 5)
#define F_DISCARD   (1ULL << 13)
#define F_WZ        (1ULL << 14)
#define DISK_SECTORS 256ULL                  /* 128 KiB */
#define HDR  0x200000ULL
#define DATA 0x210000ULL
#define STAT 0x220000ULL

static struct vt t;
static struct virtio_blk *blk;
static struct blockdev *bd;
static char path[64];

static void setup_disk(bool readonly)
{
    vt_init(&t);
    struct err err = ERR_INIT;
    snprintf(path, sizeof(path), "/tmp/hostel-vblk-%d.img", (int)getpid());
    unlink(path);
    struct block_create_opts co = { .format = BLOCK_FORMAT_RAW, .size = DISK_SECTORS * 512 };
    CHECK_EQ(block_create(path, &co, &err), 0);
    /* Sector s holds the byte s & 0xff everywhere, so reads are checkable. */
    FILE *f = fopen(path, "r+b");
    for (unsigned s = 0; s < DISK_SECTORS; s++)
        for (int i = 0; i < 512; i++)
            fputc((int)(s & 0xff), f);
    fclose(f);
    struct block_open_opts oo = { .format = BLOCK_FORMAT_RAW, .readonly = readonly };
    CHECK_EQ(block_open(path, &oo, &bd, &err), 0);
    CHECK_EQ(virtio_blk_create(&t.dh.mem, t.bus, bd, "hostel-test-disk", &blk), 0);
    CHECK_EQ(vt_probe(&t, 0x1042), 0);
    uint64_t f_dev = vt_device_features(&t);
    CHECK_EQ(vt_negotiate(&t, F_VERSION_1 | (f_dev & (F_RO | F_DISCARD | F_WZ | 0x246))), 0x0b);
    vt_msix_enable(&t, 2);
    CHECK_EQ(vt_setup_queue(&t, 0, 16, 0x10000, 1), 0);
    vt_driver_ok(&t);
}

static void teardown(void)
{
    virtio_blk_destroy(blk);
    block_close(bd);
    unlink(path);
    vt_destroy(&t);
}

/* Submits header + data (out or in) + status, returns the status byte and
 * the used length in *used_len. */
static int request(uint32_t type, uint64_t sector, uint32_t data_len, bool data_in,
                   uint32_t *used_len)
{
    static uint16_t expect;
    struct tq *q = &t.q[0];
    if (q->avail_idx == 0)
        expect = 0;
    uint8_t h[16] = {0}, ee = 0xee;
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
    mem_write(&t.dh.mem, HDR, h, 16);
    mem_write(&t.dh.mem, STAT, &ee, 1);
    unsigned n = 0;
    tq_desc(q, n, HDR, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1)); n++;
    if (data_len) {
        tq_desc(q, n, DATA, data_len, VIRTQ_DESC_F_NEXT | (data_in ? VIRTQ_DESC_F_WRITE : 0),
                (uint16_t)(n + 1));
        n++;
    }
    tq_desc(q, n, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(q, 0);
    vt_notify(&t, 0);
    expect++;
    if (!vt_wait_used(&t, 0, expect))
        return -1;
    uint32_t id;
    tq_used_elem(q, (uint16_t)(expect - 1), &id, used_len);
    return *(uint8_t *)mem_ptr(&t.dh.mem, STAT, 1);
}

static void virtio_blk_config(void)
{
    setup_disk(false);
    CHECK(t.device != ~0u);
    CHECK_EQ(vt_rd(&t, t.device + 0, 8), DISK_SECTORS);
    CHECK_EQ(vt_rd(&t, t.device + 12, 4), 254);          /* seg_max */
    CHECK_EQ(vt_rd(&t, t.device + 20, 4), 512);          /* blk_size */
    CHECK(vt_rd(&t, t.device + 36, 4) > 0);              /* max_discard_sectors */
    CHECK(vt_rd(&t, t.device + 48, 4) > 0);              /* max_write_zeroes_sectors */
    uint64_t f = vt_device_features(&t);
    CHECK(f & (1ULL << 9));                              /* FLUSH */
    CHECK(!(f & F_RO));
    teardown();
}

static void virtio_blk_read_write(void)
{
    setup_disk(false);
    uint32_t len;
    uint8_t *data = mem_ptr(&t.dh.mem, DATA, 4096);
    CHECK_EQ(request(0, 10, 1024, true, &len), 0);
    CHECK_EQ(len, 1025);
    CHECK_EQ(data[0], 10);
    CHECK_EQ(data[1023], 11);
    memset(data, 0x5a, 512);
    CHECK_EQ(request(1, 3, 512, false, &len), 0);
    CHECK_EQ(len, 1);
    memset(data, 0, 512);
    CHECK_EQ(request(0, 3, 512, true, &len), 0);
    CHECK_EQ(data[0], 0x5a);
    CHECK_EQ(data[511], 0x5a);
    CHECK_EQ(request(4, 0, 0, false, &len), 0);          /* flush */
    /* The very last sector is readable. */
    CHECK_EQ(request(0, DISK_SECTORS - 1, 512, true, &len), 0);
    teardown();
}

static void virtio_blk_get_id(void)
{
    setup_disk(false);
    uint32_t len;
    char *data = mem_ptr(&t.dh.mem, DATA, 20);
    CHECK_EQ(request(8, 0, 20, true, &len), 0);
    CHECK_EQ(len, 21);
    CHECK(memcmp(data, "hostel-test-disk\0\0\0\0", 20) == 0);
    teardown();
}

static void virtio_blk_out_of_range(void)
{
    setup_disk(false);
    uint32_t len;
    CHECK_EQ(request(0, DISK_SECTORS, 512, true, &len), 1);
    CHECK_EQ(request(0, DISK_SECTORS - 1, 1024, true, &len), 1);
    CHECK_EQ(request(1, ~0ULL, 512, false, &len), 1);        /* sector wraps */
    CHECK_EQ(request(0, 0, 100, true, &len), 1);             /* not whole sectors */
    CHECK_EQ(request(77, 0, 0, false, &len), 2);             /* unknown type: UNSUPP */
    /* Data still intact after all that. */
    CHECK_EQ(request(0, 0, 512, true, &len), 0);
    teardown();
}

static void virtio_blk_readonly(void)
{
    setup_disk(true);
    CHECK(vt_device_features(&t) & F_RO);
    uint32_t len;
    uint8_t *data = mem_ptr(&t.dh.mem, DATA, 512);
    memset(data, 0x77, 512);
    CHECK_EQ(request(1, 2, 512, false, &len), 1);
    CHECK_EQ(request(0, 2, 512, true, &len), 0);
    CHECK_EQ(data[0], 2);
    CHECK_EQ(request(4, 0, 0, false, &len), 0);               /* flush is fine */
    teardown();
}

static void virtio_blk_discard_and_write_zeroes(void)
{
    setup_disk(false);
    uint32_t len;
    uint8_t *data = mem_ptr(&t.dh.mem, DATA, 4096);
    struct { uint64_t sector; uint32_t num, flags; } r = { 5, 2, 0 };
    memcpy(data, &r, 16);
    CHECK_EQ(request(13, 0, 16, false, &len), 0);             /* write zeroes */
    CHECK_EQ(request(0, 5, 1024, true, &len), 0);
    CHECK_EQ(data[0], 0);
    CHECK_EQ(data[1023], 0);
    CHECK_EQ(request(0, 7, 512, true, &len), 0);
    CHECK_EQ(data[0], 7);
    r = (typeof(r)){ 20, 4, 0 };
    memcpy(data, &r, 16);
    CHECK_EQ(request(11, 0, 16, false, &len), 0);             /* discard */
    r = (typeof(r)){ 20, 4, 1 };
    memcpy(data, &r, 16);
    CHECK_EQ(request(11, 0, 16, false, &len), 2);             /* unmap on discard */
    r = (typeof(r)){ DISK_SECTORS - 1, 2, 0 };
    memcpy(data, &r, 16);
    CHECK_EQ(request(13, 0, 16, false, &len), 1);             /* past the end */
    CHECK_EQ(request(13, 0, 12, false, &len), 2);             /* partial range */
    teardown();
}

static void virtio_blk_malformed_requests(void)
{
    setup_disk(false);
    struct tq *q = &t.q[0];
    /* Header shorter than 16 bytes: IOERR, not a read past it. */
    tq_desc(q, 0, HDR, 8, VIRTQ_DESC_F_NEXT, 1);
    tq_desc(q, 1, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
    *(uint8_t *)mem_ptr(&t.dh.mem, STAT, 1) = 0xee;
    tq_submit(q, 0);
    vt_notify(&t, 0);
    CHECK(vt_wait_used(&t, 0, 1));
    CHECK_EQ(*(uint8_t *)mem_ptr(&t.dh.mem, STAT, 1), 1);
    /* No writable byte at all: answered with length 0, nothing written. */
    uint32_t type = 0;
    memcpy(mem_ptr(&t.dh.mem, HDR, 4), &type, 4);
    tq_desc(q, 0, HDR, 16, 0, 0);
    tq_submit(q, 0);
    vt_notify(&t, 0);
    CHECK(vt_wait_used(&t, 0, 2));
    uint32_t id, len;
    tq_used_elem(q, 1, &id, &len);
    CHECK_EQ(len, 0);
    /* A read whose data buffer is device-readable: the device must not write
     * into it; the request is refused. */
    uint8_t *data = mem_ptr(&t.dh.mem, DATA, 512);
    memset(data, 0xcc, 512);
    tq_desc(q, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    tq_desc(q, 1, DATA, 512, VIRTQ_DESC_F_NEXT, 2);
    tq_desc(q, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(q, 0);
    vt_notify(&t, 0);
    CHECK(vt_wait_used(&t, 0, 3));
    CHECK_EQ(data[0], 0xcc);
    CHECK_EQ(*(uint8_t *)mem_ptr(&t.dh.mem, STAT, 1), 0);    /* a 0-byte read */
    tq_used_elem(q, 2, &id, &len);
    CHECK_EQ(len, 1);
    teardown();
}

static void virtio_blk_two_disks(void)
{
    setup_disk(false);
    struct virtio_blk *second;
    CHECK_EQ(virtio_blk_create(&t.dh.mem, t.bus, bd, "second", &second), 0);
    unsigned first_slot = t.slot;
    int found = 0;
    for (t.slot = 0; t.slot < 32; t.slot++)
        found += vt_cfg_read(&t, 0, 4) == 0x10421af4;
    CHECK_EQ(found, 2);
    t.slot = first_slot;
    virtio_blk_destroy(second);
    teardown();
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Rate limits: requests over the limit wait in the ring and complete later,
 * correctly; taking the limit off makes the disk fast again. */
static void virtio_blk_rate_limited(void)
{
    setup_disk(false);
    uint32_t len;
    uint8_t *data = mem_ptr(&t.dh.mem, DATA, 16384);
    struct rate_limits ops = { .ops_per_s = 20 };
    virtio_blk_set_limits(blk, &ops);
    double t0 = seconds();
    bool ok = true;
    for (unsigned i = 0; i < 12; i++)          /* 12 at 20/s, a burst of 2: 0.5 s */
        ok &= request(0, i, 512, true, &len) == 0 && data[0] == i;
    double took = seconds() - t0;
    CHECK(ok);
    CHECK(took >= 0.4 && took <= 1.5);
    printf("  12 requests at iops=20: %.2f s\n", took);

    struct rate_limits bytes = { .bytes_per_s = 64 << 10 };
    virtio_blk_set_limits(blk, &bytes);
    t0 = seconds();
    for (unsigned i = 0; i < 6; i++)           /* 6 x 16 KiB at 64 KiB/s: 1.15 s */
        ok &= request(0, i * 32, 16384, true, &len) == 0 && len == 16385 &&
              data[0] == (uint8_t)(i * 32) && data[16383] == (uint8_t)(i * 32 + 31);
    took = seconds() - t0;
    CHECK(ok);
    CHECK(took >= 1.0 && took <= 2.5);
    printf("  6 x 16 KiB at bps=64K: %.2f s\n", took);

    virtio_blk_set_limits(blk, NULL);
    t0 = seconds();
    for (unsigned i = 0; i < 12; i++)
        ok &= request(0, i, 512, true, &len) == 0;
    CHECK(ok);
    CHECK(seconds() - t0 < 0.3);
    teardown();
}

int main(void)
{
    RUN_TEST(virtio_blk_config);
    RUN_TEST(virtio_blk_read_write);
    RUN_TEST(virtio_blk_get_id);
    RUN_TEST(virtio_blk_out_of_range);
    RUN_TEST(virtio_blk_readonly);
    RUN_TEST(virtio_blk_discard_and_write_zeroes);
    RUN_TEST(virtio_blk_malformed_requests);
    RUN_TEST(virtio_blk_two_disks);
    RUN_TEST(virtio_blk_rate_limited);
    return CHECK_DONE();
}
