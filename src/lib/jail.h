/* The VMM's root jail: when hostel runs as root, the VMM, once built, moves
 * into a private mount namespace that shows only the files it was given
 * (its machine folder, disks, kernel, the device nodes it uses), becomes an
 * unprivileged user with no capabilities and no way to gain any.  Paths
 * opened again later (a guest reboot rebuilds the board) come from fds
 * kept before the jail was entered.  docs/security.md says what it stops. */
#ifndef HOSTEL_JAIL_H
#define HOSTEL_JAIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/err.h"

#define JAIL_MAX_PATHS 64

/* What the jail shows: each path appears at its own name inside, bound from
 * the host (a folder with everything beneath it, or one file). */
struct jail_config {
    uid_t uid;
    gid_t gid;
    int npaths;
    char *paths[JAIL_MAX_PATHS];       /* copies (jail_add), freed by jail_config_free */
    bool writable[JAIL_MAX_PATHS];
    /* Shown writable but left to its owner (a share, --control's folder):
     * not given to the jail user as the machine's folder is. */
    bool foreign[JAIL_MAX_PATHS];
    /* A tap NIC: TUNSETIFF (at every guest reboot) needs CAP_NET_ADMIN, the
     * one capability kept then. */
    bool keep_net_admin;
    /* Shares: CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN and CAP_FSETID
     * stay permitted (never effective) so that the thread that
     * serves a share or a control client raises them for itself alone
     * (jail_raise_file_caps); the mount namespace bounds what they reach. */
    bool keep_file_caps;
};

/* The user the VMM becomes: $HOSTEL_JAIL_USER (a user name, or UID[:GID]),
 * else the system user "hostel" where it exists, else uid and gid 64434.
 * "off" in $HOSTEL_JAIL_USER: no jail (returns 1).  0, or -EINVAL with e
 * naming the bad value. */
int jail_user(uid_t *uid, gid_t *gid, struct err *e);
/* The same for a machine's own setting (its spec's jail_user, the same
 * forms, named --jail-user in errors); NULL: as jail_user. */
int jail_user_for(const char *setting, uid_t *uid, gid_t *gid, struct err *e);
#define JAIL_DEFAULT_ID 64434

/* Adds (a copy of) a path to show (ignored when NULL, empty, missing, or
 * already there).  -E2BIG when the list is full. */
int jail_add(struct jail_config *c, const char *path, bool writable);
/* The same for a folder that stays its owner's although the VMM writes in
 * it (a share, the folder of --control's socket). */
int jail_add_foreign(struct jail_config *c, const char *path, bool writable);
void jail_config_free(struct jail_config *c);

/* Keeps an fd of PATH open with FLAGS' access mode, for jail_open to hand
 * out later under the same name.  Call before jail_enter. */
int jail_keep(const char *path, int flags);
/* open(2), except that a path kept by jail_keep with a compatible access
 * mode is answered with a copy of the kept fd (O_CLOEXEC): what the VMM
 * reopens after confinement.  -1 with errno as open's. */
int jail_open(const char *path, int flags);

/* Enters the jail: a private mount namespace rooted in a tmpfs holding
 * only c's paths, the uid and gid dropped (no supplementary groups), every
 * capability dropped from all sets (the bounding set and ambient set too),
 * no new privileges.  Needs root; once in, there is no way out. */
int jail_enter(const struct jail_config *c, struct err *e);
bool jail_active(void);
/* The user and group the VMM ran as before the jail (its own now when
 * not jailed): whom a share's new files belong to. */
void jail_outside_ids(uid_t *uid, gid_t *gid);
/* On the calling thread alone, raises the file capabilities the jail kept
 * permitted (keep_file_caps); a no-op otherwise.  0 or -errno. */
int jail_raise_file_caps(void);

#endif
