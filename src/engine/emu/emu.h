/* What the parts of the emu engine need from its vCPU glue (emu.c). */
#ifndef HOSTEL_EMU_EMU_H
#define HOSTEL_EMU_EMU_H

#include <stdint.h>

struct vcpu;
struct vm;
struct emu_cpu;
struct cpuid_model;
struct err;

/* The software CPU behind a vCPU of a machine run by emu. */
struct emu_cpu *emu_cpu_of(struct vcpu *v);
/* Sets bits in c->events and wakes the vCPU if it sleeps in HLT / wait-for-SIPI. */
void emu_vcpu_wake(struct emu_cpu *c, uint32_t events);
/* A startup IPI for this CPU (from lapic_deliver): records the vector and
 * wakes it with EMU_EV_SIPI.  Ignored unless the CPU waits for a SIPI. */
void emu_vcpu_sipi(struct emu_cpu *c, uint8_t vector);

/* Test and user-mode setup (no struct vm): 64-bit mode at the given CPL,
 * paging off, linear = physical = offset into ram[0, size).  Accesses
 * outside raise #PF as an unmapped page would. */
void emu_cpu_init_flat(struct emu_cpu *c, uint8_t *ram, uint64_t size, int cpl);

/* The CPUID model (cpuid.c): emu's own table, or one another engine showed
 * a migrated guest, kept in vm->engine_data (freed by emu_cpuid_model_free). */
int emu_cpuid_get(struct vm *vm, struct cpuid_model *out);
int emu_cpuid_set(struct vm *vm, const struct cpuid_model *m, struct err *e);
void emu_cpuid_model_free(struct vm *vm);

#endif
