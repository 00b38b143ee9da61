/* The state formats of the PC's interrupt controllers and timer: the 8259
 * pair with the IOAPIC, and the 8254 PIT with port 0x61.  Plain structs and
 * their encoders/decoders, shared by our own models (hw/irqchip.c,
 * hw/pit.c) and by the kvm engine, which converts its in-kernel chips to and
 * from the very same bytes.  docs/snapshot-cpu.md describes them field by
 * field; times are relative to the guest clock at the save, never absolute. */
#ifndef HOSTEL_IRQSTATE_H
#define HOSTEL_IRQSTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/state.h"

#define IRQCHIP_STATE_VERSION 1
#define PIT_STATE_VERSION 1

/* A snapshot's "irqchip" section is the 8259s/IOAPIC (232 bytes) followed
 * by the PIT (106 bytes), whichever engine wrote it: engine_ops.save_irqchip
 * with an in-kernel irqchip, irqchip_save then pit_save with ours. */
#define IRQSTATE_IRQCHIP_BYTES 232
#define IRQSTATE_PIT_BYTES 106

/* One 8259A. */
struct pic_snap {
    uint8_t irr, isr, imr;
    uint8_t elcr;            /* level-triggered inputs (port 0x4d0/0x4d1) */
    uint8_t lines;           /* input levels, for edge detection */
    uint8_t base;            /* ICW2: vector of IR0, a multiple of 8 */
    uint8_t prio_add;        /* 0-7: the IR with the lowest priority, plus one */
    uint8_t init_step;       /* 0 operational, 1-3 waiting for ICW2-ICW4 */
    bool initialized;        /* an ICW2 followed the last ICW1 */
    bool init4, single;      /* from ICW1 */
    bool read_isr, poll;     /* OCW3 */
    bool auto_eoi, rotate_aeoi, special_mask, sfnm;
};

#define IRQSTATE_IOAPIC_PINS 24

struct ioapic_snap {
    uint8_t id;              /* 0-15 */
    uint8_t sel;             /* IOREGSEL */
    uint32_t lines;          /* input levels, a bit a pin */
    uint64_t redir[IRQSTATE_IOAPIC_PINS];
};

struct irqchip_snap {
    struct pic_snap pic[2];  /* master, slave */
    struct ioapic_snap io;
};

/* ELCR bits a chip can have: IRQ 0, 1, 2, 8 and 13 are always edge. */
#define PIC_ELCR_MASK_MASTER 0xf8
#define PIC_ELCR_MASK_SLAVE  0xde

/* Redirection entry bits. */
#define IOAPIC_RTE_STATUS     (1ULL << 12)
#define IOAPIC_RTE_REMOTE_IRR (1ULL << 14)
#define IOAPIC_RTE_LEVEL      (1ULL << 15)
#define IOAPIC_RTE_MASKED     (1ULL << 16)
#define IOAPIC_RTE_RESERVED   0x00fffffffffe0000ULL

void irqchip_snap_encode(const struct irqchip_snap *s, struct state_out *o);
int irqchip_snap_decode(struct state_in *in, struct irqchip_snap *s, struct err *e);

/* One 8254 channel.  The read/write modes follow the control word: 1 LSB,
 * 2 MSB, 3 LSB then MSB; 0 before any control word. */
struct pit_channel_snap {
    uint8_t mode;            /* 0-5 */
    uint8_t rw;              /* 0-3 */
    bool bcd, gate;
    uint32_t count;          /* reload value, 1-65536 */
    bool loaded;             /* a count was written since the control word */
    bool counting;           /* started (modes 1 and 5 wait for a gate edge) */
    uint64_t elapsed_ns;     /* loaded: guest ns since the count started */
    bool paused;             /* modes 0/4 with the gate low: ticks held */
    uint64_t paused_ticks;
    uint8_t latch_state;     /* latched count to read: 0 none, 1 LSB, 2 MSB, 3 LSB then MSB */
    uint16_t latch;
    bool status_latched;
    uint8_t status;
    bool write_msb_next;     /* rw 3: the LSB was written, the MSB comes next */
    uint8_t write_lsb;       /* that LSB (0 otherwise) */
    bool read_msb_next;      /* rw 3: a live read returns the MSB next */
};

struct pit_snap {
    struct pit_channel_snap ch[3];
    uint8_t port61;          /* bits 0-3 as written: gate 2, speaker data, parity/IOCHK enables */
};

void pit_snap_encode(const struct pit_snap *s, struct state_out *o);
int pit_snap_decode(struct state_in *in, struct pit_snap *s, struct err *e);

#endif
