#!/usr/bin/env bash
# The `debian` appliance: a minimal Debian 12 made with debootstrap on a qcow2
# root disk, booting its own init (systemd) with a serial getty, DHCP by
# systemd-networkd, and an SSH server the host reaches through a forwarded
# port.  The kernel is Debian's cloud kernel (the one `tiny` uses); a small
# busybox initramfs loads the virtio modules, mounts /dev/vda and hands over
# to /sbin/init.
# Usage: appliances/debian/build.sh [OUT]   (default build/appliances/debian)
# Needs root (debootstrap and chroot).  HOSTEL_DEBIAN_MIRROR picks the mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$here/build/appliances/debian}
. "$here/appliances/lib/recipe.sh"
recipe_hash=$(recipe_hash "$0" "$here/appliances/lib/recipe.sh" "$here/scripts/linux-guest.sh")
recipe_up_to_date "$out" "$recipe_hash" && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "appliances/debian/build.sh: building the debian appliance needs root (debootstrap and chroot); run it as root" >&2
  exit 1
fi
PROGRESS_NAME="building the debian appliance" PROGRESS_TOTAL=8
hostel=${HOSTEL:-$here/build/hostel}
[ -x "$hostel" ] || make -C "$here" -s all >&2

rm -rf "$out.new"
step "installing the Debian tools it needs"
"$here/scripts/deps.sh" test >&2
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null

# The mirror: the one this host's apt uses, unless HOSTEL_DEBIAN_MIRROR says.
mirror=${HOSTEL_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*\/debian\)\/*$/\1/p' | head -1)
  [ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\/debian\)\/* bookworm .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
  [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi

step "fetching the kernel"
eval "$("$here/scripts/linux-guest.sh" cloud)"
kpkg=$(cat "$(dirname "$KERNEL")/package")
kver=${kpkg#linux-image-}

work=$(mktemp -d "${TMPDIR:-/tmp}/hostel-debian-XXXXXX")
cleanup() {
  for m in proc sys dev; do umount -l "$work/root/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
log=$work/build.log
fail() { done_progress "appliances/debian/build.sh: $1 (last lines of the log follow)"; tail -15 "$log" >&2; exit 1; }

step "debootstrap bookworm from $mirror"
pkgs=systemd-sysv,udev,dbus,openssh-server,iproute2,kmod,procps,e2fsprogs,netbase,iputils-ping,less
# The bootstrapped base is kept (as a tar) under build/appliances/.cache, keyed
# by mirror and package list, so a change elsewhere in this recipe does not
# download Debian again.
base_cache=${HOSTEL_APPLIANCE_CACHE:-$here/build/appliances/.cache}/debian-base-$(echo "$mirror $pkgs" | sha256sum | cut -c1-16).tar
if [ -s "$base_cache" ]; then
  mkdir -p "$work/root" && tar -C "$work/root" -xpf "$base_cache" || fail "cannot unpack $base_cache"
else
  debootstrap --variant=minbase --include="$pkgs" bookworm "$work/root" "$mirror" 2>&1 | follow "$log" ||
    fail "debootstrap failed"
  mkdir -p "$(dirname "$base_cache")"
  tar -C "$work/root" -cpf "$base_cache.tmp" . && mv "$base_cache.tmp" "$base_cache"
fi
[ -x "$work/root/sbin/init" ] || fail "debootstrap left no /sbin/init"

step "installing the kernel modules ($kver)"
(cd "$work" && apt-get download -qq "$kpkg") >>"$log" 2>&1 || fail "apt-get download $kpkg failed"
dpkg -x "$work"/linux-image-*.deb "$work/kpkg"
mkdir -p "$work/root/lib/modules"
cp -a "$work/kpkg/lib/modules/$kver" "$work/root/lib/modules/"
chroot "$work/root" /sbin/depmod "$kver" >>"$log" 2>&1 || fail "depmod failed"

step "configuring the system"
r=$work/root
echo debian > "$r/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$r/etc/hosts"
printf '# The root disk (virtio-blk).\n/dev/vda\t/\text4\tdefaults,errors=remount-ro\t0 1\n' > "$r/etc/fstab"
# DHCP on the first wired interface, through systemd-networkd.
mkdir -p "$r/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' > "$r/etc/systemd/network/20-wired.network"
ln -sf /lib/systemd/system/systemd-networkd.service "$r/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
rm -f "$r/etc/resolv.conf"; echo "nameserver 10.0.2.3" > "$r/etc/resolv.conf"   # libslirp's DNS
# Nothing waits for the network to be "online", no periodic maintenance, and
# no modules for hardware this machine does not have (display, EFI, dm).
for u in systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \
         dpkg-db-backup.timer e2scrub_all.timer fstrim.timer e2scrub_reap.service \
         modprobe@drm.service modprobe@efi_pstore.service modprobe@dm_mod.service; do
  ln -sf /dev/null "$r/etc/systemd/system/$u"
done
# Root logs in on the console without a password; SSH takes only keys.
chroot "$r" passwd -d root >>"$log" 2>&1 || fail "passwd -d root failed"
mkdir -p "$out.new/ssh" "$r/root/.ssh"
ssh-keygen -q -t ed25519 -N "" -C "hostel debian appliance" -f "$out.new/ssh/id_ed25519"
install -m 0600 "$out.new/ssh/id_ed25519.pub" "$r/root/.ssh/authorized_keys"
chmod 0700 "$r/root/.ssh"
# Each machine makes its own host key on first boot (ed25519: fast on emu),
# and again when it finds it is another machine than last time: hostel gives
# every named machine (and each clone) its own hostel.id= on the command
# line, so a linked clone does not share its source's host key or machine-id.
rm -f "$r"/etc/ssh/ssh_host_*
printf 'HostKey /etc/ssh/ssh_host_ed25519_key\n' > "$r/etc/ssh/sshd_config.d/hostel.conf"
cat > "$r/usr/local/sbin/hostel-identity" <<'IDENT'
#!/bin/sh
# A new identity (hostel.id= changed, or no host key yet): new SSH host key,
# new machine-id.
id=$(sed -n 's/.*hostel\.id=\([0-9a-f]*\).*/\1/p' /proc/cmdline)
old=$(cat /var/lib/hostel-id 2>/dev/null)
if [ -f /etc/ssh/ssh_host_ed25519_key ] && [ "$id" = "$old" ]; then exit 0; fi
rm -f /etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
if [ -n "$old" ] && [ "$id" != "$old" ]; then
  rm -f /etc/machine-id /var/lib/dbus/machine-id
  systemd-machine-id-setup >/dev/null 2>&1
fi
[ -n "$id" ] && echo "$id" > /var/lib/hostel-id
exit 0
IDENT
chmod 0755 "$r/usr/local/sbin/hostel-identity"
cat > "$r/etc/systemd/system/hostel-ssh-hostkey.service" <<'UNIT'
[Unit]
Description=This machine's SSH host key and machine-id (new for each hostel machine and clone)
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/hostel-identity

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/hostel-ssh-hostkey.service "$r/etc/systemd/system/multi-user.target.wants/hostel-ssh-hostkey.service"
# Shared folders (hostel --share DIR:TAG): hostel names the tags on the
# command line as hostel.shares=; each is mounted at /mnt/TAG (virtiofs,
# loaded on demand from the kernel's modules).
cat > "$r/usr/local/sbin/hostel-shares" <<'SHARES'
#!/bin/sh
# Mounts each shared folder hostel gives this machine at /mnt/TAG.
for tag in $(sed -n 's/.*hostel\.shares=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' '); do
  mkdir -p "/mnt/$tag"
  mountpoint -q "/mnt/$tag" || mount -t virtiofs "$tag" "/mnt/$tag" || echo "hostel-shares: cannot mount $tag" >&2
done
exit 0
SHARES
chmod 0755 "$r/usr/local/sbin/hostel-shares"
cat > "$r/etc/systemd/system/hostel-shares.service" <<'UNIT'
[Unit]
Description=Shared folders from hostel at /mnt/TAG
After=local-fs.target
Before=multi-user.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/hostel-shares

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/hostel-shares.service "$r/etc/systemd/system/multi-user.target.wants/hostel-shares.service"
echo "Debian 12 in hostel. 'poweroff' powers the machine off." > "$r/etc/motd"
# Smaller disk: no package caches, lists, docs or translations.
rm -rf "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* \
       "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/locale/* "$r"/boot/*

step "making the root disk (ext4, then qcow2)"
rm -f "$work/root.img"
truncate -s 2G "$work/root.img"
mkfs.ext4 -q -F -L debian-root -d "$r" "$work/root.img" >>"$log" 2>&1 || fail "mkfs.ext4 -d failed"
"$hostel" image convert -O qcow2 "$work/root.img" "$out.new/root.qcow2" >>"$log" 2>&1 || fail "hostel image convert failed"

step "making the initramfs"
i=$work/initrd
mkdir -p "$i"/{bin,sbin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$i/bin/busybox"
for app in sh mount umount insmod switch_root sleep cat echo mkdir; do ln -s busybox "$i/bin/$app"; done
cp "$(dirname "$KERNEL")"/modules/*.ko "$i/lib/modules/"
cat > "$i/init" <<'INIT'
#!/bin/sh
# debian appliance initramfs: virtio modules, mount the root disk, hand over.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
  [ -e /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null
done
root=/dev/vda
for arg in $(cat /proc/cmdline); do case "$arg" in root=/dev/*) root=${arg#root=} ;; esac; done
n=0
while [ ! -b "$root" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
if ! mount -t ext4 -o rw "$root" /newroot; then
  echo "debian initramfs: cannot mount the root disk $root; here is a shell"
  exec sh
fi
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
INIT
chmod +x "$i/init"
(cd "$i" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.new/initrd.img"
cp "$KERNEL" "$out.new/vmlinuz"

step "writing the manifest"
cat > "$out.new/appliance.json" <<JSON
{
  "format": 1,
  "name": "debian",
  "version": "12",
  "kernel": "vmlinuz",
  "initrd": "initrd.img",
  "cmdline": "console=tty0 console=ttyS0 root=/dev/vda rw quiet panic=-1",
  "cpus": 1,
  "memory": "512M",
  "disks": [ { "file": "root.qcow2", "format": "qcow2" } ],
  "net": "user",
  "forwards": [ "tcp:127.0.0.1:0:22" ],
  "ssh": { "user": "root", "key": "ssh/id_ed25519", "port": 22 },
  "login": "root"
}
JSON
echo "$recipe_hash" > "$out.new/.recipe"
rm -rf "$out"
mv "$out.new" "$out"
done_progress "hostel: debian appliance ready: $out ($(du -sh "$out/root.qcow2" | cut -f1) root disk)"
