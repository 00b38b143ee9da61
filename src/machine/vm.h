/* A running machine: guest RAM, the two buses, the engine, the vCPUs and
 * the reason it stops.  Devices hold a struct vm * and use only the
 * functions declared here to raise interrupts and to stop the machine. */
#ifndef HOSTEL_VM_H
#define HOSTEL_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "machine/bus.h"
#include "machine/mem.h"
#include "machine/timer.h"

#define VM_MAX_CPUS 64

enum vm_stop {
    VM_RUNNING = 0,
    VM_STOP_POWEROFF,      /* ACPI S5 or equivalent: exit 0 */
    VM_STOP_DEBUG_EXIT,    /* port 0xf4: exit (value << 1) | 1 */
    VM_STOP_RESET,         /* guest asked for a reboot */
    VM_STOP_TRIPLE_FAULT,  /* status = vCPU id */
    VM_STOP_QUIT,          /* the user quit from the console (Ctrl-A x) */
    VM_STOP_ERROR,         /* engine or device failure; message already printed */
};

struct vm;
struct net_options;

/* Optional observers of a machine's life (the control socket uses them). */
struct vm_hooks {
    void *opaque;
    void (*booted)(void *opaque, struct vm *vm);       /* vCPUs started */
    void (*stopping)(void *opaque, struct vm *vm);     /* before the vm is torn down */
};

/* A disk for virtio-blk; format is an enum block_format (block/block.h). */
#define VM_MAX_DISKS 8
struct vm_disk {
    const char *path;
    int format;
    bool readonly;
};

struct vm_config {
    const struct vm_hooks *hooks;
    const char *kernel;
    const char *initrd;
    const char *cmdline;
    int cpus;
    uint64_t memory;
    const char *engine;      /* auto, kvm, emu */
    const char *serial;      /* stdio, file:PATH, none, hub (console_hub below) */
    struct console_hub *console_hub;
    bool no_reboot;
    int watchdog_s;          /* warn when the guest prints nothing this long; 0 off */
    struct vm_disk disks[VM_MAX_DISKS];   /* virtio-blk devices, in PCI slot order */
    int ndisks;
    bool virtio_console;     /* the console is also a virtio-console (hvc0) and takes its input */
    bool no_rng;             /* leave out virtio-rng */
    const struct net_options *net;   /* virtio-net and its backend (net/net.h); NULL: none */
};

struct vcpu {
    struct vm *vm;
    int id;
    pthread_t thread;
    void *engine_data;
};

struct board;
struct irqchip;
struct chardev;
struct console_hub;

struct vm {
    const struct vm_config *cfg;
    struct guest_mem mem;
    struct bus pio, mmio;
    const struct engine_ops *engine;
    void *engine_data;
    int ncpus;
    struct vcpu vcpus[VM_MAX_CPUS];
    struct board *board;        /* devices (hw/), opaque to engines */
    struct irqchip *irqchip;    /* our PIC+IOAPIC when the engine has none */
    struct chardev *console;    /* the serial console backend */

    _Atomic int stop;           /* enum vm_stop; VM_RUNNING while running */
    int stop_status;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;

    /* Pause: vCPU threads leave vcpu_run and park until resumed. */
    _Atomic bool pause_req;
    int parked;                 /* vCPUs parked; under stop_lock */
    int running_threads;        /* vCPU threads alive; under stop_lock */

    /* Set by the board when it has an ACPI power button. */
    void (*power_button)(struct vm *vm);

    /* Guest time: stands still while the machine is paused (vmm/timer.h). */
    struct guest_clock clock;
};

/* First caller wins; kicks every vCPU.  Safe from any thread. */
void vm_request_stop(struct vm *vm, enum vm_stop why, int status);

/* True when engines must return from vcpu_run: the machine stops, or it
 * pauses (then vcpu_run is called again on resume, so it must be re-entrant). */
static inline bool vm_stopping(const struct vm *vm)
{
    return atomic_load_explicit(&vm->stop, memory_order_relaxed) != VM_RUNNING ||
           atomic_load_explicit(&vm->pause_req, memory_order_relaxed);
}

/* Pause returns once every vCPU is parked, with guest time (vm->clock)
 * stopped; resume restarts guest time and lets the vCPUs go on. */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);

/* Device-facing interrupt entry points: a GSI line level, or an MSI message.
 * Edge-triggered devices pulse (1 then 0). */
void vm_set_irq(struct vm *vm, unsigned gsi, int level);
void vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);

/* Builds the machine from the config (RAM, engine, board, kernel), runs it to
 * its end and returns the stop reason; *status gets the process exit status
 * hostel should return. */
int vm_run(const struct vm_config *cfg, int *status);

/* Called first thing in main(): the reference point of HOSTEL_STATS. */
void vm_stats_mark_start(void);

#endif
