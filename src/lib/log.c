/* Logging: stderr, line-buffered, safe to call from vCPU threads. */
#include "lib/log.h"

#include <stdio.h>

int log_verbosity;
static char last_error[1024];

const char *log_last_error(void)
{
    return last_error;
}

static void emit(const char *tag, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    /* The console may be in raw mode: end lines with \r\n so they stay readable. */
    fprintf(stderr, "hostel: %s%s\r\n", tag, buf);
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    emit("error: ", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("warning: ", fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    if (log_verbosity < 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit("", fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    if (log_verbosity < 2)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit("debug: ", fmt, ap);
    va_end(ap);
}
