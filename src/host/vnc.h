/* A display shown over VNC through Debian's libvncserver: one thread that
 * accepts viewers on its own socket (loopback unless told otherwise), asks
 * the display for what changed while any viewer is connected, and turns
 * their keys (X keysyms, a US layout) and pointer into the display's
 * input.  Several viewers share the screen.  docs/display.md. */
#ifndef HOSTEL_VNC_H
#define HOSTEL_VNC_H

#include "lib/err.h"

struct display;
struct vnc_server;

struct vnc_options {
    const char *addr;            /* an IPv4 address; "127.0.0.1" when NULL */
    int port;                    /* 0: the first free one from 5900 to 5999 */
    const char *password;        /* VNC authentication, or NULL: none (loopback only) */
    int fps;                     /* how often a watched screen is looked at (default 30) */
};

/* Listens and starts the thread.  An address that is not loopback needs a
 * password.  -errno with e saying what could not be done. */
int vnc_server_start(struct display *d, const struct vnc_options *o, struct vnc_server **out,
                     struct err *e);
/* "ADDR:PORT" it listens on. */
const char *vnc_server_address(const struct vnc_server *s);
/* Viewers connected now. */
int vnc_server_viewers(struct vnc_server *s);
/* Closes every viewer and the socket, joins the thread. */
void vnc_server_stop(struct vnc_server *s);

/* The PC scan code (host/display.h) of the key that types an X keysym on
 * a US keyboard (a shifted symbol gives its key: the viewer sends Shift
 * itself); 0 for none. */
unsigned vnc_keysym_scancode(unsigned keysym);

#endif
