/* libFuzzer target for snapshot state files: the container
 * (src/board/snapfile.c: header, spec, sections, CRCs), the machine spec
 * inside it (src/board/spec.c, spec_from_json), and, for a file that fits
 * the machine of fuzz_snapshot.h, every section loader
 * (machine_snapshot_load: vCPU, interrupt controllers, board devices, the
 * virtio transport and queues).  Byte 0 bit 0 set: the harness first
 * recomputes every CRC (per docs/snapshots.md), so mutations reach the
 * loaders; clear: the bytes go to the parser as they are.  Loading must
 * succeed or fail with a message, never crash. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "board/snapfile.h"
#include "board/snapshot.h"
#include "fuzz_snapshot.h"

static uint32_t fz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fz_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the section CRCs and the file's as far as the layout holds. */
static void fz_fix_crcs(uint8_t *b, size_t len)
{
    if (len < 44)
        return;
    size_t off = 32;
    uint32_t spec_len = fz_le32(b + off);
    off += 4;
    if (spec_len > len - 4 - off)
        goto whole;
    off += spec_len;
    if (off + 4 > len - 4)
        goto whole;
    uint32_t n = fz_le32(b + off);
    off += 4;
    for (uint32_t i = 0; i < n && i < SNAP_MAX_SECTIONS; i++) {
        if (off + 1 > len - 4)
            break;
        size_t nl = b[off];
        if (nl + 13 > len - 4 - off - 1)
            break;
        off += 1 + nl + 4;
        uint64_t sl = (uint64_t)fz_le32(b + off) | (uint64_t)fz_le32(b + off + 4) << 32;
        off += 8;
        if (sl > len - 4 - off || len - 4 - off - sl < 4)
            break;
        fz_put32(b + off + sl, (uint32_t)crc32(0, b + off, (uInt)sl));
        off += sl + 4;
    }
whole:
    fz_put32(b + len - 4, (uint32_t)crc32(0, b, (uInt)(len - 4)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct machine_spec *spec = fz_spec();
    if (size < 1)
        return 0;
    size_t len = size - 1;
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        abort();
    memcpy(b, data + 1, len);
    if (data[0] & 1)
        fz_fix_crcs(b, len);
    struct snapshot_file s;
    struct err e = ERR_INIT;
    int r = snap_parse(b, len, "fuzz", &s, &e);
    free(b);
    if (r < 0) {
        if (!e.msg[0])
            abort();
        return 0;
    }
    /* The spec inside: parsed as a restore would, never built (it may name
     * any file of this host). */
    json_error_t je;
    json_t *o = json_loads(s.spec_json, 0, &je);
    if (o) {
        struct machine_spec fs;
        spec_init(&fs);
        struct err se = ERR_INIT;
        if (spec_from_json(o, &fs, &se) < 0 && !se.msg[0])
            abort();
        spec_free(&fs);
        json_decref(o);
    }
    if (machine_snapshot_check(&s, spec, "fuzz", &e) == 0) {
        struct chardev *cd;
        struct vm *vm = fz_machine(spec, true, &cd, &e);
        if (!vm)
            abort();
        if (machine_snapshot_load(vm, &s, false, &e) < 0 && !e.msg[0])
            abort();
        fz_machine_free(vm, cd);
    }
    snap_free(&s);
    return 0;
}
