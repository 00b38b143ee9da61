/* The timer service the emulated PIT and local APICs share: one thread per
 * machine runs callbacks at absolute CLOCK_MONOTONIC deadlines (nanoseconds). */
#ifndef HOSTEL_TIMER_H
#define HOSTEL_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct timer_service;
struct timer;

/* Runs on the service thread, with no service lock held: it may arm, cancel
 * or re-arm any timer, its own included. */
typedef void (*timer_fn)(void *opaque);

/* CLOCK_MONOTONIC now, in nanoseconds. */
uint64_t timer_now_ns(void);

/* One service per owner (a struct vm *, or any unique pointer): the first
 * get starts the thread, the last put stops and joins it. */
int timer_service_get(const void *owner, struct timer_service **out);
void timer_service_put(struct timer_service *ts);

/* A stand-alone service (tests); destroy stops the thread, and every timer
 * must have been freed before. */
int timer_service_create(struct timer_service **out);
void timer_service_destroy(struct timer_service *ts);

int timer_new(struct timer_service *ts, timer_fn fn, void *opaque, struct timer **out);
/* Waits for a running callback of this timer to return, unless called from
 * that callback. */
void timer_free(struct timer *t);
/* (Re)arms at an absolute deadline; a deadline in the past fires at once. */
void timer_arm(struct timer *t, uint64_t deadline_ns);
/* Never waits: a callback already running may still finish, so owners
 * check their own state in the callback (the usual lock order is device
 * lock -> timer service, and callbacks take the device lock). */
void timer_cancel(struct timer *t);
bool timer_armed(struct timer *t);

#endif
