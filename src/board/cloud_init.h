/* A cloud-init NoCloud seed made by hostel, as Multipass and Lima make
 * theirs: a small ISO 9660 image labelled "cidata" holding user-data (the
 * --cloud-init file, or a minimal #cloud-config), meta-data (instance-id,
 * local-hostname, and the --ssh-key public key as public-keys) and nothing
 * else; cloud-init in a stock cloud image finds it by its label and
 * configures the machine from it.  docs/boot.md says what goes in it. */
#ifndef HOSTEL_CLOUD_INIT_H
#define HOSTEL_CLOUD_INIT_H

#include <stddef.h>

#include "board/spec.h"
#include "lib/err.h"

/* What the seed says besides the spec's files. */
struct seed_identity {
    const char *hostname;    /* local-hostname; NULL: "hostel" */
    const char *id;          /* a stable instance id (a named machine's); NULL: made from the content */
};

/* Writes the seed image for spec (its cloud_init and ssh_key files) to the
 * open file fd.  -errno with e naming the file that could not be read or
 * what is wrong with it (a key that is not an OpenSSH public key). */
int cloud_init_write_seed(const struct machine_spec *spec, const struct seed_identity *who, int fd,
                          struct err *e);

#endif
