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
/* The list of MSRs KVM saves, for the snapshot's optional MSRs; 0 or -errno. */
int kvm_read_msr_index(struct kvm_vm *k);

/* kvm_snap.c: engine_ops.save_vcpu/load_vcpu/save_irqchip/load_irqchip. */
int kvm_save_vcpu(struct vcpu *vcpu, struct state_out *o);
int kvm_load_vcpu(struct vcpu *vcpu, struct state_in *in, struct err *e);
int kvm_save_irqchip(struct vm *vm, struct state_out *o);
int kvm_load_irqchip(struct vm *vm, struct state_in *in, struct err *e);

#endif
