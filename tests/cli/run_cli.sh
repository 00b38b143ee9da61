#!/usr/bin/env bash
# The hostel command's front door: help, version, bad flags and bad kernels
# give clear errors and a non-zero status; the hang watchdog speaks up.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$BUILD/hostel"
t() {  # name, expected status, pattern in output, command...
  local name=$1 want=$2 pat=$3; shift 3
  local out rc
  out=$("$@" </dev/null 2>&1); rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" <<<"$out"; then echo "PASS: cli/$name"
  else echo "FAIL: cli/$name (status $rc, want $want; output: $(head -c 300 <<<"$out"))"; fi
}
t help 0 'usage: hostel' "$H" --help
t run-help 0 'hostel run APPLIANCE' "$H" run --help
t version 0 '^hostel [0-9]' "$H" --version
t unknown-command 1 "unknown command 'frob'" "$H" frob
t no-kernel 1 'nothing to boot: give --kernel PATH' "$H" run
t bad-memory 1 "--memory '12X'" "$H" run --kernel "$BUILD/guests/hello.elf" --memory 12X
t bad-cpus 1 "--cpus '0'" "$H" run --kernel "$BUILD/guests/hello.elf" --cpus 0
t bad-engine 1 "--engine 'frob'" "$H" run --kernel "$BUILD/guests/hello.elf" --engine frob
t bad-serial 1 "--serial 'tty'" "$H" run --kernel "$BUILD/guests/hello.elf" --serial tty
t missing-kernel 1 'cannot read kernel /nonexistent' "$H" run --kernel /nonexistent
t not-a-kernel 1 'not a' "$H" run --engine emu --kernel /etc/hostname
t kernel-is-dir 1 'Is a directory' "$H" run --kernel /etc
t extra-arg 1 "unexpected argument 'b'" "$H" run a b
t bad-watchdog 1 "--watchdog" "$H" run --kernel "$BUILD/guests/hello.elf" --watchdog -1
if ! "$H" run --kernel /dev/null --net user 2>&1 | grep -q 'without libslirp'; then
  t bad-net-mtu 1 "--net 'user,mtu=65536': mtu '65536' is not a number from 68 to 65521" \
    "$H" run --kernel "$BUILD/guests/hello.elf" --net user,mtu=65536
fi
for c in info stop pause logs rm; do t "$c-help" 0 "info NAME \\[--json\\]" "$H" "$c" --help; done
t ssh-help 0 "usage: hostel ssh NAME" "$H" ssh --help
t image-convert-help 0 "hostel image convert" "$H" image convert --help
# A guest that says nothing: Linux without console=ttyS0.
if paths=$(scripts/linux-guest.sh cloud 2>/dev/null); then
  eval "$paths"
  out=$(timeout 20 "$H" run --engine emu --watchdog 3 --kernel "$KERNEL" </dev/null 2>&1)
  if grep -q 'printed nothing for 3 s' <<<"$out" && grep -q 'vCPU 0 state' <<<"$out"; then echo "PASS: cli/watchdog"
  else echo "FAIL: cli/watchdog (no diagnosis: $(head -c 300 <<<"$out"))"; fi
else
  echo "FAIL: cli/watchdog (could not build the Linux guest)"
fi
