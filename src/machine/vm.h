/* A running machine: guest RAM, the two buses, the engine, the vCPU threads,
 * pause and resume, and the reason it stops.  The board (board/run.c) builds
 * one and puts devices on its buses; devices never see this struct, only the
 * small interfaces the board hands them (bus.h, mem.h, timer.h, irq.h,
 * stop.h). */
#ifndef HOSTEL_VM_H
#define HOSTEL_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "lib/err.h"
#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/mem.h"
#include "machine/stop.h"
#include "machine/timer.h"

#define VM_MAX_CPUS 64

struct vcpu {
    struct vm *vm;
    int id;
    pthread_t thread;
    void *engine_data;
};

struct vm {
    struct guest_mem mem;
    struct bus pio, mmio;
    const struct engine_ops *engine;
    void *engine_data;
    int ncpus;
    struct vcpu vcpus[VM_MAX_CPUS];
    /* The most host memory the engine may take for its caches (emu's
     * decoded blocks and translated code), all vCPUs together; 0: the
     * engine's defaults.  Set by the board before the vCPUs exist. */
    uint64_t engine_cache_max;
    /* Our 8259's side of LINT0, for the emu engine's LAPICs (set by the
     * board when the engine has no in-kernel irqchip). */
    struct ext_intr ext_intr;

    _Atomic int stop;           /* enum vm_stop; VM_RUNNING while running */
    int stop_status;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;

    /* Pause: vCPU threads leave vcpu_run and park until resumed. */
    _Atomic bool pause_req;
    int parked;                 /* vCPUs parked; under stop_lock */
    int running_threads;        /* vCPU threads alive; under stop_lock */
    int started;                /* vCPU threads created */
    /* Live migration's auto-converge: vCPUs park while set, guest time runs on. */
    _Atomic bool throttle;

    /* Set by the board when it has an ACPI power button. */
    void (*power_button)(struct vm *vm);
    /* Set by the board: stops (pause) or restarts its device threads, so a
     * paused machine's RAM and interrupt lines do not change (snapshots). */
    void (*quiesce)(struct vm *vm, bool pause);
    pthread_mutex_t quiesce_lock;   /* pause/resume of the devices, in order */
    bool quiesced;                  /* under quiesce_lock */
    void *board;                /* the board's devices (board/board.c) */

    /* Guest time: stands still while the machine is paused (machine/timer.h). */
    struct guest_clock clock;
};

/* Guest RAM of the given size and the engine's machine, with ncpus vCPU
 * slots; then vm_create_vcpus once the board exists.  -errno with e set. */
int vm_create(int ncpus, uint64_t memory, const struct engine_ops *engine, struct vm **out,
              struct err *e);
int vm_create_vcpus(struct vm *vm, struct err *e);
/* The same with guest RAM mapped copy-on-write from a saved image (a
 * restore): memory must be its size, rounded up to 2 MiB. */
int vm_create_with_ram(int ncpus, uint64_t memory, int ram_fd, const struct engine_ops *engine,
                       struct vm **out, struct err *e);
/* Starts every vCPU thread; -errno (the machine is then stopping). */
int vm_start(struct vm *vm, struct err *e);
/* Waits until the machine stops, calling tick(opaque) about once a second
 * while it runs (and is not paused); then joins the vCPU threads. */
enum vm_stop vm_wait(struct vm *vm, void (*tick)(void *opaque), void *opaque);
/* Tears down vCPUs, the engine's machine and guest RAM (devices first: the
 * board is destroyed before this). */
void vm_destroy(struct vm *vm);

/* First caller wins; kicks every vCPU.  Safe from any thread. */
void vm_request_stop(struct vm *vm, enum vm_stop why, int status);
/* A stop_request for devices that stops this machine. */
struct stop_request vm_stop_request(struct vm *vm);

/* True when engines must return from vcpu_run: the machine stops, or it
 * pauses (then vcpu_run is called again on resume, so it must be re-entrant). */
static inline bool vm_stopping(const struct vm *vm)
{
    return atomic_load_explicit(&vm->stop, memory_order_relaxed) != VM_RUNNING ||
           atomic_load_explicit(&vm->pause_req, memory_order_relaxed) ||
           atomic_load_explicit(&vm->throttle, memory_order_relaxed);
}

/* Pause returns once every vCPU is parked, with guest time (vm->clock)
 * stopped; resume restarts guest time and lets the vCPUs go on. */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);
/* Live migration's auto-converge: park (true) or release (false) every
 * vCPU without pausing the machine (guest time and devices run on); the
 * caller alternates to take a share of the vCPUs' time. */
void vm_throttle(struct vm *vm, bool park);

/* HOSTEL_STATS=1: start-up time and hostel's own memory, printed at exit for
 * bench/startup.  vm_stats_mark_start is called first thing in main(). */
void vm_stats_mark_start(void);
void vm_stats_print(void);

#endif
