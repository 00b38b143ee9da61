/* Packing files into one tar (pax, sparse-aware, compressed by the name's
 * suffix): appliances (`hostel appliance pack`) and machine backups. */
#ifndef HOSTEL_PACK_H
#define HOSTEL_PACK_H

#include "lib/err.h"

/* The libarchive filter a name asks for: .tar, .tar.gz/.tgz, .tar.zst or
 * .hostel/.hostel-backup (zstd); -EINVAL with e set for another suffix. */
int pack_filter_for(const char *out, int *filter, struct err *e);

/* Writes the files rel[0..n) under dir, in that order, into out (through
 * out.tmp, fsync, rename; removed if hostel is interrupted).  Holes in
 * sparse files are not stored; permission bits are kept. */
int pack_files(const char *out, const char *dir, const char *const *rel, int n, struct err *e);

#endif
