#!/usr/bin/env bash
# The debian appliance end to end: build it from Debian packages with
# debootstrap, boot it, log in on the serial console and over SSH through the
# forwarded port, write a file to the root disk over SSH, power off, boot
# again and find the file; then as a named machine: pack the appliance into
# one file, import it, create a machine from it, start it, `hostel ssh` through the automatic forward, stop it
# with the power button.  The appliance's own disk is never written: each
# machine boots a qcow2 overlay on it.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
A="$(pwd)/$BUILD/appliances/debian"
cases="boot console-login share ssh-hint ssh-login ssh-write guest-mkfs poweroff disk-persists machine-ssh machine-stop base-untouched"
skip_all() { for t in build $cases; do echo "SKIP: debian/$t ($1)"; done; exit 0; }
[ "$(id -u)" = 0 ] || skip_all "building it needs root for debootstrap and chroot"
blog=$(mktemp); trap 'rm -f "$blog"' EXIT
if ! appliances/debian/build.sh "$A" >"$blog" 2>&1; then
  echo "FAIL: debian/build (appliances/debian/build.sh failed)"; tail -20 "$blog"
  exit 0
fi
echo "PASS: debian/build"
. tests/lib/engines.sh
engine=$(test_engine) || { echo "FAIL: debian/engine (hostel engines found no engine that can run here: $(engine_why))"; exit 0; }

# A private machine: the appliance's small files, and an overlay on its disk.
work=$(mktemp -d /tmp/hostel-debian-XXXXXX); trap 'rm -rf "$work" "$blog"' EXIT
mkdir -p "$work/debian/ssh"
cp "$A/appliance.json" "$A/vmlinuz" "$A/initrd.img" "$work/debian/"
cp "$A/ssh/id_ed25519" "$work/debian/ssh/"
install -m 0600 "$A/ssh/id_ed25519" "$work/key"
base_sum=$(md5sum < "$A/root.qcow2")
"$H" image create -f qcow2 -b "$A/root.qcow2" "$work/debian/root.qcow2" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ssh="ssh -p $port -i $work/key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 -o BatchMode=yes root@127.0.0.1"
# sshd may come up a little after the login prompt: try for up to 3 minutes.
sshwait="for i in \$(seq 36); do $ssh true 2>/dev/null && exit 0; sleep 5; done; exit 1"
mark="persisted-$$-$RANDOM"
run=("$H" run --engine "$engine" "$work/debian" --forward "tcp:127.0.0.1:$port:22")
# A shared folder the appliance mounts at /mnt/hs by itself.
mkdir -p "$work/shared" && echo "host-$mark" > "$work/shared/from-host"
# A blank second disk the guest formats itself (ext4 on a qcow2 image).
"$H" image create -f qcow2 "$work/blank.qcow2" 64M >/dev/null

log1=$(tests/e2e/console.py 900 -- "${run[@]}" --disk "$work/blank.qcow2" --share "$work/shared:hs" <<STEPS
expect login:
send root
expect root@debian:~#
send echo console-ok-\$((6*7))
expect console-ok-42
send cat /mnt/hs/from-host && echo guest > /mnt/hs/from-guest && echo share-\$((2+3))-ok
expect share-5-ok
host $sshwait
host $ssh 'echo $mark > /root/note && sync && echo ssh-ok-\$(hostname) && cat /etc/debian_version'
send echo wrote-\$(cat /root/note)
expect wrote-$mark
send mkfs.ext4 -q -L scratch /dev/vdb && mount /dev/vdb /mnt && echo made-in-guest > /mnt/hello && umount /mnt && echo mkfs-\$((1+1))-ok
expect mkfs-2-ok
send poweroff
STEPS
)
rc=$?
grep -q 'debian login:' <<<"$log1" && echo "PASS: debian/boot" || echo "FAIL: debian/boot (no login prompt on the console)"
grep -q 'console-ok-42' <<<"$log1" && echo "PASS: debian/console-login" || echo "FAIL: debian/console-login (no shell after logging in as root)"
if grep -q "host-$mark" <<<"$log1" && [ "$(cat "$work/shared/from-guest" 2>/dev/null)" = guest ]; then
  echo "PASS: debian/share"
else
  echo "FAIL: debian/share (the appliance did not mount --share at /mnt/hs, or a file did not cross it)"
fi
grep -q "hostel: ssh: ssh -p $port -i .*/ssh/id_ed25519 root@127.0.0.1" <<<"$log1" && echo "PASS: debian/ssh-hint" ||
  echo "FAIL: debian/ssh-hint (hostel run did not say how to ssh in)"
grep -q 'host: ssh-ok-debian' <<<"$log1" && echo "PASS: debian/ssh-login" || echo "FAIL: debian/ssh-login (ssh through the forwarded port $port failed)"
grep -q "wrote-$mark" <<<"$log1" && echo "PASS: debian/ssh-write" || echo "FAIL: debian/ssh-write (the file written over ssh is not on the console's disk)"
# The guest's filesystem, read on the host: clean, with the file in it.
if "$H" image convert -O raw "$work/blank.qcow2" "$work/blank.raw" >/dev/null 2>&1 &&
   e2fsck -fn "$work/blank.raw" >"$work/fsck.log" 2>&1 &&
   [ "$(debugfs -R 'cat /hello' "$work/blank.raw" 2>/dev/null)" = made-in-guest ]; then
  echo "PASS: debian/guest-mkfs"
else echo "FAIL: debian/guest-mkfs (the ext4 the guest made on /dev/vdb is not clean or lacks its file)"; tail -5 "$work/fsck.log"; fi
if [ $rc -eq 0 ]; then echo "PASS: debian/poweroff"
else echo "FAIL: debian/poweroff (the first boot did not end cleanly with status 0)"; echo "$log1" | tail -25; fi

log2=$(tests/e2e/console.py 900 -- "${run[@]}" <<STEPS
expect login:
send root
expect root@debian:~#
send cat /root/note
expect $mark
send poweroff
STEPS
)
rc=$?
if [ $rc -eq 0 ]; then echo "PASS: debian/disk-persists"
else echo "FAIL: debian/disk-persists (the file written in the first boot is gone)"; echo "$log2" | tail -20; fi
# A named machine from the appliance, shipped as one file and imported: its
# forward takes any free port.
export HOSTEL_HOME="$work/home"
if "$H" appliance pack "$A" "$work/debian.hostel" >"$work/create.log" 2>&1 &&
   "$H" appliance import "$work/debian.hostel" --name deb12 >>"$work/create.log" 2>&1 &&
   "$H" create deb --appliance deb12 --engine "$engine" >>"$work/create.log" 2>&1 &&
   "$H" start deb >"$work/start.log" 2>&1; then
  out=$("$H" ssh deb --wait 600 -- 'echo machine-$(hostname)-$(cut -d. -f1 /etc/debian_version)' 2>&1)
  if [ "$out" = "machine-debian-12" ]; then echo "PASS: debian/machine-ssh"
  else echo "FAIL: debian/machine-ssh (hostel ssh deb gave: $out)"; cat "$work/start.log"; "$H" logs deb 2>&1 | tail -15; echo; fi
  if "$H" stop deb --timeout 300 >"$work/stop.log" 2>&1 && "$H" info deb 2>&1 | grep -q 'stopped'; then
    echo "PASS: debian/machine-stop"
  else echo "FAIL: debian/machine-stop (the power button did not stop it)"; cat "$work/stop.log"; "$H" stop deb --force >/dev/null 2>&1; fi
else
  echo "FAIL: debian/machine-ssh (pack, import, create or start failed)"; cat "$work/create.log" "$work/start.log"
  echo "SKIP: debian/machine-stop (the machine did not start)"
fi
"$H" rm --force deb >/dev/null 2>&1
[ "$(md5sum < "$A/root.qcow2")" = "$base_sum" ] && echo "PASS: debian/base-untouched" ||
  echo "FAIL: debian/base-untouched (booting an overlay changed the appliance's root disk)"
