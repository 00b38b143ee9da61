/* virtio-fs as a guest driver sees it: PCI identity, the config space (tag,
 * one request queue), FUSE requests through the request queue answered by
 * the server, a chain with no room for a reply returned empty, FORGET on
 * the high-priority queue, and a device reset that closes what was open. */
#include <errno.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "hw/virtio/fs.h"
#include "lib/err.h"
#include "share/server.h"
#include "virtio_test_driver.h"

#define F_VERSION_1 (1ULL << 32)
#define REQ  0x200000ULL
#define REP  0x210000ULL

static struct vt t;
static struct virtio_fs *fs;
static struct share_server *srv;
static char dir[64];
static uint16_t expect[2];

static void setup(void)
{
    vt_init(&t);
    snprintf(dir, sizeof(dir), "/tmp/hostel-vfs-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char f[96];
    snprintf(f, sizeof(f), "%s/hello", dir);
    FILE *fp = fopen(f, "w");
    fputs("hi\n", fp);
    fclose(fp);
    struct share_options o = { .dir = dir };
    struct err e = ERR_INIT;
    CHECK_EQ(share_server_open(&o, &srv, &e), 0);
    CHECK_EQ(virtio_fs_create(&t.dh.mem, t.bus, srv, "mytag", &fs), 0);
    CHECK_EQ(vt_probe(&t, 0x105a), 0);
    CHECK_EQ(vt_negotiate(&t, F_VERSION_1), 0x0b);
    vt_msix_enable(&t, 3);
    CHECK_EQ(vt_setup_queue(&t, 0, 16, 0x10000, 1), 0);
    CHECK_EQ(vt_setup_queue(&t, 1, 16, 0x20000, 2), 0);
    vt_driver_ok(&t);
    expect[0] = expect[1] = 0;
}

static void teardown(void)
{
    virtio_fs_destroy(fs);
    share_server_close(srv);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
    vt_destroy(&t);
}

/* One request on queue qn: len bytes at REQ, a reply area of replen bytes
 * at REP (none when 0).  Returns the used length, or -1. */
static int request(unsigned qn, uint32_t opcode, uint64_t nodeid, const void *args, uint32_t len,
                   uint32_t replen)
{
    struct fuse_in_header h = { .len = (uint32_t)sizeof(h) + len, .opcode = opcode,
                                .unique = 7, .nodeid = nodeid };
    mem_write(&t.dh.mem, REQ, &h, sizeof(h));
    mem_write(&t.dh.mem, REQ + sizeof(h), args, len);
    struct tq *q = &t.q[qn];
    tq_desc(q, 0, REQ, (uint32_t)sizeof(h) + len, replen ? VIRTQ_DESC_F_NEXT : 0, 1);
    if (replen)
        tq_desc(q, 1, REP, replen, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(q, 0);
    vt_notify(&t, qn);
    expect[qn]++;
    if (!vt_wait_used(&t, qn, expect[qn]))
        return -1;
    uint32_t id, used;
    tq_used_elem(q, (uint16_t)(expect[qn] - 1), &id, &used);
    return (int)used;
}

static void virtio_fs_config_and_requests(void)
{
    setup();
    CHECK(t.device != ~0u);
    char tag[37] = {0};
    for (int i = 0; i < 36; i++)
        tag[i] = (char)vt_rd(&t, t.device + (unsigned)i, 1);
    CHECK(!strcmp(tag, "mytag"));
    CHECK_EQ(vt_rd(&t, t.device + 36, 4), 1);             /* num_request_queues */
    CHECK_EQ(vt_rd(&t, t.common + VT_NUMQ, 2), 2);
    struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 65536 };
    CHECK_EQ(request(1, FUSE_INIT, 0, &in, sizeof(in), 4096), 16 + (int)sizeof(struct fuse_init_out));
    struct fuse_out_header oh;
    mem_read(&t.dh.mem, REP, &oh, sizeof(oh));
    CHECK_EQ(oh.error, 0);
    CHECK_EQ(oh.unique, 7);
    CHECK_EQ(request(1, FUSE_LOOKUP, FUSE_ROOT_ID, "hello", 6, 4096), 16 + (int)sizeof(struct fuse_entry_out));
    struct fuse_entry_out eo;
    mem_read(&t.dh.mem, REP + 16, &eo, sizeof(eo));
    CHECK_EQ(eo.attr.size, 3);
    struct fuse_open_in oi = { .flags = 0 };
    CHECK_EQ(request(1, FUSE_OPEN, eo.nodeid, &oi, sizeof(oi), 4096), 32);
    unsigned ni, nh;
    share_server_counts(srv, &ni, &nh);
    CHECK_EQ(ni, 2);
    CHECK_EQ(nh, 1);
    /* No writable part: returned with nothing written. */
    struct fuse_getattr_in gi = {0};
    CHECK_EQ(request(1, FUSE_GETATTR, FUSE_ROOT_ID, &gi, sizeof(gi), 0), 0);
    /* FORGET on the high-priority queue: no reply. */
    struct fuse_forget_in fg = { .nlookup = 1 };
    CHECK_EQ(request(0, FUSE_FORGET, eo.nodeid, &fg, sizeof(fg), 0), 0);
    share_server_counts(srv, &ni, &nh);
    CHECK_EQ(ni, 1);
    /* A device reset closes the open file. */
    vt_wr(&t, t.common + VT_STATUS, 1, 0);
    share_server_counts(srv, &ni, &nh);
    CHECK_EQ(nh, 0);
    teardown();
}

static void virtio_fs_bad_tag(void)
{
    vt_init(&t);
    struct share_options o = { .dir = "/tmp" };
    struct err e = ERR_INIT;
    CHECK_EQ(share_server_open(&o, &srv, &e), 0);
    CHECK_EQ(virtio_fs_create(&t.dh.mem, t.bus, srv, "", &fs), -EINVAL);
    CHECK_EQ(virtio_fs_create(&t.dh.mem, t.bus, srv, "0123456789012345678901234567890123456", &fs), -EINVAL);
    share_server_close(srv);
    vt_destroy(&t);
}

int main(void)
{
    RUN_TEST(virtio_fs_config_and_requests);
    RUN_TEST(virtio_fs_bad_tag);
    return CHECK_DONE();
}
