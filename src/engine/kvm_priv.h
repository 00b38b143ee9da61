/* What the kvm engine's files share: its per-machine and per-vCPU data, and
 * the snapshot side (kvm_snap.c) that engine_kvm points to. */
#ifndef HOSTEL_KVM_PRIV_H
#define HOSTEL_KVM_PRIV_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

struct kvm_vm {
    int sys_fd;                /* /dev/kvm */
    int vm_fd;
    int run_size;
    struct kvm_cpuid2 *cpuid;  /* supported CPUID, adjusted per vCPU */
    /* kvmclock while the machine is paused or has just been loaded: it goes
     * back to it at the resume.  kvmclock and the machine's guest clock
     * (vm->clock) are kept equal at creation, pauses, resumes and loads. */
    struct kvm_clock_data paused_clock;
    bool clock_saved;
    uint32_t *msr_index;       /* KVM_GET_MSR_INDEX_LIST */
    uint32_t nmsr_index;
    bool has_xsave, has_xcrs, has_debugregs, has_events;
    uint32_t next_rom_slot;    /* memory slots after RAM's 0 and 1: ROMs (map_rom) */
    /* A CPUID model the guest saw elsewhere (a migrated machine), shown
     * instead of the host's: kvm_migrate.c. */
    struct cpuid_model *model;
    bool dirty_logging;
};

struct kvm_vcpu {
    int fd;
    struct kvm_run *run;
    _Atomic bool thread_known;
    pthread_t thread;
    /* The guest TSC is held here from a pause or a load until the vCPU runs
     * again, so a paused guest's TSC does not move (docs/irq.md). */
    bool tsc_frozen;
    uint64_t tsc_frozen_value;
};

/* IA32_TSC of a vCPU through KVM_GET_MSRS / KVM_SET_MSRS; 0 or -errno. */
int kvm_vcpu_get_tsc(struct kvm_vcpu *kv, uint64_t *tsc);
int kvm_vcpu_set_tsc(struct kvm_vcpu *kv, uint64_t tsc);
/* The TSC, then its deadline again (0: none); -ENOTSUP where this host's
 * KVM takes the TSC neither as an MSR nor as an offset. */
int kvm_vcpu_put_tsc(struct kvm_vcpu *kv, uint64_t tsc, uint64_t deadline);
/* The list of MSRs KVM saves, for the snapshot's optional MSRs; 0 or -errno. */
int kvm_read_msr_index(struct kvm_vm *k);

/* kvm_migrate.c: dirty logging, CPUID models (engine_ops), and the CPUID a
 * vCPU gets: the model's when one is set, else the host's supported one
 * (NULL, errno set, on failure; the caller frees it). */
int kvm_dirty_start(struct vm *vm);
int kvm_dirty_sync(struct vm *vm, uint64_t *bitmap);
void kvm_dirty_stop(struct vm *vm);
int kvm_cpuid_get(struct vm *vm, struct cpuid_model *out);
int kvm_cpuid_set(struct vm *vm, const struct cpuid_model *m, struct err *e);
struct kvm_cpuid2 *kvm_vcpu_cpuid_table(struct kvm_vm *k);
/* After KVM_SET_CPUID2: the model's TSC frequency, where KVM can scale. */
void kvm_vcpu_model_tsc(struct kvm_vm *k, int vcpu_fd, int id);

/* kvm_snap.c: engine_ops.save_vcpu/load_vcpu/save_irqchip/load_irqchip. */
int kvm_save_vcpu(struct vcpu *vcpu, struct state_out *o, struct err *e);
int kvm_load_vcpu(struct vcpu *vcpu, struct state_in *in, struct err *e);
int kvm_save_irqchip(struct vm *vm, struct state_out *o, struct err *e);
int kvm_load_irqchip(struct vm *vm, struct state_in *in, struct err *e);
/* Their pieces that need no /dev/kvm (tests/unit/test_kvm_snap.c): an
 * XSAVE image (standard format, the vCPU's CPUID leaf 0xD in k->cpuid) to
 * the format's FXSAVE area and YMM, -ENOTSUP for state beyond AVX that is
 * not in its initial state; and whether a TSC read back just after it was
 * written took. */
struct vcpu_snap;
int kvm_fx_from_xsave(const struct kvm_vm *k, const uint8_t *xs, struct vcpu_snap *s,
                      struct err *e, int id);
bool kvm_tsc_took(uint64_t wanted, uint64_t got);

#endif
