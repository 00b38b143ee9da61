#!/usr/bin/env bash
# Boots Debian's stock kernel with virtio-net on user networking (at MTU 9000,
# --net user,mtu=9000) and checks, from both sides, that the network works:
# the guest's eth0 has that MTU, it gets its DHCP lease
# (10.0.2.15), fetches a page from a web server on the host's 127.0.0.1
# through 10.0.2.2, and the host reaches a busybox httpd in the guest through
# --forward.  One boot (a minute or two on emu).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$BUILD/hostel"
name=net/linux-user

if [ ! -x "$H" ] || ! "$H" run --help 2>&1 | grep -q -- '--net'; then
  echo "FAIL: $name (no $H with --net)"; exit 0
fi
. tests/lib/engines.sh
engine=$(test_engine) || { echo "FAIL: $name (hostel engines found no engine that can run here: $(engine_why))"; exit 0; }
command -v python3 >/dev/null || { echo "SKIP: $name (python3 is needed for the host web server)"; exit 0; }
# --net user needs libslirp in the build.
if "$H" run --kernel /dev/null --net user 2>&1 | grep -q 'without libslirp'; then
  echo "SKIP: $name (built without libslirp)"; exit 0
fi
paths=$(scripts/linux-guest.sh cloud 2>/dev/null) || { echo "FAIL: $name (could not build the guest from Debian packages)"; exit 0; }
eval "$paths"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
web_port=$(free_port); fwd_port=$(free_port); done_port=$(free_port)
while [ "$fwd_port" = "$web_port" ]; do fwd_port=$(free_port); done
while [ "$done_port" = "$web_port" ] || [ "$done_port" = "$fwd_port" ]; do done_port=$(free_port); done

# The host's web server, on loopback only.
mkdir "$work/www"
echo "hello-from-the-host" > "$work/www/hello.txt"
head -c 4194304 /dev/urandom > "$work/www/big.bin"
python3 -m http.server "$web_port" --bind 127.0.0.1 --directory "$work/www" >"$work/http.log" 2>&1 &
pids+=($!)

# The guest: our own /init on the test initramfs.
mkdir "$work/root"
(cd "$work/root" && zcat "$INITRD" | cpio -id --quiet)
cat > "$work/root/init" <<INIT
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || mdev -s
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         failover net_failover virtio_net; do
  for f in /lib/modules/\$m.ko*; do [ -e "\$f" ] && insmod "\$f"; done
done
ip link set lo up
ip link set eth0 up
echo "mac: \$(cat /sys/class/net/eth0/address)"
echo "mtu: \$(cat /sys/class/net/eth0/mtu)"
cat > /tmp/dhcp.sh <<'S'
#!/bin/sh
[ "\$1" = bound ] || exit 0
echo "lease: \$ip router \$router dns \$dns"
ifconfig "\$interface" "\$ip" netmask "\$subnet" up
route add default gw "\$router"
S
chmod +x /tmp/dhcp.sh
udhcpc -i eth0 -n -q -t 10 -T 2 -s /tmp/dhcp.sh 2>&1
# No wget -T: Debian's static busybox 1.35 wget crashes with it.
echo "wget: \$(wget -q -O- http://10.0.2.2:$web_port/hello.txt)"
# Throughput (reported, not asserted: it measures the CPU engine as much as us).
t0=\$(cut -d' ' -f1 /proc/uptime)
n=\$(wget -q -O- http://10.0.2.2:$web_port/big.bin | wc -c)
t1=\$(cut -d' ' -f1 /proc/uptime)
echo "download: \$((n + 0)) bytes from \$t0 to \$t1"
mkdir -p /www && echo "hello-from-the-guest" > /www/index.html
httpd -p 80 -h /www
echo "HTTPD-UP"
# The host connects to port 81 once it has fetched our page.
nc -l -p 81 </dev/null >/dev/null
echo "NET-CHECK-DONE"
poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.img"

log="$work/log"
timeout 480 "$H" run --engine "$engine" --memory 256M --kernel "$KERNEL" --initrd "$work/initrd.img" \
  --cmdline "console=ttyS0 panic=-1 quiet" --net user,mtu=9000 --mac 52:54:00:ab:cd:ef \
  --forward "tcp:$fwd_port:80" --forward "tcp:127.0.0.1:$done_port:81" --no-reboot \
  --serial stdio </dev/null >"$log" 2>&1 &
vm=$!
pids+=($vm)

# Wait for the guest's httpd, then fetch from it through the forward.
guest_page=""
for _ in $(seq 1 450); do
  grep -q 'HTTPD-UP' "$log" 2>/dev/null && break
  kill -0 "$vm" 2>/dev/null || break
  sleep 1
done
if grep -q 'HTTPD-UP' "$log"; then
  guest_page=$(curl -s -m 60 "http://127.0.0.1:$fwd_port/index.html")
  # Tell the guest we are done (it powers off).
  curl -s -m 20 "http://127.0.0.1:$done_port/" >/dev/null 2>&1
fi
wait "$vm"
rc=$?
tr -d '\r' <"$log" >"$log.txt"

why=""
[ "$rc" -eq 0 ] || why="exit status $rc"
grep -q '^mac: 52:54:00:ab:cd:ef' "$log.txt" || why="${why:+$why; }eth0 missing or wrong MAC"
grep -q '^mtu: 9000$' "$log.txt" || why="${why:+$why; }eth0's MTU is not the 9000 of --net user,mtu=9000"
grep -q '^lease: 10.0.2.15 router 10.0.2.2 dns 10.0.2.3' "$log.txt" || why="${why:+$why; }no DHCP lease of 10.0.2.15"
grep -q '^wget: hello-from-the-host' "$log.txt" || why="${why:+$why; }guest could not fetch from the host"
[ "$guest_page" = "hello-from-the-guest" ] || why="${why:+$why; }host could not fetch from the guest through --forward (got '$guest_page')"
grep -q 'NET-CHECK-DONE' "$log.txt" || why="${why:+$why; }guest never saw the host's done signal"
grep -q '^download: 4194304 bytes' "$log.txt" || why="${why:+$why; }the 4 MiB download came out short"
speed=$(sed -n 's/^download: \([0-9]*\) bytes from \([0-9.]*\) to \([0-9.]*\)$/\1 \2 \3/p' "$log.txt" |
        awk '{ if ($3 > $2) printf "%.2f MB/s", $1 / ($3 - $2) / 1e6 }')
[ -n "$speed" ] && echo "# net/linux-user@$engine: guest download from the host at $speed"
if [ -z "$why" ]; then
  echo "PASS: $name@$engine"
else
  echo "FAIL: $name@$engine ($why)"
  tail -n 30 "$log.txt"
fi
