/* Host CPU and memory limits for the VMM process through cgroups: v2 where
 * this process's cgroup can take a child with the controllers (a delegated
 * subtree, or root), else the v1 cpu and memory hierarchies where they are
 * writable.  Where neither works the limit is not enforced and the report
 * says why (docs/security.md). */
#ifndef HOSTEL_CGROUP_H
#define HOSTEL_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cgroup_limits {
    uint32_t cpu_milli;        /* thousandths of a host core; 0: none */
    uint64_t memory_max;       /* bytes; 0: none */
};

/* Where this process was put, to leave at the end. */
struct cgroup_place {
    int version;               /* 0: nowhere, 1 or 2 */
    char dir[2][512];          /* the cgroups made (v1: cpu, memory; v2: one) */
    char parent[2][512];       /* where the process came from */
    char handed_down[32];      /* v2: controllers we enabled in the parent ("-cpu -memory") */
};

/* Moves this process (all its threads) into a new cgroup "hostel-NAME-PID"
 * with the limits.  Each limit's outcome is in cpu_report and mem_report:
 * "enforced (cgroup v2 ...)" or "not enforced: WHY".  Returns 0 when every
 * limit asked for is enforced, -ENOTSUP when one is not (the reports say
 * which); never fails the machine. */
int cgroup_confine(const char *name, const struct cgroup_limits *lim, struct cgroup_place *out,
                   char *cpu_report, char *mem_report, size_t report_len);
/* Removes, under PARENT, the cgroups "hostel-NAME-PID" whose VMM (PID) is
 * gone: a jailed VMM cannot remove its own when it ends (the jail user may
 * not write the parent), so the next VMM made there, before its jail,
 * does.  A cgroup with a process still in it is kept (rmdir refuses).
 * cgroup_confine calls it; returns how many went. */
int cgroup_sweep(const char *parent);
/* Moves the process back and removes the cgroups made. */
void cgroup_leave(struct cgroup_place *p);

#endif
