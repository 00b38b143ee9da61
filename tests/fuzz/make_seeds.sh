#!/usr/bin/env bash
# Makes the seed inputs of tests/fuzz/corpus/T from real inputs: what a
# guest driver, hostel itself or qemu-img would produce.  Run once by hand
# (after `make all`); the seeds, and what the campaign found (merged with
# -merge=1), are kept in the repo.  Usage: make_seeds.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
C=tests/fuzz/corpus
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(virtq share qcow2 blk rng console net scsi pci loader control snapshot migrate archive)
T=$(mktemp -d /tmp/hostel-seeds.XXXXXX)
trap 'rm -rf "$T"' EXIT

seed_virtq() {   # rings as a guest driver lays them (layout in fuzz_virtq.c)
  python3 - "$C/virtq" <<'EOF'
import struct, sys, os
out = sys.argv[1]
def img(qlog, flags, last, avail, descs, tables={}):
    ram = bytearray(0x1000 + 16 * len(descs))
    struct.pack_into('<HH', ram, 0, 0, avail[0])
    for i, h in enumerate(avail[1]):
        struct.pack_into('<H', ram, 4 + 2 * i, h)
    for i, (a, l, f, n) in enumerate(descs):
        struct.pack_into('<QIHH', ram, 0x1000 + 16 * i, a, l, f, n)
    for at, ents in tables.items():
        if len(ram) < at + 16 * len(ents):
            ram += bytes(at + 16 * len(ents) - len(ram))
        for i, (a, l, f, n) in enumerate(ents):
            struct.pack_into('<QIHH', ram, at + 16 * i, a, l, f, n)
    return bytes([qlog, flags]) + struct.pack('<H', last) + bytes(ram)
N, W, I = 1, 2, 4
seeds = {
    'two-chains': img(2, 0, 0, (2, [0, 2]), [(0x8000, 16, N, 1), (0x9000, 512, W, 0),
                                               (0x8100, 16, N, 3), (0x9400, 1, W, 0)]),
    'indirect': img(3, 1, 0, (1, [0]), [(0x2000, 48, I, 0)],
                    {0x2000: [(0x8000, 16, N, 1), (0x9000, 4096, N | W, 2), (0x9f00, 1, W, 0)]}),
    'event-idx-wrap': img(1, 2, 0xffff, (0, [1, 0]), [(0x8000, 64, 0, 0), (0x8100, 64, W, 0)]),
    'ring-at-ram-end': img(4, 4, 0, (1, [0]), [(0x1ffff0, 16, 0, 0)]),
}
for k, v in seeds.items():
    open(os.path.join(out, k), 'wb').write(v)
EOF
}

# Virtio requests in fuzz_virtio.h's format: byte 0 the features, then runs
# of [queue][segment records] separated by 0xff; a record is [flags][len
# le16] then, for a readable segment, its bytes (flags: 1 writable, 2 last).
VIRTIO_PY='
import struct, sys, os
def seg(data=None, wlen=0, last=False):
    if data is None:
        return bytes([1 | (2 if last else 0)]) + struct.pack("<H", wlen)
    return bytes([2 if last else 0]) + struct.pack("<H", len(data)) + data
def req(*segs):
    return b"".join(segs)
def run(q, *reqs):
    return bytes([q]) + b"".join(reqs)
def write(out, seeds, features=0xff):
    for k, v in seeds.items():
        open(os.path.join(out, k), "wb").write(bytes([features]) + b"\xff".join(v))
'

seed_blk() {     # what Linux's virtio_blk sends
  python3 - "$C/blk" <<EOF
$VIRTIO_PY
out = sys.argv[1]
def hdr(t, sector=0): return struct.pack("<IIQ", t, 0, sector)
st = seg(wlen=1, last=True)
write(out, {
  "read": [run(0, req(seg(hdr(0, 1)), seg(wlen=512), st), req(seg(hdr(0, 8)), seg(wlen=4096), st))],
  "write-then-read": [run(0, req(seg(hdr(1, 2)), seg(b"hostel" * 100 + bytes(912)), st)),
                      run(0, req(seg(hdr(0, 2)), seg(wlen=1024), st))],
  "flush-getid": [run(0, req(seg(hdr(4)), st), req(seg(hdr(8)), seg(wlen=20), st))],
  "discard-wz": [run(0, req(seg(hdr(11) + struct.pack("<QII", 4, 8, 0)), st),
                        req(seg(hdr(13) + struct.pack("<QII", 16, 8, 1) + struct.pack("<QII", 100, 2, 0)), st))],
  "bad": [run(0, req(seg(hdr(99)), st), req(seg(hdr(0, 1 << 40)), seg(wlen=512), st),
                 req(seg(b"short"), st))],
})
EOF
}

seed_rng() {     # hwrng reads: one writable buffer, or several
  python3 - "$C/rng" <<EOF
$VIRTIO_PY
write(sys.argv[1], {
  "read": [run(0, req(seg(wlen=64, last=True)), req(seg(wlen=4096, last=True)))],
  "odd": [run(0, req(seg(b"readable"), seg(wlen=16), seg(wlen=3, last=True)),
               req(seg(b"only-readable", last=True)))],
})
EOF
}

seed_console() { # hvc: receive buffers, output, then input arriving (queue 0x80)
  python3 - "$C/console" <<EOF
$VIRTIO_PY
write(sys.argv[1], {
  "output": [run(1, req(seg(b"hello from the guest\n", last=True)), req(seg(b"a"), seg(b"b", last=True)))],
  "input": [run(0, req(seg(wlen=64, last=True)), req(seg(wlen=1, last=True))),
            run(0x80, b"typed on the host\n" * 5)],
})
EOF
}

seed_net() {     # frames out (header + Ethernet), receive buffers, frames in (queue 0x81)
  python3 - "$C/net" <<EOF
$VIRTIO_PY
hdr = bytes(12)
arp = bytes.fromhex("ffffffffffff525400123456 0806 0001 0800 06 04 0001 525400123456 0a00020f 000000000000 0a000202".replace(" ", ""))
udp = bytes.fromhex("525400123456 525500000002 0800".replace(" ", "")) + bytes.fromhex("4500001c000100004011000000000000ffffffff") + bytes(8)
write(sys.argv[1], {
  "tx": [run(1, req(seg(hdr + arp, last=True)), req(seg(hdr), seg(udp, last=True)))],
  "rx-merge": [run(0, req(seg(wlen=1526, last=True)), req(seg(wlen=64, last=True)), req(seg(wlen=64, last=True))),
               run(0x81, arp + bytes(100)), run(0x81, udp * 20)],
}, features=0xff)
write(sys.argv[1], {
  "rx-plain": [run(0, req(seg(wlen=12), seg(wlen=1514, last=True))), run(0x81, arp + bytes(40))],
}, features=0xfd)   # no MRG_RXBUF
EOF
}

seed_scsi() {    # what Linux's virtio_scsi and sr drivers send a CD-ROM (queue 2: requests)
  python3 - "$C/scsi" <<EOF
$VIRTIO_PY
lun = bytes([1, 0, 0, 0, 0, 0, 0, 0])
def cmd(cdb, data_in):
    h = lun + struct.pack("<Q", 7) + bytes(3) + cdb + bytes(32 - len(cdb))
    return req(seg(h), seg(wlen=108), seg(wlen=data_in, last=True)) if data_in else req(seg(h), seg(wlen=108, last=True))
write(sys.argv[1], {
  "probe": [run(2, cmd(bytes([0x12, 0, 0, 0, 36, 0]), 36), cmd(bytes(6), 0), cmd(bytes([0x25]) + bytes(9), 8),
                 cmd(bytes([0x03, 0, 0, 0, 96, 0]), 96))],
  "read-toc": [run(2, cmd(bytes([0x28, 0, 0, 0, 0, 16, 0, 0, 1, 0]), 2048),
                    cmd(bytes([0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0]), 804),
                    cmd(bytes([0x46, 0x02, 0, 0, 0, 0, 0, 0, 0x20, 0]), 32),
                    cmd(bytes([0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 0x80, 0]), 128))],
  "control-write": [run(0, req(seg(struct.pack("<II", 0, 0) + lun + struct.pack("<Q", 9)), seg(wlen=1, last=True))),
                    run(2, req(seg(lun + bytes(11) + bytes([0x2a]) + bytes(31)), seg(b"data" * 128), seg(wlen=108, last=True)))],
})
EOF
}

seed_pci() {     # what firmware and Linux do: size and place BARs, enable, set up a queue
  python3 - "$C/pci" <<'EOF'
import struct, sys, os
out = sys.argv[1]
def op(o, size, off, v): return struct.pack("<BBHI", o, {1: 0, 2: 1, 4: 2, 8: 3}[size], off, v & 0xffffffff)
def cfg(slot, reg): return op(0, 4, 0, 0x80000000 | slot << 11 | reg)
def place(slot, base):
    return (cfg(slot, 0) + op(2, 4, 0, 0) + cfg(slot, 0x20) + op(1, 4, 0, 0xffffffff) + op(2, 4, 0, 0) +
            op(1, 4, 0, base) + cfg(slot, 0x24) + op(1, 4, 0, 0) + cfg(slot, 0x04) + op(1, 2, 0, 6) +
            cfg(slot, 0x34) + op(2, 1, 0, 0))
def mmio(off, size, v): return op(3, size, off, v)
queue = (mmio(0x14, 1, 0) + mmio(0x14, 1, 1) + mmio(0x14, 1, 3) + mmio(0x08, 4, 1) + mmio(0x0c, 4, 1) +
         mmio(0x14, 1, 11) + mmio(0x16, 2, 0) + mmio(0x18, 2, 16) + mmio(0x20, 4, 0x10000) +
         mmio(0x28, 4, 0x10100) + mmio(0x30, 4, 0x11000) + mmio(0x1c, 2, 1) + mmio(0x14, 1, 15) +
         mmio(0x3000, 2, 0) + op(4, 1, 0x1000, 0) + mmio(0x4000, 4, 0xfee00000) + mmio(0x400c, 4, 0))
seeds = {
  "place-bars": place(1, 0xe0000000) + place(2, 0xe0008000),
  "rng-queue": place(1, 0xe0000000) + queue,
  "blk-queue-reset": place(2, 0xe0000000) + queue + mmio(0x14, 1, 0) + op(5, 1, 0xcf9, 6),
  "sizing-probe": place(1, 0xfffffff0) + cfg(1, 0x10) + op(1, 4, 0, 0xffffffff) + cfg(1, 0x24) + op(1, 4, 0, 0xffffffff),
}
for k, v in seeds.items():
    open(os.path.join(out, k), "wb").write(v)
EOF
}

seed_loader() {  # the unit tests' images (loader_images.h) and stripped test guests
  cat > "$T/seeds.c" <<'EOF'
#include <stdio.h>
#include "loader_images.h"
static void put(const char *dir, const char *name, uint8_t pre, const uint8_t *b, size_t len)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(&pre, 1, 1, f) != 1 || fwrite(b, 1, len, f) != len || fclose(f))
        exit(1);
}
int main(int argc, char **argv)
{
    (void)argc;
    size_t len;
    uint8_t *b = t_make_bzimage(&len);
    put(argv[1], "bzimage", 0, b, len);
    put(argv[1], "bzimage-initrd", 4 | 16, b, len);
    uint8_t *e = t_sample_elf64(&len);
    put(argv[1], "elf64", 0, e, len);
    uint8_t *m = t_sample_multiboot_elf32(&len);
    put(argv[1], "multiboot-elf32", 2, m, len);
    uint8_t *k = t_sample_multiboot_kludge(&len);
    put(argv[1], "multiboot-kludge", 0, k, len);
    return 0;
}
EOF
  gcc -std=gnu11 -Isrc -Itests/unit -D_GNU_SOURCE -o "$T/seeds" "$T/seeds.c" "$BUILD/libhostel.a" -lpthread -lm
  "$T/seeds" "$C/loader"
  for g in hello acpi; do     # real kernels: the 32-bit Multiboot and a 64-bit test guest
    if [ -f "$BUILD/guests/$g.elf" ]; then
      strip -o "$T/$g" "$BUILD/guests/$g.elf"
      { printf '\0'; cat "$T/$g"; } > "$C/loader/guest-$g"
    fi
  done
}

seed_control() { # what hostel's CLI sends (docs/api.md), and some that it never would
  python3 - "$C/control" <<'EOF'
import sys, os
out = sys.argv[1]
seeds = {
  "status": b'{"op":"status"}\n',
  "every-op": b"".join(b'{"op":"%s"}\n' % op for op in
      [b"status", b"pause", b"resume", b"stop", b"kill", b"console", b"snapshot", b"save",
       b"restore", b"migrate", b"migrate_cancel", b"nope"]),
  "snapshot-args": b'{"op":"snapshot","name":"before-upgrade"}\n{"op":"migrate","to":"tcp:10.0.0.2:4444","live":true}\n',
  "malformed": b'{"op":\n[1,2]\n{"op":7}\n\n"status"\n{"op":"status","x":{"y":[null,1e999,"\\u0000"]}}\n',
  "subscribe": b'{"op":"subscribe"}\n{"op":"status"}\n',
}
for k, v in seeds.items():
    open(os.path.join(out, k), "wb").write(v)
EOF
}

LINK=(-lpthread -lm -ljansson -larchive -lyaml -lvncserver -lmicrohttpd -lnettle -lseccomp -lz -lzstd -lslirp)

# The state file hostel saves of fuzz_snapshot.h's machine; a sender's stream
# for it (HELLO, a RAM batch, the state).
seed_state() {
  [ -x "$T/seed_state" ] || gcc -std=gnu11 -O1 -Isrc -Itests/unit -Itests/fuzz -D_GNU_SOURCE \
    -o "$T/seed_state" tests/fuzz/seed_state.c "$BUILD/libhostel.a" "${LINK[@]}"
  "$T/seed_state" "$@"
}
seed_snapshot() { seed_state snapshot "$C/snapshot/fresh-machine"; }
seed_migrate() { seed_state migrate "$C/migrate/hello-ram-state"; }

seed_share() {   # FUSE request runs, from tests/unit/test_share_fuzz.c's generator
  "$BUILD/tests/unit/test_share_fuzz" --seeds "$C/share" 24
}

seed_qcow2() {   # small images from qemu-img (and hostel, when built)
  if [ -x "$BUILD/hostel" ]; then
    "$BUILD/hostel" image create -c 512 "$C/qcow2/hostel-64k.qcow2" 64K >/dev/null
  fi
  head -c 3000 /dev/urandom > "$T/r.raw"; { yes hostel || true; } | head -c 2000 >> "$T/r.raw"
  truncate -s 16K "$T/r.raw"
  qemu-img convert -c -O qcow2 -o cluster_size=512 "$T/r.raw" "$C/qcow2/compressed.qcow2"
  qemu-img convert -O qcow2 -o compat=0.10,cluster_size=512 "$T/r.raw" "$C/qcow2/v2.qcow2"
  qemu-img convert -O qcow2 -o cluster_size=512,lazy_refcounts=on "$T/r.raw" "$C/qcow2/lazy.qcow2"
  qemu-img create -q -f qcow2 -o cluster_size=512 "$C/qcow2/empty.qcow2" 1M
  qemu-img create -q -f qcow2 -o cluster_size=512 -b "$T/r.raw" -F raw "$C/qcow2/backing.qcow2"
}

for t in "${targets[@]}"; do
  mkdir -p "$C/$t"
  "seed_$t"
  echo "$t: $(ls "$C/$t" | wc -l) inputs, $(du -sk "$C/$t" | cut -f1) KiB"
done
