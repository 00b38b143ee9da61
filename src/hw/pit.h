/* The 8254 PIT for engines without an in-kernel one: channel 0 on IRQ 0,
 * channel 2 gated by port 0x61 for calibration. */
#ifndef HOSTEL_PIT_H
#define HOSTEL_PIT_H

struct vm;
struct pit;

int pit_create(struct vm *vm, struct pit **out);
void pit_destroy(struct pit *p);

#endif
