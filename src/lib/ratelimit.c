/* Token buckets for I/O rate limits (lib/ratelimit.h). */
#include "lib/ratelimit.h"

#include <errno.h>
#include <stdlib.h>

#include "lib/size.h"

static void bucket_init(struct token_bucket *b, uint64_t rate)
{
    b->rate = rate;
    b->capacity = (double)rate * (double)RATE_BURST_NS / 1e9;
    if (b->capacity < 1)
        b->capacity = 1;
    b->tokens = b->capacity;
}

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limits *lim, uint64_t now_ns)
{
    bucket_init(&rl->bytes, lim ? lim->bytes_per_s : 0);
    bucket_init(&rl->ops, lim ? lim->ops_per_s : 0);
    rl->last_ns = now_ns;
    rl->throttled = 0;
}

bool rate_limiter_active(const struct rate_limiter *rl)
{
    return rl->bytes.rate || rl->ops.rate;
}

static void refill(struct token_bucket *b, uint64_t dt_ns)
{
    if (!b->rate)
        return;
    b->tokens += (double)b->rate * (double)dt_ns / 1e9;
    if (b->tokens > b->capacity)
        b->tokens = b->capacity;
}

/* Until this bucket is out of debt. */
static uint64_t bucket_wait(const struct token_bucket *b)
{
    if (!b->rate || b->tokens >= 0)
        return 0;
    double ns = -b->tokens * 1e9 / (double)b->rate;
    return ns < 1 ? 1 : (uint64_t)ns + 1;
}

uint64_t rate_limiter_wait_ns(struct rate_limiter *rl, uint64_t now_ns)
{
    if (!rate_limiter_active(rl))
        return 0;
    if (now_ns > rl->last_ns) {
        refill(&rl->bytes, now_ns - rl->last_ns);
        refill(&rl->ops, now_ns - rl->last_ns);
        rl->last_ns = now_ns;
    }
    uint64_t a = bucket_wait(&rl->bytes), b = bucket_wait(&rl->ops);
    uint64_t w = a > b ? a : b;
    if (w)
        rl->throttled++;
    return w;
}

void rate_limiter_charge(struct rate_limiter *rl, uint64_t bytes)
{
    if (rl->bytes.rate)
        rl->bytes.tokens -= (double)bytes;
    if (rl->ops.rate)
        rl->ops.tokens -= 1;
}

int parse_rate_bytes(const char *text, uint64_t *out)
{
    uint64_t v;
    if (parse_size(text, &v) < 0 || v == 0)
        return -EINVAL;
    *out = v;
    return 0;
}

int parse_rate_count(const char *text, uint64_t *out)
{
    char *end;
    if (!text || *text < '0' || *text > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v == 0)
        return -EINVAL;
    *out = v;
    return 0;
}
