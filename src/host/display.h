/* The screen between a display device and its viewers: the picture in host
 * pixels (32-bit 0x00RRGGBB), what changed since the viewers last looked,
 * and where their keys and pointer go.  The device draws only when a viewer
 * asks (display_refresh), so a screen nobody watches costs nothing. */
#ifndef HOSTEL_DISPLAY_H
#define HOSTEL_DISPLAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define DISPLAY_MAX_WIDTH  2560
#define DISPLAY_MAX_HEIGHT 1600

struct display;

/* A rectangle of the picture: x, y, w, h in pixels; w == 0 means empty. */
struct display_rect {
    int x, y, w, h;
};

/* The device side: draws into the picture on request.  refresh runs on the
 * viewer's thread with the display's lock held; it calls display_resize
 * and display_damage for what it redrew.  full: redraw everything (a new
 * viewer, a resize). */
struct display_source_ops {
    void (*refresh)(void *opaque, struct display *d, bool full);
};

/* Keys are PC scan codes of set 1 (what an XT keyboard sends): 0x01-0x7f,
 * or 0xe0XX for the extended keys; down is press, !down release.  The
 * pointer moves by dx, dy (right, down), dz wheel clicks (down positive),
 * buttons: bit 0 left, 1 middle, 2 right. */
struct display_input_ops {
    void (*key)(void *opaque, uint16_t scancode, bool down);
    void (*pointer)(void *opaque, int dx, int dy, int dz, unsigned buttons);
};

int display_create(struct display **out);
void display_destroy(struct display *d);

/* Device wiring (the board): NULL ops detach. */
void display_set_source(struct display *d, const struct display_source_ops *ops, void *opaque);
void display_set_input(struct display *d, const struct display_input_ops *ops, void *opaque);

/* For the source, inside refresh: the picture's size becomes w x h (a
 * black picture, all damaged) when it differs; -EINVAL beyond the maximum,
 * -ENOMEM.  display_pixels gives the picture and its stride in pixels. */
int display_resize(struct display *d, int w, int h);
uint32_t *display_pixels(struct display *d, int *w, int *h, int *stride);
void display_damage(struct display *d, int x, int y, int w, int h);

/* For viewers.  display_refresh asks the source to bring the picture up to
 * date and returns the damaged rectangle since the last call (empty when
 * nothing changed); the picture stays valid until display_unlock. */
void display_lock(struct display *d);
void display_unlock(struct display *d);
struct display_rect display_refresh(struct display *d, bool full);
/* Counts resizes: a viewer that saw another value re-reads the size. */
uint64_t display_generation(struct display *d);
void display_key(struct display *d, uint16_t scancode, bool down);
void display_pointer(struct display *d, int dx, int dy, int dz, unsigned buttons);

#endif
