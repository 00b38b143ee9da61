/* hostile: a guest that breaks its virtio-blk's rules on purpose (issue
 * 20).  Each case lays one bad chain, notifies, and waits for the device to
 * either mark itself broken (NEEDS_RESET in its status) or answer; then
 * resets the device and goes on.  A descriptor chain that loops, one whose
 * buffer lies outside RAM, one whose buffer is the device's own MMIO BAR:
 * NEEDS_RESET.  A read whose data buffer is the queue's own descriptor
 * table, and a read into two overlapping buffers: answered (the overlap
 * then holds what the later buffer in the chain got, as the device fills
 * them in chain order) or marked broken, never a crash of hostel (tests/machines/run_hostile.sh checks
 * hostel's log and a machine running beside it). */
#include "lib/cpu64.h"
#include "lib/virtio_blk_min.h"

static struct vring vr;
static struct vblk blk;
static struct { uint32_t type, reserved; uint64_t sector; } req;
static volatile uint8_t status;
static uint8_t data[4096] __attribute__((aligned(4096)));

#define REQ(i, next_) (struct vdesc){ (uint64_t)(uintptr_t)&req, 16, 1, next_ }
#define STATUS(i) (struct vdesc){ (uint64_t)(uintptr_t)&status, 1, 2, 0 }

/* Submits chain 0 and waits: 1 when the device marked itself broken, 0
 * when it answered. */
static int run_case(const char *name)
{
    req.type = 0;                            /* VIRTIO_BLK_T_IN */
    req.sector = 0;
    status = 0xff;
    vblk_submit(&blk, 0);
    for (unsigned long spin = 0; spin < 400000000ul; spin++) {
        if (vblk_status(&blk) & VIRTIO_STATUS_NEEDS_RESET) {
            gprintf("hostile: %s: needs reset\n", name);
            return 1;
        }
        if (*(volatile uint16_t *)&vr.used.idx == blk.next_used) {
            gprintf("hostile: %s: answered, status %u\n", name, status);
            return 0;
        }
    }
    fail(20, "hostile: %s: the device neither answered nor asked for a reset", name);
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("hostile: start\n");

    vblk_setup(&blk, &vr);                   /* a chain that loops: 0 -> 1 -> 0 */
    vr.desc[0] = REQ(0, 1);
    vr.desc[1] = (struct vdesc){ (uint64_t)(uintptr_t)data, 512, 2 | 1, 0 };
    if (!run_case("loop"))
        fail(21, "a looping chain was answered");

    vblk_setup(&blk, &vr);                   /* a buffer far outside RAM */
    vr.desc[0] = REQ(0, 1);
    vr.desc[1] = (struct vdesc){ 0x7f0000000000ull, 512, 2 | 1, 2 };
    vr.desc[2] = STATUS(2);
    if (!run_case("outside-ram"))
        fail(22, "a buffer outside RAM was answered");

    vblk_setup(&blk, &vr);                   /* a buffer on the device's own BAR */
    vr.desc[0] = REQ(0, 1);
    vr.desc[1] = (struct vdesc){ VBLK_BAR, 512, 2 | 1, 2 };
    vr.desc[2] = STATUS(2);
    if (!run_case("mmio"))
        fail(23, "a buffer on MMIO was answered");

    vblk_setup(&blk, &vr);                   /* reading over the descriptor table */
    vr.desc[0] = REQ(0, 1);
    vr.desc[1] = (struct vdesc){ (uint64_t)(uintptr_t)vr.desc, 512, 2 | 1, 2 };
    vr.desc[2] = STATUS(2);
    run_case("over-the-queue");

    vblk_setup(&blk, &vr);                   /* two buffers over the same bytes */
    vr.desc[0] = REQ(0, 1);
    vr.desc[1] = (struct vdesc){ (uint64_t)(uintptr_t)data, 512, 2 | 1, 2 };
    vr.desc[2] = (struct vdesc){ (uint64_t)(uintptr_t)data + 256, 512, 2 | 1, 3 };
    vr.desc[3] = STATUS(3);
    req.type = 0;
    if (!run_case("overlapping-dma") && status == 0) {
        /* Sectors 0 and 1 hold byte (37 * sector + i) (run_hostile.sh).  The
         * device fills the buffers in chain order, so the second one's
         * bytes are what the overlap keeps. */
        unsigned bad = 0;
        for (unsigned i = 0; i < 768; i++)
            bad += data[i] != (uint8_t)(i < 256 ? i : 37 + (i - 256));
        gprintf("hostile: overlapping-dma: %s\n", bad ? "not in chain order" : "in chain order");
    }

    vblk_setup(&blk, &vr);                   /* and the device works again */
    vr.desc[0] = REQ(0, 1);
    vr.desc[1] = (struct vdesc){ (uint64_t)(uintptr_t)data, 512, 2 | 1, 2 };
    vr.desc[2] = STATUS(2);
    if (run_case("after-reset") || status != 0)
        fail(24, "after a reset, a good read failed (status %u)", status);
    gprintf("hostile: ok\n");
}
