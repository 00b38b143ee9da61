#!/usr/bin/env bash
# The root jail's later cases (docs/security.md): as root, each of these
# VMMs runs as the jail user with nothing effective and no new privileges,
# and its feature still works:
#  - `hostel run --control SOCK`: the socket bound before the jail and
#    answered after it; "status" and "save" (beneath the socket's folder)
#    work, a save elsewhere is refused naming the jail; `--restore` with a
#    control socket comes back jailed and running;
#  - a switch NIC (`--net switch=NAME`): it joins the switch from inside
#    the jail, and joins again by name when the switch restarts (the
#    guests' pings over a switch, jailed, are tests/e2e/run_cluster.sh's);
#  - a tap NIC: attached (the tap has a carrier) with CAP_NET_ADMIN alone,
#    where this host lets root make a tap.
# Shares run jailed in tests/machines/run_share.sh ("jailed").  Skipped
# when not root.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
pass() { echo "PASS: jail2/$1"; }
fail() { echo "FAIL: jail2/$1 ($2)"; }
skip() { echo "SKIP: jail2/$1 ($2)"; }
if [ "$(id -u)" -ne 0 ]; then
  skip all "not root: the jail applies only to a VMM started as root"
  exit 0
fi
D=$(mktemp -d /tmp/hostel-jail2-XXXXXX)
export HOSTEL_HOME=$D/home
TAP=hj2tap$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  "$H" cluster down j2 --force >/dev/null 2>&1
  ip tuntap del dev "$TAP" mode tap >/dev/null 2>&1
  rm -rf "$D"
}
trap cleanup EXIT
unset HOSTEL_JAIL_USER
. tests/lib/engines.sh
engines=$(engines_available)
[ -n "$engines" ] || { fail engine "no engine can run here: $(engine_why)"; exit 0; }
engine=$(test_engine)

# jailed PID [CAPEFF]: the VMM is the jail user (uid and gid 64434), no new
# privileges, seccomp on, and CapEff as given (none by default).
jailed() {
  local st=/proc/$1/status want=${2:-0000000000000000}
  grep -q $'^Uid:\t64434\t64434\t64434\t64434' "$st" 2>/dev/null &&
    grep -q $'^Gid:\t64434\t64434\t64434\t64434' "$st" &&
    grep -q $'^CapEff:\t'"$want" "$st" && grep -q $'^NoNewPrivs:\t1' "$st" &&
    grep -q $'^Seccomp:\t2' "$st"
}
says() { grep -E '^(Uid|Cap(Eff|Prm)|NoNewPrivs|Seccomp):' "/proc/$1/status" 2>/dev/null | tr '\n' ' '; }
wait_for() {  # file, pattern, seconds
  for _ in $(seq $(( $3 * 10 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# ctl SOCK JSON: one request, the reply on stdout.
ctl() {
  python3 - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.decode().strip())
PY
}
field() {  # JSON KEY...: the value at that path
  python3 -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2:]:
    v = v.get(k, {}) if isinstance(v, dict) else {}
print(v)' "$@" 2>/dev/null
}

# ---- hostel run --control: status and save from inside the jail -------------
mkdir -p "$D/ctl"
"$H" run --engine "$engine" --kernel "$K" --memory 64M --watchdog 0 --control "$D/ctl/c.sock" \
  >"$D/run.out" 2>&1 &
vpid=$!
pids+=($vpid)
if ! wait_for "$D/run.out" 'idle: ready' 60; then
  fail control-jailed "the guest did not start: $(tail -3 "$D/run.out")"
else
  st=$(ctl "$D/ctl/c.sock" '{"op": "status"}')
  if jailed $vpid && [ "$(field "$st" ok)" = True ] && ! grep -q 'WITHOUT its jail' "$D/run.out" &&
     [[ $(field "$st" isolation jail) != off* ]]; then
    pass control-jailed
  else
    fail control-jailed "$(says $vpid); status $st; $(grep -i jail "$D/run.out" | tail -2)"
  fi
  r=$(ctl "$D/ctl/c.sock" "{\"op\": \"save\", \"path\": \"$D/ctl/s1\"}")
  [ "$(field "$r" ok)" = True ] && [ -s "$D/ctl/s1/state.bin" ] && [ -s "$D/ctl/s1/ram.bin" ] &&
    pass control-save || fail control-save "$r"
  r=$(ctl "$D/ctl/c.sock" "{\"op\": \"save\", \"path\": \"$D/elsewhere\"}")
  [ "$(field "$r" ok)" = False ] && grep -q 'root jail' <<<"$r" && [ ! -e "$D/elsewhere" ] &&
    pass control-save-elsewhere-refused || fail control-save-elsewhere-refused "$r"
fi
kill $vpid 2>/dev/null; wait $vpid 2>/dev/null
# --restore, with a control socket: jailed, and running where it was saved.
if [ -s "$D/ctl/s1/state.bin" ]; then
  "$H" run --restore "$D/ctl/s1" --watchdog 0 --control "$D/ctl/c2.sock" >"$D/restore.out" 2>&1 &
  vpid=$!
  pids+=($vpid)
  st=
  for _ in $(seq 100); do
    [ -S "$D/ctl/c2.sock" ] && st=$(ctl "$D/ctl/c2.sock" '{"op": "status"}' 2>/dev/null) &&
      [ "$(field "$st" state)" = running ] && break
    sleep 0.2
  done
  if [ "$(field "$st" state)" = running ] && jailed $vpid && wait_for "$D/restore.out" '^tick ' 30; then
    pass restore-jailed
  else
    fail restore-jailed "status '$st'; $(says $vpid); $(tail -2 "$D/restore.out")"
  fi
  kill $vpid 2>/dev/null; wait $vpid 2>/dev/null
else
  fail restore-jailed "no saved state to restore"
fi

# ---- a switch NIC: joins from inside the jail, and again by name ------------
cat >"$D/j2.json" <<EOF
{"name": "j2", "network": "10.77.0.0/24", "machines": []}
EOF
out=$("$H" cluster up "$D/j2.json" 2>&1)
if [ $? -ne 0 ]; then
  fail switch-jailed "cluster up: $out"
else
  "$H" run --engine "$engine" --kernel "$K" --memory 64M --watchdog 0 --net switch=j2,name=v \
    -v >"$D/sw.out" 2>&1 &
  vpid=$!
  pids+=($vpid)
  if wait_for "$D/sw.out" 'switch j2: joined as' 60 && wait_for "$D/sw.out" 'idle: ready' 60 &&
     jailed $vpid && grep -q 'jail: uid 64434' "$D/sw.out"; then
    pass switch-jailed
  else
    fail switch-jailed "$(says $vpid); $(grep -E 'jail|switch|error' "$D/sw.out" | tail -3)"
  fi
  # The switch goes away and comes back (a new socket at the same name).
  "$H" cluster down j2 >/dev/null 2>&1
  out=$("$H" cluster up "$D/j2.json" 2>&1)
  if wait_for "$D/sw.out" 'switch j2: joined again' 30 && kill -0 $vpid 2>/dev/null; then
    pass switch-rejoins-jailed
  else
    fail switch-rejoins-jailed "$out; $(grep -E 'switch|error' "$D/sw.out" | tail -3)"
  fi
  kill $vpid 2>/dev/null; wait $vpid 2>/dev/null
  "$H" cluster down j2 >/dev/null 2>&1
fi

# ---- a tap NIC: opened before the jail, CAP_NET_ADMIN alone kept ------------
if ! out=$(ip tuntap add dev "$TAP" mode tap 2>&1); then
  skip tap-jailed "this host does not let root make a tap: $out"
else
  ip link set "$TAP" up
  "$H" run --engine "$engine" --kernel "$K" --memory 64M --watchdog 0 --net "tap=$TAP" \
    >"$D/tap.out" 2>&1 &
  vpid=$!
  pids+=($vpid)
  wait_for "$D/tap.out" 'idle: ready' 60
  carrier=$(cat "/sys/class/net/$TAP/carrier" 2>/dev/null)
  # CAP_NET_ADMIN is bit 12.
  if jailed $vpid 0000000000001000 && [ "$carrier" = 1 ]; then
    pass tap-jailed
  else
    fail tap-jailed "carrier '$carrier'; $(says $vpid); $(tail -2 "$D/tap.out")"
  fi
  kill $vpid 2>/dev/null; wait $vpid 2>/dev/null
  carrier=$(cat "/sys/class/net/$TAP/carrier" 2>/dev/null)
  [ "$carrier" = 0 ] && pass tap-released || fail tap-released "carrier '$carrier' after the VMM ended"
fi
exit 0
