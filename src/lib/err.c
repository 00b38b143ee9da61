/* The error buffer (lib/err.h): set at the leaf, wrapped on the way up. */
#include "lib/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

int err_wrap(struct err *e, const char *fmt, ...)
{
    if (!e)
        return -EIO;
    char ctx[sizeof(e->msg)], old[sizeof(e->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    if (!e->code)
        e->code = -EIO;
    if (!e->msg[0]) {
        snprintf(e->msg, sizeof(e->msg), "%s", ctx);
        return e->code;
    }
    /* ctx, ": ", then as much of the old message as fits. */
    memcpy(old, e->msg, sizeof(old));
    size_t n = strlen(ctx);
    if (n > sizeof(e->msg) - 3)
        n = sizeof(e->msg) - 3;
    memcpy(e->msg, ctx, n);
    memcpy(e->msg + n, ": ", 2);
    size_t rest = sizeof(e->msg) - n - 3, m = strlen(old);
    if (m > rest)
        m = rest;
    memcpy(e->msg + n + 2, old, m);
    e->msg[n + 2 + m] = 0;
    return e->code;
}
