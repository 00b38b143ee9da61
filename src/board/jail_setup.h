/* What a machine's VMM shows and keeps when it enters the root jail
 * (lib/jail.h): its folder, disks, kernel and device nodes, from its spec.
 * docs/security.md says when it applies and what it does not cover. */
#ifndef HOSTEL_JAIL_SETUP_H
#define HOSTEL_JAIL_SETUP_H

#include <stdbool.h>
#include <stddef.h>

#include "board/spec.h"
#include "lib/err.h"

/* What a front end adds to what the spec names. */
struct jail_extra {
    /* `hostel run --control`'s socket folder (NULL: none): shown writable
     * and left to its owner, reached through the file capabilities the
     * control socket's threads alone raise. */
    const char *save_folder;
    /* Keep the file capabilities permitted for a thread that raises them
     * (a migration receiver removing its folder from root's machines
     * folder when the migration fails). */
    bool file_caps;
};

/* Enters the jail when this process is root and the spec keeps its sandbox
 * on: FOLDER (a named machine's, or NULL) is given to the jail user and
 * stays writable; X (may be NULL) as it says; the rest of what the spec names is shown read-only and
 * its disks are kept open for reopening.  Must run while the process has
 * one thread.  REPORT (may be NULL) gets what happened, for `hostel info`.
 * 0 when in or not applicable (the report and a log line say why);
 * -errno with e set when the jail was due and could not be entered. */
int machine_jail(const struct machine_spec *spec, const char *folder,
                 const struct jail_extra *x, char *report, size_t report_len, struct err *e);

#endif
