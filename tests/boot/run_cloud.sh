#!/usr/bin/env bash
# A cloud image booted through the firmware and configured by a seed hostel
# made, the way a user meets Debian's genericcloud image:
#   appliances/debian-cloud/build.sh makes the image (debootstrap, cloud-init,
#   Debian's cloud kernel and its initramfs, GRUB in the MBR; root needed),
#   `hostel create web --image IMG --ssh-key KEY --cloud-init FILE --cdrom ISO`
#   makes a machine on an overlay, `hostel start web` boots SeaBIOS -> GRUB ->
#   Linux -> systemd -> cloud-init, which names the machine after it, runs
#   the user-data and lets the key in for the image's default user; hostel
#   ssh reaches it, Linux finds the CD-ROM (virtio_scsi, sr_mod), and the
#   ACPI power button (hostel's tables, placed by the firmware) stops it.
# On emu (and a fast kvm) in make test; on a slow kvm under make test-all.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
A="$(pwd)/$BUILD/appliances/debian-cloud"
cases="login cloud-init ssh cdrom-in-linux stop image-untouched"
skip_all() { for t in build $cases; do echo "SKIP: cloud/$t ($1)"; done; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "building the image needs root for debootstrap and chroot"
work=$(mktemp -d "${TMPDIR:-/tmp}/hostel-cloud-XXXXXX")
cleanup() { HOSTEL_HOME="$work/home" "$H" stop web --force >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
if ! appliances/debian-cloud/build.sh "$A" >"$work/build.log" 2>&1; then
  echo "FAIL: cloud/build (appliances/debian-cloud/build.sh failed)"; tail -20 "$work/build.log"; exit 0
fi
echo "PASS: cloud/build"
. tests/lib/engines.sh
. tests/lib/boot_media.sh
export HOSTEL_HOME="$work/home"
ssh-keygen -q -t ed25519 -N "" -C hostel-test -f "$work/key"
cat > "$work/user-data" <<'UD'
#cloud-config
runcmd:
  - echo "hostel-user-data-ran on $(hostname)"
UD
make_grub_iso "$work/cd.iso" "$BUILD/guests/hello.elf" 2>/dev/null || echo "FAIL: cloud/make-iso (grub-mkrescue failed)"
base_sum=$(md5sum < "$A/disk.qcow2")

for engine in emu kvm; do
  why_not=$(engine_unavailable "$engine")
  limit=900
  if [ -z "$why_not" ] && ! engine_fast "$engine"; then
    if [ -n "${HOSTEL_TEST_ALL:-}" ]; then limit=3600
    else why_not="$engine is slow here ($(engine_speed "$engine")): the cloud image boots on it under make test-all"; fi
  fi
  if [ -n "$why_not" ]; then
    [ "$engine" = emu ] && { echo "FAIL: cloud/engine (emu must always run: $why_not)"; continue; }
    for t in $cases; do echo "SKIP: cloud/$t@$engine ($why_not)"; done
    continue
  fi
  "$H" rm --force web >/dev/null 2>&1
  if ! "$H" create web --image "$A/disk.qcow2" --ssh-key "$work/key.pub" --cloud-init "$work/user-data" \
       --cdrom "$work/cd.iso" --memory 1G --engine "$engine" >"$work/create.log" 2>&1 ||
     ! "$H" start web >"$work/start.log" 2>&1; then
    echo "FAIL: cloud/login@$engine (create or start failed)"; cat "$work/create.log" "$work/start.log"
    continue
  fi
  # The login prompt carries the name cloud-init gave the machine.
  t0=$(date +%s) ok=""
  while [ $(( $(date +%s) - t0 )) -lt "$limit" ]; do
    "$H" logs web 2>/dev/null | tr -d '\r' > "$work/console.txt"
    grep -q "^web login:" "$work/console.txt" && grep -q "hostel-user-data-ran on web" "$work/console.txt" && grep -q "DataSourceNoCloud" "$work/console.txt" && { ok=1; break; }
    "$H" ls --json 2>/dev/null | grep -q '"running"' || break
    sleep 5
  done
  if grep -q "^web login:" "$work/console.txt" && grep -q "SeaBIOS (version" "$work/console.txt"; then
    echo "PASS: cloud/login@$engine ($(( $(date +%s) - t0 )) s to the login prompt and user-data)"
  else
    echo "FAIL: cloud/login@$engine (no 'web login:' prompt after $(( $(date +%s) - t0 )) s)"; tail -25 "$work/console.txt"
  fi
  if [ -n "$ok" ] && grep -q "DataSourceNoCloud" "$work/console.txt"; then echo "PASS: cloud/cloud-init@$engine"
  else echo "FAIL: cloud/cloud-init@$engine (the seed's user-data did not print 'hostel-user-data-ran on web', or cloud-init did not name DataSourceNoCloud)"; grep -i cloud-init "$work/console.txt" | tail -5; fi
  out=$("$H" ssh web --wait 300 --user debian --identity "$work/key" -- 'echo ssh-$(hostname)-$(id -un)' 2>&1)
  if [ "$out" = "ssh-web-debian" ]; then echo "PASS: cloud/ssh@$engine"
  else echo "FAIL: cloud/ssh@$engine (hostel ssh web gave: $out)"; fi
  out=$("$H" ssh web --user debian --identity "$work/key" -- \
        'sudo modprobe sr_mod 2>/dev/null; sudo modprobe isofs 2>/dev/null; for i in 1 2 3 4 5; do [ -b /dev/sr0 ] && break; sleep 1; done; sudo blkid -o value -s TYPE /dev/sr0 2>/dev/null' 2>&1)
  if [ "$out" = "iso9660" ]; then echo "PASS: cloud/cdrom-in-linux@$engine"
  else echo "FAIL: cloud/cdrom-in-linux@$engine (/dev/sr0 in the guest: $out)"; fi
  if "$H" stop web --timeout 300 >"$work/stop.log" 2>&1; then echo "PASS: cloud/stop@$engine"
  else echo "FAIL: cloud/stop@$engine (the ACPI power button did not power it off)"; cat "$work/stop.log"; "$H" stop web --force >/dev/null 2>&1; fi
  if [ "$(md5sum < "$A/disk.qcow2")" = "$base_sum" ]; then echo "PASS: cloud/image-untouched@$engine"
  else echo "FAIL: cloud/image-untouched@$engine (the image under the overlay changed)"; fi
done
