/* What the two sides of live migration (migrate.c, migrate_in.c) share. */
#ifndef HOSTEL_MIGRATE_PRIV_H
#define HOSTEL_MIGRATE_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "lib/state.h"

#define MIG_HELLO_COPY_DISKS 1u
#define MIG_MAX_STR  (1u << 20)      /* the largest string in HELLO (the specs) */

void mig_put_str(struct state_out *o, const char *s);
/* A string of at most max bytes without NULs, or NULL with in->bad set. */
char *mig_get_str(struct state_in *in, size_t max);

#endif
