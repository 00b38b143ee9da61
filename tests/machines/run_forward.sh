#!/usr/bin/env bash
# Port forwards of named machines and `hostel ssh`: host port 0 picks a free
# port, which start prints and info, info --json and the control socket's
# status show; the port takes TCP connections through user networking; a
# --forward for the same guest port replaces the appliance's; `hostel ssh`
# fails clearly without a forward, on a stopped machine and when nothing
# listens, and (on the tiny appliance, with a fake SSH banner from busybox nc
# in the guest) runs ssh with the port, user and a private copy of the key.
# Where the host has sshd, a real login: ssh -> the forward -> busybox nc in
# the guest -> 10.0.2.2 -> a private sshd on the host, with the appliance's
# key (skipped without /usr/sbin/sshd).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-fw-XXXXXX)
sshd_pid=""
trap 'for m in web app tiny; do "$H" rm --force "$m" >/dev/null 2>&1; done; [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null; rm -rf "$HOSTEL_HOME"' EXIT

pass() { echo "PASS: machines/forward/$1"; }
fail() { echo "FAIL: machines/forward/$1 ($2)"; }
json() { "$H" info "$1" --json 2>/dev/null | python3 -c "import json,sys; o=json.load(sys.stdin); print($2)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
connects() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',int(sys.argv[1])),timeout=5)" "$1" 2>/dev/null; }

. tests/lib/engines.sh
engine=$(test_engine)

# What needs no running guest.
"$H" create web --kernel "$K" --engine "${engine:-auto}" --memory 64M --forward tcp:0:22 \
     --forward udp:0:5353 >/dev/null && grep -q '"tcp:0:22"' "$HOSTEL_HOME/machines/web/config.json" \
  && pass create-stores-forwards || fail create-stores-forwards "$(cat "$HOSTEL_HOME/machines/web/config.json")"
out=$("$H" create bad --kernel "$K" --net none --forward tcp:0:22 2>&1)
[ $? -ne 0 ] && grep -q 'needs user networking' <<<"$out" && pass forward-needs-user-net || fail forward-needs-user-net "$out"
out=$("$H" ssh web 2>&1)
[ $? -ne 0 ] && grep -q "not running" <<<"$out" && pass ssh-stopped || fail ssh-stopped "$out"
"$H" info web | grep -q 'forward  tcp:0:22 (when it runs)' && pass info-configured || fail info-configured "$("$H" info web)"
if [ -z "$engine" ]; then
  fail engine "hostel engines found no engine that can run here: $(engine_why)"; exit 0
fi

# Host port 0: a free port, printed by start and recorded.
out=$("$H" start web 2>&1)
port=$(sed -n 's/^hostel: forward tcp 127\.0\.0\.1:\([0-9]*\) -> guest port 22$/\1/p' <<<"$out")
[ -n "$port" ] && [ "$port" -gt 0 ] && grep -q '^hostel: forward udp 127\.0\.0\.1:[0-9]* -> guest port 5353$' <<<"$out" \
  && pass start-prints-port || fail start-prints-port "$out"
got=$(json web '[(f["proto"],f["host_addr"],f["host_port"],f["guest_port"]) for f in o["forwards"]][0]')
[ "$got" = "('tcp', '127.0.0.1', ${port:-x}, 22)" ] && pass info-json || fail info-json "$got"
"$H" info web | grep -q "^forward  tcp 127.0.0.1:$port -> guest port 22$" && pass info-text || fail info-text "$("$H" info web)"
reply=$(python3 - "$HOSTEL_HOME/machines/web/control.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'{"op":"status"}\n')
data = b''
while not data.endswith(b'\n'):
    c = s.recv(4096)
    if not c: break
    data += c
print([(f["proto"], f["host_port"], f["guest_port"]) for f in json.loads(data)["forwards"]])
PY
)
grep -q "('tcp', $port, 22)" <<<"$reply" && grep -q "'udp'" <<<"$reply" && pass control-status || fail control-status "$reply"
connects "$port" && pass port-connects || fail port-connects "no TCP connection to 127.0.0.1:$port"
# The idle guest has no network driver: nobody answers behind the forward.
out=$("$H" ssh web --wait 2 -- true 2>&1)
[ $? -ne 0 ] && grep -q "no SSH server answered on port 22 of 'web'" <<<"$out" && pass ssh-no-server || fail ssh-no-server "$out"

# No forward to port 22.
"$H" set web --no-forwards --forward tcp:0:80 >/dev/null && "$H" restart web >/dev/null 2>&1
out=$("$H" ssh web 2>&1)
[ $? -ne 0 ] && grep -q "no forward to its guest port 22" <<<"$out" && grep -q -- "--forward tcp:0:22" <<<"$out" \
  && pass ssh-no-forward || fail ssh-no-forward "$out"

# set --forward pins the host port.
p=$(free_port)
"$H" set web --forward "tcp:$p:22" >/dev/null && "$H" restart web >/dev/null 2>&1
got=$(json web 'sorted((f["guest_port"],f["host_port"]) for f in o["forwards"])')
[ "$got" = "[(22, $p), (80, $(json web '[f["host_port"] for f in o["forwards"] if f["guest_port"]==80][0]'))]" ] \
  && pass set-pins-port || fail set-pins-port "$got (wanted 22 on $p)"
"$H" stop web --force --timeout 20 >/dev/null
[ ! -e "$HOSTEL_HOME/machines/web/forwards.json" ] && [ "$(json web '"forwards" in o')" = False ] \
  && pass forwards-cleared || fail forwards-cleared "forwards still recorded after stop"

# An appliance's forward for port 22 gives way to --forward; its others stay.
A="$HOSTEL_HOME/app"
mkdir -p "$A/ssh" && cp "$K" "$A/idle.elf" && echo "not a real key" >"$A/ssh/id_test" && chmod 644 "$A/ssh/id_test"
cat >"$A/appliance.json" <<'JSON'
{ "format": 1, "name": "fwtest", "kernel": "idle.elf", "memory": "64M",
  "forwards": [ "tcp:127.0.0.1:0:22", "tcp:0:80" ],
  "ssh": { "user": "tester", "key": "ssh/id_test" } }
JSON
p=$(free_port)
"$H" create app --appliance "$A" --engine "$engine" --forward "tcp:$p:22" >/dev/null && "$H" start app >/dev/null 2>&1
got=$(json app 'sorted((f["guest_port"],f["host_port"]!=0) for f in o.get("forwards",[]))')
[ "$(json app '[f["host_port"] for f in o["forwards"] if f["guest_port"]==22]')" = "[$p]" ] && [ "$got" = "[(22, True), (80, True)]" ] \
  && pass appliance-forward-replaced || fail appliance-forward-replaced "$got (wanted 22 on $p)"
"$H" rm --force app >/dev/null 2>&1
"$H" rm --force web >/dev/null 2>&1

# The tiny appliance: a guest with a network.  Its manifest gains an "ssh"
# object and a forward; busybox nc plays an SSH server's greeting.
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "SKIP: machines/forward/tiny (the tiny appliance cannot be built here)"
  echo "SKIP: machines/forward/ssh-real-login (the tiny appliance cannot be built here)"; exit 0
fi
T="$HOSTEL_HOME/tinyssh"; tiny="$(pwd)/$BUILD/appliances/tiny"
mkdir -p "$T/ssh"
for f in vmlinuz initrd.img disk.img; do ln -s "$tiny/$f" "$T/$f"; done
# A key pair: the appliance's (mode 0644, as a tar would extract it).
if ! ssh-keygen -q -t ed25519 -N '' -C hostel-test -f "$T/ssh/id_ed25519" </dev/null >/dev/null 2>&1; then
  echo "not a real key" >"$T/ssh/id_ed25519"
fi
chmod 644 "$T/ssh/id_ed25519"
user=$(id -un)
python3 - "$tiny/appliance.json" "$T/appliance.json" "$user" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["forwards"] = ["tcp:127.0.0.1:0:22"]
m["ssh"] = {"user": sys.argv[3], "key": "ssh/id_ed25519", "port": 22}
json.dump(m, open(sys.argv[2], "w"))
PY
# A private sshd on the host's 127.0.0.1 that takes only that key.
S="$HOSTEL_HOME/sshd"; mkdir -p "$S"
if [ -x /usr/sbin/sshd ] && [ -f "$T/ssh/id_ed25519.pub" ] &&
   ssh-keygen -q -t ed25519 -N '' -f "$S/host_key" </dev/null >/dev/null 2>&1; then
  cp "$T/ssh/id_ed25519.pub" "$S/authorized_keys"
  sport=$(free_port)
  printf '%s\n' "Port $sport" "ListenAddress 127.0.0.1" "HostKey $S/host_key" \
    "AuthorizedKeysFile $S/authorized_keys" "PidFile $S/pid" "StrictModes no" "UsePAM no" \
    "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
    "PermitRootLogin prohibit-password" "UseDNS no" >"$S/config"
  [ "$(id -u)" -eq 0 ] && mkdir -p /run/sshd
  /usr/sbin/sshd -D -e -f "$S/config" 2>"$S/log" &
  sshd_pid=$!
  for _ in $(seq 20); do grep -q 'Server listening' "$S/log" 2>/dev/null && break; sleep 0.5; done
fi
log="$HOSTEL_HOME/machines/tiny/console.log"
"$H" create tiny --appliance "$T" --engine "$engine" >/dev/null && "$H" start tiny >/dev/null 2>&1
for _ in $(seq 600); do grep -q 'tiny: ready' "$log" 2>/dev/null && break; sleep 0.5; done
if ! grep -q 'tiny: eth0 10.0.2.15' "$log"; then
  fail tiny-boots "no DHCP lease in the guest: $(tail -3 "$log")"; exit 0
fi
out=$("$H" ssh tiny -- true 2>&1)
[ $? -ne 0 ] && grep -q "nothing listens on port 22 of 'tiny'" <<<"$out" && pass ssh-nothing-listens || fail ssh-nothing-listens "$out"
# Guest port 22: a relay to the host's sshd, or else a fake SSH greeting.
if [ -n "$sshd_pid" ]; then server="nc -ll -p 22 -e nc 10.0.2.2 $sport &"
else server='while :; do echo SSH-2.0-hostel-test | nc -l -p 22; done &'; fi
(sleep 1; printf '%s\r' "$server"; sleep 2) | timeout 20 "$H" console tiny >/dev/null 2>&1
port=$(json tiny '[f["host_port"] for f in o["forwards"] if f["guest_port"]==22][0]')
out=$(HOSTEL_SSH=echo "$H" ssh tiny --wait 30 -- uname -a 2>&1)
key="$HOSTEL_HOME/machines/tiny/ssh_key"
want="-p $port -i $key -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR $user@127.0.0.1 -- uname -a"
[ "$out" = "$want" ] && pass ssh-command-line || fail ssh-command-line "got '$out', wanted '$want'"
[ "$(stat -c %a "$key" 2>/dev/null)" = 600 ] && cmp -s "$key" "$T/ssh/id_ed25519" \
  && pass ssh-key-private-copy || fail ssh-key-private-copy "$(ls -l "$key" 2>&1)"
out=$(HOSTEL_SSH=echo "$H" ssh tiny --user bob -i /tmp/k --wait 30 2>&1)
grep -q -- "-i /tmp/k .*bob@127.0.0.1$" <<<"$out" && pass ssh-options-override || fail ssh-options-override "$out"
if [ -z "$sshd_pid" ]; then
  echo "SKIP: machines/forward/ssh-real-login (no /usr/sbin/sshd on this host: apt-get install openssh-server)"
else
  out=$(timeout 120 "$H" ssh tiny --wait 30 -- echo logged-in-as '$(id -un)' 2>&1)
  [ "$out" = "logged-in-as $user" ] && pass ssh-real-login || fail ssh-real-login "got '$out'; sshd: $(tail -3 "$S/log")"
fi
"$H" rm --force tiny >/dev/null 2>&1
exit 0
