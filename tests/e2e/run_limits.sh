#!/usr/bin/env bash
# Rate limits in a Linux guest (docs/security.md), in the tiny appliance
# under its sandbox:
# - two blank extra disks, one of them --disk size=80M,bps=10M: dd reading
#   64 MiB from the limited one takes 6.4 s give or take 20 % (the guest's
#   own /proc/uptime); the unlimited one reads the same faster, so the bound
#   would fail without the limit;
# - --net-limit bps=512K: 4 MiB sent by the guest through a forward reach
#   the host in 8 s give or take 20 %;
# - a guest reboot rebuilds the machine inside the sandbox, and the disk
#   limit holds after it.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: limits/build (appliances/tiny/build.sh failed)"; exit 0
fi
. tests/lib/engines.sh
engine=$(test_engine) || { echo "FAIL: limits/engine (no engine: $(engine_why))"; exit 0; }
work=$(mktemp -d /tmp/hostel-limits-XXXXXX); trap 'rm -rf "$work"' EXIT
cp -r --sparse=always "$BUILD/appliances/tiny" "$work/tiny"
read_cmd() {   # device: elapsed seconds of reading 64 MiB, between two markers
  echo "a=\$(cut -d' ' -f1 /proc/uptime); dd if=/dev/$1 of=/dev/null bs=64k count=1024 2>/dev/null; b=\$(cut -d' ' -f1 /proc/uptime); echo \"took-$1 \$a \$b\""
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The host's side: connect until the guest's listener answers, then time
# from the first byte to the end.
python3 - "$port" > "$work/net.txt" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
deadline = time.time() + 300
while time.time() < deadline:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
    except OSError:
        time.sleep(0.5); continue
    got, first = 0, None
    while True:
        try:
            b = s.recv(65536)
        except OSError:
            break
        if not b:
            break
        if first is None:
            first = time.time()
        got += len(b)
    s.close()
    if got:
        print(got, round(time.time() - first, 2)); break
    time.sleep(0.5)
PY
recv=$!
out=$(tests/e2e/console.py 600 -- "$H" run --engine "$engine" "$work/tiny" \
        --disk size=80M --disk size=80M,bps=10M --forward "tcp:$port:7777" --net-limit bps=512K <<STEPS
expect tiny: ready
send $(read_cmd vdb)
expect took-vdb
send $(read_cmd vdc)
expect took-vdc
send dd if=/dev/zero bs=64k count=64 2>/dev/null | nc -l -p 7777; echo sent-all
expect sent-all
send reboot
expect tiny: ready
send a=\$(cut -d' ' -f1 /proc/uptime); dd if=/dev/vdc of=/dev/null bs=64k count=256 2>/dev/null; b=\$(cut -d' ' -f1 /proc/uptime); echo "after-reboot \$a \$b"
expect after-reboot
send poweroff
STEPS
)
rc=$?
[ $rc -eq 0 ] && echo "PASS: limits/boot" || { echo "FAIL: limits/boot (see below)"; echo "$out" | tail -20; exit 0; }
secs() { grep -ao "^$1 [0-9.]* [0-9.]*" <<<"$out" | tail -1 | awk '{printf "%.2f", $3 - $2}'; }
free=$(secs took-vdb) limited=$(secs took-vdc)
echo "# 64 MiB read: unlimited disk ${free:-?} s, bps=10M disk ${limited:-?} s (expected 6.4 s)"
if [ -n "$limited" ] && python3 -c "import sys; sys.exit(0 if 5.12 <= $limited <= 7.68 else 1)"; then
  echo "PASS: limits/disk-bps-holds"
else
  echo "FAIL: limits/disk-bps-holds (64 MiB at bps=10M took ${limited:-?} s, not 5.12..7.68)"
fi
if [ -n "$free" ] && [ -n "$limited" ] && python3 -c "import sys; sys.exit(0 if $free < $limited * 0.8 else 1)"; then
  echo "PASS: limits/unlimited-disk-faster"
else
  echo "FAIL: limits/unlimited-disk-faster (unlimited ${free:-?} s against limited ${limited:-?} s)"
fi
wait $recv
read -r nbytes nsecs < "$work/net.txt"
echo "# 4 MiB from the guest at --net-limit bps=512K: ${nbytes:-?} bytes in ${nsecs:-?} s (expected 8 s)"
if [ "${nbytes:-0}" = 4194304 ] && python3 -c "import sys; sys.exit(0 if 6.4 <= ${nsecs:-0} <= 9.6 else 1)"; then
  echo "PASS: limits/net-bps-holds"
else
  echo "FAIL: limits/net-bps-holds (${nbytes:-no} bytes in ${nsecs:-?} s; want 4194304 in 6.4..9.6 s)"
fi
again=$(secs after-reboot)
echo "# after a guest reboot: 16 MiB at bps=10M in ${again:-?} s (expected 1.6 s)"
if [ -n "$again" ] && python3 -c "import sys; sys.exit(0 if 1.2 <= $again <= 2.4 else 1)"; then
  echo "PASS: limits/reboot-in-sandbox-keeps-limit"
else
  echo "FAIL: limits/reboot-in-sandbox-keeps-limit (16 MiB took ${again:-?} s after the reboot)"
fi
