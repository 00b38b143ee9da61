/* Writes a seed for fuzz_snapshot: the state file of the machine in
 * fuzz_snapshot.h as hostel saves it (machine_snapshot_state), with the
 * target's mode byte in front.  Usage: seed_snapshot OUT */
#include <stdio.h>

#include "board/snapfile.h"
#include "board/snapshot.h"
#include "fuzz_snapshot.h"

int main(int argc, char **argv)
{
    struct machine_spec spec;
    fz_machine_spec(&spec);
    struct chardev *cd;
    struct err e = ERR_INIT;
    struct vm *vm = argc == 2 ? fz_machine(&spec, true, &cd, &e) : NULL;
    struct snap_writer w;
    if (!vm || machine_snapshot_state(vm, &spec, &w, &e) < 0 || snap_write_end(&w, &e) < 0) {
        fprintf(stderr, "seed_snapshot: %s\n", e.msg[0] ? e.msg : "usage: seed_snapshot OUT");
        return 1;
    }
    FILE *f = fopen(argv[1], "wb");
    uint8_t mode = 1;
    if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(w.out.data, 1, w.out.len, f) != w.out.len ||
        fclose(f)) {
        fprintf(stderr, "seed_snapshot: cannot write %s\n", argv[1]);
        return 1;
    }
    snap_writer_free(&w);
    fz_machine_free(vm, cd);
    return 0;
}
