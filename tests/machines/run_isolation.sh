#!/usr/bin/env bash
# Isolation and limits (docs/security.md): the VMM's seccomp sandbox is on
# by default and kills the VMM, naming the system call, when it makes one
# the allow-list forbids (the HOSTEL_TEST_FORBIDDEN_SYSCALL test hook), on
# every engine that runs here; a vCPU thread's narrower list refuses what
# the process may do (open a file), and so does a network backend's thread
# (remove a file), and so do the control socket's, the console reader's,
# the timer threads' and the VNC server's (each its own list); --no-sandbox
# runs without it, loudly; a
# named machine's VMM shows Seccomp 2 and NoNewPrivs in /proc; --cpu-limit
# and --memory-limit are applied through cgroups or reported as not
# enforced with the reason, and --cpu-limit 0.5 holds a busy guest near
# half a core over 10 s (at most 0.6; at least 0.1, as a busy host may give less).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
HELLO="$(pwd)/$BUILD/guests/hello.elf"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-iso-XXXXXX)
trap 'for m in $("$H" ls --json 2>/dev/null | python3 -c "import json,sys; [print(m[\"name\"]) for m in json.load(sys.stdin)]" 2>/dev/null); do "$H" rm --force "$m" >/dev/null 2>&1; done; rm -rf "$HOSTEL_HOME"' EXIT

pass() { echo "PASS: isolation/$1"; }
fail() { echo "FAIL: isolation/$1 ($2)"; }
skip() { echo "SKIP: isolation/$1 ($2)"; }
. tests/lib/machine_info.sh
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }

. tests/lib/engines.sh
engines=$(engines_available)
[ -n "$engines" ] || { fail engine "no engine can run here: $(engine_why)"; exit 0; }

# The sandbox's test hook, on every engine that runs here.
for e in $engines; do
  out=$(HOSTEL_TEST_FORBIDDEN_SYSCALL=1 timeout 120 "$H" run --engine "$e" --kernel "$HELLO" 2>&1)
  rc=$?
  if [ $rc -eq 159 ] && grep -q 'sandbox: the VMM made system call personality (135)' <<<"$out"; then
    pass "forbidden-syscall-killed-$e"
  else
    fail "forbidden-syscall-killed-$e" "exit status $rc, not 159 (SIGSYS), or no line naming personality: $(tail -3 <<<"$out")"
  fi
  out=$(HOSTEL_TEST_FORBIDDEN_SYSCALL=vcpu timeout 120 "$H" run --engine "$e" --kernel "$HELLO" 2>&1)
  rc=$?
  if [ $rc -eq 159 ] && grep -q 'sandbox: the VMM made system call openat (257) on thread vCPU 0' <<<"$out"; then
    pass "vcpu-narrower-$e"
  else
    fail "vcpu-narrower-$e" "exit status $rc, not 159 (SIGSYS), or no line naming openat on vCPU 0: $(tail -3 <<<"$out")"
  fi
  # The idle guest runs until killed: 30 s is long enough for the hook.
  out=$(HOSTEL_TEST_FORBIDDEN_SYSCALL=net timeout 30 "$H" run --engine "$e" --kernel "$K" --net user 2>&1)
  rc=$?
  if [ $rc -eq 159 ] && grep -q 'sandbox: the VMM made system call unlinkat (263) on thread net backend' <<<"$out"; then
    pass "net-thread-narrower-$e"
  else
    fail "net-thread-narrower-$e" "exit status $rc, not 159 (SIGSYS), or no line naming unlinkat on the net backend: $(tail -3 <<<"$out")"
  fi
  out=$(timeout 120 "$H" run --engine "$e" --kernel "$HELLO" -v 2>&1)
  rc=$?
  if [ $rc -eq 1 ] && grep -q 'hello: ok' <<<"$out" && grep -q 'sandbox: seccomp allow-list of' <<<"$out"; then
    pass "sandboxed-guest-runs-$e"
  else
    fail "sandboxed-guest-runs-$e" "exit status $rc: $(tail -3 <<<"$out")"
  fi
  out=$(HOSTEL_TEST_FORBIDDEN_SYSCALL=1 timeout 120 "$H" run --engine "$e" --no-sandbox --kernel "$HELLO" 2>&1)
  rc=$?
  if [ $rc -eq 1 ] && grep -q 'WITHOUT its sandbox (--no-sandbox)' <<<"$out" && ! grep -q 'made system call' <<<"$out"; then
    pass "no-sandbox-loud-$e"
  else
    fail "no-sandbox-loud-$e" "exit status $rc: $(tail -3 <<<"$out")"
  fi
done
engine=$(test_engine)

# A named machine's VMM: confined, with its limits.
"$H" create cap --kernel "$K" --engine "$engine" --memory 64M --cpu-limit 0.5 \
  --memory-limit 256M >/dev/null || fail create "hostel create refused the limits"
"$H" info cap | grep -q 'cpu-limit 0.5 (when it runs)' && "$H" info cap | grep -q 'sandbox  on (when it runs)' &&
  pass info-before-start || fail info-before-start "$("$H" info cap)"
"$H" start cap >/dev/null && wait_log cap 'idle: ready' 60 || fail start "the idle guest did not start"
pid=$(vmm_pid cap)
if [ -n "$pid" ] && grep -q $'^Seccomp:\t2' /proc/$pid/status && grep -q $'^NoNewPrivs:\t1' /proc/$pid/status; then
  pass vmm-proc-status
else
  fail vmm-proc-status "pid '$pid': $(grep -E 'Seccomp|NoNewPrivs' /proc/$pid/status 2>/dev/null | tr '\n' ' ')"
fi
sb=$(live_iso cap sandbox)
[[ $sb == on\ \(seccomp:* ]] && pass info-sandbox || fail info-sandbox "'$sb'"
cpu=$(live_iso cap cpu_limit) mem=$(live_iso cap memory_limit)
if [[ $cpu == "0.5: enforced"* || $cpu == "0.5: not enforced: "* ]] && [[ $mem == "256M: enforced"* || $mem == "256M: not enforced: "* ]]; then
  pass info-limits
else
  fail info-limits "cpu '$cpu', memory '$mem'"
fi
hz=$(getconf CLK_TCK)
if [[ $cpu == "0.5: enforced"* ]]; then
  t0=$(cpu_ticks "$pid"); sleep 10; t1=$(cpu_ticks "$pid")
  share=$(python3 -c "print(round(($t1 - $t0) / $hz / 10, 3))")
  echo "# --cpu-limit 0.5: the busy guest's VMM used $share of a core over 10 s"
  if python3 -c "import sys; sys.exit(0 if 0.1 <= $share <= 0.6 else 1)"; then
    pass cpu-limit-holds
  else
    fail cpu-limit-holds "$share of a core over 10 s, not within 0.1..0.6 (below: a host too busy to give it even that)"
  fi
else
  skip cpu-limit-holds "not enforced here: $cpu"
fi
if [[ $mem == "256M: enforced (cgroup v1 "* ]]; then
  d=$(sed 's/.*enforced (cgroup v1 \([^,]*\),.*/\1/' <<<"$mem")
  [ "$(cat "$d/memory.limit_in_bytes" 2>/dev/null)" = 268435456 ] && grep -qx "$pid" "$d/cgroup.procs" &&
    pass memory-limit-applied || fail memory-limit-applied "$d"
elif [[ $mem == "256M: enforced (cgroup v2 "* ]]; then
  d=$(sed 's/.*enforced (cgroup v2 \([^,]*\),.*/\1/' <<<"$mem")
  [ "$(cat "$d/memory.max" 2>/dev/null)" = 268435456 ] && grep -qx "$pid" "$d/cgroup.procs" &&
    pass memory-limit-applied || fail memory-limit-applied "$d"
else
  skip memory-limit-applied "not enforced here: $mem"
fi
"$H" stop cap >/dev/null 2>&1
[ "$(state cap)" = stopped ] && pass stop || fail stop "state $(state cap)"
# The cgroups go with the VMM.
if [[ $cpu == "0.5: enforced"* ]]; then
  d=$(sed 's/.*enforced (cgroup v[12] \([^,]*\),.*/\1/' <<<"$cpu")
  for _ in $(seq 50); do [ -d "$d" ] || break; sleep 0.1; done
  [ -d "$d" ] && fail cgroup-removed "$d is still there" || pass cgroup-removed
fi

# A named machine's VMM killed by the sandbox says why in its log.
"$H" create bad --kernel "$K" --engine "$engine" --memory 64M >/dev/null
HOSTEL_TEST_FORBIDDEN_SYSCALL=1 "$H" start bad >/dev/null 2>&1
for _ in $(seq 100); do grep -q 'made system call' "$HOSTEL_HOME/machines/bad/vmm.log" 2>/dev/null && break; sleep 0.1; done
if grep -q 'sandbox: the VMM made system call personality (135)' "$HOSTEL_HOME/machines/bad/vmm.log" 2>/dev/null; then
  pass named-machine-killed-logged
else
  fail named-machine-killed-logged "vmm.log: $(tail -3 "$HOSTEL_HOME/machines/bad/vmm.log" 2>/dev/null)"
fi
for _ in $(seq 50); do [ "$(state bad)" != running ] && break; sleep 0.1; done
st=$(state bad)
[ "$st" != running ] && pass named-machine-not-running || fail named-machine-not-running "state $st"
# The other thread kinds' own lists (HOSTEL_TEST_FORBIDDEN_SYSCALL=control,
# console, timer, display): each kills with the call and the thread named.
killed_on() {  # file, call, thread
  for _ in $(seq 100); do grep -q 'made system call' "$1" 2>/dev/null && break; sleep 0.1; done
  grep -q "sandbox: the VMM made system call $2 ([0-9]*) on thread $3," "$1" 2>/dev/null
}
for kind in control console; do
  "$H" create "k$kind" --kernel "$K" --engine "$engine" --memory 64M >/dev/null
  HOSTEL_TEST_FORBIDDEN_SYSCALL=$kind "$H" start "k$kind" >/dev/null 2>&1
  wait_log "k$kind" 'idle: ready' 60
  if [ $kind = control ]; then call=mknodat; "$H" info "k$kind" >/dev/null 2>&1   # a control client
  else call=unlinkat; (sleep 0.5; printf 'x') | timeout 5 "$H" console "k$kind" >/dev/null 2>&1; fi
  if killed_on "$HOSTEL_HOME/machines/k$kind/vmm.log" $call $kind; then
    pass "$kind-thread-narrower"
  else
    fail "$kind-thread-narrower" "vmm.log: $(tail -2 "$HOSTEL_HOME/machines/k$kind/vmm.log" 2>/dev/null)"
  fi
done
# emu's LAPIC timer runs on the timer service's thread.
out=$(HOSTEL_TEST_FORBIDDEN_SYSCALL=timer timeout 60 "$H" run --engine emu --kernel "$(pwd)/$BUILD/guests/lapictimer.elf" 2>&1)
rc=$?
[ $rc -eq 159 ] && grep -q 'made system call unlinkat (263) on thread timer,' <<<"$out" && pass timer-thread-narrower ||
  fail timer-thread-narrower "exit status $rc: $(tail -2 <<<"$out")"
# The VNC server's thread takes its list when a viewer comes.
log=$HOSTEL_HOME/vnc.out
# (its exit status through a file: the subshell's stderr takes the shell's
# "Bad system call" report)
(HOSTEL_TEST_FORBIDDEN_SYSCALL=display timeout 60 "$H" run --engine "$engine" --kernel "$K" --display vnc >"$log" 2>&1
 echo $? >"$log.rc") 2>/dev/null &
vpid=$!
for _ in $(seq 100); do grep -q 'VNC on \|error' "$log" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/.*VNC on 127.0.0.1:\([0-9]*\).*/\1/p' "$log" | head -1)
if [ -z "$port" ]; then
  skip display-thread-narrower "no VNC server here: $(tail -1 "$log")"
  kill $vpid 2>/dev/null
else
  python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1', int(sys.argv[1]))); s.recv(12)" "$port" 2>/dev/null
  wait $vpid; rc=$(cat "$log.rc" 2>/dev/null)
  [ "$rc" = 159 ] && killed_on "$log" unlinkat display && pass display-thread-narrower ||
    fail display-thread-narrower "exit status $rc: $(tail -2 "$log")"
fi
exit 0
