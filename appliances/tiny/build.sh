#!/usr/bin/env bash
# The `tiny` appliance: Debian's cloud kernel and a busybox initramfs that
# loads the virtio modules, mounts its data disk and shared folders, gets an address by DHCP,
# gives a shell on the console and powers off cleanly on the ACPI power
# button.  Built from Debian packages only, in seconds.
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
step "making the initramfs (busybox, virtio and power-button modules)"
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
# udhcpc hook: configure the interface, the default route, DNS and the name.
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    : > /etc/resolv.conf
    [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    # A cluster's switch names the machine (docs/clusters.md).
    [ -n "$hostname" ] && hostname "$hostname" ;;
esac
DHCP
chmod +x "$tmp/root/usr/share/udhcpc/default.script"
# PID 1 is busybox init, so `poweroff` and `reboot` work from anywhere (the
# shell, a script, the power button) and always go through rcK below.
ln -s bin/busybox "$tmp/root/init"
mkdir -p "$tmp/root/etc/init.d" "$tmp/root/etc/acpi/PWRF"
cat > "$tmp/root/etc/inittab" <<'INITTAB'
# tiny: set up, a shell on the console (and one on the screen, tty1, which
# --display shows), a clean shutdown.
::sysinit:/etc/init.d/rcS
::respawn:/bin/cttyhack /bin/sh -l
tty1::respawn:/bin/sh -l
::shutdown:/etc/init.d/rcK
INITTAB
cat > "$tmp/root/etc/init.d/rcS" <<'RCS'
#!/bin/sh
# tiny's start: filesystems, modules, the data disk, DHCP, the power button.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || mdev -s
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         virtio_blk failover net_failover virtio_net virtio_console virtio-rng evdev button \
         fuse virtiofs; do
  for f in /lib/modules/$m.ko*; do [ -e "$f" ] && insmod "$f" 2>/dev/null; done
done
hostname tiny
ip link set lo up
if [ -b /dev/vda ]; then
  mount -t ext4 /dev/vda /mnt/disk && echo "tiny: disk /dev/vda mounted on /mnt/disk"
fi
# Shared folders (hostel --share DIR:TAG): hostel names the tags on the
# command line; each is mounted at /mnt/TAG.
for tag in $(sed -n 's/.*hostel\.shares=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' '); do
  mkdir -p "/mnt/$tag"
  mount -t virtiofs "$tag" "/mnt/$tag" && echo "tiny: share $tag mounted on /mnt/$tag" \
    || echo "tiny: share $tag could not be mounted"
done
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  udhcpc -i eth0 -q -n -t 5 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 && echo "tiny: eth0 $(ip -4 addr show eth0 | sed -n 's/.*inet \([0-9./]*\).*/\1/p')" \
    || echo "tiny: eth0: no DHCP answer"
fi
# The ACPI power button (`hostel stop`) reaches us as a key on an input event
# device; acpid runs /etc/acpi/PWRF/00000080 for it.
if [ -e /dev/input/event0 ]; then
  acpid -c /etc/acpi -l /dev/console -p /run/acpid.pid
else
  echo "tiny: no input event devices: the power button will do nothing"
fi
echo "tiny: ready. 'poweroff' powers the machine off; Ctrl-A x quits hostel."
RCS
cat > "$tmp/root/etc/init.d/rcK" <<'RCK'
#!/bin/sh
# tiny's shutdown, run by init before it powers off or reboots: stop every
# process, then unmount the data disk so its ext4 is left clean.
echo "tiny: shutting down"
kill -TERM -1 2>/dev/null; sleep 0.3
kill -KILL -1 2>/dev/null; sleep 0.1
sync
for m in $(awk '$3 == "virtiofs" {print $2}' /proc/mounts); do umount "$m" 2>/dev/null; done
if grep -q ' /mnt/disk ' /proc/mounts; then
  for i in 1 2 3 4 5; do umount /mnt/disk 2>/dev/null && break; sleep 0.2; done
  if grep -q ' /mnt/disk ' /proc/mounts; then
    mount -o remount,ro /mnt/disk && echo "tiny: /mnt/disk is busy: remounted read-only" \
      || echo "tiny: /mnt/disk could not be unmounted"
  else
    echo "tiny: /mnt/disk unmounted"
  fi
fi
# Everything is stopped and unmounted: finish now rather than wait through
# init's own two one-second pauses (the wrappers below record what was asked).
case $(cat /run/shutdown-kind 2>/dev/null) in
  poweroff) exec busybox poweroff -f ;;
  reboot) exec busybox reboot -f ;;
esac
RCK
# poweroff and reboot note what they ask for, for rcK (scripts and the power
# button through these files; the shell, which runs applets itself, through
# the functions in /etc/profile); -f still acts at once.
for kind in poweroff reboot; do
  rm -f "$tmp/root/bin/$kind"
  cat > "$tmp/root/bin/$kind" <<WRAP
#!/bin/sh
case " \$* " in *" -f "*) exec busybox $kind "\$@" ;; esac
echo $kind > /run/shutdown-kind
exec busybox $kind "\$@"
WRAP
  chmod +x "$tmp/root/bin/$kind"
done
cat > "$tmp/root/etc/acpi/PWRF/00000080" <<'PWRF'
#!/bin/sh
# busybox acpid runs this when the ACPI power button is pressed (`hostel stop`).
echo "tiny: power button pressed: powering off"
echo poweroff > /run/shutdown-kind
exec busybox poweroff
PWRF
chmod +x "$tmp/root/etc/init.d/rcS" "$tmp/root/etc/init.d/rcK" "$tmp/root/etc/acpi/PWRF/00000080"
cat > "$tmp/root/etc/profile" <<'PROFILE'
PS1='tiny:\w# '
export PS1
poweroff() { case " $* " in *" -f "*) ;; *) echo poweroff > /run/shutdown-kind ;; esac; busybox poweroff "$@"; }
reboot() { case " $* " in *" -f "*) ;; *) echo reboot > /run/shutdown-kind ;; esac; busybox reboot "$@"; }
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
  "cmdline": "console=tty0 console=ttyS0 quiet panic=-1",
  "cpus": 1,
  "memory": "256M",
  "disks": [ { "file": "disk.img", "format": "raw" } ],
  "net": "user",
  "ready": "tiny: ready"
}
JSON
echo "$recipe_hash" > "$out/.recipe"
done_progress "hostel: tiny appliance ready: $out"
