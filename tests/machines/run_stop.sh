#!/usr/bin/env bash
# `hostel stop` without --force on the default appliance: the ACPI power button
# must make tiny shut down on its own (acpid, init's shutdown, the data disk
# unmounted) and power off.  A file written on the console just before the
# stop, never synced, must be on the disk after, and the disk's ext4 clean.
# `poweroff` at the shell must shut down as cleanly.  Uses the default engine
# (auto), as a user does.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
A="$(pwd)/$BUILD/appliances/tiny"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-stop-XXXXXX)
cpid=""
trap '[ -n "$cpid" ] && kill "$cpid" 2>/dev/null; "$H" stop m --force --timeout 1 >/dev/null 2>&1; "$H" rm --force m >/dev/null 2>&1; rm -rf "$HOSTEL_HOME"' EXIT
cases="ready stop-returns stopped guest-shutdown console-ends disk-clean disk-note second-boot file-kept second-stop
       shell-poweroff shell-poweroff-disk-clean"
if ! appliances/tiny/build.sh "$A" >"$HOSTEL_HOME/build.log" 2>&1; then
  for t in $cases; do echo "SKIP: machines/stop/$t (the tiny appliance does not build here)"; done; exit 0
fi
pass() { echo "PASS: machines/stop/$1"; }
fail() { echo "FAIL: machines/stop/$1 ($2)"; }
log="$HOSTEL_HOME/machines/m/console.log"
count() { local n; n=$(tr -d '\r' 2>/dev/null <"$log" | grep -c -- "$1"); echo "${n:-0}"; }
wait_count() {  # pattern, more than this many, seconds
  for _ in $(seq $(( $3 * 10 ))); do [ "$(count "$1")" -gt "$2" ] && return 0; sleep 0.1; done; return 1
}
state() { "$H" info m --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
# boot: starts the machine and waits for tiny's shell prompt (not the first:
# the log keeps earlier boots).
boot() {
  local r=$(count 'tiny: ready') p=$(count 'tiny:/# ')
  "$H" start m >"$HOSTEL_HOME/start.log" 2>&1 && wait_count 'tiny: ready' "$r" 120 && wait_count 'tiny:/# ' "$p" 30
}
# stop: the power button, no --force; sets stop_rc and stop_s.
stop() {
  local t0=$(date +%s%N)
  timeout 90 "$H" stop m >"$HOSTEL_HOME/stop.log" 2>&1; stop_rc=$?
  stop_s=$(( ($(date +%s%N) - t0) / 1000000 ))
}
why_not() { cat "$HOSTEL_HOME/start.log" "$HOSTEL_HOME/stop.log"; tr -d '\r' <"$log" | tail -15; }

"$H" create m --appliance "$A" >/dev/null || { fail create "hostel create m --appliance $A failed"; exit 0; }
if boot; then pass ready
else fail ready "no 'tiny: ready' and shell prompt within 150 s"; why_not; exit 0; fi

# Write a file on the console, not synced, and stop as soon as it is written.
# The console client stays attached: it must end when the machine powers off.
mark="stop-$$-$RANDOM"
printf '%s\r' "echo $mark > /mnt/disk/note && echo wrote-\$((40+2))" | "$H" console m >/dev/null 2>&1 &
cpid=$!
wait_count 'wrote-42' 0 30 || fail write "the guest did not echo wrote-42 after writing /mnt/disk/note"
stop
if [ "$stop_rc" = 0 ]; then pass stop-returns
else fail stop-returns "hostel stop returned $stop_rc after $stop_s ms: $(cat "$HOSTEL_HOME/stop.log")"; fi
if [ "$(state)" = stopped ]; then pass stopped
else fail stopped "state is $(state)"; "$H" stop m --force --timeout 1 >/dev/null 2>&1; fi
missing=""
for l in 'acpid: PWRF/00000080' 'tiny: power button pressed' 'tiny: shutting down' \
         'tiny: /mnt/disk unmounted' 'reboot: Power down'; do
  [ "$(count "$l")" -gt 0 ] || missing+=" '$l'"
done
if [ -z "$missing" ]; then pass guest-shutdown
else fail guest-shutdown "the console log lacks$missing"; why_not; fi
for _ in $(seq 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$cpid" 2>/dev/null; then fail console-ends "hostel console still runs after the machine stopped"; kill "$cpid"
else pass console-ends; fi
wait "$cpid" 2>/dev/null; cpid=""

# The machine's disk (a qcow2 overlay on the appliance's), read on the host:
# disk_check CASE: a clean ext4, unmounted by the guest.
disk_check() {
  local raw="$HOSTEL_HOME/disk.raw"
  if ! "$H" image convert -O raw "$HOSTEL_HOME/machines/m/disk.qcow2" "$raw" >"$HOSTEL_HOME/fsck.log" 2>&1; then
    fail "$1" "hostel image convert of the machine's disk failed: $(cat "$HOSTEL_HOME/fsck.log")"
  elif dumpe2fs -h "$raw" 2>/dev/null | grep -q '^Filesystem features:.*needs_recovery'; then
    # e2fsck -n passes such a disk: it skips the journal.
    fail "$1" "the ext4 was not unmounted: its journal needs recovery"
  elif e2fsck -fn "$raw" >"$HOSTEL_HOME/fsck.log" 2>&1; then
    pass "$1"
  else fail "$1" "e2fsck -fn found the ext4 not clean"; tail -8 "$HOSTEL_HOME/fsck.log"; fi
}
e2fs=yes
command -v e2fsck >/dev/null && command -v dumpe2fs >/dev/null && command -v debugfs >/dev/null || e2fs=""
if [ -z "$e2fs" ]; then
  for t in disk-clean disk-note; do echo "SKIP: machines/stop/$t (no e2fsck, dumpe2fs or debugfs: install e2fsprogs)"; done
else
  disk_check disk-clean
  [ "$(debugfs -R 'cat /note' "$HOSTEL_HOME/disk.raw" 2>/dev/null)" = "$mark" ] && pass disk-note ||
    fail disk-note "/note on the stopped machine's disk does not hold $mark"
fi
rm -f "$HOSTEL_HOME/disk.raw"

# A second boot finds the file; the button works again.
if boot; then pass second-boot
else fail second-boot "no shell prompt on the second boot"; why_not; exit 0; fi
printf '%s\r' "cat /mnt/disk/note" | "$H" console m >/dev/null 2>&1 &
cpid=$!
if wait_count "^$mark" 0 30; then pass file-kept
else fail file-kept "the second boot did not find $mark in /mnt/disk/note"; tr -d '\r' <"$log" | tail -5; fi
stop
if [ "$stop_rc" = 0 ] && [ "$(state)" = stopped ] && [ "$(count 'reboot: Power down')" -ge 2 ]; then
  pass second-stop
else fail second-stop "hostel stop returned $stop_rc after $stop_s ms, state $(state)"; why_not
  "$H" stop m --force --timeout 1 >/dev/null 2>&1; fi
kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null; cpid=""

# `poweroff` typed at the shell takes the same way down, even from a shell
# whose working directory is on the data disk.
if ! boot; then fail shell-poweroff "no shell prompt on the third boot"; why_not; exit 0; fi
n=$(count 'tiny: /mnt/disk unmounted')
printf '%s\r' "cd /mnt/disk && poweroff" | "$H" console m >/dev/null 2>&1 &
cpid=$!
for _ in $(seq 300); do [ "$(state)" = stopped ] && break; sleep 0.1; done
if [ "$(state)" = stopped ] && [ "$(count 'tiny: /mnt/disk unmounted')" -gt "$n" ]; then pass shell-poweroff
else fail shell-poweroff "state $(state) 30 s after poweroff, or no 'tiny: /mnt/disk unmounted'"; why_not
  "$H" stop m --force --timeout 1 >/dev/null 2>&1; fi
kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null; cpid=""
if [ -n "$e2fs" ]; then disk_check shell-poweroff-disk-clean
else echo "SKIP: machines/stop/shell-poweroff-disk-clean (no e2fsprogs)"; fi
