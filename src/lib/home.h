/* Where hostel keeps its library: machines, clusters, appliances.  Every
 * layer that needs a path under it (the machine library, a switch's socket)
 * asks here, so the rule lives in one place. */
#ifndef HOSTEL_HOME_H
#define HOSTEL_HOME_H

#include <stdbool.h>
#include <stddef.h>

/* $HOSTEL_HOME, else $XDG_DATA_HOME/hostel, else ~/.local/share/hostel.
 * 0, or -ENAMETOOLONG. */
int hostel_home(char *buf, size_t len);

/* The names in the library's FOLDER (machines, clusters) that keep accepts
 * (names starting with '.' never), sorted, in a malloc'd array of malloc'd
 * strings.  A missing folder is an empty list.  0, or -errno. */
int hostel_home_list(const char *folder, bool (*keep)(const char *name, void *opaque), void *opaque,
                     char ***names, int *count);

#endif
