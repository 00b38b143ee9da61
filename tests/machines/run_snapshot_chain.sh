#!/usr/bin/env bash
# Many snapshots in a row, and removing them (no guest needed: the machine
# stays stopped and qemu-io writes its disk between snapshots).  Forty
# snapshots, each after a write of its own number into its own 64 KiB;
# restoring the twentieth reads writes 1-20 and not 21-40; removing every
# snapshot but that one (newest first, then oldest first) merges or deletes
# every layer but its own, and removing it too leaves none; at each step the
# disk reads the same, and qemu-img check finds it clean.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-chain-XXXXXX)
trap '"$H" rm --force m >/dev/null 2>&1; rm -rf "$HOSTEL_HOME"' EXIT
pass() { echo "PASS: snapshot-chain/$1"; }
fail() { echo "FAIL: snapshot-chain/$1 ($2)"; }
for tool in qemu-io qemu-img; do
  command -v $tool >/dev/null || { echo "FAIL: snapshot-chain/tools (no $tool: tests/deps.sh installs qemu-utils)"; exit 0; }
done
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: snapshot-chain/build (appliances/tiny/build.sh failed)"; exit 0
fi
out=$("$H" create m --appliance tiny --engine emu 2>&1) || { fail create "$out"; exit 0; }
M=$HOSTEL_HOME/machines/m
D=$M/disk.qcow2
N=40
layers() { ls "$M" | grep -c '\.L.*\.qcow2$'; }
# Pattern i at 8M + i*64K (the tiny disk's file system ends well below).
at() { echo $((8 * 1024 * 1024 + $1 * 65536)); }

ok=1
for i in $(seq 1 $N); do
  w=$(qemu-io -f qcow2 -c "write -P $i $(at "$i") 64k" "$D" 2>&1) || { ok=0; fail take-40 "write $i: $w"; break; }
  o=$("$H" snapshot m "t$i" 2>&1) || { ok=0; fail take-40 "snapshot $i: $o"; break; }
done
[ $ok = 1 ] && { [ "$(layers)" = $N ] && pass take-40 || fail take-40 "$(layers) layers"; }

# reads I FIRST LAST: pattern I at its place for FIRST..LAST, zeros after.
reads() {
  local bad=""
  for i in $(seq 1 $N); do
    if [ "$i" -le "$1" ]; then p=$i; else p=0; fi
    r=$(qemu-io -r -f qcow2 -c "read -P $p $(at "$i") 64k" "$D" 2>&1)
    case "$r" in *"Pattern verification failed"*|*rror*) bad="$bad $i";; esac
  done
  echo "$bad"
}
o=$("$H" snapshot restore m t20 2>&1)
bad=$(reads 20)
[ -z "$bad" ] && pass restore-20th || fail restore-20th "$o; wrong at:$bad"

qemu-img convert -U -O raw "$D" "$HOSTEL_HOME/flat.raw"
same() { qemu-img compare -U "$D" "$HOSTEL_HOME/flat.raw" >/dev/null 2>&1; }
ok=1
for i in $(seq $N -1 21) $(seq 1 19); do
  o=$("$H" snapshot rm m "t$i" 2>&1) || { ok=0; fail rm-all-but-one "rm t$i: $o"; break; }
  case "$o" in *warning*) ok=0; fail rm-all-but-one "rm t$i: $o"; break;; esac
  same || { ok=0; fail rm-all-but-one "the disk reads otherwise after rm t$i"; break; }
done
[ $ok = 1 ] && { [ "$(layers)" = 1 ] && pass rm-all-but-one || fail rm-all-but-one "$(layers) layers left: $(ls "$M")"; }
bad=$(reads 20)
[ -z "$bad" ] && pass reads-after-merges || fail reads-after-merges "wrong at:$bad"
o=$("$H" snapshot rm m t20 2>&1)
if [ "$(layers)" = 0 ] && same; then pass rm-last; else fail rm-last "$o; $(layers) layers"; fi
c=$(qemu-img check "$D" 2>&1) && pass qemu-img-check || fail qemu-img-check "$c"
depth=$(qemu-img info --backing-chain -U "$D" | grep -c '^image:')
[ "$depth" = 2 ] && pass chain-back-to-2 || fail chain-back-to-2 "$depth images in the chain"
