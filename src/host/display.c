/* The screen shared by a display device and its viewers (host/display.h):
 * one picture, one damaged rectangle, one lock. */
#include "host/display.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct display {
    pthread_mutex_t lock;        /* the picture and the source */
    pthread_mutex_t input_lock;  /* the input sink (taken on viewers' threads) */
    uint32_t *pixels;
    int width, height;
    uint64_t generation;
    struct display_rect damage;
    const struct display_source_ops *source;
    void *source_opaque;
    const struct display_input_ops *input;
    void *input_opaque;
};

int display_create(struct display **out)
{
    struct display *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->input_lock, NULL);
    *out = d;
    return 0;
}

void display_destroy(struct display *d)
{
    if (!d)
        return;
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->input_lock);
    free(d->pixels);
    free(d);
}

void display_set_source(struct display *d, const struct display_source_ops *ops, void *opaque)
{
    pthread_mutex_lock(&d->lock);
    d->source = ops;
    d->source_opaque = opaque;
    pthread_mutex_unlock(&d->lock);
}

void display_set_input(struct display *d, const struct display_input_ops *ops, void *opaque)
{
    pthread_mutex_lock(&d->input_lock);
    d->input = ops;
    d->input_opaque = opaque;
    pthread_mutex_unlock(&d->input_lock);
}

int display_resize(struct display *d, int w, int h)
{
    if (w < 1 || h < 1 || w > DISPLAY_MAX_WIDTH || h > DISPLAY_MAX_HEIGHT)
        return -EINVAL;
    if (w == d->width && h == d->height && d->pixels)
        return 0;
    uint32_t *p = calloc((size_t)w * (size_t)h, sizeof(*p));
    if (!p)
        return -ENOMEM;
    free(d->pixels);
    d->pixels = p;
    d->width = w;
    d->height = h;
    d->generation++;
    d->damage = (struct display_rect){ 0, 0, w, h };
    return 0;
}

uint32_t *display_pixels(struct display *d, int *w, int *h, int *stride)
{
    if (w)
        *w = d->width;
    if (h)
        *h = d->height;
    if (stride)
        *stride = d->width;
    return d->pixels;
}

void display_damage(struct display *d, int x, int y, int w, int h)
{
    /* Clip to the picture, then grow the damaged rectangle to hold it. */
    if (x < 0) { w += x; x = 0; }
    if (y < 0) { h += y; y = 0; }
    if (x + w > d->width)
        w = d->width - x;
    if (y + h > d->height)
        h = d->height - y;
    if (w <= 0 || h <= 0)
        return;
    struct display_rect *r = &d->damage;
    if (!r->w) {
        *r = (struct display_rect){ x, y, w, h };
        return;
    }
    int x1 = r->x + r->w > x + w ? r->x + r->w : x + w;
    int y1 = r->y + r->h > y + h ? r->y + r->h : y + h;
    r->x = r->x < x ? r->x : x;
    r->y = r->y < y ? r->y : y;
    r->w = x1 - r->x;
    r->h = y1 - r->y;
}

void display_lock(struct display *d)
{
    pthread_mutex_lock(&d->lock);
}

void display_unlock(struct display *d)
{
    pthread_mutex_unlock(&d->lock);
}

struct display_rect display_refresh(struct display *d, bool full)
{
    if (d->source)
        d->source->refresh(d->source_opaque, d, full);
    if (full && d->pixels)
        d->damage = (struct display_rect){ 0, 0, d->width, d->height };
    struct display_rect r = d->damage;
    d->damage = (struct display_rect){ 0, 0, 0, 0 };
    return r;
}

uint64_t display_generation(struct display *d)
{
    return d->generation;
}

void display_key(struct display *d, uint16_t scancode, bool down)
{
    pthread_mutex_lock(&d->input_lock);
    if (d->input && d->input->key)
        d->input->key(d->input_opaque, scancode, down);
    pthread_mutex_unlock(&d->input_lock);
}

void display_pointer(struct display *d, int dx, int dy, int dz, unsigned buttons)
{
    pthread_mutex_lock(&d->input_lock);
    if (d->input && d->input->pointer)
        d->input->pointer(d->input_opaque, dx, dy, dz, buttons);
    pthread_mutex_unlock(&d->input_lock);
}
