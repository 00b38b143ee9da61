/* Replays the virtqueue fuzz target (tests/fuzz/fuzz_virtq.c) over
 * deterministic random descriptor tables biased toward the interesting
 * cases (addresses near RAM's end, short loops, indirect entries); the
 * corpus replay (tests/fuzz/run_fuzz.sh) and `make fuzz-virtq` do the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "../fuzz/fuzz_virtq.c"

#define ITERATIONS 4000

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void put(uint8_t *img, size_t at, const void *v, size_t len)
{
    memcpy(img + 4 + at, v, len);
}

static void virtq_fuzz_replay(void)
{
    static uint8_t img[4 + 0x8000];
    for (int it = 0; it < ITERATIONS; it++) {
        memset(img, 0, sizeof(img));
        img[0] = (uint8_t)(next() % 6);                 /* queues of 1 to 32 */
        img[1] = (uint8_t)next();
        uint16_t start = (next() & 1) ? (uint16_t)(0xfff0 + next() % 32) : 0;
        img[2] = (uint8_t)start;
        img[3] = (uint8_t)(start >> 8);
        unsigned qsize = 1u << img[0];
        for (unsigned i = 0; i < qsize; i++) {
            uint64_t addr;
            switch (next() % 4) {
            case 0: addr = next(); break;                                /* anywhere */
            case 1: addr = FUZZ_RAM - next() % 64; break;                /* at the end */
            case 2: addr = 0x2000 + 16 * (next() % 16); break;           /* an indirect table in the image */
            default: addr = 0x100000 + next() % 0x1000; break;
            }
            uint32_t len = (next() & 1) ? (uint32_t)(next() % 256) : (uint32_t)next();
            uint16_t flags = (uint16_t)(next() % 8), nxt = (uint16_t)(next() % (qsize + 2));
            put(img, FUZZ_DESC + 16 * i, &addr, 8);
            put(img, FUZZ_DESC + 16 * i + 8, &len, 4);
            put(img, FUZZ_DESC + 16 * i + 12, &flags, 2);
            put(img, FUZZ_DESC + 16 * i + 14, &nxt, 2);
        }
        /* Indirect tables at 0x2000 with the same kind of entries. */
        for (unsigned i = 0; i < 32; i++) {
            uint64_t addr = (next() & 1) ? 0x100000 + next() % 0x1000 : next();
            uint32_t len = (uint32_t)(next() % 0x2000);
            uint16_t flags = (uint16_t)(next() % 8), nxt = (uint16_t)(next() % 34);
            put(img, 0x2000 + 16 * i, &addr, 8);
            put(img, 0x2000 + 16 * i + 8, &len, 4);
            put(img, 0x2000 + 16 * i + 12, &flags, 2);
            put(img, 0x2000 + 16 * i + 14, &nxt, 2);
        }
        uint16_t avail_idx = (uint16_t)(start + next() % (qsize + 3));
        put(img, FUZZ_AVAIL + 2, &avail_idx, 2);
        for (unsigned i = 0; i < qsize; i++) {
            uint16_t head = (uint16_t)(next() % (qsize + 1));
            put(img, FUZZ_AVAIL + 4 + 2 * i, &head, 2);
        }
        LLVMFuzzerTestOneInput(img, sizeof(img));
    }
    CHECK(1);   /* reaching here without a crash or abort is the test */
}

int main(void)
{
    RUN_TEST(virtq_fuzz_replay);
    return CHECK_DONE();
}
