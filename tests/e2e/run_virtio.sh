#!/usr/bin/env bash
# Boots Debian's stock kernel with virtio-blk (a read-write and a read-only
# disk), virtio-rng and virtio-console, and checks from inside the guest that
# the drivers bind and work: sizes, serial, reads, writes that reach the host
# file, the read-only disk refusing writes, entropy, hvc0 and MSI-X vectors.
# Under test-all it boots a second time with pci=nomsi to cover INTx.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$BUILD/hostel"
. tests/lib/engines.sh
engine=$(test_engine) || { echo "FAIL: virtio/linux (hostel engines found no engine that can run here: $(engine_why))"; exit 0; }
paths=$(scripts/linux-guest.sh cloud 2>/dev/null) || { echo "FAIL: virtio/linux (could not build the guest from Debian packages)"; exit 0; }
eval "$paths"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The test guest's initramfs with our own /init (modules in dependency order).
mkdir "$work/root"
(cd "$work/root" && zcat "$INITRD" | cpio -id --quiet)
cat > "$work/root/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || mdev -s
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         virtio_blk virtio_console virtio-rng; do
  for f in /lib/modules/$m.ko*; do [ -e "$f" ] && insmod "$f"; done
done
sleep 1
echo "devices: $(ls /sys/bus/virtio/devices | tr '\n' ' ')"
echo "vda-size: $(cat /sys/block/vda/size)"
echo "vdb-ro: $(cat /sys/block/vdb/ro)"
echo "vda-serial: $(cat /sys/block/vda/serial)"
echo "vda-head: $(head -c 18 /dev/vda)"
echo "written-by-guest" | dd of=/dev/vda bs=512 seek=100 conv=sync,fsync 2>/dev/null
echo "vda-readback: $(dd if=/dev/vda bs=512 skip=100 count=1 2>/dev/null | head -c 16)"
if echo x | dd of=/dev/vdb bs=512 conv=sync,fsync 2>/dev/null; then echo "vdb-write: accepted"; else echo "vdb-write: refused"; fi
echo "bigread: $(dd if=/dev/vda bs=1M count=16 2>/dev/null | wc -c)"
echo "rng: $(cat /sys/class/misc/hw_random/rng_current) $(head -c 16 /dev/hwrng | wc -c)"
echo "hello-from-hvc0" > /dev/hvc0
echo "msi-vectors: $(grep -c 'PCI-MSI.*virtio' /proc/interrupts)"
echo "VIRTIO-CHECK-DONE"
poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.img"

boot() {  # name, extra cmdline
  local name=$1 extra=$2 log="$work/log" why=""
  printf 'HOSTELDISK-SECTOR0' > "$work/a.img"; truncate -s 16M "$work/a.img"
  printf 'READONLY' > "$work/b.img"; truncate -s 1M "$work/b.img"
  timeout 600 "$H" run --engine "$engine" --memory 512M --kernel "$KERNEL" --initrd "$work/initrd.img" \
    --cmdline "console=ttyS0 panic=-1 quiet $extra" --disk "$work/a.img,format=raw" \
    --disk "$work/b.img,readonly=on" --console virtio --rng on --no-reboot --serial stdio \
    </dev/null 2>&1 | tr -d '\r' >"$log"
  local rc=${PIPESTATUS[0]}
  expect() { grep -qx -- "$1" "$log" || why="${why:+$why; }no '$1'"; }
  [ "$rc" -eq 0 ] || why="exit status $rc"
  expect "devices: virtio0 virtio1 virtio2 virtio3 "
  expect "vda-size: 32768"
  expect "vdb-ro: 1"
  expect "vda-serial: hostel-disk0"
  expect "vda-head: HOSTELDISK-SECTOR0"
  expect "vda-readback: written-by-guest"
  expect "vdb-write: refused"
  expect "bigread: 16777216"
  expect "rng: virtio_rng.0 16"
  expect "hello-from-hvc0"
  expect "VIRTIO-CHECK-DONE"
  [ "$(dd if="$work/a.img" bs=512 skip=100 count=1 2>/dev/null | head -c 16)" = "written-by-guest" ] ||
    why="${why:+$why; }the write did not reach the image file"
  if [ -z "$extra" ]; then expect "msi-vectors: 9"; else expect "msi-vectors: 0"; fi
  bad=$(grep -E 'WARNING: CPU|BUG:|Oops|Kernel panic|virtio.*(error|fail)' "$log" | head -3)
  [ -z "$bad" ] || why="${why:+$why; }kernel log: $bad"
  if [ -z "$why" ]; then echo "PASS: $name"; else echo "FAIL: $name ($why)"; tail -n 30 "$log"; fi
}

boot "virtio/linux-msix@$engine" ""
if [ -n "${HOSTEL_TEST_ALL:-}" ]; then
  boot "virtio/linux-intx@$engine" "pci=nomsi"
else
  echo "SKIP: virtio/linux-intx@$engine (runs under make test-all)"
fi
