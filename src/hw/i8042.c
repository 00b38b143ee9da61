/* The 8042 controller with a keyboard and a mouse behind it.  The devices
 * answer commands, so Linux's i8042, atkbd and psmouse probes finish quickly
 * and quietly, and carry a display's keys (in scan code set 2, or set 1 when
 * the controller translates) and relative mouse packets.  Pulsing the reset
 * line (command 0xFE, or output port bit 0 clear) reboots. */
#include "hw/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "host/display.h"
#include "lib/err.h"
#include "lib/state.h"
#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/stop.h"

#define QUEUE_SIZE 32
#define HOST_QUEUE_SIZE 256   /* keys and packets from viewers, not yet sent */

/* Status register. */
#define ST_OBF      0x01   /* output buffer full */
#define ST_SYS      0x04   /* system flag: self test passed */
#define ST_CMD      0x08   /* last write went to the command port */
#define ST_UNLOCKED 0x10   /* keyboard not inhibited */
#define ST_AUX_OBF  0x20   /* the byte in the output buffer is from the mouse */

/* Configuration ("command") byte. */
#define CFG_KBD_INT   0x01
#define CFG_AUX_INT   0x02
#define CFG_SYS       0x04
#define CFG_KBD_OFF   0x10
#define CFG_AUX_OFF   0x20
#define CFG_XLATE     0x40   /* translate the keyboard's set 2 to set 1 */

/* Where the next byte written to port 0x60 goes. */
enum data_target {
    TO_KBD,            /* a keyboard command or its parameter */
    TO_RAM,            /* commands 0x60-0x7f: controller RAM (0 = config) */
    TO_OUTPORT,        /* 0xd1 */
    TO_KBD_OUTPUT,     /* 0xd2: as if the keyboard sent it */
    TO_AUX_OUTPUT,     /* 0xd3: as if the mouse sent it */
    TO_AUX,            /* 0xd4: to the mouse */
};

struct i8042 {
    pthread_mutex_t lock;
    struct bus *pio;
    uint16_t data_port, cmd_port;
    struct irq_line kbd_irq, aux_irq;
    struct stop_request reset;
    bool registered_data, registered_cmd;

    uint8_t ram[32];           /* ram[0] is the configuration byte */
    uint8_t status;            /* ST_SYS, ST_CMD (OBF bits are computed) */
    uint8_t outport;
    enum data_target target;
    uint8_t ram_index;

    /* Bytes waiting for the output buffer, and which device each is from. */
    uint8_t queue[QUEUE_SIZE];
    bool queue_aux[QUEUE_SIZE];
    unsigned head, count;

    uint8_t kbd_pending_cmd;   /* a keyboard command waiting for its parameter */
    uint8_t aux_pending_cmd;
    bool aux_wrap;             /* mouse wrap (echo) mode */
    uint8_t aux_rate, aux_resolution, aux_scaling;
    bool aux_reporting;
    bool kbd_scanning;         /* the keyboard sends keys (0xf4 / 0xf5) */
    uint8_t kbd_set;           /* scan code set 1, 2 or 3 (0xf0) */

    int kbd_level, aux_level;
    struct display *display;   /* runtime: where keys come from */
    bool paused;               /* runtime: host input is dropped */
    /* Runtime: bytes of host input the devices have yet to send, one at a
     * time when the output buffer is empty (as a keyboard sends from its
     * own buffer): fast typing is not lost to the 32-byte queue.  Not
     * saved: input is dropped while paused, and these are sent by then. */
    uint8_t host_kbd[HOST_QUEUE_SIZE], host_aux[HOST_QUEUE_SIZE];
    unsigned hk_head, hk_count, ha_head, ha_count;
};

/* Set 1 make code -> set 2 make code (0: none).  Extended keys (0xe0xx)
 * use the same table behind an 0xe0 prefix in both sets. */
static const uint8_t set1_to_set2[0x60] = {
    [0x01] = 0x76, [0x02] = 0x16, [0x03] = 0x1e, [0x04] = 0x26, [0x05] = 0x25, [0x06] = 0x2e,
    [0x07] = 0x36, [0x08] = 0x3d, [0x09] = 0x3e, [0x0a] = 0x46, [0x0b] = 0x45, [0x0c] = 0x4e,
    [0x0d] = 0x55, [0x0e] = 0x66, [0x0f] = 0x0d, [0x10] = 0x15, [0x11] = 0x1d, [0x12] = 0x24,
    [0x13] = 0x2d, [0x14] = 0x2c, [0x15] = 0x35, [0x16] = 0x3c, [0x17] = 0x43, [0x18] = 0x44,
    [0x19] = 0x4d, [0x1a] = 0x54, [0x1b] = 0x5b, [0x1c] = 0x5a, [0x1d] = 0x14, [0x1e] = 0x1c,
    [0x1f] = 0x1b, [0x20] = 0x23, [0x21] = 0x2b, [0x22] = 0x34, [0x23] = 0x33, [0x24] = 0x3b,
    [0x25] = 0x42, [0x26] = 0x4b, [0x27] = 0x4c, [0x28] = 0x52, [0x29] = 0x0e, [0x2a] = 0x12,
    [0x2b] = 0x5d, [0x2c] = 0x1a, [0x2d] = 0x22, [0x2e] = 0x21, [0x2f] = 0x2a, [0x30] = 0x32,
    [0x31] = 0x31, [0x32] = 0x3a, [0x33] = 0x41, [0x34] = 0x49, [0x35] = 0x4a, [0x36] = 0x59,
    [0x37] = 0x7c, [0x38] = 0x11, [0x39] = 0x29, [0x3a] = 0x58, [0x3b] = 0x05, [0x3c] = 0x06,
    [0x3d] = 0x04, [0x3e] = 0x0c, [0x3f] = 0x03, [0x40] = 0x0b, [0x41] = 0x83, [0x42] = 0x0a,
    [0x43] = 0x01, [0x44] = 0x09, [0x45] = 0x77, [0x46] = 0x7e, [0x47] = 0x6c, [0x48] = 0x75,
    [0x49] = 0x7d, [0x4a] = 0x7b, [0x4b] = 0x6b, [0x4c] = 0x73, [0x4d] = 0x74, [0x4e] = 0x79,
    [0x4f] = 0x69, [0x50] = 0x72, [0x51] = 0x7a, [0x52] = 0x70, [0x53] = 0x71, [0x56] = 0x61,
    [0x57] = 0x78, [0x58] = 0x07, [0x5b] = 0x1f, [0x5c] = 0x27, [0x5d] = 0x2f,
};

static void queue_byte(struct i8042 *k, uint8_t b, bool aux)
{
    if (k->count == QUEUE_SIZE)
        return;   /* a guest that never reads loses bytes, as the devices would */
    unsigned i = (k->head + k->count) % QUEUE_SIZE;
    k->queue[i] = b;
    k->queue_aux[i] = aux;
    k->count++;
}

/* Host input moves on when the output buffer is empty: one byte, one
 * interrupt, as from a real device. */
static void feed_host_input(struct i8042 *k)
{
    if (k->count)
        return;
    if (k->hk_count && !(k->ram[0] & CFG_KBD_OFF)) {
        queue_byte(k, k->host_kbd[k->hk_head], false);
        k->hk_head = (k->hk_head + 1) % HOST_QUEUE_SIZE;
        k->hk_count--;
    } else if (k->ha_count && !(k->ram[0] & CFG_AUX_OFF)) {
        queue_byte(k, k->host_aux[k->ha_head], true);
        k->ha_head = (k->ha_head + 1) % HOST_QUEUE_SIZE;
        k->ha_count--;
    }
}

static void update_irq(struct i8042 *k)
{
    int kbd = 0, aux = 0;
    if (k->count) {
        if (k->queue_aux[k->head])
            aux = (k->ram[0] & CFG_AUX_INT) != 0;
        else
            kbd = (k->ram[0] & CFG_KBD_INT) != 0;
    }
    if (kbd != k->kbd_level) {
        k->kbd_level = kbd;
        irq_set(&k->kbd_irq, kbd);
    }
    if (aux != k->aux_level) {
        k->aux_level = aux;
        irq_set(&k->aux_irq, aux);
    }
}

static void reset_line(struct i8042 *k)
{
    stop_request(&k->reset, VM_STOP_RESET, 0);
}

static void keyboard_command(struct i8042 *k, uint8_t b)
{
    if (k->kbd_pending_cmd) {
        uint8_t cmd = k->kbd_pending_cmd;
        k->kbd_pending_cmd = 0;
        queue_byte(k, 0xfa, false);
        if (cmd == 0xf0 && b == 0)
            queue_byte(k, k->kbd_set, false);   /* "which scan code set" */
        else if (cmd == 0xf0 && b <= 3)
            k->kbd_set = b;
        return;
    }
    switch (b) {
    case 0xff:                            /* reset and self test */
        k->kbd_scanning = true;
        k->kbd_set = 2;
        queue_byte(k, 0xfa, false);
        queue_byte(k, 0xaa, false);
        break;
    case 0xf4:                            /* enable scanning */
        k->kbd_scanning = true;
        queue_byte(k, 0xfa, false);
        break;
    case 0xf5:                            /* disable scanning, defaults */
        k->kbd_scanning = false;
        queue_byte(k, 0xfa, false);
        break;
    case 0xf6:                            /* defaults, scanning on */
        k->kbd_scanning = true;
        queue_byte(k, 0xfa, false);
        break;
    case 0xf2:                            /* identify: an MF2 keyboard */
        queue_byte(k, 0xfa, false);
        queue_byte(k, 0xab, false);
        queue_byte(k, 0x83, false);
        break;
    case 0xee:                            /* echo */
        queue_byte(k, 0xee, false);
        break;
    case 0xed: case 0xf0: case 0xf3:      /* LEDs, scan code set, typematic: a parameter follows */
        k->kbd_pending_cmd = b;
        queue_byte(k, 0xfa, false);
        break;
    default:                              /* enable, disable, defaults, ... */
        queue_byte(k, 0xfa, false);
        break;
    }
}

static void mouse_command(struct i8042 *k, uint8_t b)
{
    if (k->aux_wrap && b != 0xec && b != 0xff) {
        queue_byte(k, b, true);
        return;
    }
    if (k->aux_pending_cmd) {
        uint8_t cmd = k->aux_pending_cmd;
        k->aux_pending_cmd = 0;
        if (cmd == 0xf3)
            k->aux_rate = b;
        else if (cmd == 0xe8)
            k->aux_resolution = b & 3;
        queue_byte(k, 0xfa, true);
        return;
    }
    queue_byte(k, 0xfa, true);
    switch (b) {
    case 0xff:                            /* reset: self test passed, ID 0 */
        k->aux_rate = 100;
        k->aux_resolution = 2;
        k->aux_scaling = 0;
        k->aux_reporting = false;
        k->aux_wrap = false;
        queue_byte(k, 0xaa, true);
        queue_byte(k, 0x00, true);
        break;
    case 0xf2:                            /* identify: a plain PS/2 mouse */
        queue_byte(k, 0x00, true);
        break;
    case 0xe9:                            /* status request */
        queue_byte(k, (uint8_t)((k->aux_reporting ? 0x20 : 0) | (k->aux_scaling ? 0x10 : 0)), true);
        queue_byte(k, k->aux_resolution, true);
        queue_byte(k, k->aux_rate, true);
        break;
    case 0xeb:                            /* read data: no movement */
        queue_byte(k, 0x08, true);
        queue_byte(k, 0x00, true);
        queue_byte(k, 0x00, true);
        break;
    case 0xf3: case 0xe8:                 /* sample rate, resolution: a parameter follows */
        k->aux_pending_cmd = b;
        break;
    case 0xe6: k->aux_scaling = 0; break;
    case 0xe7: k->aux_scaling = 1; break;
    case 0xf4: k->aux_reporting = true; break;
    case 0xf5: k->aux_reporting = false; break;
    case 0xf6:
        k->aux_rate = 100;
        k->aux_resolution = 2;
        k->aux_scaling = 0;
        break;
    case 0xee: k->aux_wrap = true; break;
    case 0xec: k->aux_wrap = false; break;
    default: break;
    }
}

static void controller_command(struct i8042 *k, uint8_t cmd)
{
    k->target = TO_KBD;
    if (cmd >= 0x20 && cmd <= 0x3f) {          /* read controller RAM */
        queue_byte(k, k->ram[cmd & 0x1f], false);
        return;
    }
    if (cmd >= 0x60 && cmd <= 0x7f) {          /* write controller RAM */
        k->target = TO_RAM;
        k->ram_index = cmd & 0x1f;
        return;
    }
    if (cmd >= 0xf0) {
        /* Pulse output lines; bit 0 clear pulses the CPU reset line. */
        if (!(cmd & 1))
            reset_line(k);
        return;
    }
    switch (cmd) {
    case 0xa7: k->ram[0] |= CFG_AUX_OFF; break;
    case 0xa8: k->ram[0] &= ~CFG_AUX_OFF; break;
    case 0xa9: queue_byte(k, 0x00, false); break;      /* mouse port test: OK */
    case 0xaa:                                          /* controller self test */
        k->status |= ST_SYS;
        queue_byte(k, 0x55, false);
        break;
    case 0xab: queue_byte(k, 0x00, false); break;      /* keyboard port test: OK */
    case 0xad: k->ram[0] |= CFG_KBD_OFF; break;
    case 0xae: k->ram[0] &= ~CFG_KBD_OFF; break;
    case 0xc0: queue_byte(k, 0x80, false); break;      /* input port: keyboard not locked */
    case 0xd0: queue_byte(k, k->outport, false); break;
    case 0xd1: k->target = TO_OUTPORT; break;
    case 0xd2: k->target = TO_KBD_OUTPUT; break;
    case 0xd3: k->target = TO_AUX_OUTPUT; break;
    case 0xd4: k->target = TO_AUX; break;
    default: break;   /* A20 gate commands (0xdd/0xdf) and the rest: ignored */
    }
}

static void data_write(struct i8042 *k, uint8_t b)
{
    enum data_target t = k->target;
    k->target = TO_KBD;
    switch (t) {
    case TO_KBD:
        keyboard_command(k, b);
        break;
    case TO_RAM:
        k->ram[k->ram_index] = b;
        if (k->ram_index == 0)
            k->status = (uint8_t)((k->status & ~ST_SYS) | (b & CFG_SYS));
        break;
    case TO_OUTPORT:
        k->outport = b;
        if (!(b & 1))
            reset_line(k);
        break;
    case TO_KBD_OUTPUT:
        queue_byte(k, b, false);
        break;
    case TO_AUX_OUTPUT:
        queue_byte(k, b, true);
        break;
    case TO_AUX:
        mouse_command(k, b);
        break;
    }
}

static uint8_t status_byte(const struct i8042 *k)
{
    uint8_t s = k->status | ST_UNLOCKED;
    if (k->count) {
        s |= ST_OBF;
        if (k->queue_aux[k->head])
            s |= ST_AUX_OBF;
    }
    return s;
}

static uint64_t i8042_read(struct i8042 *k, bool data_port)
{
    uint8_t v;
    pthread_mutex_lock(&k->lock);
    if (data_port) {                   /* port 0x60: data */
        if (k->count) {
            v = k->queue[k->head];
            k->head = (k->head + 1) % QUEUE_SIZE;
            k->count--;
            /* Drop the line so the next byte (if any) is a fresh edge. */
            if (k->kbd_level) { k->kbd_level = 0; irq_set(&k->kbd_irq, 0); }
            if (k->aux_level) { k->aux_level = 0; irq_set(&k->aux_irq, 0); }
            feed_host_input(k);
        } else {
            v = 0;   /* an empty buffer holds its last value; 0 is as good */
        }
    } else {                           /* port 0x64: status */
        v = status_byte(k);
    }
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
    return v;
}

static void i8042_write(struct i8042 *k, bool data_port, uint64_t value)
{
    pthread_mutex_lock(&k->lock);
    if (data_port) {
        k->status &= ~ST_CMD;
        data_write(k, (uint8_t)value);
    } else {
        k->status |= ST_CMD;
        controller_command(k, (uint8_t)value);
    }
    feed_host_input(k);
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)offset; (void)size;
    return i8042_read(opaque, true);
}

static void data_write_port(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    (void)offset; (void)size;
    i8042_write(opaque, true, value);
}

static uint64_t cmd_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)offset; (void)size;
    return i8042_read(opaque, false);
}

static void cmd_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    (void)offset; (void)size;
    i8042_write(opaque, false, value);
}

static const struct bus_ops data_ops = { .read = data_read, .write = data_write_port };
static const struct bus_ops cmd_ops = { .read = cmd_read, .write = cmd_write };

int i8042_create(struct bus *pio, uint16_t data_port, uint16_t cmd_port, struct irq_line kbd,
                 struct irq_line aux, struct stop_request reset, struct i8042 **out)
{
    struct i8042 *k = calloc(1, sizeof(*k));
    int r;
    if (!k)
        return -ENOMEM;
    pthread_mutex_init(&k->lock, NULL);
    k->pio = pio;
    k->data_port = data_port;
    k->cmd_port = cmd_port;
    k->kbd_irq = kbd;
    k->aux_irq = aux;
    k->reset = reset;
    /* As firmware leaves it: keyboard interrupt on, system flag set,
     * both ports clocked; scan code translation off (nothing to translate). */
    k->ram[0] = CFG_KBD_INT | CFG_SYS;
    k->status = ST_SYS;
    k->outport = 0x03;   /* reset line high, A20 on */
    k->aux_rate = 100;
    k->aux_resolution = 2;
    k->kbd_scanning = true;
    k->kbd_set = 2;
    /* Two separate ports: 0x61-0x63 belong to others (0x61 is the PIT gate). */
    r = bus_register(pio, data_port, 1, &data_ops, k, "i8042 data");
    if (r < 0)
        goto fail;
    k->registered_data = true;
    r = bus_register(pio, cmd_port, 1, &cmd_ops, k, "i8042 command");
    if (r < 0)
        goto fail;
    k->registered_cmd = true;
    *out = k;
    return 0;
fail:
    i8042_destroy(k);
    return r;
}

void i8042_destroy(struct i8042 *k)
{
    if (!k)
        return;
    if (k->display)
        display_set_input(k->display, NULL, NULL);
    if (k->registered_data)
        bus_unregister(k->pio, k->data_port);
    if (k->registered_cmd)
        bus_unregister(k->pio, k->cmd_port);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

/* ---- host input ----------------------------------------------------------- */

static bool host_push(uint8_t *q, unsigned head, unsigned *count, const uint8_t *b, unsigned n)
{
    if (*count + n > HOST_QUEUE_SIZE)
        return false;   /* the whole event is dropped, never half of it */
    for (unsigned i = 0; i < n; i++)
        q[(head + *count + i) % HOST_QUEUE_SIZE] = b[i];
    *count += n;
    return true;
}

void i8042_key(struct i8042 *k, uint16_t scancode, bool down)
{
    uint8_t code = scancode & 0x7f, bytes[4];
    bool ext = (scancode >> 8) == 0xe0;
    unsigned n = 0;
    if ((scancode >> 8) && !ext)
        return;
    pthread_mutex_lock(&k->lock);
    if (k->paused || !k->kbd_scanning || (k->ram[0] & CFG_KBD_OFF))
        goto out;
    if (ext)
        bytes[n++] = 0xe0;
    if ((k->ram[0] & CFG_XLATE) || k->kbd_set == 1) {
        bytes[n++] = (uint8_t)(code | (down ? 0 : 0x80));
    } else {
        if (code >= sizeof(set1_to_set2) || !set1_to_set2[code])
            goto out;
        if (!down)
            bytes[n++] = 0xf0;
        bytes[n++] = set1_to_set2[code];
    }
    if (host_push(k->host_kbd, k->hk_head, &k->hk_count, bytes, n)) {
        feed_host_input(k);
        update_irq(k);
    }
out:
    pthread_mutex_unlock(&k->lock);
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void i8042_pointer(struct i8042 *k, int dx, int dy, unsigned buttons)
{
    pthread_mutex_lock(&k->lock);
    if (k->paused || !k->aux_reporting || (k->ram[0] & CFG_AUX_OFF) || k->aux_wrap)
        goto out;
    /* PS/2 buttons: left, right, middle; y grows upwards. */
    uint8_t b = (uint8_t)((buttons & 1) | (buttons & 4) >> 1 | (buttons & 2) << 1);
    dy = -dy;
    do {
        int x = clamp(dx, -255, 255), y = clamp(dy, -255, 255);
        uint8_t packet[3] = { (uint8_t)(0x08 | b | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0)),
                              (uint8_t)x, (uint8_t)y };
        if (!host_push(k->host_aux, k->ha_head, &k->ha_count, packet, 3))
            break;
        dx -= x;
        dy -= y;
    } while (dx || dy);
    feed_host_input(k);
    update_irq(k);
out:
    pthread_mutex_unlock(&k->lock);
}

void i8042_pause(struct i8042 *k)
{
    pthread_mutex_lock(&k->lock);
    k->paused = true;
    k->hk_count = k->ha_count = 0;   /* not part of a snapshot: dropped */
    pthread_mutex_unlock(&k->lock);
}

void i8042_resume(struct i8042 *k)
{
    pthread_mutex_lock(&k->lock);
    k->paused = false;
    pthread_mutex_unlock(&k->lock);
}

static void display_key_in(void *opaque, uint16_t scancode, bool down)
{
    i8042_key(opaque, scancode, down);
}

static void display_pointer_in(void *opaque, int dx, int dy, int dz, unsigned buttons)
{
    (void)dz;   /* a plain PS/2 mouse has no wheel */
    i8042_pointer(opaque, dx, dy, buttons);
}

static const struct display_input_ops input_ops = {
    .key = display_key_in, .pointer = display_pointer_in,
};

void i8042_attach_display(struct i8042 *k, struct display *d)
{
    if (k->display)
        display_set_input(k->display, NULL, NULL);
    k->display = d;
    if (d)
        display_set_input(d, &input_ops, k);
}

/* ---- snapshots ------------------------------------------------------------ */

int i8042_save(struct i8042 *k, struct state_out *o)
{
    pthread_mutex_lock(&k->lock);
    st_put_bytes(o, k->ram, sizeof(k->ram));
    st_put_u8(o, k->status);
    st_put_u8(o, k->outport);
    st_put_u8(o, (uint8_t)k->target);
    st_put_u8(o, k->ram_index);
    st_put_u8(o, k->kbd_pending_cmd);
    st_put_u8(o, k->aux_pending_cmd);
    st_put_bool(o, k->aux_wrap);
    st_put_u8(o, k->aux_rate);
    st_put_u8(o, k->aux_resolution);
    st_put_u8(o, k->aux_scaling);
    st_put_bool(o, k->aux_reporting);
    st_put_bool(o, k->kbd_scanning);
    st_put_u8(o, k->kbd_set);
    st_put_u8(o, (uint8_t)k->count);
    for (unsigned i = 0; i < k->count; i++) {
        unsigned at = (k->head + i) % QUEUE_SIZE;
        st_put_u8(o, k->queue[at]);
        st_put_bool(o, k->queue_aux[at]);
    }
    pthread_mutex_unlock(&k->lock);
    return state_out_ok(o) ? 0 : -ENOMEM;
}

int i8042_load(struct i8042 *k, struct state_in *in, struct err *e)
{
    uint8_t ram[32], queue[QUEUE_SIZE];
    bool queue_aux[QUEUE_SIZE];
    unsigned port = k->data_port;

    st_get_bytes(in, ram, sizeof(ram));
    uint8_t status = st_get_u8(in);
    uint8_t outport = st_get_u8(in);
    uint8_t target = st_get_u8(in);
    uint8_t ram_index = st_get_u8(in);
    uint8_t kbd_cmd = st_get_u8(in);
    uint8_t aux_cmd = st_get_u8(in);
    bool aux_wrap = st_get_bool(in);
    uint8_t aux_rate = st_get_u8(in);
    uint8_t aux_resolution = st_get_u8(in);
    uint8_t aux_scaling = st_get_u8(in);
    bool aux_reporting = st_get_bool(in);
    bool kbd_scanning = st_get_bool(in);
    uint8_t kbd_set = st_get_u8(in);
    unsigned count = st_get_u8(in);
    if (in->bad)
        return err_set(e, -EINVAL, "i8042 0x%x: the saved state is cut short or holds a bool "
                       "that is neither 0 nor 1", port);
    if (status & ~(ST_SYS | ST_CMD))
        return err_set(e, -EINVAL, "i8042 0x%x: status 0x%02x keeps bits that are computed, "
                       "never stored", port, status);
    if (target > TO_AUX)
        return err_set(e, -EINVAL, "i8042 0x%x: data port target %u is not one of the six",
                       port, target);
    if (ram_index >= sizeof(ram))
        return err_set(e, -EINVAL, "i8042 0x%x: RAM index %u is past its 32 bytes", port,
                       ram_index);
    if (kbd_cmd != 0 && kbd_cmd != 0xed && kbd_cmd != 0xf0 && kbd_cmd != 0xf3)
        return err_set(e, -EINVAL, "i8042 0x%x: keyboard command 0x%02x takes no parameter",
                       port, kbd_cmd);
    if (aux_cmd != 0 && aux_cmd != 0xf3 && aux_cmd != 0xe8)
        return err_set(e, -EINVAL, "i8042 0x%x: mouse command 0x%02x takes no parameter", port,
                       aux_cmd);
    if (aux_resolution > 3 || aux_scaling > 1)
        return err_set(e, -EINVAL, "i8042 0x%x: mouse resolution %u or scaling %u out of range",
                       port, aux_resolution, aux_scaling);
    if (kbd_set < 1 || kbd_set > 3)
        return err_set(e, -EINVAL, "i8042 0x%x: keyboard scan code set %u is not 1, 2 or 3",
                       port, kbd_set);
    if (count > QUEUE_SIZE)
        return err_set(e, -EINVAL, "i8042 0x%x: %u bytes waiting in a queue of %u", port, count,
                       QUEUE_SIZE);
    for (unsigned i = 0; i < count; i++) {
        queue[i] = st_get_u8(in);
        queue_aux[i] = st_get_bool(in);
    }
    if (in->bad)
        return err_set(e, -EINVAL, "i8042 0x%x: the saved state is cut short, or a queued "
                       "byte's source is neither 0 nor 1", port);

    pthread_mutex_lock(&k->lock);
    memcpy(k->ram, ram, sizeof(ram));
    k->status = status;
    k->outport = outport;
    k->target = (enum data_target)target;
    k->ram_index = ram_index;
    k->kbd_pending_cmd = kbd_cmd;
    k->aux_pending_cmd = aux_cmd;
    k->aux_wrap = aux_wrap;
    k->aux_rate = aux_rate;
    k->aux_resolution = aux_resolution;
    k->aux_scaling = aux_scaling;
    k->aux_reporting = aux_reporting;
    k->kbd_scanning = kbd_scanning;
    k->kbd_set = kbd_set;
    memcpy(k->queue, queue, count);
    memcpy(k->queue_aux, queue_aux, count * sizeof(bool));
    k->head = 0;
    k->count = count;
    /* Driven even when they look unchanged: what is behind the lines was
     * built fresh too. */
    k->kbd_level = k->aux_level = -1;
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
    return 0;
}
