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
# A host whose KVM takes no TSC from outside (docs/kvm-hosts.md: tsc-write):
# the test compares the TSC deadline apart and says so.  Found by kvm_quirks.
Q=$BUILD/tests/kvm_quirks
if [ -x "$Q" ]; then
  HOSTEL_KVM_QUIRK_TSC_WRITE=$(timeout -k 5 60 "$Q" --json 2>/dev/null | python3 -c '
import json, sys
q = json.load(sys.stdin).get("quirks", {}).get("tsc-write", {})
print(q.get("detail", "") if q.get("present") else "")' 2>/dev/null)
  export HOSTEL_KVM_QUIRK_TSC_WRITE
else
  echo "FAIL: kvm/state (no $Q: run make)"
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
