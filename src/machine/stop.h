/* Why a machine stops, and how a device asks it to (a power-off through
 * ACPI, a reset through the keyboard controller or port 0xcf9, the
 * debug-exit port): the board hands devices a stop_request, never the
 * machine itself. */
#ifndef HOSTEL_STOP_H
#define HOSTEL_STOP_H

enum vm_stop {
    VM_RUNNING = 0,
    VM_STOP_POWEROFF,      /* ACPI S5 or equivalent: exit 0 */
    VM_STOP_DEBUG_EXIT,    /* port 0xf4: exit (value << 1) | 1 */
    VM_STOP_RESET,         /* guest asked for a reboot */
    VM_STOP_TRIPLE_FAULT,  /* status = vCPU id */
    VM_STOP_QUIT,          /* the user quit from the console (Ctrl-A x) */
    VM_STOP_ERROR,         /* engine or device failure; message already printed */
    VM_STOP_MIGRATED,      /* live migration: the guest runs elsewhere now */
};

struct stop_request {
    void (*stop)(void *opaque, enum vm_stop why, int status);
    void *opaque;
};

static inline void stop_request(const struct stop_request *s, enum vm_stop why, int status)
{
    if (s->stop)
        s->stop(s->opaque, why, status);
}

#endif
