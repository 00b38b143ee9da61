/* One error convention, used throughout hostel: a failing function returns a
 * negative errno and fills a struct err with what went wrong, on what, and
 * what to do; callers on the way up may put their context in front
 * (err_wrap); the top level prints the message once (log_error("%s",
 * e.msg)).  Leaf code never logs the error it returns, and no function takes
 * a char *err buffer instead. */
#ifndef HOSTEL_ERR_H
#define HOSTEL_ERR_H

#include <stdbool.h>

struct err {
    int code;           /* negative errno; 0 while no error is set */
    char msg[1024];
};

#define ERR_INIT { 0, "" }

/* Sets the message (replacing any) and the code; returns code, so
 * `return err_set(e, -EINVAL, "...")` reads as one statement.  e may be
 * NULL (the caller does not want the text): then only code is returned. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Puts "context: " in front of the message already set; returns e->code
 * (or -EIO when none was set, with the context as the whole message). */
int err_wrap(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline bool err_is_set(const struct err *e)
{
    return e && e->msg[0];
}

static inline void err_clear(struct err *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = 0;
    }
}

#endif
