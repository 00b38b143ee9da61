/* Guest-visible state as bytes: what every device, controller and vCPU writes
 * into a snapshot and reads back into a freshly built machine.  Fields are
 * fixed-size little-endian values in an order each model documents, so a
 * snapshot never depends on the host's types, compiler or engine.  A reader
 * never goes past its input: once a read falls short, the cursor is marked
 * bad and every later read yields zeros, so a loader checks once at the end. */
#ifndef HOSTEL_STATE_H
#define HOSTEL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing output buffer.  Writes never fail on their own: a failed
 * allocation marks the buffer, and state_out_ok says so at the end. */
struct state_out {
    uint8_t *data;
    size_t len, cap;
    bool failed;
};

void state_out_init(struct state_out *o);
void state_out_free(struct state_out *o);
bool state_out_ok(const struct state_out *o);
void st_put_bytes(struct state_out *o, const void *p, size_t n);
void st_put_u8(struct state_out *o, uint8_t v);
void st_put_u16(struct state_out *o, uint16_t v);
void st_put_u32(struct state_out *o, uint32_t v);
void st_put_u64(struct state_out *o, uint64_t v);
static inline void st_put_bool(struct state_out *o, bool v) { st_put_u8(o, v ? 1 : 0); }

/* A bounded reader over bytes someone else owns. */
struct state_in {
    const uint8_t *p;
    size_t len, off;
    bool bad;            /* a read went past the end, or a value was refused */
};

void state_in_init(struct state_in *in, const void *p, size_t len);
void st_get_bytes(struct state_in *in, void *dst, size_t n);
uint8_t st_get_u8(struct state_in *in);
uint16_t st_get_u16(struct state_in *in);
uint32_t st_get_u32(struct state_in *in);
uint64_t st_get_u64(struct state_in *in);
/* A bool must be stored as 0 or 1: anything else marks the input bad. */
bool st_get_bool(struct state_in *in);
/* A value the loader finds out of range: the input is bad. */
static inline void st_refuse(struct state_in *in) { in->bad = true; }
/* Every byte read, none left over, nothing refused. */
static inline bool state_in_done(const struct state_in *in) { return !in->bad && in->off == in->len; }

#endif
