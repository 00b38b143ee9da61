/* Where hostel keeps its library: machines, clusters, appliances.  Every
 * layer that needs a path under it (the machine library, a switch's socket)
 * asks here, so the rule lives in one place. */
#ifndef HOSTEL_HOME_H
#define HOSTEL_HOME_H

#include <stddef.h>

/* $HOSTEL_HOME, else $XDG_DATA_HOME/hostel, else ~/.local/share/hostel.
 * 0, or -ENAMETOOLONG. */
int hostel_home(char *buf, size_t len);

#endif
