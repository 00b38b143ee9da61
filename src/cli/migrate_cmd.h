/* `hostel migrate` and `hostel receive` (docs/migration.md). */
#ifndef HOSTEL_MIGRATE_CMD_H
#define HOSTEL_MIGRATE_CMD_H

#include <stdio.h>

void migrate_usage(FILE *f);
int cmd_migrate(int argc, char **argv);
int cmd_receive(int argc, char **argv);

#endif
