/* After a live migration, the receiver's network carries the guest's new
 * connections while the sender's, still alive, carries the connections it
 * had (docs/migration.md): a TCP segment of a connection whose opening
 * this side never saw goes to the old side, everything else to this
 * backend.  The old side's frames for the guest come back through
 * net_split_inject. */
#ifndef HOSTEL_NET_SPLIT_H
#define HOSTEL_NET_SPLIT_H

#include <stddef.h>
#include <stdint.h>

struct net_backend;
struct net_split;

/* to_old(opaque, frame, len) gets the guest's frames for old connections
 * (and a copy of its ARP frames), on the NIC's thread; it must not block. */
int net_split_create(struct net_backend *nb,
                     void (*to_old)(void *opaque, const uint8_t *frame, size_t len),
                     void *opaque, struct net_split **out);
void net_split_inject(struct net_split *s, const uint8_t *frame, size_t len);
/* The old side is gone: from now on every frame is this backend's. */
void net_split_end(struct net_split *s);
/* Frames that went each way (for messages and tests). */
uint64_t net_split_old_frames(const struct net_split *s);
/* After the backend is closed. */
void net_split_destroy(struct net_split *s);

/* The frame classifier itself (exposed for unit tests): 1 when a frame
 * from the guest belongs to an old connection, 0 when it is this side's,
 * 2 when both sides should see it (ARP). */
int net_split_classify_from_guest(struct net_split *s, const uint8_t *frame, size_t len);

#endif
