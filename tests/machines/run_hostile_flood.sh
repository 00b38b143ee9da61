#!/usr/bin/env bash
# Guests that flood (tests/guests/flood.c), as named machines on every
# engine here.  The console flood (COM1 and virtio-console, never waiting):
# the control socket still answers `info` within a bound, console.log stays
# within its documented bound (1 MiB, rotated once to console.log.1), a
# machine beside it goes on ticking, and `hostel stop --force` ends it;
# on emu, COM1 alone floods too (console.log then rotates on the vCPU thread).  The
# network flood (virtio-net, user networking): one machine under
# --net-limit bps=500K, then (make test-all) one under pps=300, each held within 20 % of its
# limit over about 4 s; meanwhile another machine's network answers an
# ARP request and the control socket stays responsive (docs/security.md).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
F="$(pwd)/$BUILD/guests/flood.elf"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-flood-XXXXXX)
names="beside fc fs fb fp"
cleanup() { for m in $names; do "$H" rm --force "$m" >/dev/null 2>&1; done; rm -rf "$HOSTEL_HOME"; }
trap cleanup EXIT
pass() { echo "PASS: flood/$1"; }
fail() { echo "FAIL: flood/$1 ($2)"; }
. tests/lib/machine_info.sh
. tests/lib/engines.sh
engines=$(engines_available)
[ -n "$engines" ] || { fail engine "no engine can run here: $(engine_why)"; exit 0; }
RESPONSE_MS=2000                       # the bound on `hostel info` under a flood
ticks() { grep -c '^tick ' "$HOSTEL_HOME/machines/beside/console.log" 2>/dev/null; }
# wait_log over console.log.1 too: a flood rotates its first lines away fast.
wait_any() {  # name, pattern, seconds
  for _ in $(seq $(( $3 * 10 ))); do
    cat "$HOSTEL_HOME/machines/$1/console.log.1" "$HOSTEL_HOME/machines/$1/console.log" 2>/dev/null |
      grep -aq "$2" && return 0
    sleep 0.1
  done
  return 1
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# The slowest of five `hostel info` answers, in ms (99999 when one failed).
slowest_info() {
  local worst=0 t0 t1
  for _ in 1 2 3 4 5; do
    t0=$(now_ms)
    timeout 10 "$H" info "$1" --json >/dev/null 2>&1 || { echo 99999; return; }
    t1=$(now_ms)
    [ $((t1 - t0)) -gt "$worst" ] && worst=$((t1 - t0))
    sleep 0.2
  done
  echo "$worst"
}
# The guest's time (ms, by the ACPI PM timer) of the last "flood-net: sent N
# at T ms, dry D" of machine $1, and its frames/s from its first line at
# 1.5 s or later to its last ("R frames/s over S ms, dry D": D the times in
# between the guest found its transmit ring empty).
flood_lines() { cat "$HOSTEL_HOME/machines/$1/console.log.1" "$HOSTEL_HOME/machines/$1/console.log" 2>/dev/null |
                  grep -a '^flood-net: sent [0-9]* at [0-9]* ms'; }
last_at() { local t; t=$(flood_lines "$1" | tail -1 | awk '{print $5}'); echo "${t:-0}"; }
net_rate() {
  flood_lines "$1" | python3 -c '
import sys
pts = [(int(w[2]), int(w[4]), int(w[7]) if len(w) > 7 else 0) for w in map(str.split, sys.stdin)]
pts = [p for p in pts if p[1] >= 1500]
if len(pts) < 2 or pts[-1][1] - pts[0][1] < 2000:
    print("0 frames/s (too few lines: %d), dry 0" % len(pts))
else:
    (n0, t0, d0), (n1, t1, d1) = pts[0], pts[-1]
    print("%.0f frames/s over %d ms, dry %d" % ((n1 - n0) * 1000.0 / (t1 - t0), t1 - t0, d1 - d0))'
}
# Stops machine $1 the hard way (the flood ignores the power button); "ok"
# when that took under 15 s and it is stopped.
stop_hard() {
  local t0=$(now_ms)
  timeout 30 "$H" stop "$1" --timeout 1 --force >/dev/null 2>&1
  local ms=$(( $(now_ms) - t0 ))
  [ "$(state "$1")" = stopped ] && [ "$ms" -lt 15000 ] && echo ok || echo "state $(state "$1") after $ms ms"
}

engine=$(test_engine)
# Every engine floods; the quick run checks the bytes/s limit, make test-all
# the packets/s one too (each takes some 9 s an engine).
limits="fb bps=500K 1000 512"
if [ -n "${HOSTEL_TEST_ALL:-}" ]; then limits="$limits
fp pps=300 200 300"
else
  for e in $engines; do echo "SKIP: flood/net-limit-pps-$e (under make test-all: HOSTEL_TEST_ALL=1)"; done
fi
"$H" create beside --kernel "$K" --engine "$engine" --memory 64M >/dev/null &&
  "$H" start beside >/dev/null && wait_log beside 'idle: ready' 60 || fail beside "the machine beside did not start"
for e in $engines; do
  # ---- the console -----------------------------------------------------
  "$H" rm --force fc >/dev/null 2>&1
  "$H" create fc --kernel "$F" --cmdline flood=1 --console virtio --engine "$e" --memory 64M >/dev/null &&
    "$H" start fc >/dev/null && wait_any fc '^flood [0-9]' 30 ||
    { fail "console-$e" "the flooding machine did not start"; continue; }
  t0=$(ticks)
  sleep 2
  w=$(slowest_info fc)
  [ "$w" -le $RESPONSE_MS ] && pass "console-info-answers-$e" ||
    fail "console-info-answers-$e" "the slowest of 5 'hostel info' took $w ms, over $RESPONSE_MS"
  log="$HOSTEL_HOME/machines/fc/console.log"
  size=$(stat -c %s "$log" 2>/dev/null || echo 0)
  old=$(stat -c %s "$log.1" 2>/dev/null || echo 0)
  # Bound: 1 MiB each (CONSOLE_LOG_MAX), one write of slack; rotated at least once.
  [ "$old" -gt 0 ] && [ "$size" -le $((1048576 + 65536)) ] && [ "$old" -le $((1048576 + 65536)) ] &&
    pass "console-log-bounded-$e" ||
    fail "console-log-bounded-$e" "console.log $size bytes, console.log.1 $old (1 MiB each, rotated once expected)"
  n=$(grep -ac '^flood [0-9]* x' "$log")
  [ "$n" -gt 0 ] && pass "console-flood-reaches-log-$e" || fail "console-flood-reaches-log-$e" "no flood line in console.log"
  [ "$(state beside)" = running ] && [ "$(ticks)" -gt "${t0:-0}" ] && pass "console-beside-unaffected-$e" ||
    fail "console-beside-unaffected-$e" "state $(state beside), ticks ${t0:-0} -> $(ticks)"
  r=$(stop_hard fc)
  [ "$r" = ok ] && pass "console-stop-$e" || fail "console-stop-$e" "$r"

  # Serial alone: console.log rotates on the vCPU thread, under its own
  # seccomp list.  On emu only, where COM1 is fast enough to pass 1 MiB in
  # seconds (under kvm every byte is an exit).
  if [ "$e" = emu ]; then
    "$H" rm --force fs >/dev/null 2>&1
    "$H" create fs --kernel "$F" --cmdline flood=1 --engine emu --memory 64M >/dev/null &&
      "$H" start fs >/dev/null && wait_any fs '^flood [0-9]' 30 ||
      fail "serial-$e" "the flooding machine did not start"
    for _ in $(seq 100); do [ -s "$HOSTEL_HOME/machines/fs/console.log.1" ] && break; sleep 0.1; done
    sleep 0.5
    [ -s "$HOSTEL_HOME/machines/fs/console.log.1" ] && [ "$(state fs)" = running ] &&
      pass "serial-log-rotates-$e" ||
      fail "serial-log-rotates-$e" "state $(state fs), console.log.1 $(stat -c %s "$HOSTEL_HOME/machines/fs/console.log.1" 2>&1): $(tail -1 "$HOSTEL_HOME/machines/fs/vmm.log" 2>/dev/null)"
    r=$(stop_hard fs)
    [ "$r" = ok ] && pass "serial-stop-$e" || fail "serial-stop-$e" "$r"
  fi

  # ---- the network -----------------------------------------------------
  # One flood at a time (two would share this host's cores): bps=500K with
  # 1000-byte frames (512 frames/s), then (test-all) pps=300 with 200-byte
  # frames.
  while read -r m limit size want <&3; do
    "$H" rm --force "$m" >/dev/null 2>&1
    "$H" create "$m" --kernel "$F" --cmdline "flood=2 size=$size" --net user --net-limit "$limit" \
        --engine "$e" --memory 64M >/dev/null && "$H" start "$m" >/dev/null &&
      wait_any "$m" 'flood-net: start' 30 || { fail "net-$m-$e" "the flooding machine did not start"; continue; }
    if [ "$m" = fb ]; then
      sleep 1
      w=$(slowest_info fb)
      [ "$w" -le $RESPONSE_MS ] && pass "net-info-answers-$e" ||
        fail "net-info-answers-$e" "the slowest of 5 'hostel info' took $w ms, over $RESPONSE_MS"
      out=$(timeout 60 "$H" run --engine "$engine" --kernel "$F" --cmdline arp=1 --net user </dev/null 2>&1)
      grep -q '^flood-arp: reply from 10.0.2.2' <<<"$out" && pass "net-beside-network-works-$e" ||
        fail "net-beside-network-works-$e" "no ARP reply on a second machine: $(tail -2 <<<"$out")"
    fi
    for _ in $(seq 200); do [ "$(last_at "$m")" -ge 5500 ] && break; sleep 0.1; done
    rate=$(net_rate "$m")
    r=${rate%% *} dry=${rate##* }
    lo=$((want * 8 / 10)) hi=$((want * 12 / 10))
    # Over the limit is always a failure.  Under it is the limit's fault only
    # if the guest kept its ring full (never found it empty): otherwise this
    # host was too busy to let the guest flood (a loaded host, not hostel).
    if [ "$r" -ge $lo ] && [ "$r" -le $hi ]; then pass "net-limit-${limit%%=*}-$e"
    elif [ "$r" -lt $lo ] && [ "$dry" -gt 0 ]; then
      echo "SKIP: flood/net-limit-${limit%%=*}-$e ($rate under --net-limit $limit: the guest found its ring empty $dry times, so this host was too busy for it to flood; load $(cut -d' ' -f1 /proc/loadavg))"
    else fail "net-limit-${limit%%=*}-$e" "$rate under --net-limit $limit with $size-byte frames, not $want +-20 %"; fi
    echo "flood/net-$e: $rate under --net-limit $limit, $size-byte frames (limit: $want frames/s)"
    r=$(stop_hard "$m")
    [ "$r" = ok ] && pass "net-stop-$m-$e" || fail "net-stop-$m-$e" "$r"
  done 3<<<"$limits"
done
exit 0
