/* The machine options (--kernel, --cpus, --disk, --net, ...) as flags: one
 * table and one parser shared by `hostel run`, `create` and `set`, so every
 * option has the same name, help and errors everywhere. */
#ifndef HOSTEL_SPEC_FLAGS_H
#define HOSTEL_SPEC_FLAGS_H

#include <getopt.h>
#include <stdio.h>

#include "board/spec.h"
#include "lib/err.h"

/* A command's own options besides the machine's: a getopt table (ending in
 * a zeroed entry; val must be below 0x100) and a handler called for each,
 * returning 0 to go on, 1 to stop with success (help shown) or -1 on an
 * error it reported in e. */
struct cmd_flags {
    const struct option *options;
    const char *shortopts;          /* e.g. "vh" */
    int (*handle)(void *ctx, int val, const char *arg, struct err *e);
    void *ctx;
};

/* Parses argv into layer (only what was given) and the command's own
 * options; optind is left at the first operand.  Returns 0, 1 (a handler
 * asked to stop) or -1 with e set. */
int spec_flags_parse(int argc, char **argv, const struct cmd_flags *cmd,
                     struct machine_spec *layer, struct err *e);

/* The machine options' help lines, as every command prints them. */
void spec_flags_usage(FILE *f);

#endif
