# Boot media for the firmware tests, made from Debian's packages without
# root or loop devices (source this file):
#
#   make_grub_disk IMG FILE    a raw disk: MBR, one ext4 partition holding
#                              FILE as /boot/guest, GRUB (grub-pc-bin) in the
#                              MBR and the gap after it, set to boot FILE
#                              with `multiboot`
#   make_grub_iso ISO FILE [ARGS]  an El Torito ISO made by grub-mkrescue and
#                              xorriso that boots FILE the same way (with
#                              the command line ARGS)
#   make_pxe_dir DIR FILE      a TFTP folder serving FILE (iPXE loads
#                              Multiboot images itself)
# Each prints why on stderr and returns 1 when a tool is missing.

_need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || { echo "missing $t (scripts/deps.sh test installs it)" >&2; return 1; }
  done
}

make_grub_disk() {   # IMG FILE
  local img=$1 file=$2 work
  _need grub-mkimage sfdisk mkfs.ext4 || return 1
  [ -f /usr/lib/grub/i386-pc/boot.img ] || { echo "missing grub-pc-bin's boot.img" >&2; return 1; }
  work=$(mktemp -d) || return 1
  mkdir -p "$work/root/boot"
  cp "$file" "$work/root/boot/guest"
  # GRUB's core image carries its config: no module or file is read but
  # the guest's, so the test does not depend on GRUB's module loading.
  cat > "$work/early.cfg" <<'CFG'
set root=(hd0,msdos1)
echo "grub: booting /boot/guest from the disk"
multiboot /boot/guest
boot
CFG
  grub-mkimage -O i386-pc -o "$work/core.img" -c "$work/early.cfg" -p '(hd0,msdos1)/boot/grub' \
    biosdisk part_msdos ext2 multiboot echo 2>"$work/log" || { cat "$work/log" >&2; rm -rf "$work"; return 1; }
  truncate -s 16M "$work/fs.img"
  mkfs.ext4 -q -F -d "$work/root" "$work/fs.img" >"$work/log" 2>&1 || { cat "$work/log" >&2; rm -rf "$work"; return 1; }
  rm -f "$img"
  truncate -s 20M "$img"
  echo 'start=2048, type=83, bootable' | sfdisk -q "$img" >/dev/null 2>&1 || { echo "sfdisk failed on $img" >&2; rm -rf "$work"; return 1; }
  dd if="$work/fs.img" of="$img" bs=512 seek=2048 conv=notrunc status=none
  # boot.img's first 446 bytes (the partition table stays), then core.img
  # from sector 1: boot.img loads sector 1, whose block list loads the rest.
  dd if=/usr/lib/grub/i386-pc/boot.img of="$img" bs=446 count=1 conv=notrunc status=none
  dd if="$work/core.img" of="$img" bs=512 seek=1 conv=notrunc status=none
  rm -rf "$work"
}

make_grub_iso() {   # ISO FILE [ARGS]
  local iso=$1 file=$2 args=${3:-} work
  _need grub-mkrescue xorriso || return 1
  work=$(mktemp -d) || return 1
  mkdir -p "$work/root/boot/grub"
  cp "$file" "$work/root/boot/guest"
  cat > "$work/root/boot/grub/grub.cfg" <<CFG
set timeout=0
menuentry "guest" {
  echo "grub: booting /boot/guest from the CD"
  multiboot /boot/guest $args
  boot
}
CFG
  grub-mkrescue -o "$iso" "$work/root" >"$work/log" 2>&1 || { tail -5 "$work/log" >&2; rm -rf "$work"; return 1; }
  rm -rf "$work"
}

make_pxe_dir() {   # DIR FILE
  mkdir -p "$1" && cp "$2" "$1/guest"
}

# SYSLINUX's loaders (Debian's isolinux, pxelinux, syslinux-common) with
# mboot.c32 loading FILE: real-mode code and COM32 modules no one here wrote.
_syslinux_cfg() {   # FILE ARGS -> config on stdout
  printf 'SERIAL 0 115200\nDEFAULT guest\nPROMPT 0\nTIMEOUT 1\nLABEL guest\n  KERNEL mboot.c32\n  APPEND %s %s\n' "$1" "$2"
}
make_isolinux_iso() {   # ISO FILE [ARGS]
  local iso=$1 file=$2 args=${3:-} work m=/usr/lib/syslinux/modules/bios
  _need xorriso || return 1
  [ -f /usr/lib/ISOLINUX/isolinux.bin ] || { echo "missing isolinux (scripts/deps.sh test installs it)" >&2; return 1; }
  work=$(mktemp -d) || return 1
  mkdir -p "$work/root/isolinux"
  cp /usr/lib/ISOLINUX/isolinux.bin "$m/ldlinux.c32" "$m/mboot.c32" "$m/libcom32.c32" "$work/root/isolinux/"
  cp "$file" "$work/root/guest"
  _syslinux_cfg /guest "$args" > "$work/root/isolinux/isolinux.cfg"
  xorriso -as mkisofs -quiet -o "$iso" -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
    -boot-load-size 4 -boot-info-table "$work/root" 2>"$work/log" || { tail -3 "$work/log" >&2; rm -rf "$work"; return 1; }
  rm -rf "$work"
}
make_pxelinux_dir() {   # DIR FILE [ARGS]: boot file pxelinux.0
  local dir=$1 m=/usr/lib/syslinux/modules/bios
  [ -f /usr/lib/PXELINUX/pxelinux.0 ] || { echo "missing pxelinux (scripts/deps.sh test installs it)" >&2; return 1; }
  mkdir -p "$dir/pxelinux.cfg"
  cp /usr/lib/PXELINUX/pxelinux.0 "$m/ldlinux.c32" "$m/mboot.c32" "$m/libcom32.c32" "$dir/"
  cp "$2" "$dir/guest"
  _syslinux_cfg guest "${3:-}" > "$dir/pxelinux.cfg/default"
}
