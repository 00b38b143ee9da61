#!/usr/bin/env bash
# Booting like a PC (docs/boot.md): SeaBIOS from Debian's seabios package
# boots, on each engine, media the test makes from Debian's packages:
#   disk      a raw disk with GRUB (grub-pc-bin) in its MBR loading the hello
#             test guest (Multiboot) from an ext4 partition
#   cdrom     an ISO made by grub-mkrescue + xorriso (El Torito), --cdrom
#   isolinux  an ISO booted by Debian's isolinux, the guest loaded by mboot.c32
#   pxe       iPXE (ipxe-qemu's ROM, from fw_cfg) loading the guest over
#             libslirp's TFTP: --net user,tftp=DIR,bootfile=F --boot network
#   pxelinux  the same with pxelinux.0 as the boot file (a PXE program using
#             iPXE's PXE API from real mode)
#   order     --boot cdrom,disk with both present boots the CD
#   acpi      the acpi test guest from the CD: hostel's ACPI tables as the
#             firmware's table loader placed them (2 CPUs)
# and refuses or reports, never crashes on, media that cannot boot:
#   blank     a blank disk: the firmware's "No bootable device", exit 1
#   garbage   a disk of random bytes: the same
#   notiso    --cdrom of a file that is not an ISO: hostel refuses it
#   badiso    an ISO whose boot catalog is destroyed: "No bootable device"
# kvm here may be a slow nested one: its cases beyond `disk` run under
# make test-all (HOSTEL_TEST_ALL=1).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$BUILD/hostel"
GUEST=$BUILD/guests/hello.elf
. tests/lib/engines.sh
. tests/lib/boot_media.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/hostel-fw-XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -f /usr/share/seabios/bios-256k.bin ] && [ -z "${HOSTEL_BIOS:-}" ]; then
  echo "FAIL: firmware/seabios (no /usr/share/seabios/bios-256k.bin: scripts/deps.sh installs Debian's seabios)"
  exit 0
fi
[ -f "$GUEST" ] || { echo "FAIL: firmware/guest (no $GUEST: run make)"; exit 0; }

media_ok=1
make_grub_disk "$work/grub.img" "$GUEST" 2>"$work/err" || { echo "FAIL: firmware/make-disk ($(tail -1 "$work/err"))"; media_ok=0; }
make_grub_iso "$work/hello.iso" "$GUEST" 2>"$work/err" || { echo "FAIL: firmware/make-iso ($(tail -1 "$work/err"))"; media_ok=0; }
make_grub_iso "$work/acpi.iso" "$BUILD/guests/acpi.elf" "cpus=2" 2>"$work/err" || { echo "FAIL: firmware/make-iso-acpi ($(tail -1 "$work/err"))"; media_ok=0; }
make_isolinux_iso "$work/isolinux.iso" "$GUEST" "from-isolinux" 2>"$work/err" || { echo "FAIL: firmware/make-isolinux ($(tail -1 "$work/err"))"; media_ok=0; }
make_pxe_dir "$work/tftp" "$GUEST"
make_pxelinux_dir "$work/pxelinux" "$GUEST" "from-pxelinux" 2>"$work/err" || { echo "FAIL: firmware/make-pxelinux ($(tail -1 "$work/err"))"; media_ok=0; }
truncate -s 8M "$work/blank.img"
head -c 8M /dev/urandom > "$work/garbage.img"
head -c 1M /dev/urandom > "$work/notiso.iso"
if [ -f "$work/hello.iso" ]; then
  # Keep the volume descriptors, wreck everything after them (the boot
  # record's catalog pointer then points at noise).
  cp "$work/hello.iso" "$work/bad.iso"
  dd if=/dev/urandom of="$work/bad.iso" bs=2048 seek=18 count=200 conv=notrunc status=none
fi

# run NAME ENGINE EXPECTED_STATUS PATTERNS(|-separated, "err:" for stderr) -- hostel args
run() {
  local name=$1 engine=$2 want=$3 pats=$4; shift 5
  local limit=${RUN_LIMIT:-90}
  timeout "$limit" "$H" run --engine "$engine" --watchdog 30 "$@" </dev/null >"$work/out" 2>"$work/errout"
  local rc=$? why="" p
  tr -d '\r' <"$work/out" >"$work/out.txt"
  [ "$rc" = "$want" ] || why="exit status $rc, expected $want"
  IFS='|' read -ra list <<<"$pats"
  for p in "${list[@]}"; do
    if [[ $p == err:* ]]; then
      grep -qE -- "${p#err:}" "$work/errout" || why="${why:+$why; }stderr lacks /${p#err:}/"
    else
      grep -qE -- "$p" "$work/out.txt" || why="${why:+$why; }output lacks /$p/"
    fi
  done
  if [ -z "$why" ]; then echo "PASS: firmware/$name@$engine"
  elif [ "$engine" = kvm ] && ! engine_fast kvm && grep -q 'KVM internal error (suberror 1)' "$work/errout"; then
    # The slow nested hosts' KVM emulates supervisor code itself and gives
    # up on some instructions (docs/kvm-hosts.md): not ours to fix.
    echo "SKIP: firmware/$name@$engine (this host's KVM could not emulate an instruction of the guest: KVM_INTERNAL_ERROR_EMULATION, a nested-host quirk; docs/kvm-hosts.md)"
  else
    echo "FAIL: firmware/$name@$engine ($why)"
    tail -n 15 "$work/out.txt" | sed 's/^/    /'; tail -n 5 "$work/errout" | sed 's/^/    err: /'
  fi
}

hello="SeaBIOS \\(version|^Hello from hostel guest|^hello: ok"
nothing="No bootable device|err:the firmware found no bootable device"
for engine in emu kvm; do
  why_not=$(engine_unavailable "$engine")
  if [ -n "$why_not" ]; then
    [ "$engine" = emu ] && { echo "FAIL: firmware/engine (emu must always run: $why_not)"; continue; }
    echo "SKIP: firmware/*@kvm ($why_not)"; continue
  fi
  all=1
  if [ "$engine" = kvm ] && ! engine_fast kvm && [ -z "${HOSTEL_TEST_ALL:-}" ]; then all=0; fi
  [ "$media_ok" = 1 ] || continue
  RUN_LIMIT=180 run disk "$engine" 1 "$hello|Booting from Hard Disk" -- --disk "$work/grub.img"
  if [ "$all" = 0 ]; then
    echo "SKIP: firmware/{cdrom,isolinux,pxe,pxelinux,order,acpi,blank,garbage,notiso,badiso}@kvm (kvm is slow here ($(engine_speed kvm)): they run under make test-all)"
    continue
  fi
  run cdrom "$engine" 1 "$hello|Booting from DVD/CD" -- --cdrom "$work/hello.iso"
  run isolinux "$engine" 1 "$hello|ISOLINUX|^cmdline: /guest from-isolinux" -- --cdrom "$work/isolinux.iso"
  RUN_LIMIT=180 run pxe "$engine" 1 "$hello|iPXE|tftp://10.0.2.2/guest" -- --net user,tftp="$work/tftp",bootfile=guest --boot network
  RUN_LIMIT=180 run pxelinux "$engine" 1 "$hello|PXELINUX|^cmdline: guest from-pxelinux" -- --net user,tftp="$work/pxelinux",bootfile=pxelinux.0 --boot network
  run order "$engine" 1 "$hello|Booting from DVD/CD" -- --disk "$work/grub.img" --cdrom "$work/hello.iso" --boot cdrom,disk
  run acpi "$engine" 1 "^MADT: 2 enabled CPUs, 1 I/O APICs, IRQ 0 -> GSI 2|^DSDT: [0-9]+ bytes ok|^acpi: ok" -- --cpus 2 --cdrom "$work/acpi.iso"
  run blank "$engine" 1 "$nothing" -- --disk "$work/blank.img"
  run garbage "$engine" 1 "$nothing" -- --disk "$work/garbage.img"
  run notiso "$engine" 1 "err:--cdrom .*notiso.iso: not an ISO 9660 or UDF image" -- --cdrom "$work/notiso.iso"
  run badiso "$engine" 1 "$nothing" -- --cdrom "$work/bad.iso"
done
