#!/usr/bin/env bash
# A Debian 12 cloud disk image shaped like Debian's own genericcloud image:
# one disk (MBR, an ext4 root partition labelled debian-root) carrying its
# own kernel (linux-image-cloud-amd64 with its initramfs-tools initramfs),
# GRUB (Debian's grub-pc-bin) in the MBR, and cloud-init, which configures
# the machine at its first boot from a NoCloud seed (hostel run --cloud-init
# / --ssh-key).  Nothing hostel-specific is inside: it boots through the
# firmware like any PC disk, and is what the firmware tests use in place of
# the stock image they cannot download here.
# Usage: appliances/debian-cloud/build.sh [OUT]   (default build/appliances/debian-cloud)
#   OUT/disk.qcow2 is the image.  Needs root (debootstrap and chroot).
#   HOSTEL_DEBIAN_MIRROR picks the mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$here/build/appliances/debian-cloud}
. "$here/appliances/lib/recipe.sh"
recipe_hash=$(recipe_hash "$0" "$here/appliances/lib/recipe.sh")
[ -f "$out/.recipe" ] && [ "$(cat "$out/.recipe")" = "$recipe_hash" ] && [ -f "$out/disk.qcow2" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "appliances/debian-cloud/build.sh: needs root (debootstrap and chroot); run it as root" >&2
  exit 1
fi
PROGRESS_NAME="building the debian-cloud image" PROGRESS_TOTAL=6
hostel=${HOSTEL:-$here/build/hostel}
[ -x "$hostel" ] || make -C "$here" -s all >&2
rm -rf "$out.new"
mkdir -p "$out.new"
step "installing the Debian tools it needs"
"$here/scripts/deps.sh" test >&2
mirror=${HOSTEL_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*\/debian\)\/*$/\1/p' | head -1)
  [ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\/debian\)\/* bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/hostel-debian-cloud-XXXXXX")
cleanup() {
  for m in proc sys dev; do umount -l "$work/root/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
log=$work/build.log
fail() { done_progress "appliances/debian-cloud/build.sh: $1 (last lines of the log follow)"; tail -15 "$log" >&2; exit 1; }

step "debootstrap bookworm, then cloud-init and a kernel, from $mirror"
# debootstrap takes the base only (cloud-init's Python stack does not
# configure inside debootstrap's own ordering); apt-get in the chroot adds
# the rest, with /proc, /sys and /dev mounted as its scripts expect.
pkgs=systemd-sysv,udev,dbus,openssh-server,iproute2,kmod,procps,e2fsprogs,netbase,less,sudo
extra="cloud-init linux-image-cloud-amd64 initramfs-tools ifupdown isc-dhcp-client"
base_cache=${HOSTEL_APPLIANCE_CACHE:-$here/build/appliances/.cache}/debian-cloud-base-$(echo "$mirror $pkgs $extra" | sha256sum | cut -c1-16).tar
if [ -s "$base_cache" ]; then
  mkdir -p "$work/root" && tar -C "$work/root" -xpf "$base_cache" || fail "cannot unpack $base_cache"
else
  debootstrap --variant=minbase --include="$pkgs" bookworm "$work/root" "$mirror" 2>&1 | follow "$log" ||
    fail "debootstrap failed"
  for m in proc sys dev; do mount --bind "/$m" "$work/root/$m"; done
  cp /etc/resolv.conf "$work/root/etc/resolv.conf" 2>/dev/null || true
  echo "deb $mirror bookworm main" > "$work/root/etc/apt/sources.list"
  chroot "$work/root" sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends $extra" 2>&1 | follow "$log" || fail "apt-get install in the chroot failed"
  for m in proc sys dev; do umount -l "$work/root/$m"; done
  mkdir -p "$(dirname "$base_cache")"
  tar -C "$work/root" -cpf "$base_cache.tmp" . && mv "$base_cache.tmp" "$base_cache"
fi
r=$work/root
ls "$r"/boot/vmlinuz-* >/dev/null 2>&1 || fail "no kernel in /boot"
ls "$r"/boot/initrd.img-* >/dev/null 2>&1 || fail "no initramfs in /boot"

step "configuring the system as a cloud image"
echo localhost > "$r/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$r/etc/hosts"
printf 'LABEL=debian-root\t/\text4\tdefaults,errors=remount-ro\t0 1\n' > "$r/etc/fstab"
# No password anywhere: cloud-init makes the default user (debian) and puts
# the seed's keys in its authorized_keys, as on Debian's cloud images.
chroot "$r" passwd -l root >>"$log" 2>&1 || fail "passwd -l root failed"
rm -f "$r"/etc/ssh/ssh_host_*            # cloud-init makes the host keys
rm -f "$r/etc/machine-id" "$r/var/lib/dbus/machine-id"; : > "$r/etc/machine-id"
# cloud-init looks for its NoCloud seed (and nothing that needs a metadata
# server on the network) and renders the network for ifupdown.
cat > "$r/etc/cloud/cloud.cfg.d/90-hostel-test.cfg" <<'CFG'
datasource_list: [ NoCloud, None ]
manage_etc_hosts: true
CFG
for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
         e2scrub_reap.service; do
  ln -sf /dev/null "$r/etc/systemd/system/$u"
done
rm -rf "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* \
       "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/locale/*
(cd "$r" && ln -sf "$(cd boot && ls vmlinuz-* | head -1 | sed 's,^,boot/,')" vmlinuz &&
 ln -sf "$(cd boot && ls initrd.img-* | head -1 | sed 's,^,boot/,')" initrd.img)
mkdir -p "$r/boot/grub"
cat > "$r/boot/grub/grub.cfg" <<'CFG'
# What GRUB's core image runs (it carries the same lines): Debian's kernel,
# its initramfs, the root by label, the console on the serial port.
set root=(hd0,msdos1)
linux /vmlinuz root=LABEL=debian-root ro console=tty0 console=ttyS0,115200
initrd /initrd.img
boot
CFG

step "making the root file system (ext4)"
truncate -s 3G "$work/fs.img"
mkfs.ext4 -q -F -L debian-root -d "$r" "$work/fs.img" >>"$log" 2>&1 || fail "mkfs.ext4 -d failed"

step "making the disk: partition table, root partition, GRUB"
grub-mkimage -O i386-pc -o "$work/core.img" -c "$r/boot/grub/grub.cfg" -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 linux echo >>"$log" 2>&1 || fail "grub-mkimage failed"
disk=$work/disk.img
truncate -s $((3 * 1024 + 1))M "$disk"
echo 'start=2048, type=83, bootable' | sfdisk -q "$disk" >>"$log" 2>&1 || fail "sfdisk failed"
dd if="$work/fs.img" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none || fail "cannot copy the root file system in"
dd if=/usr/lib/grub/i386-pc/boot.img of="$disk" bs=446 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none

step "converting to qcow2"
"$hostel" image convert -O qcow2 "$disk" "$out.new/disk.qcow2" >>"$log" 2>&1 || fail "hostel image convert failed"
echo "$recipe_hash" > "$out.new/.recipe"
rm -rf "$out"
mv "$out.new" "$out"
done_progress "hostel: debian-cloud image ready: $out/disk.qcow2 ($(du -sh "$out/disk.qcow2" | cut -f1))"
