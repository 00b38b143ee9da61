#!/usr/bin/env bash
# A Linux guest writes through virtio-blk to a qcow2 overlay hostel made on
# the tiny appliance's raw disk: the file lands in the overlay, the base is
# untouched, and qemu-img check finds no errors.  Needs the tiny appliance
# (built here when missing; cached) on the engine --engine auto picks.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
app="$BUILD/appliances/tiny"
if ! appliances/tiny/build.sh "$(pwd)/$app" >/dev/null 2>&1; then
  echo "FAIL: guest_qcow2_overlay (appliances/tiny/build.sh failed)"; exit 0
fi
if ! grep -q '"file": "disk.img", "format": "raw"' "$app/appliance.json"; then
  echo "FAIL: guest_qcow2_overlay (the tiny appliance's manifest no longer names a raw disk.img)"; exit 0
fi
if ! command -v qemu-img >/dev/null; then echo "SKIP: guest_qcow2_overlay (no qemu-img)"; exit 0; fi
. tests/lib/engines.sh
engine=$(test_engine) || { echo "FAIL: guest_qcow2_overlay (hostel engines found no engine that can run here: $(engine_why))"; exit 0; }
TMPBASE=/tmp; [ -d /dev/shm ] && [ -w /dev/shm ] && TMPBASE=/dev/shm
work=$(mktemp -d "$TMPBASE/hostel-guest-qcow2.XXXXXX"); trap 'rm -rf "$work"' EXIT
cp -r --sparse=always "$app" "$work/tiny"
"$H" image create -b disk.img "$work/tiny/disk.qcow2" >/dev/null
sed -i 's/"file": "disk.img", "format": "raw"/"file": "disk.qcow2", "format": "qcow2"/' "$work/tiny/appliance.json"
mark="qcow2-mark-$$"
log=$(tests/e2e/console.py 300 -- "$H" run --engine "$engine" "$work/tiny" <<STEPS
expect tiny: ready
send echo $mark > /mnt/disk/qcow2-note; sync; cat /mnt/disk/qcow2-note
expect $mark
send poweroff
STEPS
)
rc=$?
if [ $rc -ne 0 ]; then echo "FAIL: guest_qcow2_overlay (guest run failed)"; echo "$log" | tail -15; exit 0; fi
if ! qemu-img check "$work/tiny/disk.qcow2" >/dev/null; then
  echo "FAIL: guest_qcow2_overlay (qemu-img check found errors)"; exit 0
fi
qemu-img convert -O raw "$work/tiny/disk.qcow2" "$work/out.raw"
if grep -q "$mark" "$work/out.raw" && ! grep -q "$mark" "$work/tiny/disk.img"; then
  echo "PASS: guest_qcow2_overlay ($engine)"
else echo "FAIL: guest_qcow2_overlay (the file is not in the overlay, or the base changed)"; fi
