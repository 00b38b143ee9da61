/* The machine the snapshot and migration fuzz targets load state into, and
 * their seed writers save from: one emu vCPU, 32 MiB, a 1 MiB raw
 * virtio disk in memory, the default devices otherwise (no network, no display). */
#ifndef HOSTEL_FUZZ_SNAPSHOT_H
#define HOSTEL_FUZZ_SNAPSHOT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "board/board.h"
#include "board/spec.h"
#include "engine/engine.h"
#include "host/chardev.h"
#include "machine/vm.h"

static inline void fz_machine_spec(struct machine_spec *spec)
{
    spec_defaults(spec);
    spec->cpus = 1;
    spec->memory = 32ULL << 20;
    int fd = memfd_create("fuzz-snapshot.raw", 0);
    if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
        abort();
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    spec->disks[0] = (struct spec_disk){ .path = strdup(path) };
    spec->ndisks = 1;
}

/* The spec of the fuzzed machine, made on first use. */
static inline const struct machine_spec *fz_spec(void)
{
    static struct machine_spec spec;
    if (!spec.memory)
        fz_machine_spec(&spec);
    return &spec;
}

static inline void fz_machine_free_board(struct vm *vm, struct chardev *cd)
{
    board_destroy(vm);
    vm_destroy(vm);
    chardev_close(cd);
}

/* A machine built from spec, or NULL (e says why); its vCPUs too when
 * vcpus (a migration's receiver makes them itself, after the CPU model). */
static inline struct vm *fz_machine(const struct machine_spec *spec, bool vcpus,
                                    struct chardev **cd, struct err *e)
{
    struct vm *vm;
    if (vm_create(spec->cpus, spec->memory, &engine_emu, &vm, e) < 0)
        return NULL;
    if (chardev_open("none", cd, e) < 0) {
        vm_destroy(vm);
        return NULL;
    }
    struct board_host host = { .console = *cd, .ram_restored = true };
    if (board_create(vm, spec, &host, e) < 0) {
        chardev_close(*cd);
        vm_destroy(vm);
        return NULL;
    }
    /* As a restore does (board/run.c): the vCPUs after the board. */
    if (vcpus && vm_create_vcpus(vm, e) < 0) {
        fz_machine_free_board(vm, *cd);
        return NULL;
    }
    return vm;
}

static inline void fz_machine_free(struct vm *vm, struct chardev *cd)
{
    fz_machine_free_board(vm, cd);
}

#endif
