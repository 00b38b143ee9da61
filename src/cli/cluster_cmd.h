/* `hostel cluster`: up, ls, status, partition, degrade, heal, down
 * (docs/clusters.md). */
#ifndef HOSTEL_CLUSTER_CMD_H
#define HOSTEL_CLUSTER_CMD_H

#include <jansson.h>

#include "board/spec.h"

int cmd_cluster(int argc, char **argv);

/* For `hostel info`: the machine's cluster, address, faults and link
 * counters ("cluster", "address", "faults", "links") when it is on a
 * cluster's switch. */
void cluster_info_json(const char *machine, const struct machine_spec *spec, json_t *o);

#endif
