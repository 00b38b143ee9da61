#!/usr/bin/env bash
# Named machines end to end: create, start detached, console attach and
# detach, ls, pause/resume, stop with the ACPI power button, restart, rm;
# concurrent starts, a VMM killed with SIGKILL, malformed control requests,
# and ten machines at once.  Uses the idle guest on the first engine that runs.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-mt-XXXXXX)
trap 'for m in $("$H" ls --json 2>/dev/null | python3 -c "import json,sys; [print(m[\"name\"]) for m in json.load(sys.stdin)]" 2>/dev/null); do "$H" rm --force "$m" >/dev/null 2>&1; done; rm -rf "$HOSTEL_HOME"' EXIT

pass() { echo "PASS: machines/$1"; }
fail() { echo "FAIL: machines/$1 ($2)"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi; }
state() { "$H" info "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
wait_log() {  # name, pattern, seconds
  for _ in $(seq $(( $3 * 10 ))); do grep -q "$2" "$HOSTEL_HOME/machines/$1/console.log" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# The engine --engine auto picks here (emu always exists).
. tests/lib/engines.sh
engine=$(test_engine)

# What needs no running guest.
check create "$H" create web --kernel "$K" --engine "${engine:-auto}" --memory 64M
out=$("$H" create web --kernel "$K" 2>&1); [ $? -ne 0 ] && grep -q 'already exists' <<<"$out" && pass create-duplicate || fail create-duplicate "$out"
out=$("$H" create ../evil --kernel "$K" 2>&1); [ $? -ne 0 ] && grep -q 'machine name' <<<"$out" && pass bad-name || fail bad-name "$out"
out=$("$H" start nosuch 2>&1); [ $? -ne 0 ] && grep -q "no machine named 'nosuch'" <<<"$out" && pass unknown-name || fail unknown-name "$out"
out=$("$H" pause web 2>&1); [ $? -ne 0 ] && grep -q 'not running' <<<"$out" && pass pause-stopped || fail pause-stopped "$out"
[ "$(state web)" = stopped ] && pass ls-stopped || fail ls-stopped "state $(state web)"
check set "$H" set web --memory 96M
"$H" info web | grep -q '96M' && pass info-after-set || fail info-after-set "memory not updated"

if [ -z "$engine" ]; then
  fail engine "hostel engines found no engine that can run here: $(engine_why)"; exit 0
fi

check start "$H" start web
wait_log web 'idle: ready' 60 && pass console-log || fail console-log "no 'idle: ready' in console.log"
# Console attach: sees output, sends input, detaches with Ctrl-A d.
out=$( (sleep 1; printf 'hi there\r'; sleep 2) | timeout 20 "$H" console web 2>&1)
grep -q 'tick' <<<"$out" && pass console-attach || fail console-attach "no guest output through the console: $out"
wait_log web 'echo: hi there' 10 && pass console-input || fail console-input "input did not reach the guest"
[ "$(state web)" = running ] && pass ls-running || fail ls-running "state $(state web)"
"$H" ls | grep -q '^web .*running' && pass ls-table || fail ls-table "$("$H" ls)"

check pause "$H" pause web
[ "$(state web)" = paused ] || fail pause-state "state $(state web)"
n1=$(grep -c tick "$HOSTEL_HOME/machines/web/console.log"); sleep 1.5
n2=$(grep -c tick "$HOSTEL_HOME/machines/web/console.log")
[ "$n1" = "$n2" ] && pass paused-guest-stands-still || fail paused-guest-stands-still "ticks went from $n1 to $n2 while paused"
check resume "$H" resume web
sleep 1.5; n3=$(grep -c tick "$HOSTEL_HOME/machines/web/console.log")
[ "$n3" -gt "$n2" ] && pass resumed-guest-runs || fail resumed-guest-runs "no ticks after resume"

# A malformed request gets an error; the machine keeps running.
reply=$(python3 - "$HOSTEL_HOME/machines/web/control.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'this is not json\n{"op":"frobnicate"}\n{"op":"status"}\n')
data = b''
while data.count(b'\n') < 3:
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
print(data.decode())
PY
)
grep -q '"ok": *false.*malformed' <<<"$reply" && grep -q 'unknown op' <<<"$reply" && grep -q '"state": *"running"' <<<"$reply" \
  && pass malformed-request || fail malformed-request "$reply"

check stop-power-button "$H" stop web --timeout 60
grep -q 'power button' "$HOSTEL_HOME/machines/web/console.log" && pass guest-saw-power-button || fail guest-saw-power-button "guest did not run its shutdown"
[ "$(state web)" = stopped ] && pass ls-stopped-after-stop || fail ls-stopped-after-stop "state $(state web)"

# Two starts at once: exactly one wins.
"$H" start web >/tmp/hostel-mt-a.$$ 2>&1 & a=$!
"$H" start web >/tmp/hostel-mt-b.$$ 2>&1 & b=$!
wait $a; ra=$?; wait $b; rb=$?
if [ $((ra == 0)) -ne $((rb == 0)) ] && grep -q 'already' /tmp/hostel-mt-[ab].$$; then pass concurrent-start
else fail concurrent-start "exit statuses $ra and $rb: $(cat /tmp/hostel-mt-[ab].$$)"; fi
rm -f /tmp/hostel-mt-[ab].$$
check restart "$H" restart web

# A VMM killed with SIGKILL shows as crashed, never as running.
pid=$("$H" info web --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("pid",""))')
if [ -n "$pid" ]; then kill -9 "$pid"; sleep 0.5
  [ "$(state web)" = crashed ] && pass sigkill-detected || fail sigkill-detected "state $(state web)"
else fail sigkill-detected "no pid in info"; fi
check start-after-crash "$H" start web
out=$("$H" rm web 2>&1); [ $? -ne 0 ] && grep -q 'running' <<<"$out" && pass rm-refuses-running || fail rm-refuses-running "$out"
check rm-running "$H" rm --force web

# Ten machines at once.
for i in $(seq 10); do "$H" create "m$i" --kernel "$K" --engine "$engine" --memory 32M >/dev/null; done
for i in $(seq 10); do "$H" start "m$i" >/dev/null 2>&1 & done; wait
running=$("$H" ls | grep -c ' running ')
[ "$running" -eq 10 ] && pass ten-machines || fail ten-machines "$running of 10 running: $("$H" ls)"
for i in $(seq 10); do "$H" rm --force "m$i" >/dev/null 2>&1 & done; wait
exit 0
