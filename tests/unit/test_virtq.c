/* Unit tests for the split virtqueue parser: well-formed chains, and the
 * hostile ones (addresses outside RAM, huge lengths, loops, over-long
 * chains, indirect abuse, readable after writable, garbage indexes). */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "hw/virtio/virtqueue.h"
#include "virtq_driver.h"

#define RAM (4ULL << 20)
#define BUF 0x100000ULL

static struct guest_mem mem;
static struct virtq vq;
static struct tq tq;
static struct virtq_chain *chain;

static void setup(uint16_t size, bool indirect, bool event_idx)
{
    CHECK_EQ(mem_init(&mem, RAM), 0);
    tq_init(&tq, &mem, size, 0x10000);
    virtq_reset(&vq, &mem);
    vq.size = size;
    vq.desc_addr = tq.desc;
    vq.avail_addr = tq.avail;
    vq.used_addr = tq.used;
    vq.indirect = indirect;
    vq.event_idx = event_idx;
    CHECK_EQ(virtq_enable(&vq), 0);
}

static void teardown(void)
{
    mem_destroy(&mem);
}

static void virtq_simple_chain(void)
{
    setup(8, false, false);
    CHECK_EQ(virtq_pop(&vq, chain), 0);
    tq_desc(&tq, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 3);
    tq_desc(&tq, 3, BUF + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
    tq_desc(&tq, 5, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), 1);
    CHECK_EQ(chain->head, 0);
    CHECK_EQ(chain->nout, 1);
    CHECK_EQ(chain->nin, 2);
    CHECK_EQ(chain->out_len, 16);
    CHECK_EQ(chain->in_len, 513);
    CHECK(chain->iov[0].iov_base == mem_ptr(&mem, BUF, 16));
    CHECK(chain->iov[2].iov_base == mem_ptr(&mem, BUF + 0x2000, 1));
    CHECK_EQ(virtq_pop(&vq, chain), 0);
    virtq_push(&vq, 0, 513);
    CHECK_EQ(tq_used_idx(&tq), 1);
    uint32_t id, len;
    tq_used_elem(&tq, 0, &id, &len);
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 513);
    CHECK(virtq_should_signal(&vq));
    teardown();
}

static void virtq_rejects_bad_ring_addresses(void)
{
    CHECK_EQ(mem_init(&mem, RAM), 0);
    virtq_reset(&vq, &mem);
    vq.size = 8;
    vq.desc_addr = RAM - 64;            /* table runs past the end of RAM */
    vq.avail_addr = 0x2000;
    vq.used_addr = 0x3000;
    CHECK_EQ(virtq_enable(&vq), -EINVAL);
    vq.desc_addr = 0x1008;              /* misaligned */
    CHECK_EQ(virtq_enable(&vq), -EINVAL);
    vq.desc_addr = 0x1000;
    vq.size = 6;                        /* not a power of two */
    CHECK_EQ(virtq_enable(&vq), -EINVAL);
    vq.size = 8;
    vq.used_addr = 0xfee00000;          /* not RAM at all */
    CHECK_EQ(virtq_enable(&vq), -EINVAL);
    vq.used_addr = 0x3000;
    CHECK_EQ(virtq_enable(&vq), 0);
    teardown();
}

static void virtq_out_of_ram_buffer(void)
{
    setup(8, false, false);
    tq_desc(&tq, 0, RAM - 8, 16, 0, 0);          /* straddles the end */
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    CHECK(vq.broken);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);    /* stays broken */
    teardown();

    setup(8, false, false);
    tq_desc(&tq, 0, 0xfffffffffffff000ULL, 0x2000, 0, 0);   /* wraps 2^64 */
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();

    setup(8, false, false);
    tq_desc(&tq, 0, BUF, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);  /* huge length */
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();
}

static void virtq_loop_detected(void)
{
    setup(8, false, false);
    tq_desc(&tq, 0, BUF, 1, VIRTQ_DESC_F_NEXT, 1);
    tq_desc(&tq, 1, BUF, 1, VIRTQ_DESC_F_NEXT, 0);
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();

    setup(8, false, false);
    tq_desc(&tq, 2, BUF, 1, VIRTQ_DESC_F_NEXT, 2);   /* points at itself */
    tq_submit(&tq, 2);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();
}

static void virtq_chain_longer_than_queue(void)
{
    /* Every descriptor chained: the walk must stop at the queue size. */
    setup(16, false, false);
    for (unsigned i = 0; i < 16; i++)
        tq_desc(&tq, i, BUF, 1, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % 16));
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();

    /* Exactly the queue size is allowed. */
    setup(16, false, false);
    for (unsigned i = 0; i < 16; i++)
        tq_desc(&tq, i, BUF, 1, i < 15 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), 1);
    CHECK_EQ(chain->nout, 16);
    teardown();
}

static void virtq_bad_indexes(void)
{
    setup(8, false, false);
    tq_desc(&tq, 0, BUF, 1, VIRTQ_DESC_F_NEXT, 8);   /* next beyond the table */
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();

    setup(8, false, false);
    tq_submit(&tq, 9);                                /* head beyond the table */
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();

    setup(8, false, false);
    tq_set_avail_idx(&tq, 9);                         /* more entries than the ring */
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();
}

static void virtq_readable_after_writable(void)
{
    setup(8, false, false);
    tq_desc(&tq, 0, BUF, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    tq_desc(&tq, 1, BUF + 16, 16, 0, 0);
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();
}

static void virtq_wrapping_indexes(void)
{
    /* Indexes are free-running 16-bit counters: start both sides near the
     * wrap and go across it. */
    setup(4, false, false);
    vq.last_avail = 0xfffe;
    vq.used_idx = 0xfffe;
    tq.avail_idx = 0xfffe;
    for (unsigned i = 0; i < 4; i++)
        tq_desc(&tq, i, BUF + 64 * i, 8, VIRTQ_DESC_F_WRITE, 0);
    for (unsigned i = 0; i < 4; i++)
        tq_submit(&tq, (uint16_t)i);
    CHECK_EQ(tq.avail_idx, 2);
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(virtq_pop(&vq, chain), 1);
        CHECK_EQ(chain->head, i);
        virtq_push(&vq, chain->head, 8);
    }
    CHECK_EQ(virtq_pop(&vq, chain), 0);
    CHECK_EQ(tq_used_idx(&tq), 2);
    uint32_t id, len;
    tq_used_elem(&tq, 0xffff, &id, &len);
    CHECK_EQ(id, 1);
    tq_used_elem(&tq, 1, &id, &len);
    CHECK_EQ(id, 3);
    teardown();
}

static void virtq_indirect(void)
{
    const uint64_t table = BUF + 0x10000;
    setup(8, true, false);
    tq_table_desc(&mem, table, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
    tq_table_desc(&mem, table, 1, BUF + 0x1000, 4096, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    tq_table_desc(&mem, table, 2, BUF + 0x3000, 1, VIRTQ_DESC_F_WRITE, 0);
    tq_desc(&tq, 4, table, 48, VIRTQ_DESC_F_INDIRECT, 0);
    tq_submit(&tq, 4);
    CHECK_EQ(virtq_pop(&vq, chain), 1);
    CHECK_EQ(chain->head, 4);
    CHECK_EQ(chain->nout, 1);
    CHECK_EQ(chain->nin, 2);
    CHECK_EQ(chain->in_len, 4097);
    teardown();
}

/* One hostile indirect descriptor per case; each must break the queue. */
static void indirect_case(uint32_t len, uint16_t head_flags, bool negotiated, int entry_flags,
                          uint16_t entry_next)
{
    const uint64_t table = BUF + 0x10000;
    setup(8, negotiated, false);
    for (unsigned i = 0; i < 4; i++)
        tq_table_desc(&mem, table, i, BUF, 8, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
    tq_table_desc(&mem, table, 3, BUF, 8, (uint16_t)entry_flags, entry_next);
    tq_desc(&tq, 0, table, len, head_flags, 1);
    tq_desc(&tq, 1, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();
}

static void virtq_indirect_abuse(void)
{
    indirect_case(64, VIRTQ_DESC_F_INDIRECT, false, 0, 0);          /* not negotiated */
    indirect_case(60, VIRTQ_DESC_F_INDIRECT, true, 0, 0);           /* not a multiple of 16 */
    indirect_case(0, VIRTQ_DESC_F_INDIRECT, true, 0, 0);            /* empty */
    indirect_case(64, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, true, 0, 0);  /* with NEXT */
    indirect_case(64, VIRTQ_DESC_F_INDIRECT, true, VIRTQ_DESC_F_INDIRECT, 0);  /* nested */
    indirect_case(64, VIRTQ_DESC_F_INDIRECT, true, VIRTQ_DESC_F_NEXT, 0);      /* loop */
    indirect_case(64, VIRTQ_DESC_F_INDIRECT, true, VIRTQ_DESC_F_NEXT, 4);      /* next past end */
    indirect_case(16 * 2048, VIRTQ_DESC_F_INDIRECT, true, 0, 0);    /* too many entries */

    /* A table that itself lies outside RAM. */
    setup(8, true, false);
    tq_desc(&tq, 0, RAM - 32, 64, VIRTQ_DESC_F_INDIRECT, 0);
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), -EINVAL);
    teardown();
}

static void virtq_interrupt_suppression(void)
{
    setup(8, false, false);
    tq_desc(&tq, 0, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&tq, 0);
    CHECK_EQ(virtq_pop(&vq, chain), 1);
    virtq_push(&vq, 0, 0);
    uint16_t *flags = mem_ptr(&mem, tq.avail, 2);
    *flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
    CHECK(!virtq_should_signal(&vq));
    *flags = 0;
    CHECK(!virtq_should_signal(&vq));          /* nothing new since */
    virtq_push(&vq, 0, 0);
    CHECK(virtq_should_signal(&vq));
    teardown();
}

static void virtq_event_index(void)
{
    setup(8, false, true);
    uint16_t *used_event = mem_ptr(&mem, tq.avail + 4 + 2 * 8, 2);
    uint16_t *avail_event = mem_ptr(&mem, tq.used + 4 + 8 * 8, 2);
    for (unsigned i = 0; i < 8; i++)
        tq_desc(&tq, i, BUF, 8, VIRTQ_DESC_F_WRITE, 0);

    /* Empty queue: the device asks to hear about entry 0. */
    CHECK_EQ(virtq_pop(&vq, chain), 0);
    CHECK_EQ(*avail_event, 0);
    tq_submit(&tq, 0);
    tq_submit(&tq, 1);
    CHECK_EQ(virtq_pop(&vq, chain), 1);
    CHECK_EQ(virtq_pop(&vq, chain), 1);
    CHECK_EQ(virtq_pop(&vq, chain), 0);
    CHECK_EQ(*avail_event, 2);

    /* The driver wants an interrupt once used idx passes 2 (event = 2). */
    *used_event = 2;
    virtq_push(&vq, 0, 0);
    CHECK(virtq_should_signal(&vq));          /* the first one always goes */
    virtq_push(&vq, 1, 0);
    CHECK(!virtq_should_signal(&vq));         /* used idx 2: event 2 not yet crossed */
    tq_submit(&tq, 2);
    CHECK_EQ(virtq_pop(&vq, chain), 1);
    virtq_push(&vq, 2, 0);
    CHECK(virtq_should_signal(&vq));          /* idx 3 crossed event 2 */
    teardown();
}

static void virtq_iov_helpers(void)
{
    uint8_t a[3] = {1, 2, 3}, b[5] = {4, 5, 6, 7, 8}, out[8] = {0};
    struct iovec iov[2] = {{a, 3}, {b, 5}}, s[4];
    CHECK_EQ(virtq_iov_to_buf(iov, 2, 2, out, 8), 6);
    CHECK_EQ(out[0], 3);
    CHECK_EQ(out[5], 8);
    CHECK_EQ(virtq_iov_slice(iov, 2, 1, 4, s, 4), 2);
    CHECK_EQ(s[0].iov_len, 2);
    CHECK_EQ(s[1].iov_len, 2);
    uint8_t z[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    CHECK_EQ(virtq_iov_from_buf(iov, 2, 7, z, 8), 1);
    CHECK_EQ(b[4], 9);
}

int main(void)
{
    chain = malloc(sizeof(*chain));
    RUN_TEST(virtq_simple_chain);
    RUN_TEST(virtq_rejects_bad_ring_addresses);
    RUN_TEST(virtq_out_of_ram_buffer);
    RUN_TEST(virtq_loop_detected);
    RUN_TEST(virtq_chain_longer_than_queue);
    RUN_TEST(virtq_bad_indexes);
    RUN_TEST(virtq_readable_after_writable);
    RUN_TEST(virtq_wrapping_indexes);
    RUN_TEST(virtq_indirect);
    RUN_TEST(virtq_indirect_abuse);
    RUN_TEST(virtq_interrupt_suppression);
    RUN_TEST(virtq_event_index);
    RUN_TEST(virtq_iov_helpers);
    free(chain);
    return CHECK_DONE();
}
