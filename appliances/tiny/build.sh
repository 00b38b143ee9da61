#!/usr/bin/env bash
# The `tiny` appliance: Debian's cloud kernel and a busybox initramfs that
# loads the virtio modules, mounts its data disk, gets an address by DHCP and
# gives a shell on the console.  Built from Debian packages only, in seconds.
# Usage: appliances/tiny/build.sh [OUT]   (default build/appliances/tiny)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$here/build/appliances/tiny}
. "$here/appliances/lib/recipe.sh"
recipe_hash=$(recipe_hash "$0" "$here/appliances/lib/recipe.sh" "$here/scripts/linux-guest.sh")
recipe_up_to_date "$out" "$recipe_hash" && exit 0
PROGRESS_NAME="building the tiny appliance" PROGRESS_TOTAL=5
step "installing the Debian tools it needs"
"$here/scripts/deps.sh" test >&2
step "fetching Debian's cloud kernel"
eval "$("$here/scripts/linux-guest.sh" cloud)"
step "making the initramfs (busybox, virtio modules)"
mods=$(dirname "$KERNEL")/modules
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out" "$tmp/root"/{bin,sbin,dev,proc,sys,tmp,etc,root,mnt/disk,lib/modules,usr/share/udhcpc,run}
cp /bin/busybox "$tmp/root/bin/busybox"
for app in $("$tmp/root/bin/busybox" --list); do
  [ -e "$tmp/root/bin/$app" ] || ln -s busybox "$tmp/root/bin/$app"
done
cp "$mods"/*.ko "$tmp/root/lib/modules/" 2>/dev/null || true
cat > "$tmp/root/usr/share/udhcpc/default.script" <<'DHCP'
#!/bin/sh
# udhcpc hook: configure the interface, the default route and DNS.
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done ;;
esac
DHCP
chmod +x "$tmp/root/usr/share/udhcpc/default.script"
cat > "$tmp/root/init" <<'INIT'
#!/bin/sh
# tiny appliance init.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || mdev -s
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         virtio_blk failover net_failover virtio_net virtio_console virtio-rng; do
  for f in /lib/modules/$m.ko*; do [ -e "$f" ] && insmod "$f" 2>/dev/null; done
done
hostname tiny
ip link set lo up
if [ -b /dev/vda ]; then
  mount -t ext4 /dev/vda /mnt/disk && echo "tiny: disk /dev/vda mounted on /mnt/disk"
fi
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  udhcpc -i eth0 -q -n -t 5 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 && echo "tiny: eth0 $(ip -4 addr show eth0 | sed -n 's/.*inet \([0-9./]*\).*/\1/p')" \
    || echo "tiny: eth0: no DHCP answer"
fi
echo "tiny: ready. 'poweroff' powers the machine off; Ctrl-A x quits hostel."
while :; do setsid cttyhack sh -l; done
INIT
chmod +x "$tmp/root/init"
cat > "$tmp/root/etc/profile" <<'PROFILE'
PS1='tiny:\w# '
export PS1
alias poweroff='poweroff -f'
PROFILE
(cd "$tmp/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img"
cp "$KERNEL" "$out/vmlinuz"
step "making the data disk (ext4)"
# The data disk: ext4 with a note, made without root tricks (mkfs.ext4 -d).
mkdir -p "$tmp/disk"
echo "This disk belongs to the tiny appliance. Files written here stay." > "$tmp/disk/README"
rm -f "$out/disk.img"
truncate -s 64M "$out/disk.img"
mkfs.ext4 -q -F -L tiny -d "$tmp/disk" "$out/disk.img"
step "writing the manifest"
cat > "$out/appliance.json" <<JSON
{
  "format": 1,
  "name": "tiny",
  "version": "1",
  "kernel": "vmlinuz",
  "initrd": "initrd.img",
  "cmdline": "console=ttyS0 quiet panic=-1",
  "cpus": 1,
  "memory": "256M",
  "disks": [ { "file": "disk.img", "format": "raw" } ],
  "net": "user"
}
JSON
echo "$recipe_hash" > "$out/.recipe"
done_progress "hostel: tiny appliance ready: $out"
