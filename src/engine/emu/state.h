/* The software CPU's side of the vCPU state format (engine/vcpu_snap.h):
 * struct emu_cpu and its local APIC to and from struct vcpu_snap.  emu.c
 * adds what its vCPU glue keeps (startup IPIs, events loaded mid-delivery). */
#ifndef HOSTEL_EMU_STATE_H
#define HOSTEL_EMU_STATE_H

#include "engine/emu/cpu.h"
#include "engine/vcpu_snap.h"
#include "lib/err.h"

/* Fills everything but the events in delivery (emu has none of its own:
 * its exceptions and interrupts are delivered within an instruction). */
void emu_state_save(struct emu_cpu *c, struct vcpu_snap *s);
/* What this CPU cannot take of a decoded snapshot: features its CPUID does
 * not offer, MSRs it does not model at other than their reset values.
 * -EINVAL with e saying which. */
int emu_state_check(struct emu_cpu *c, const struct vcpu_snap *s, struct err *e);
/* Loads a snapshot that passed vcpu_snap_decode and emu_state_check. */
void emu_state_load(struct emu_cpu *c, const struct vcpu_snap *s);

/* The MTRRs firmware would leave behind (enabled, default write-back),
 * set once at power-on (INIT keeps MTRRs), or on the first MTRR access of
 * a CPU built without a machine. */
void emu_mtrr_power_on(struct emu_cpu *c);

#endif
