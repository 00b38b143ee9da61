/* Writes the seeds of the snapshot and migrate fuzz targets from the
 * machine of fuzz_snapshot.h as hostel saves it (machine_snapshot_state):
 *   seed_state snapshot OUT   its state file, after the target's mode byte
 *   seed_state migrate OUT    in fuzz_migrate's record form (byte 0 = 1):
 *                             the HELLO its sender sends (the layout
 *                             parse_hello reads, docs/migration.md), a RAM
 *                             batch (a page of data and a zero page), the
 *                             state, END */
#include <stdio.h>

#include "board/migrate_priv.h"
#include "board/migrate_wire.h"
#include "board/snapfile.h"
#include "board/snapshot.h"
#include "engine/cpuid_model.h"
#include "fuzz_snapshot.h"

static void record(FILE *f, uint32_t type, const void *p, size_t len)
{
    uint16_t l = (uint16_t)len;
    if (len > 0xffff || fwrite(&type, 4, 1, f) != 1 || fwrite(&l, 2, 1, f) != 1 ||
        fwrite(p, 1, len, f) != len)
        exit(1);
}

static int write_migrate(FILE *f, const struct machine_spec *spec, const struct snap_writer *w)
{
    struct cpuid_model m;
    if (engine_portable_cpuid(1, &m) < 0)
        return -1;
    struct state_out o;
    state_out_init(&o);
    st_put_bytes(&o, MIG_MAGIC, 8);
    st_put_u32(&o, MIG_VERSION);
    st_put_u32(&o, 0);                                 /* flags: disks shared */
    st_put_bytes(&o, "fuzz-migration-1", 16);          /* id */
    mig_put_str(&o, "sender.example");
    mig_put_str(&o, "/var/lib/hostel/machines/fuzz");
    mig_put_str(&o, "emu");
    mig_put_str(&o, "{}");                             /* the machine's config */
    json_t *sj = spec_to_json(spec);
    char *st = json_dumps(sj, JSON_COMPACT);
    mig_put_str(&o, st);
    free(st);
    json_decref(sj);
    st_put_u64(&o, (spec->memory + 0x1fffff) & ~0x1fffffULL);
    st_put_u32(&o, (uint32_t)spec->cpus);
    cpuid_model_encode(&m, &o);
    st_put_u32(&o, 1);                                 /* disks */
    st_put_u64(&o, 1 << 20);
    st_put_u8(&o, 0);
    mig_put_str(&o, spec->disks[0].path);
    for (int k = 0; k < 3; k++) {                      /* kernel, initrd, CD: none */
        mig_put_str(&o, "");
        st_put_u64(&o, 0);
        st_put_u32(&o, 0);
    }
    st_put_u32(&o, 0);                                 /* forwards */
    if (fputc(1, f) == EOF)
        return -1;
    record(f, MIG_HELLO, o.data, o.len);
    static uint8_t ram[4 + 16 + 4096];
    uint64_t d0 = 0, d1 = 1 << 1 | 1;
    ram[0] = 2;
    memcpy(ram + 4, &d0, 8);
    memcpy(ram + 12, &d1, 8);
    memset(ram + 20, 0x5a, 4096);
    record(f, MIG_RAM, ram, sizeof(ram));
    record(f, MIG_STATE, w->out.data, w->out.len);
    record(f, MIG_END, "", 0);
    state_out_free(&o);
    return 0;
}

int main(int argc, char **argv)
{
    struct machine_spec spec;
    fz_machine_spec(&spec);
    struct chardev *cd;
    struct err e = ERR_INIT;
    bool migrate = argc == 3 && !strcmp(argv[1], "migrate");
    struct vm *vm = argc == 3 && (migrate || !strcmp(argv[1], "snapshot"))
                        ? fz_machine(&spec, true, &cd, &e) : NULL;
    struct snap_writer w;
    if (!vm || machine_snapshot_state(vm, &spec, &w, &e) < 0 || snap_write_end(&w, &e) < 0) {
        fprintf(stderr, "seed_state: %s\n", e.msg[0] ? e.msg : "usage: seed_state snapshot|migrate OUT");
        return 1;
    }
    FILE *f = fopen(argv[2], "wb");
    uint8_t mode = 1;
    int r = !f ? -1 : migrate ? write_migrate(f, &spec, &w)
                   : (fwrite(&mode, 1, 1, f) == 1 && fwrite(w.out.data, 1, w.out.len, f) == w.out.len) ? 0 : -1;
    if (!f || fclose(f) || r < 0) {
        fprintf(stderr, "seed_state: cannot write %s\n", argv[2]);
        return 1;
    }
    snap_writer_free(&w);
    fz_machine_free(vm, cd);
    return 0;
}
