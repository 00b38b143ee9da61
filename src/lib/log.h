/* Logging: one place that formats what hostel tells the user.
 * Errors go to stderr prefixed "hostel: "; -v raises the verbosity. */
#ifndef HOSTEL_LOG_H
#define HOSTEL_LOG_H

#include <stdarg.h>

extern int log_verbosity;   /* 0 quiet, 1 -v, 2 -vv */

/* The text of the last log_error (so a detached VMM can report why it failed). */
const char *log_last_error(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* shown with -v */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* shown with -vv */

#endif
