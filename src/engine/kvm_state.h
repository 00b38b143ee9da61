/* Conversion between struct cpu_state and KVM's register structures; kept
 * apart from kvm.c so it can be unit-tested where /dev/kvm is absent. */
#ifndef HOSTEL_KVM_STATE_H
#define HOSTEL_KVM_STATE_H

#include <linux/kvm.h>

#include "engine/cpu_state.h"

void kvm_state_from_kvm(struct cpu_state *s, const struct kvm_regs *r, const struct kvm_sregs *sr);
/* sregs must hold the vCPU's current values (fields we do not model, such as
 * the interrupt bitmap, are kept). */
void kvm_state_to_kvm(const struct cpu_state *s, struct kvm_regs *r, struct kvm_sregs *sr);

#endif
