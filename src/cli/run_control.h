/* `hostel run --control SOCKET` and `hostel run --restore DIR`. */
#ifndef HOSTEL_RUN_CONTROL_H
#define HOSTEL_RUN_CONTROL_H

#include <stddef.h>

#include "board/run.h"
#include "board/spec.h"
#include "lib/err.h"

struct run_control;

/* Opens the control socket at path (refusing to replace anything but a
 * dead socket) and fills hooks so it follows the machine's life. */
int run_control_start(const char *path, const struct machine_spec *spec,
                      struct run_hooks *hooks, struct run_control **out, struct err *e);
void run_control_stop(struct run_control *rc);
/* Where its saves may go when the VMM enters its root jail: the socket's
 * folder, or NULL when that folder is shared with other users. */
const char *run_control_save_folder(const struct run_control *rc);

/* The spec a saved folder holds (DIR/state.bin), with the few host-side
 * flags a restore may change laid over it; the paths of its state and RAM
 * image in state and ram. */
int run_restore_spec(const char *dir, const struct machine_spec *flags, struct machine_spec *out,
                     char *state, char *ram, size_t len, struct err *e);

#endif
