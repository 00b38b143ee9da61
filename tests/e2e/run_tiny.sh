#!/usr/bin/env bash
# The tiny appliance end to end, as `make run` boots it: build it from Debian
# packages, boot it, use the console, write a file to its data disk, power
# off, boot again and find the file; check its network lease.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: tiny/build (appliances/tiny/build.sh failed)"; exit 0
fi
echo "PASS: tiny/build"
. tests/lib/engines.sh
engine=$(test_engine) || { echo "FAIL: tiny/engine (hostel engines found no engine that can run here: $(engine_why))"; exit 0; }
# A private copy: the test writes to the appliance's disk.
work=$(mktemp -d /tmp/hostel-tiny-XXXXXX); trap 'rm -rf "$work"' EXIT
cp -r --sparse=always "$BUILD/appliances/tiny" "$work/tiny"
mark="persisted-$$"
log1=$(tests/e2e/console.py 600 -- "$H" run --engine "$engine" "$work/tiny" <<STEPS
expect tiny: ready
send uname -r; echo $mark > /mnt/disk/note; sync; cat /mnt/disk/README
expect cloud-amd64
expect belongs to the tiny appliance
send poweroff
STEPS
)
rc=$?
if [ $rc -eq 0 ]; then echo "PASS: tiny/boot"; else echo "FAIL: tiny/boot (see below)"; echo "$log1" | tail -20; fi
log2=$(tests/e2e/console.py 600 -- "$H" run --engine "$engine" "$work/tiny" <<STEPS
expect tiny: ready
send cat /mnt/disk/note
expect $mark
send poweroff
STEPS
)
rc=$?
if [ $rc -eq 0 ]; then echo "PASS: tiny/disk-persists"; else echo "FAIL: tiny/disk-persists (the file written in the first boot is gone)"; echo "$log2" | tail -20; fi
if grep -q 'tiny: eth0 10.0.2.15' <<<"$log1"; then echo "PASS: tiny/network"
else echo "FAIL: tiny/network (no DHCP lease 10.0.2.15 on eth0)"; grep 'tiny:' <<<"$log1"; fi
