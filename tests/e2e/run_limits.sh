#!/usr/bin/env bash
# Disk rate limits in a Linux guest (docs/isolation.md): the tiny appliance
# with two blank extra disks, one of them --disk size=80M,bps=10M.  dd
# reading 64 MiB from the limited one takes 6.4 s give or take 20 % (the
# guest's own /proc/uptime); the unlimited one reads the same faster, so
# the bound would fail without the limit.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: limits/build (appliances/tiny/build.sh failed)"; exit 0
fi
. tests/lib/engines.sh
engine=$(test_engine) || { echo "FAIL: limits/engine (no engine: $(engine_why))"; exit 0; }
work=$(mktemp -d /tmp/hostel-limits-XXXXXX); trap 'rm -rf "$work"' EXIT
cp -r --sparse=always "$BUILD/appliances/tiny" "$work/tiny"
read_cmd() {   # device: elapsed seconds of reading 64 MiB, between two markers
  echo "a=\$(cut -d' ' -f1 /proc/uptime); dd if=/dev/$1 of=/dev/null bs=64k count=1024 2>/dev/null; b=\$(cut -d' ' -f1 /proc/uptime); echo \"took-$1 \$a \$b\""
}
out=$(tests/e2e/console.py 600 -- "$H" run --engine "$engine" "$work/tiny" \
        --disk size=80M --disk size=80M,bps=10M <<STEPS
expect tiny: ready
send $(read_cmd vdb)
expect took-vdb
send $(read_cmd vdc)
expect took-vdc
send poweroff
STEPS
)
rc=$?
[ $rc -eq 0 ] && echo "PASS: limits/boot" || { echo "FAIL: limits/boot (see below)"; echo "$out" | tail -20; exit 0; }
secs() { grep -o "^took-$1 [0-9.]* [0-9.]*" <<<"$out" | tail -1 | awk '{printf "%.2f", $3 - $2}'; }
free=$(secs vdb) limited=$(secs vdc)
echo "# 64 MiB read: unlimited disk ${free:-?} s, bps=10M disk ${limited:-?} s (expected 6.4 s)"
if [ -n "$limited" ] && python3 -c "import sys; sys.exit(0 if 5.12 <= $limited <= 7.68 else 1)"; then
  echo "PASS: limits/disk-bps-holds"
else
  echo "FAIL: limits/disk-bps-holds (64 MiB at bps=10M took ${limited:-?} s, not 5.12..7.68)"
fi
if [ -n "$free" ] && [ -n "$limited" ] && python3 -c "import sys; sys.exit(0 if $free < $limited * 0.8 else 1)"; then
  echo "PASS: limits/unlimited-disk-faster"
else
  echo "FAIL: limits/unlimited-disk-faster (unlimited ${free:-?} s against limited ${limited:-?} s)"
fi
