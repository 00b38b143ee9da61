/* Token buckets for I/O rate limits (a disk's bytes/s and requests/s, a
 * NIC's bytes/s and packets/s each way), in the manner of Firecracker's:
 * a device asks how long until it may go on, takes the request, and is
 * charged for it afterwards.  No lock: the device's own lock guards it. */
#ifndef HOSTEL_RATELIMIT_H
#define HOSTEL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* What a user asks for; 0 in a field means that resource is not limited. */
struct rate_limits {
    uint64_t bytes_per_s;
    uint64_t ops_per_s;        /* requests (disk) or packets (NIC) */
};

/* One bucket: it refills at rate tokens per second up to capacity.  A
 * request is let through while the bucket is not in debt and is charged in
 * full, so one large request may take it below zero: the next waits until
 * the debt is repaid.  The average over any long run is the rate. */
struct token_bucket {
    uint64_t rate;             /* tokens per second; 0: unlimited */
    double capacity;           /* the burst after an idle spell */
    double tokens;             /* may be negative (debt) */
};

struct rate_limiter {
    struct token_bucket bytes, ops;
    uint64_t last_ns;          /* when the buckets were last refilled */
    uint64_t throttled;        /* times a request had to wait (for info) */
};

/* The burst a bucket allows after an idle spell: this long at its rate. */
#define RATE_BURST_NS 100000000ull   /* 100 ms */

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limits *lim, uint64_t now_ns);
bool rate_limiter_active(const struct rate_limiter *rl);
/* Nanoseconds until a request may go (0: now), after refilling to now_ns.
 * Counts a throttle when it is not 0. */
uint64_t rate_limiter_wait_ns(struct rate_limiter *rl, uint64_t now_ns);
/* Charges a request that went: bytes and one op. */
void rate_limiter_charge(struct rate_limiter *rl, uint64_t bytes);

/* The values in "bps=10M,iops=100": parse_rate_bytes takes a size ("10M" is
 * 10 MiB/s), parse_rate_count a whole number; both refuse 0 and garbage
 * with -EINVAL. */
int parse_rate_bytes(const char *text, uint64_t *out);
int parse_rate_count(const char *text, uint64_t *out);

#endif
