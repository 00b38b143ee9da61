/* The engine interface: what runs the virtual CPUs.  `kvm` uses the host's
 * hardware virtualization, `emu` is our own x86-64 CPU.  The board and the
 * devices only ever talk to this interface (and never include <linux/kvm.h>). */
#ifndef HOSTEL_ENGINE_H
#define HOSTEL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/cpu_state.h"
#include "lib/err.h"
#include "lib/state.h"
#include "machine/irq.h"

struct vm;
struct vcpu;
struct cpuid_model;

struct engine_ops {
    const char *name;
    /* 0 when the engine can run on this host, else -errno and e says why
     * not (what `hostel engines` shows as the reason it is unavailable). */
    int (*probe)(struct err *e);
    /* After guest RAM exists; -errno with e saying what failed. */
    int (*vm_init)(struct vm *vm, struct err *e);
    void (*vm_destroy)(struct vm *vm);
    int (*vcpu_init)(struct vcpu *vcpu);
    void (*vcpu_destroy)(struct vcpu *vcpu);
    /* Runs guest code on the calling thread until the machine is asked to stop
     * (vm_stopping()).  Port I/O and MMIO are dispatched to vm->pio / vm->mmio
     * from inside.  A triple fault or an engine failure calls vm_request_stop()
     * with the reason and returns.  Returns 0 or -errno. */
    int (*vcpu_run)(struct vcpu *vcpu);
    /* From any thread: make vcpu_run notice vm_stopping() soon. */
    void (*vcpu_kick)(struct vcpu *vcpu);
    int (*get_state)(struct vcpu *vcpu, struct cpu_state *out);
    int (*set_state)(struct vcpu *vcpu, const struct cpu_state *in);
    /* Optional: the machine pauses (every vCPU parked) or resumes, for time
     * the engine keeps itself (kvm's kvmclock); emu reads vm->clock instead. */
    void (*vm_pause)(struct vm *vm);
    void (*vm_resume)(struct vm *vm);

    /* Snapshots (docs/snapshot-cpu.md), with the machine paused: a vCPU's
     * whole state in the engine-neutral format of engine/vcpu_snap.h, and,
     * with an in-kernel irqchip, its 8259s/IOAPIC then its PIT in the
     * formats of machine/irqstate.h: the very bytes our own models write
     * (irqchip_save, pit_save), so a state saved on one engine loads on the
     * other.  Load after the guest clock (guest_clock_set), into a machine
     * that has not run; it reads exactly its fields, checks every one before
     * it changes anything and refuses what the engine cannot hold (-EINVAL,
     * e says which field).  Save fails with -ENOMEM, or on kvm with the
     * errno of an ioctl or -ENOTSUP for state the format cannot hold, e
     * saying which.  NULL: the engine cannot save. */
    int (*save_vcpu)(struct vcpu *vcpu, struct state_out *o, struct err *e);
    int (*load_vcpu)(struct vcpu *vcpu, struct state_in *in, struct err *e);
    int (*save_irqchip)(struct vm *vm, struct state_out *o, struct err *e);
    int (*load_irqchip)(struct vm *vm, struct state_in *in, struct err *e);

    /* Optional: maps len bytes at host (page-aligned, kept alive by the
     * caller) read-only at guest physical gpa, so code runs from it at
     * native speed; writes there still reach vm->mmio.  NULL: the engine
     * reads such memory through vm->mmio (emu). */
    int (*map_rom)(struct vm *vm, uint64_t gpa, void *host, uint64_t len);
    /* Live migration (machine/dirty.h, docs/migration.md).  dirty_start:
     * from its return, pages the vCPUs write are recorded; dirty_sync: ORs
     * into bitmap (a bit per 4 KiB page of vm->mem's mapping) the pages the
     * vCPUs wrote since the last sync and starts afresh, so that a page
     * written after it returns is reported next time (emu also drops its
     * vCPUs' write permissions: its marks go to vm->mem's own bitmap);
     * dirty_stop.  NULL: the engine cannot track. */
    int (*dirty_start)(struct vm *vm);
    int (*dirty_sync)(struct vm *vm, uint64_t *bitmap);
    void (*dirty_stop)(struct vm *vm);
    /* The CPUID the guest sees (vCPU 0's, engine-neutral: engine/cpuid_model.h),
     * and making a machine present another one, before its vCPUs exist: a
     * migrated guest keeps what it saw at boot.  cpuid_set refuses (-ENOTSUP,
     * e naming the features) a model with features this engine or host
     * cannot give.  NULL: the engine has one fixed model (get) / cannot. */
    int (*cpuid_get)(struct vm *vm, struct cpuid_model *out);
    int (*cpuid_set)(struct vm *vm, const struct cpuid_model *m, struct err *e);

    /* true: PIC, IOAPIC, LAPIC and PIT live inside the engine (kvm's in-kernel
     * irqchip) and the board wires device lines to set_irq/signal_msi.  false:
     * the board creates our own models (hw/irqchip, hw/pit), points the
     * IOAPIC's messages at apic_deliver and gives the engine the 8259's side
     * of LINT0 in vm->ext_intr. */
    bool irqchip_in_engine;
    int (*set_irq)(struct vm *vm, unsigned gsi, int level);
    int (*signal_msi)(struct vm *vm, uint64_t addr, uint32_t data);
    void (*apic_deliver)(struct vm *vm, const struct apic_msg *msg);
};

/* The "portable" CPU model (spec --cpu portable): emu's identity and table,
 * its features masked to a baseline every engine runs (cpuid_model_portable). */
int engine_portable_cpuid(int ncpus, struct cpuid_model *out);
/* A named model (spec --cpu: portable, v2, v3; cpuid_model_level): emu's
 * table masked to that level.  -EINVAL for an unknown name. */
int engine_named_cpuid(int ncpus, const char *name, struct cpuid_model *out);

extern const struct engine_ops engine_kvm;
extern const struct engine_ops engine_emu;

/* What `auto` sees on this host: which engines can run, how fast kvm ran the
 * calibration guest (measured now, or read from the per-host cache unless
 * remeasure), and the choice with its reason.  -ENODEV when no engine can
 * run (auto_why says why). */
struct engine_survey {
    bool kvm_available, emu_available;
    char kvm_reason[200], emu_reason[200];   /* why not, when not available */
    bool measured, from_cache, kvm_fast;
    double kvm_ips;                          /* calibration guest instructions/s */
    long long measured_at;                   /* Unix time of the measurement */
    char calibration_error[200];
    char cache_path[4096];                   /* "" when there is no cache folder */
    const struct engine_ops *auto_choice;
    char auto_why[640];
};
int engine_survey(bool remeasure, struct engine_survey *out);

/* Where the kvm measurement is kept: $HOSTEL_CACHE_DIR/engine-auto.json, else
 * $XDG_CACHE_HOME/hostel/..., else ~/.cache/hostel/...; and the host key it
 * is valid for (kernel, kvm modules, /dev/kvm node, CPU). */
int engine_cache_path(char *buf, size_t len);
int engine_host_key(char *key, size_t len);

/* Picks the engine for a name ("auto", "kvm", "emu").  For "auto" it
 * measures: a calibration guest on kvm, chosen only where it is fast.
 * Two outputs, because why an engine was chosen is a report, not an error:
 * on success *out is the engine and why (len bytes) says why it was chosen,
 * which `hostel run -v` prints and `hostel info` shows; on failure it
 * returns -errno, leaves why alone, and e says why no engine could be had. */
int engine_select(const char *name, const struct engine_ops **out, char *why, size_t len,
                  struct err *e);

#endif
