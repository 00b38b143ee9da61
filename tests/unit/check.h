/* A tiny test harness for unit tests: each TEST prints PASS:/FAIL: lines
 * that tests/run.sh adds up. */
#ifndef HOSTEL_CHECK_H
#define HOSTEL_CHECK_H

#include <stdio.h>

static int check_failed_now, check_failures;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            printf("  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            check_failed_now = 1;                                                \
        }                                                                        \
    } while (0)

#define CHECK_EQ(a, b)                                                           \
    do {                                                                         \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);          \
        if (check_a_ != check_b_) {                                              \
            printf("  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__,       \
                   __LINE__, #a, check_a_, #b, check_b_);                        \
            check_failed_now = 1;                                                \
        }                                                                        \
    } while (0)

#define RUN_TEST(fn)                                                             \
    do {                                                                         \
        check_failed_now = 0;                                                    \
        fn();                                                                    \
        printf("%s: %s\n", check_failed_now ? "FAIL" : "PASS", #fn);             \
        check_failures += check_failed_now;                                      \
    } while (0)

#define CHECK_DONE() (check_failures ? 1 : 0)

#endif
