/* libFuzzer target for the split virtqueue parser: the input becomes the
 * guest's descriptor table, rings and indirect tables; the parser must
 * never crash, hang or hand out a segment outside guest RAM.  Built by
 * `make fuzz-virtq` (clang); replayed by tests/fuzz/run_fuzz.sh and
 * tests/unit/test_virtq_fuzz.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hw/virtio/virtqueue.h"
#include "machine/mem.h"

#define FUZZ_RAM   (2ULL << 20)
/* The available ring first, so short inputs reach it and the table. */
#define FUZZ_AVAIL 0x0000ULL
#define FUZZ_DESC  0x1000ULL
#define FUZZ_USED  0x6000ULL
#define FUZZ_IMAGE 0x10000ULL      /* bytes of RAM the input may fill */

static struct guest_mem fuzz_mem;
static struct virtq_chain *fuzz_chain;

static void fuzz_check_segments(const struct virtq_chain *c)
{
    const uint8_t *lo = fuzz_mem.host, *hi = fuzz_mem.host + fuzz_mem.size;
    for (unsigned i = 0; i < c->nout + c->nin; i++) {
        const uint8_t *p = c->iov[i].iov_base;
        if (p < lo || p > hi || c->iov[i].iov_len > (size_t)(hi - p))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_mem.host) {
        if (mem_init(&fuzz_mem, FUZZ_RAM) < 0)
            abort();
        fuzz_chain = malloc(sizeof(*fuzz_chain));
    }
    if (size < 4)
        return 0;
    struct virtq vq;
    virtq_reset(&vq, &fuzz_mem);
    vq.size = (uint16_t)(1u << (data[0] % 11));
    vq.indirect = data[1] & 1;
    vq.event_idx = data[1] & 2;
    vq.desc_addr = FUZZ_DESC;
    vq.avail_addr = FUZZ_AVAIL;
    vq.used_addr = FUZZ_USED;
    if (data[1] & 4)                       /* now and then, rings near the end of RAM */
        vq.used_addr = FUZZ_RAM - 8 - 8ULL * vq.size;
    vq.last_avail = (uint16_t)(data[2] | data[3] << 8);
    vq.used_idx = vq.last_avail;
    size_t n = size - 4 < FUZZ_IMAGE ? size - 4 : FUZZ_IMAGE;
    memset(fuzz_mem.host, 0, FUZZ_IMAGE);
    memcpy(fuzz_mem.host, data + 4, n);
    if (virtq_enable(&vq) < 0)
        return 0;
    for (unsigned round = 0; round < 2u * vq.size + 2; round++) {
        int r = virtq_pop(&vq, fuzz_chain);
        if (r <= 0)
            break;
        fuzz_check_segments(fuzz_chain);
        if (fuzz_chain->head >= vq.size)
            abort();
        virtq_push(&vq, fuzz_chain->head, (uint32_t)fuzz_chain->in_len);
        virtq_should_signal(&vq);
    }
    return 0;
}
