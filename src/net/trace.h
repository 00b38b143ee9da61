/* The frame log of a backend (HOSTEL_NET_TRACE=PATH, docs/networking.md,
 * "Looking into a slow transfer"): one text line per frame.  Every call
 * takes NULL (no log) and then does nothing, so a backend calls them
 * unconditionally; one log is written by one thread. */
#ifndef HOSTEL_NET_TRACE_H
#define HOSTEL_NET_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_trace;

/* NULL unless HOSTEL_NET_TRACE names a file (appended to; what names the
 * backend in its first line). */
struct net_trace *net_trace_open(const char *what);
void net_trace_close(struct net_trace *t);
/* One frame: to_guest for frames the backend hands the NIC. */
void net_trace_frame(struct net_trace *t, bool to_guest, const uint8_t *frame, size_t len);
/* A line of its own (a timer fired, ...). */
void net_trace_note(struct net_trace *t, const char *what);

#endif
