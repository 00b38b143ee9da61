#!/usr/bin/env bash
# The root jail (docs/security.md): run as root, a VMM drops to the jail
# user (uid 64434 unless HOSTEL_JAIL_USER says otherwise) with no
# capabilities and no new privileges, in a mount namespace that shows only
# its machine folder, its kernel, disks and device nodes; what it writes
# (snapshots, state, console log, the control socket) still works, a disk
# outside its folder is reached through the fd kept before the jail, and a
# restore (disks reopened) works; HOSTEL_JAIL_USER=off runs without, loudly;
# a bad HOSTEL_JAIL_USER is refused by name; --serial file: and --display
# vnc (with a root-only password file) run jailed; create --jail-user sets
# a machine's own user.  Skipped when not root.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
HELLO="$(pwd)/$BUILD/guests/hello.elf"
pass() { echo "PASS: jail/$1"; }
fail() { echo "FAIL: jail/$1 ($2)"; }
skip() { echo "SKIP: jail/$1 ($2)"; }
if [ "$(id -u)" -ne 0 ]; then
  skip all "not root: the jail applies only to a VMM started as root"
  exit 0
fi
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-jail-XXXXXX)
OUTSIDE=$(mktemp -d /tmp/hostel-jail-disk-XXXXXX)
trap 'for m in $("$H" ls --json 2>/dev/null | python3 -c "import json,sys; [print(m[\"name\"]) for m in json.load(sys.stdin)]" 2>/dev/null); do "$H" rm --force "$m" >/dev/null 2>&1; done; rm -rf "$HOSTEL_HOME" "$OUTSIDE"' EXIT
unset HOSTEL_JAIL_USER
. tests/lib/machine_info.sh

. tests/lib/engines.sh
engines=$(engines_available)
[ -n "$engines" ] || { fail engine "no engine can run here: $(engine_why)"; exit 0; }

# hostel run: jailed, and the guest runs, on every engine here.
for e in $engines; do
  out=$(timeout 120 "$H" run --engine "$e" --kernel "$HELLO" -v 2>&1)
  rc=$?
  if [ $rc -eq 1 ] && grep -q 'hello: ok' <<<"$out" && grep -q 'jail: uid 64434 gid 64434, no capabilities' <<<"$out"; then
    pass "run-jailed-$e"
  else
    fail "run-jailed-$e" "exit status $rc: $(grep -E 'jail|error' <<<"$out" | tail -3)"
  fi
done
engine=$(test_engine)

# A named machine with a disk in its folder and one outside it (root's
# alone, mode 600: the jail user reaches it only through the kept fd).
truncate -s 4M "$OUTSIDE/data.raw"
chmod 600 "$OUTSIDE/data.raw"
"$H" create j --kernel "$K" --engine "$engine" --memory 64M --disk size=4M \
  --disk "$OUTSIDE/data.raw,readonly=on" >/dev/null || fail create "hostel create refused"
"$H" start j >/dev/null && wait_log j 'idle: ready' 60 || fail start "the idle guest did not start: $(tail -3 "$HOSTEL_HOME/machines/j/vmm.log")"
pid=$(vmm_pid j)
st=/proc/$pid/status
if [ -n "$pid" ] && grep -q $'^Uid:\t64434\t64434\t64434\t64434' "$st" &&
   grep -q $'^Gid:\t64434\t64434\t64434\t64434' "$st" && grep -qE '^Groups:\s*$' "$st"; then
  pass dropped-user
else
  fail dropped-user "pid '$pid': $(grep -E '^(Uid|Gid|Groups)' "$st" 2>/dev/null | tr '\n' ' ')"
fi
caps=$(grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' "$st" 2>/dev/null | awk '{print $2}' | sort -u)
[ "$caps" = 0000000000000000 ] && pass no-capabilities || fail no-capabilities "$(grep ^Cap "$st" | tr '\n' ' ')"
grep -q $'^NoNewPrivs:\t1' "$st" && grep -q $'^Seccomp:\t2' "$st" && pass no-new-privs-seccomp ||
  fail no-new-privs-seccomp "$(grep -E 'NoNewPrivs|Seccomp:' "$st" | tr '\n' ' ')"
# Its mount namespace: the machine's files and the device nodes, nothing else.
folder=$(readlink -f "$HOSTEL_HOME/machines/j")
want=$(printf '%s\n' / "$folder" "$K" "$OUTSIDE/data.raw" /dev/null /dev/zero /dev/urandom /dev/random /dev/kvm | sort)
seen=$(awk '{print $5}' "/proc/$pid/mountinfo" | sort)
extra=$(comm -13 <(echo "$want") <(echo "$seen"))
if [ -n "$seen" ] && [ -z "$extra" ] && grep -qx "$folder" <<<"$seen"; then
  pass mounts-only-machine-files
else
  fail mounts-only-machine-files "unexpected mounts: $(echo $extra) (all: $(echo $seen))"
fi
# The same through its root: no /etc, /home, /root, /usr, /proc.
roots=$(ls -A "/proc/$pid/root/" 2>/dev/null | tr '\n' ' ')
if [ -n "$roots" ] && ! ls "/proc/$pid/root/etc" "/proc/$pid/root/usr" "/proc/$pid/root/root" >/dev/null 2>&1 &&
   [ -z "$(ls -A "/proc/$pid/root$(dirname "$folder")" | grep -vx j)" ]; then
  pass root-shows-little
else
  fail root-shows-little "its / has: $roots"
fi
i=$("$H" info j | grep '^jail')
[[ $i == "jail     on (uid 64434 gid 64434, no capabilities, "* ]] && pass info-jail || fail info-jail "'$i'"
# What it writes after the drop: a snapshot (new overlays on its disks, RAM
# and state files), then a restore in place (disks reopened).
out=$("$H" snapshot j s1 2>&1) && pass snapshot-writes || fail snapshot-writes "$out"
out=$("$H" restore j s1 2>&1) && [ "$(state j)" = running ] && pass restore-reopens ||
  fail restore-reopens "$out; state $(state j); $(tail -2 "$HOSTEL_HOME/machines/j/vmm.log")"
"$H" stop j >/dev/null 2>&1
[ "$(state j)" = stopped ] && pass stop || fail stop "state $(state j)"
ls -n "$OUTSIDE/data.raw" | awk '{exit !($3 == 0)}' && pass outside-disk-not-given-away ||
  fail outside-disk-not-given-away "$(ls -n "$OUTSIDE/data.raw")"

# The sandbox's hook still kills, and names the call, inside the jail.
out=$(HOSTEL_TEST_FORBIDDEN_SYSCALL=1 timeout 120 "$H" run --engine "$engine" --kernel "$HELLO" 2>&1)
rc=$?
[ $rc -eq 159 ] && grep -q 'made system call personality (135)' <<<"$out" && pass hook-killed-in-jail ||
  fail hook-killed-in-jail "exit status $rc: $(tail -2 <<<"$out")"

# Off, loudly; and a bad user named.
out=$(HOSTEL_JAIL_USER=off timeout 120 "$H" run --engine "$engine" --kernel "$HELLO" 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q 'WITHOUT its jail (HOSTEL_JAIL_USER=off)' <<<"$out" && pass off-loud ||
  fail off-loud "exit status $rc: $(tail -2 <<<"$out")"
out=$(HOSTEL_JAIL_USER=0 timeout 120 "$H" run --engine "$engine" --kernel "$HELLO" 2>&1)
rc=$?
grep -q "HOSTEL_JAIL_USER '0': choose an unprivileged" <<<"$out" && ! grep -q 'hello: ok' <<<"$out" && pass bad-user-refused ||
  fail bad-user-refused "exit status $rc: $(tail -2 <<<"$out")"
out=$(HOSTEL_JAIL_USER=1234:4321 timeout 120 "$H" run --engine "$engine" --kernel "$HELLO" -v 2>&1)
grep -q 'jail: uid 1234 gid 4321' <<<"$out" && grep -q 'hello: ok' <<<"$out" && pass user-configurable ||
  fail user-configurable "$(grep -E 'jail|error' <<<"$out" | tail -2)"
# Cases that ran un-jailed before: --serial file: (kept open before the
# jail) and --display vnc with a password file only root may read (read
# before it); each VMM shows the jail user and no capabilities.
proc_ok() {  # pid of timeout: its child, the VMM, is the jail user with no capabilities
  set -- "$(pgrep -P "$1" | head -1)"
  grep -q $'^Uid:\t64434\t64434' "/proc/$1/status" 2>/dev/null &&
    grep -q $'^CapEff:\t0000000000000000' "/proc/$1/status"
}
proc_says() { set -- "$(pgrep -P "$1" | head -1)"; grep -E '^(Uid|CapEff)' "/proc/$1/status" 2>/dev/null | tr '\n' ' '; }
ser=$OUTSIDE/serial.log
timeout 60 "$H" run --engine "$engine" --kernel "$K" --serial "file:$ser" >"$OUTSIDE/ser.out" 2>&1 &
vpid=$!
for _ in $(seq 100); do grep -q 'idle: ready' "$ser" 2>/dev/null && break; sleep 0.1; done
if grep -q 'idle: ready' "$ser" 2>/dev/null && proc_ok $vpid && ! grep -q 'WITHOUT its jail' "$OUTSIDE/ser.out"; then
  pass serial-file-jailed
else
  fail serial-file-jailed "$(proc_says $vpid); $(tail -2 "$OUTSIDE/ser.out")"
fi
kill $vpid 2>/dev/null; wait $vpid 2>/dev/null
echo sesame >"$OUTSIDE/pw"; chmod 600 "$OUTSIDE/pw"
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
timeout 60 "$H" run --engine "$engine" --kernel "$K" \
  --display "vnc=127.0.0.1:$port,password-file=$OUTSIDE/pw" >"$OUTSIDE/vnc.out" 2>&1 &
vpid=$!
for _ in $(seq 100); do grep -q 'VNC on\|error' "$OUTSIDE/vnc.out" && break; sleep 0.1; done
if ! grep -q 'VNC on' "$OUTSIDE/vnc.out"; then
  grep -q 'built without\|libvncserver' "$OUTSIDE/vnc.out" && skip display-jailed "no VNC here: $(tail -1 "$OUTSIDE/vnc.out")" ||
    fail display-jailed "$(tail -2 "$OUTSIDE/vnc.out")"
else
  # RFB 3.8: the server offers VNC authentication (type 2): it read the password.
  sec=$(python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
s.recv(12); s.sendall(b'RFB 003.008\n'); n = s.recv(1)[0]; print(list(s.recv(n)))" "$port" 2>&1)
  if [ "$sec" = "[2]" ] && proc_ok $vpid && ! grep -q 'WITHOUT its jail' "$OUTSIDE/vnc.out"; then
    pass display-jailed
  else
    fail display-jailed "security types '$sec'; $(proc_says $vpid); $(tail -2 "$OUTSIDE/vnc.out")"
  fi
fi
kill $vpid 2>/dev/null; wait $vpid 2>/dev/null
# The same for a named machine, whose daemon enters the jail before the
# display is made: the password file is read through the fd kept before it.
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$H" create jd --kernel "$K" --engine "$engine" --memory 64M \
  --display "vnc=127.0.0.1:$port,password-file=$OUTSIDE/pw" >/dev/null
"$H" start jd >/dev/null 2>&1
sec=$(python3 -c "
import socket, sys, time
for _ in range(100):
    try:
        s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10); break
    except OSError:
        time.sleep(0.1)
s.recv(12); s.sendall(b'RFB 003.008\n'); n = s.recv(1)[0]; print(list(s.recv(n)))" "$port" 2>&1 | tail -1)
j=$("$H" info jd | grep '^jail')
[ "$sec" = "[2]" ] && [[ $j == "jail     on (uid 64434 gid 64434, no capabilities"* ]] && pass display-named-jailed ||
  fail display-named-jailed "security types '$sec'; $j; $(tail -2 "$HOSTEL_HOME/machines/jd/vmm.log")"
"$H" rm --force jd >/dev/null 2>&1

# A machine's own jail user (create --jail-user), shown by info and used.
"$H" create ju --kernel "$K" --engine "$engine" --memory 64M --jail-user 1234:4321 >/dev/null
"$H" info ju | grep -q '^jail     user 1234:4321 (when it runs as root)' && pass jail-user-info ||
  fail jail-user-info "$("$H" info ju | grep jail)"
"$H" start ju >/dev/null && wait_log ju 'idle: ready' 60
pid=$(vmm_pid ju)
if [ -n "$pid" ] && grep -q $'^Uid:\t1234\t1234' /proc/$pid/status && grep -q $'^Gid:\t4321\t4321' /proc/$pid/status &&
   grep -q $'^CapEff:\t0000000000000000' /proc/$pid/status; then
  pass jail-user-setting
else
  fail jail-user-setting "pid '$pid': $(grep -E '^(Uid|Gid|CapEff)' /proc/$pid/status 2>/dev/null | tr '\n' ' ')"
fi
"$H" stop ju >/dev/null 2>&1
out=$("$H" create ju0 --kernel "$K" --jail-user 0 2>&1) && fail jail-user-refused "created with uid 0" ||
  { grep -q "jail-user '0': choose an unprivileged" <<<"$out" && pass jail-user-refused || fail jail-user-refused "$out"; }
exit 0
