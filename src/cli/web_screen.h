/* `hostel web`'s screen: a machine's VNC server bridged to a WebSocket,
 * for noVNC in the page (docs/display.md). */
#ifndef HOSTEL_WEB_SCREEN_H
#define HOSTEL_WEB_SCREEN_H

#include <microhttpd.h>

#include "lib/err.h"

/* Before the server starts: 0, or a negative errno. */
int web_screen_init(void);
/* When the server stops: ends every bridge (before MHD_stop_daemon, which
 * waits for them). */
void web_screen_stop(void);

/* Connects to the VNC server of running machine NAME (where its display
 * file says it listens): the socket, or -1 with e set. */
int web_screen_connect(const char *name, struct err *e);

/* The 101 response that turns connection c into a WebSocket carrying
 * vnc's bytes both ways (the bridge owns vnc from then on), or NULL with
 * e set when c is not a WebSocket handshake (vnc closed then). */
struct MHD_Response *web_screen_upgrade(struct MHD_Connection *c, int vnc, struct err *e);

#endif
