#!/usr/bin/env bash
# The state formats on kvm (docs/snapshot-cpu.md): a guest paused mid-run on
# kvm is saved, loaded into a fresh kvm machine and into an emu machine, and
# both save the same bytes and run on; an emu vCPU loads into kvm and back.
# Skipped, by name, where `hostel engines` says kvm cannot run.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H=$BUILD/hostel
T=$BUILD/tests/kvm_state
. tests/lib/engines.sh

if [ ! -x "$T" ] || [ ! -x "$H" ]; then
  echo "FAIL: kvm/state (no $T or $H: run make)"
  exit 0
fi
why=$(engine_unavailable kvm)
if [ -n "$why" ]; then
  echo "SKIP: kvm/state (kvm is unavailable: $why)"
  exit 0
fi
# Under a slow nested /dev/kvm the guest runs a few hundred thousand
# instructions; the whole program takes a second or two.
out=$(timeout -k 5 120 "$T" 2>&1); rc=$?
echo "$out" | sed 's/^PASS: /PASS: kvm\/state-/; s/^FAIL: /FAIL: kvm\/state-/'
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "FAIL: kvm/state (did not finish within 120 s)"
elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL: ' <<<"$out"; then
  echo "FAIL: kvm/state (exit status $rc)"
fi
exit 0
