#!/usr/bin/env bash
# A named machine made from the tiny appliance: its disk is a qcow2 overlay on
# the appliance's disk; what the guest writes survives a power-off and a new
# start, and the shared base stays untouched.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-am-XXXXXX)
trap '"$H" rm --force t >/dev/null 2>&1; rm -rf "$HOSTEL_HOME"' EXIT
. tests/lib/engines.sh
if ! engine=$(test_engine); then
  echo "FAIL: machines/appliance/engine (hostel engines found no engine that can run here: $(engine_why))"; exit 0
fi
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: machines/appliance/build (appliances/tiny/build.sh failed)"; exit 0
fi
base="$(pwd)/$BUILD/appliances/tiny/disk.img"
sum0=$(md5sum <"$base")
log="$HOSTEL_HOME/machines/t/console.log"
wait_log() { for _ in $(seq $(( $2 * 2 ))); do grep -q "$1" "$log" 2>/dev/null && return 0; sleep 0.5; done; return 1; }
session() {  # lines to type once the guest is ready; the console ends when it powers off
  local n; n=$(grep -c 'tiny: ready' "$log" 2>/dev/null); n=${n:-0}
  "$H" start t >/dev/null || return 1
  for _ in $(seq 600); do [ "$(grep -c 'tiny: ready' "$log")" -gt "$n" ] && break; sleep 0.5; done
  (sleep 1; printf '%s\r' "$@") | timeout 150 "$H" console t >/dev/null 2>&1
  for _ in $(seq 60); do [ "$("$H" info t --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" = stopped ] && return 0; sleep 0.5; done
  return 1
}
if "$H" create t --appliance tiny --engine "$engine" >/dev/null && [ -f "$HOSTEL_HOME/machines/t/disk.qcow2" ]; then
  echo "PASS: machines/appliance/create-from-appliance"
else
  echo "FAIL: machines/appliance/create-from-appliance (no overlay disk)"; exit 0
fi
mark="kept-$$"
session "echo $mark > /mnt/disk/f; sync; poweroff" || echo "FAIL: machines/appliance/first-boot (did not power off)"
session "cat /mnt/disk/f; poweroff" || echo "FAIL: machines/appliance/second-boot (did not power off)"
if grep -q "^$mark" <(tr -d '\r' <"$log"); then echo "PASS: machines/appliance/disk-kept"
else echo "FAIL: machines/appliance/disk-kept (the second boot did not find the file)"; tail -5 "$log"; fi
[ "$(md5sum <"$base")" = "$sum0" ] && echo "PASS: machines/appliance/base-untouched" \
  || echo "FAIL: machines/appliance/base-untouched (the appliance's disk changed)"
