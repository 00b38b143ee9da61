/* `hostel web`'s files in the build (build/web): its page and script
 * (web/ in the repository), noVNC and xterm.js (bundled from Debian's
 * packages by scripts/web-vendor.sh).  docs/display.md. */
#ifndef HOSTEL_WEB_STATIC_H
#define HOSTEL_WEB_STATIC_H

#include <microhttpd.h>
#include <stdbool.h>

/* The response for /static/FILE (FILE: hostel.js, novnc.js, xterm.js or
 * xterm.css),
 * or NULL when FILE is not one of them or is not there (*missing set to
 * true in the latter case: the build has not vendored it). */
struct MHD_Response *web_static(const char *file, bool *missing);

/* Where the files are looked for: $HOSTEL_WEB_DIR, else web/ beside the
 * hostel binary (build/web). */
const char *web_static_dir(void);

#endif
