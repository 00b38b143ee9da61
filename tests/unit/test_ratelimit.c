/* Unit tests for the token buckets behind disk and NIC rate limits. */
#include <errno.h>

#include "check.h"
#include "lib/ratelimit.h"

#define MS 1000000ull
#define S  1000000000ull

/* Requests as fast as the limiter lets them through, for a simulated span:
 * how many bytes got through. */
static uint64_t simulate(struct rate_limiter *rl, uint64_t req_bytes, uint64_t span_ns,
                         uint64_t *nreq)
{
    uint64_t now = 0, done = 0, n = 0;
    while (now < span_ns) {
        uint64_t w = rate_limiter_wait_ns(rl, now);
        if (w) {
            now += w;
            continue;
        }
        rate_limiter_charge(rl, req_bytes);
        done += req_bytes;
        n++;
    }
    if (nreq)
        *nreq = n;
    return done;
}

static void unlimited_never_waits(void)
{
    struct rate_limiter rl;
    rate_limiter_init(&rl, NULL, 0);
    CHECK(!rate_limiter_active(&rl));
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ(rate_limiter_wait_ns(&rl, 0), 0);
        rate_limiter_charge(&rl, 1 << 20);
    }
    CHECK_EQ(rl.throttled, 0);
}

static void bytes_rate_holds_over_time(void)
{
    struct rate_limits lim = { .bytes_per_s = 10 << 20 };
    struct rate_limiter rl;
    rate_limiter_init(&rl, &lim, 0);
    CHECK(rate_limiter_active(&rl));
    /* 128 KiB requests for 10 s at 10 MiB/s: 100 MiB plus at most the
     * 100 ms burst and one request. */
    uint64_t got = simulate(&rl, 128 << 10, 10 * S, NULL);
    CHECK(got >= 100ull << 20);
    CHECK(got <= (100ull << 20) + (1ull << 20) + (128 << 10));
    CHECK(rl.throttled > 0);
}

static void large_request_goes_into_debt(void)
{
    struct rate_limits lim = { .bytes_per_s = 1 << 20 };
    struct rate_limiter rl;
    rate_limiter_init(&rl, &lim, 0);
    /* Bigger than the whole bucket: it goes (no deadlock) and the next one
     * waits until the debt is repaid: 4 MiB - 100 ms worth, at 1 MiB/s. */
    CHECK_EQ(rate_limiter_wait_ns(&rl, 0), 0);
    rate_limiter_charge(&rl, 4 << 20);
    uint64_t w = rate_limiter_wait_ns(&rl, 0);
    CHECK(w > 3800 * MS && w < 4000 * MS);
    CHECK_EQ(rate_limiter_wait_ns(&rl, w), 0);
}

static void ops_rate_holds(void)
{
    struct rate_limits lim = { .ops_per_s = 100 };
    struct rate_limiter rl;
    rate_limiter_init(&rl, &lim, 0);
    uint64_t n;
    simulate(&rl, 4096, 5 * S, &n);
    CHECK(n >= 500 && n <= 512);    /* 5 s at 100/s plus the burst of 10 */
}

static void both_limits_the_tighter_wins(void)
{
    struct rate_limits lim = { .bytes_per_s = 1 << 20, .ops_per_s = 1000 };
    struct rate_limiter rl;
    rate_limiter_init(&rl, &lim, 0);
    uint64_t n;
    /* 64 KiB requests: bytes allow 16/s, ops 1000/s. */
    uint64_t got = simulate(&rl, 64 << 10, 4 * S, &n);
    CHECK(got >= 4ull << 20 && got <= (4ull << 20) + (256 << 10));
    /* 64-byte requests: ops allow 1000/s, bytes 16384/s. */
    rate_limiter_init(&rl, &lim, 0);
    simulate(&rl, 64, 4 * S, &n);
    CHECK(n >= 4000 && n <= 4101);
}

static void idle_refills_only_to_the_burst(void)
{
    struct rate_limits lim = { .bytes_per_s = 1 << 20 };
    struct rate_limiter rl;
    rate_limiter_init(&rl, &lim, 0);
    /* An hour idle buys 100 ms worth, not an hour's worth. */
    uint64_t now = 3600 * S;
    uint64_t sent = 0;
    while (rate_limiter_wait_ns(&rl, now) == 0) {
        rate_limiter_charge(&rl, 4096);
        sent += 4096;
    }
    CHECK(sent <= (1 << 20) / 10 + 4096);
    CHECK(sent >= (1 << 20) / 10 - 4096);
}

static void time_going_backwards_is_harmless(void)
{
    struct rate_limits lim = { .bytes_per_s = 1 << 20 };
    struct rate_limiter rl;
    rate_limiter_init(&rl, &lim, 5 * S);
    rate_limiter_charge(&rl, 1 << 20);
    uint64_t w = rate_limiter_wait_ns(&rl, 1 * S);   /* earlier than init */
    CHECK(w > 0 && w <= 1 * S);
}

static void parses_values(void)
{
    uint64_t v;
    CHECK_EQ(parse_rate_bytes("10M", &v), 0);
    CHECK_EQ(v, 10 << 20);
    CHECK_EQ(parse_rate_bytes("4096", &v), 0);
    CHECK_EQ(v, 4096);
    CHECK_EQ(parse_rate_bytes("0", &v), -EINVAL);
    CHECK_EQ(parse_rate_bytes("fast", &v), -EINVAL);
    CHECK_EQ(parse_rate_count("250", &v), 0);
    CHECK_EQ(v, 250);
    CHECK_EQ(parse_rate_count("0", &v), -EINVAL);
    CHECK_EQ(parse_rate_count("-3", &v), -EINVAL);
    CHECK_EQ(parse_rate_count("12x", &v), -EINVAL);
    CHECK_EQ(parse_rate_count("", &v), -EINVAL);
}

int main(void)
{
    RUN_TEST(unlimited_never_waits);
    RUN_TEST(bytes_rate_holds_over_time);
    RUN_TEST(large_request_goes_into_debt);
    RUN_TEST(ops_rate_holds);
    RUN_TEST(both_limits_the_tighter_wins);
    RUN_TEST(idle_refills_only_to_the_burst);
    RUN_TEST(time_going_backwards_is_harmless);
    RUN_TEST(parses_values);
    return CHECK_DONE();
}
