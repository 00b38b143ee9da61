/* The console of a detached machine: guest output goes to a bounded,
 * rotated log on disk and to whichever client is attached; the attached
 * client's keystrokes go to the guest.  One client at a time: a new attach
 * takes the console over (as `virsh console --force` does). */
#ifndef HOSTEL_CONSOLE_HUB_H
#define HOSTEL_CONSOLE_HUB_H

#include <stddef.h>
#include <stdint.h>

struct console_hub;

#define CONSOLE_LOG_MAX (1u << 20)   /* console.log rotates to console.log.1 past 1 MiB */

int console_hub_create(const char *log_path, struct console_hub **out);
void console_hub_destroy(struct console_hub *h);
/* Guest output. */
void console_hub_output(struct console_hub *h, const uint8_t *buf, size_t len);
/* Input sink: where attached clients' bytes go (the guest's UART). */
typedef void (*console_hub_input_fn)(void *opaque, const uint8_t *buf, size_t len);
void console_hub_set_input(struct console_hub *h, console_hub_input_fn fn, void *opaque);
/* Hands a connected socket to the hub; it reads input from it until EOF and
 * writes output to it.  The hub owns fd from now on. */
int console_hub_attach(struct console_hub *h, int fd);

#endif
