/* The library's folder: $HOSTEL_HOME, else $XDG_DATA_HOME/hostel, else
 * ~/.local/share/hostel. */
#include "lib/home.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int hostel_home(char *buf, size_t len)
{
    const char *h = getenv("HOSTEL_HOME");
    int n;
    if (h && *h) {
        n = snprintf(buf, len, "%s", h);
    } else if ((h = getenv("XDG_DATA_HOME")) && *h) {
        n = snprintf(buf, len, "%s/hostel", h);
    } else {
        h = getenv("HOME");
        if (!h || !*h) {
            struct passwd *pw = getpwuid(getuid());
            h = pw ? pw->pw_dir : "/tmp";
        }
        n = snprintf(buf, len, "%s/.local/share/hostel", h);
    }
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
