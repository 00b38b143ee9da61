/* The local APIC of the software CPU (xAPIC, MMIO at IA32_APIC_BASE):
 * IRR/ISR/TPR, EOI, LVT, the timer (one-shot, periodic, TSC-deadline),
 * IPIs including INIT and SIPI.  (With kvm the LAPIC is in the kernel.) */
#ifndef HOSTEL_EMU_LAPIC_H
#define HOSTEL_EMU_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

struct vm;
struct emu_cpu;
struct emu_lapic;

int lapic_create(struct emu_cpu *c, struct emu_lapic **out);
void lapic_destroy(struct emu_lapic *l);
void lapic_reset(struct emu_lapic *l);              /* power-on and INIT */

/* MMIO on the APIC page (the CPU's own; the MMU routes accesses whose
 * physical page equals IA32_APIC_BASE here before trying vm->mmio). */
uint64_t lapic_mmio_read(struct emu_lapic *l, uint64_t offset, unsigned size);
void lapic_mmio_write(struct emu_lapic *l, uint64_t offset, unsigned size, uint64_t val);

/* Interrupt acceptance: the highest vector deliverable now (IRR above PPR,
 * or an ExtINT from the 8259 through LINT0 / with the APIC disabled), -1 if
 * none.  lapic_ack() is the INTA cycle: returns the vector and moves it
 * from IRR to ISR (or acks the PIC).  NMI is reported through EMU_EV_NMI. */
int lapic_pending(struct emu_lapic *l);
int lapic_ack(struct emu_lapic *l);
/* What lapic_pending() returns for an 8259 interrupt (ExtINT through LINT0,
 * or the APIC disabled on the BSP): the vector is only known once
 * lapic_ack() has run the PIC's INTA; lapic_ack() may then return -1 if
 * the request went away. */
#define LAPIC_VECTOR_EXTINT 256

/* The timer's input clock before the divide configuration.  Linux takes
 * the APIC timer to run at the core crystal clock of CPUID leaf 0x15 (ECX)
 * and then skips calibrating it, so cpuid.c must advertise this value. */
#define EMU_LAPIC_TIMER_HZ 25000000ULL

/* CR8 and MSRs. */
void lapic_set_tpr(struct emu_lapic *l, uint8_t cr8);
uint8_t lapic_get_tpr(struct emu_lapic *l);
/* IA32_TSC_DEADLINE (MSR 0x6e0): WRMSR/RDMSR go here; the value reads 0
 * once the deadline fired. */
void lapic_set_tsc_deadline(struct emu_lapic *l, uint64_t tsc);
uint64_t lapic_get_tsc_deadline(struct emu_lapic *l);

/* The local APIC as the vCPU state format holds it (engine/vcpu_snap.h):
 * the architectural register page with the derived registers (VER, APR,
 * PPR, TMCCT) 0, the guest time left until a one-shot or periodic count
 * next reaches 0, and errors the next ESR write makes visible. */
void lapic_save(struct emu_lapic *l, uint8_t *page, uint64_t *timer_ns, uint32_t *esr_pending);
/* Takes values vcpu_snap_decode() checked; IA32_APIC_BASE must be loaded
 * first, the TSC deadline comes after (lapic_set_tsc_deadline). */
void lapic_load(struct emu_lapic *l, const uint8_t *page, uint64_t timer_ns, uint32_t esr_pending);

/* Routes a message to the addressed CPUs' LAPICs (from the IOAPIC, MSI, or
 * an ICR write): fixed/lowest-priority set IRR, NMI/INIT set events, a
 * STARTUP goes to emu_vcpu_sipi() (emu.c keeps the vector); each target is
 * woken with emu_vcpu_wake().  This is engine_emu.apic_deliver. */
void lapic_deliver(struct vm *vm, const struct apic_msg *msg);

#endif
