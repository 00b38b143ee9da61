#!/usr/bin/env bash
# Builds a Linux test guest from Debian packages only: Debian's stock kernel
# (linux-image-cloud-amd64 or linux-image-amd64) and a busybox initramfs
# whose /init mounts the usual filesystems, loads the virtio modules and gives
# a shell on the serial console.  Results are cached under OUT and rebuilt only
# when this script or the kernel package changes.
#
# Usage: scripts/linux-guest.sh [cloud|generic] [OUT]
#   prints the paths: KERNEL=... INITRD=...
set -euo pipefail
flavour=${1:-cloud}
here=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$here/build/linux-$flavour}
case "$flavour" in
  cloud) meta=linux-image-cloud-amd64 ;;
  generic) meta=linux-image-amd64 ;;
  *) echo "linux-guest.sh: flavour must be cloud or generic" >&2; exit 2 ;;
esac
"$here/scripts/deps.sh" test >&2
mkdir -p "$out"

# The versioned kernel package the metapackage points at.
if [ ! -s "$out/package" ] || [ "$out/package" -ot "$0" ]; then
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq >&2
  pkg=$(apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
  if [ -z "$pkg" ]; then apt-get update -qq >&2;
    pkg=$(apt-cache depends "$meta" | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1); fi
  [ -n "$pkg" ] || { echo "linux-guest.sh: cannot resolve $meta to a kernel package" >&2; exit 1; }
  echo "$pkg" > "$out/package"
fi
pkg=$(cat "$out/package")
kver=${pkg#linux-image-}

# Only the modules the guests need: virtio transport and devices, ext4, and
# the ACPI power button with the event interface it reports through (so a
# guest can power off when `hostel stop` presses the button), and virtiofs
# (with fuse, which it needs) for shared folders.  The list is
# kept beside the modules: a new list extracts them again.
modlist="virtio virtio_ring virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev
  virtio_blk virtio_net net_failover failover virtio_console virtio-rng
  crc16 mbcache jbd2 ext4 crc32c_generic libcrc32c evdev button fuse virtiofs"
if [ ! -s "$out/vmlinuz" ] || [ "$(cat "$out/modules/.list" 2>/dev/null)" != "$modlist" ]; then
  echo "linux-guest.sh: downloading $pkg" >&2
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -qq "$pkg" >&2)
  dpkg -x "$tmp"/*.deb "$tmp/root"
  cp "$tmp/root/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
  rm -rf "$out/modules"; mkdir -p "$out/modules"
  for m in $modlist; do
    f=$(find "$tmp/root/lib/modules/$kver" -name "$m.ko*" | head -1)
    [ -n "$f" ] && cp "$f" "$out/modules/"
  done
  echo "$modlist" > "$out/modules/.list"
  mv "$out/vmlinuz.tmp" "$out/vmlinuz"
fi

if [ ! -s "$out/initrd.img" ] || [ "$out/initrd.img" -ot "$0" ]; then
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,root,lib/modules,mnt}
  cp /bin/busybox "$root/bin/busybox"
  for app in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
  done
  cp "$out"/modules/* "$root/lib/modules/" 2>/dev/null || true
  cat > "$root/init" <<'INIT'
#!/bin/sh
# hostel test guest init: filesystems, virtio modules, a shell on the console.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || mdev -s
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         virtio_blk failover net_failover virtio_net virtio_console virtio-rng; do
  for f in /lib/modules/$m.ko*; do [ -e "$f" ] && insmod "$f" 2>/dev/null; done
done
echo "hostel-guest: init reached"
hostname hostel
if grep -q 'hostel.script' /proc/cmdline; then
  # Non-interactive checks: run the commands passed on the command line, then power off.
  cmd=$(sed -n 's/.*hostel.script=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
  for c in $cmd; do c=$(echo "$c" | tr '_' ' '); echo "== $c"; $c; done
  poweroff -f
fi
exec setsid cttyhack sh -l
INIT
  chmod +x "$root/init"
  printf 'PS1="hostel# "\nexport PS1\n' > "$root/etc/profile"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img.tmp"
  rm -rf "$root"
  mv "$out/initrd.img.tmp" "$out/initrd.img"
fi
echo "KERNEL=$out/vmlinuz"
echo "INITRD=$out/initrd.img"
