#!/usr/bin/env bash
# A hostile guest (tests/guests/hostile.c) breaks its virtio-blk's rules:
# a descriptor chain that loops, buffers outside RAM and on the device's own
# MMIO, a read over the queue's own descriptor table, overlapping DMA.  On
# every engine here: hostel stays up, the device marks itself broken
# (NEEDS_RESET, which the guest sees) and the log says so, the device works
# again after the guest resets it, and a named machine running beside it
# goes on ticking (docs/security.md).  The same guest proves the device
# workers' narrower seccomp list kills with the name (its test hook).
# tests/guests/hostile_dev.c does the same to virtio-net, virtio-console
# (its receive queue walked by input the script types) and virtio-rng, and
# lies in their own ways (frames too short or too long,
# receive buffers read-only or over the rings).  tests/guests/hostile_bar.c
# places a BAR over RAM, the LAPIC, the IOAPIC and another device's BAR: RAM
# stays RAM, the others keep their place, one log line, and the device works
# once the BAR is moved back.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
G="$(pwd)/$BUILD/guests/hostile.elf"
D="$(pwd)/$BUILD/guests/hostile_dev.elf"
B="$(pwd)/$BUILD/guests/hostile_bar.elf"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-hostile-XXXXXX)
trap '"$H" rm --force beside >/dev/null 2>&1; rm -rf "$HOSTEL_HOME"' EXIT
pass() { echo "PASS: hostile/$1"; }
fail() { echo "FAIL: hostile/$1 ($2)"; }
. tests/lib/machine_info.sh
. tests/lib/engines.sh
engines=$(engines_available)
[ -n "$engines" ] || { fail engine "no engine can run here: $(engine_why)"; exit 0; }
engine=$(test_engine)
ticks() { grep -c '^tick ' "$HOSTEL_HOME/machines/beside/console.log" 2>/dev/null; }

"$H" create beside --kernel "$K" --engine "$engine" --memory 64M >/dev/null &&
  "$H" start beside >/dev/null && wait_log beside 'idle: ready' 60 || fail beside "the machine beside did not start"
truncate -s 1M "$HOSTEL_HOME/disk.img"
# Sector k's byte i is 37k + i (mod 256): the overlapping read's order shows.
python3 -c 'import sys; open(sys.argv[1], "r+b").write(bytes((37 * k + i) & 255 for k in range(2) for i in range(512)))' \
  "$HOSTEL_HOME/disk.img"
for e in $engines; do
  t0=$(ticks)
  out=$(timeout 120 "$H" run --engine "$e" --kernel "$G" --disk "$HOSTEL_HOME/disk.img" 2>&1)
  rc=$?
  if [ $rc -eq 1 ] && grep -q '^hostile: ok' <<<"$out"; then pass "survives-$e"
  else fail "survives-$e" "exit status $rc: $(tail -3 <<<"$out")"; fi
  miss=""
  for c in loop outside-ram mmio; do grep -q "^hostile: $c: needs reset" <<<"$out" || miss="$miss $c"; done
  [ -z "$miss" ] && pass "needs-reset-$e" || fail "needs-reset-$e" "no NEEDS_RESET for:$miss"
  n=$(grep -c 'virtio-blk: queue 0: the guest gave a malformed descriptor chain.*marked broken (NEEDS_RESET)' <<<"$out")
  [ "$n" -ge 3 ] && pass "logged-$e" || fail "logged-$e" "$n log lines naming the broken device, not 3 or more"
  # Overlapping DMA: answered in chain order, or refused with NEEDS_RESET.
  grep -Eq '^hostile: overlapping-dma: (in chain order|needs reset)' <<<"$out" && pass "overlapping-dma-$e" ||
    fail "overlapping-dma-$e" "$(grep overlapping-dma <<<"$out" | tail -1)"
  grep -q '^hostile: after-reset: answered, status 0' <<<"$out" && pass "works-after-reset-$e" ||
    fail "works-after-reset-$e" "$(grep after-reset <<<"$out")"
  # The device worker's own seccomp list (docs/security.md): its test hook.
  out=$(HOSTEL_TEST_FORBIDDEN_SYSCALL=worker timeout 120 "$H" run --engine "$e" --kernel "$G" --disk "$HOSTEL_HOME/disk.img" 2>&1)
  rc=$?
  [ $rc -eq 159 ] && grep -q 'sandbox: the VMM made system call unlinkat (263) on thread device worker' <<<"$out" &&
    pass "worker-thread-narrower-$e" ||
    fail "worker-thread-narrower-$e" "exit status $rc, not 159 (SIGSYS), or no line naming unlinkat on the device worker: $(tail -2 <<<"$out")"
  # The other devices: each refused chain marks its device broken once, with
  # a config interrupt; each device works after the guest resets it.
  out=$(timeout 120 "$H" run --engine "$e" --kernel "$D" --cmdline conin=1 --net user --console virtio \
        --rng on <<<"console-input" 2>&1)
  rc=$?
  if [ $rc -eq 1 ] && grep -q '^hostile-dev: ok' <<<"$out"; then pass "devices-survive-$e"
  else fail "devices-survive-$e" "exit status $rc: $(grep -v '^hostel: warning' <<<"$out" | tail -2)"; fi
  miss=""
  for c in "net tx-" "net rx-" "console tx-" "console rx-" "rng "; do
    for k in loop outside-ram mmio; do
      grep -q "^hostile-dev: $c$k: needs reset, config interrupt" <<<"$out" || miss="$miss '$c$k'"
    done
  done
  [ -z "$miss" ] && pass "devices-needs-reset-$e" || fail "devices-needs-reset-$e" "no NEEDS_RESET with a config interrupt for:$miss"
  logs=""
  # rng: 3 cases and 100 breakages in a loop; the log names the first 10
  # and says it stops (VIRTIO_BREAKAGES_LOGGED).
  grep -q '^hostile-dev: rng broken and reset 100 times' <<<"$out" &&
    grep -q 'virtio-rng: the guest broke the device 11 times; further breakages are not logged' <<<"$out" ||
    logs="no line saying the rng's further breakages are not logged;"
  for d in net:6 console:6 rng:10; do
    n=$(grep -c "virtio-${d%:*}: queue [01]: the guest gave a malformed descriptor chain.*marked broken (NEEDS_RESET)" <<<"$out")
    [ "$n" -eq "${d#*:}" ] || logs="$logs virtio-${d%:*}: $n lines, not ${d#*:};"
  done
  [ -z "$logs" ] && pass "devices-logged-once-$e" || fail "devices-logged-once-$e" "$logs"
  lies=""
  for c in "net tx-short: answered" "net tx-long: answered" "net rx-read-only: answered, 0 bytes" \
           "net rx-over-descriptors:" "net rx-over-used: done" "console tx-write-only: answered" \
           "rng read-only: answered, 0 bytes" "rng over-used: done"; do
    grep -q "^hostile-dev: $c" <<<"$out" || lies="$lies '$c'"
  done
  [ -z "$lies" ] && pass "devices-lies-answered-$e" || fail "devices-lies-answered-$e" "missing:$lies"
  for d in "net works after reset: ARP reply" "console tx works after reset" "console rx works after reset" \
           "rng works after reset"; do
    k=$(awk '{print $1 ($2 ~ /^[rt]x$/ ? "-" $2 : "")}' <<<"$d")
    grep -q "^hostile-dev: $d" <<<"$out" && pass "works-after-reset-$k-$e" ||
      fail "works-after-reset-$k-$e" "no line '$d'"
  done
  # BARs where they must not decode.
  out=$(timeout 120 "$H" run --engine "$e" --kernel "$B" --console virtio --rng on </dev/null 2>&1)
  rc=$?
  if [ $rc -eq 1 ] && grep -q '^hostile-bar: ok' <<<"$out"; then pass "bar-survives-$e"
  else fail "bar-survives-$e" "exit status $rc: $(tail -2 <<<"$out")"; fi
  for c in "over-ram: RAM stays RAM" "over-lapic: the LAPIC stays" "over-ioapic: the IOAPIC stays" \
           "over-another: the first device keeps its BAR" "over-another: the second decodes once"; do
    k=${c%%:*}; [ "${c#*the }" = "second decodes once" ] && k=$k-then-the-other
    grep -q "^hostile-bar: $c" <<<"$out" && pass "bar-$k-$e" || fail "bar-$k-$e" "no line '$c'"
  done
  n=$(grep -c '^hostile-bar: rng works after' <<<"$out")
  [ "$n" -eq 4 ] && pass "bar-works-when-moved-back-$e" || fail "bar-works-when-moved-back-$e" "$n of 4 moves back worked"
  n=$(grep -c 'PCI virtio-rng: the guest placed BAR 4 at 0x800000, over guest RAM; it stays unmapped' <<<"$out")
  m=$(grep -c 'PCI virtio-rng: ' <<<"$out")
  [ "$n" -eq 1 ] && [ "$m" -eq 1 ] && pass "bar-logged-once-$e" ||
    fail "bar-logged-once-$e" "$n lines naming the BAR over RAM, $m about the rng's BARs in all; 1 each expected"
  for _ in $(seq 50); do [ "$(ticks)" -gt "${t0:-0}" ] && break; sleep 0.1; done
  [ "$(state beside)" = running ] && [ "$(ticks)" -gt "${t0:-0}" ] && pass "beside-unaffected-$e" ||
    fail "beside-unaffected-$e" "state $(state beside), ticks ${t0:-0} -> $(ticks)"
done
exit 0
