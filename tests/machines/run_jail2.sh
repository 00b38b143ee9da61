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
#    the switch's daemon jailed too, its control socket closed to the jail
#    user, and `down --rm` still removes the cluster's folder;
#  - a machine received by live migration: the receiving VMM jailed and
#    running, stopped from inside its jail; a migration cancelled mid-copy
#    leaves no folder behind (the jailed receiver removes the one it made
#    from root's machines folder);
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
  for h in "$D/h1" "$D/h2"; do HOSTEL_HOME=$h "$H" rm --force m >/dev/null 2>&1; done
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
ctl() { python3 tests/lib/control.py "$1" "$2"; }
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
  # The switch's daemon itself: the jail user, nothing, in a mount
  # namespace with its folder; its control socket stays root's, so the
  # jail user (every jailed VMM) cannot drive the cluster.
  set -- $(cat "$HOSTEL_HOME/clusters/j2/state" 2>/dev/null)
  sp=${2:-}
  st=$(grep -E '^(Uid|CapEff|CapPrm|NoNewPrivs):' "/proc/$sp/status" 2>/dev/null | tr '\n' ' ')
  mounts=$(awk '{print $5}' "/proc/$sp/mountinfo" 2>/dev/null | sort | tr '\n' ' ')
  if [[ $st == *$'Uid:\t64434\t64434'*$'CapPrm:\t0000000000000000'*$'CapEff:\t0000000000000000'*$'NoNewPrivs:\t1'* ]] &&
     [ "$mounts" = "/ /dev/null /dev/urandom /etc/resolv.conf $(readlink -f "$HOSTEL_HOME/clusters/j2") " ]; then
    pass switch-daemon-jailed
  else
    fail switch-daemon-jailed "pid '$sp': $st; mounts: $mounts"
  fi
  ctl_sock=$HOSTEL_HOME/clusters/j2/control.sock
  # (connecting needs write permission on the socket: root's, 0755)
  own=$(stat -c '%u %a' "$ctl_sock" 2>&1)
  [ "$own" = "0 755" ] && pass switch-control-not-jail-users ||
    fail switch-control-not-jail-users "$ctl_sock: owner and mode '$own'"
  out=$("$H" cluster down j2 --rm 2>&1)
  [ ! -e "$HOSTEL_HOME/clusters/j2" ] && pass switch-down-rm || fail switch-down-rm "$out; $(ls -A "$HOSTEL_HOME/clusters/j2" 2>&1)"
fi

# ---- live migration's receiver: jailed once it knows the machine -----------
# Two HOSTEL_HOMEs on loopback, the idle guest and its 16 MiB disk copied.  First
# a migration cancelled mid-copy (a slow link): the receiver, in its jail
# by then, gives up and removes the folder it made from root's machines
# folder; then one that completes.
H1=$D/h1 H2=$D/h2
recv_pid() { field "$(HOSTEL_HOME=$H2 "$H" info m --json 2>/dev/null)" pid; }
mkdir -p "$D/disks"
head -c 16M /dev/urandom >"$D/disks/data.raw"     # 16 s at 1 MB/s
HOSTEL_HOME=$H1 "$H" create m --kernel "$K" --engine "$engine" --memory 64M --watchdog 0 \
  --disk "$D/disks/data.raw" >/dev/null 2>&1
HOSTEL_HOME=$H1 "$H" start m >/dev/null 2>&1
addr=$(field "$(HOSTEL_HOME=$H2 "$H" receive m --listen 127.0.0.1:0 --json 2>&1 | head -1)" listen)
HOSTEL_HOME=$H1 timeout 120 "$H" migrate m "$addr" --disks copy --bandwidth 1M >"$D/mig1.out" 2>&1 &
mpid=$!
rp=
for _ in $(seq 300); do
  # (jailed, and in its seccomp sandbox, while the stream comes in)
  rp=$(recv_pid); [ -n "$rp" ] && jailed "$rp" && break
  sleep 0.1
done
seen="$(says "$rp")"
HOSTEL_HOME=$H1 "$H" migrate m --cancel >/dev/null 2>&1
wait $mpid
for _ in $(seq 300); do [ -e "$H2/machines/m" ] || break; sleep 0.1; done
s1=$(HOSTEL_HOME=$H1 "$H" info m --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null)
if [ -n "$rp" ] && [[ $seen == *$'Uid:\t64434'* ]] &&
   [[ $seen == *$'CapEff:\t0000000000000000'* ]] && [[ $seen == *$'NoNewPrivs:\t1'* ]] &&
   [[ $seen == *$'Seccomp:\t2'* ]] && [ ! -e "$H2/machines/m" ] && [ "$s1" = running ]; then
  pass receiver-cancelled-in-jail
else
  fail receiver-cancelled-in-jail "receiver pid '$rp': $seen; folder: $(ls -A "$H2/machines/m" 2>&1 | tr '\n' ' '); sender $s1; $(tail -1 "$D/mig1.out")"
fi
addr=$(field "$(HOSTEL_HOME=$H2 "$H" receive m --listen 127.0.0.1:0 --json 2>&1 | head -1)" listen)
out=$(HOSTEL_HOME=$H1 timeout 120 "$H" migrate m "$addr" --disks copy 2>&1)
rc=$?
rinfo=$(HOSTEL_HOME=$H2 "$H" info m --json 2>/dev/null)
rpid=$(field "$rinfo" pid)
rstate=$(field "$rinfo" state)
rjail=$(HOSTEL_HOME=$H2 "$H" info m 2>/dev/null | grep '^jail')
if [ $rc -eq 0 ] && [ "$rstate" = running ] && jailed "$rpid" &&
   [[ $rjail == "jail     on (uid 64434 gid 64434"* ]]; then
  pass receiver-jailed
else
  fail receiver-jailed "migrate rc $rc: $(tail -1 <<<"$out"); receiver $rstate pid '$rpid' $(says "$rpid"); $rjail; $(tail -2 "$H2/machines/m/vmm.log" 2>/dev/null)"
fi
# The migrated machine stops, from inside its jail.
HOSTEL_HOME=$H2 "$H" stop m >/dev/null 2>&1
rstate=$(field "$(HOSTEL_HOME=$H2 "$H" info m --json 2>/dev/null)" state)
[ "$rstate" = stopped ] && pass receiver-stops || fail receiver-stops "state '$rstate'"

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
