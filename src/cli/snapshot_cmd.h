/* `hostel snapshot` (take, ls, rm) and `hostel restore`. */
#ifndef HOSTEL_SNAPSHOT_CMD_H
#define HOSTEL_SNAPSHOT_CMD_H

#include <stdio.h>

int cmd_snapshot(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_clone(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore_backup(int argc, char **argv);
void snapshot_usage(FILE *f);

#endif
