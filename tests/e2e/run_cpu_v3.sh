#!/usr/bin/env bash
# emu's x86-64-v3 CPU model seen from a Linux guest: Debian's kernel booted
# on emu with --cpu v3 must list avx2 fma bmi2 xsave (and the rest of the
# level) in /proc/cpuinfo, enable the AVX state through XSAVE and log no
# warning about it; under make test-all the debian appliance's glibc
# (ld.so --help) must also report x86-64-v3 as supported.
# SKIPs by name while `hostel run` has no --cpu v3.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$BUILD/hostel"
cases="cpuinfo-flags xsave-avx-state no-cpu-warnings"
skip_all() { for t in $cases glibc-v3; do echo "SKIP: cpu_v3/$t ($1)"; done; exit 0; }

# Does this hostel know the model?  (A missing kernel is the next error.)
probe=$("$H" run --engine emu --cpu v3 --kernel /nonexistent 2>&1)
if grep -q -- "--cpu" <<<"$probe"; then
  skip_all "hostel has no --cpu v3 yet: $(head -1 <<<"$probe")"
fi

paths=$(scripts/linux-guest.sh cloud 2>/dev/null) || {
  echo "FAIL: cpu_v3/kernel (could not build the guest from Debian packages: scripts/linux-guest.sh cloud)"; exit 0; }
eval "$paths"
log=$(mktemp); trap 'rm -f "$log" "$log.txt"' EXIT
timeout 900 "$H" run --engine emu --cpu v3 --memory 512M --kernel "$KERNEL" --initrd "$INITRD" \
  --cmdline "console=ttyS0 panic=-1 hostel.script=cat_/proc/cpuinfo,dmesg" --no-reboot \
  --serial stdio </dev/null >"$log" 2>&1
rc=$?
tr -d '\r' <"$log" >"$log.txt"
if [ $rc -ne 0 ] || ! grep -q 'hostel-guest: init reached' "$log.txt"; then
  for t in $cases; do echo "FAIL: cpu_v3/$t (the guest did not boot: status $rc)"; done
  tail -n 25 "$log.txt"; exit 0
fi

flags=" $(grep -m1 '^flags' "$log.txt" | cut -d: -f2-) "
missing=""
for f in avx2 fma bmi1 bmi2 xsave avx f16c movbe lzcnt abm popcnt sse4_2; do
  [[ "$flags" == *" $f "* ]] || missing="$missing $f"
done
# lzcnt shows as abm in older kernels' flag names: one of the two is enough.
[[ "$missing" == *" lzcnt"* && "$flags" == *" abm "* ]] && missing=${missing/ lzcnt/}
[[ "$missing" == *" abm"* && "$flags" == *" lzcnt "* ]] && missing=${missing/ abm/}
if [ -z "$missing" ]; then echo "PASS: cpu_v3/cpuinfo-flags"
else echo "FAIL: cpu_v3/cpuinfo-flags (missing from /proc/cpuinfo:$missing)"; fi

# Linux manages YMM state itself: it must have found the AVX component.
if grep -qE "x86/fpu: Supporting XSAVE feature 0x004: 'AVX registers'" "$log.txt" &&
   grep -qE 'x86/fpu: Enabled xstate features 0x[0-9a-f]*[7f],' "$log.txt"; then
  echo "PASS: cpu_v3/xsave-avx-state"
else
  echo "FAIL: cpu_v3/xsave-avx-state (dmesg does not show XSAVE with the AVX registers: $(grep -m2 'x86/fpu' "$log.txt" | tr '\n' ' '))"
fi

bad=$( { grep -E 'WARNING:|BUG:|Oops' "$log.txt"
         grep -iE 'xsave|xstate|x86/fpu|cpu feature|avx' "$log.txt" |
           grep -iE 'warn|fail|bad|problem|mismatch|disabl|inconsisten|unsupported'; } | head -3)
if [ -z "$bad" ]; then echo "PASS: cpu_v3/no-cpu-warnings"
else echo "FAIL: cpu_v3/no-cpu-warnings (kernel log: $bad)"; fi

# glibc's own verdict needs a glibc userland: the debian appliance (built by
# debootstrap as root, a full boot on emu): make test-all only.
if [ -z "${HOSTEL_TEST_ALL:-}" ]; then
  echo "SKIP: cpu_v3/glibc-v3 (boots the debian appliance on emu, minutes: runs under make test-all)"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "SKIP: cpu_v3/glibc-v3 (building the debian appliance needs root)"; exit 0; }
A="$(pwd)/$BUILD/appliances/debian"
if ! appliances/debian/build.sh "$A" >"$log" 2>&1; then
  echo "FAIL: cpu_v3/glibc-v3 (appliances/debian/build.sh failed: $(tail -3 "$log" | tr '\n' ' '))"; exit 0
fi
work=$(mktemp -d /tmp/hostel-cpu-v3-XXXXXX); trap 'rm -rf "$work" "$log" "$log.txt"' EXIT
mkdir -p "$work/debian/ssh"
cp "$A/appliance.json" "$A/vmlinuz" "$A/initrd.img" "$work/debian/"
cp "$A/ssh/id_ed25519" "$work/debian/ssh/"
"$H" image create -f qcow2 -b "$A/root.qcow2" "$work/debian/root.qcow2" >/dev/null
out=$(tests/e2e/console.py 1800 -- "$H" run --engine emu --cpu v3 "$work/debian" <<'STEPS'
expect login:
send root
expect root@debian:~#
send /lib64/ld-linux-x86-64.so.2 --help | grep -E 'x86-64-v[234]' ; echo ldso-done-$((6*7))
expect ldso-done-42
send poweroff
STEPS
)
if grep -q 'x86-64-v3 (supported, searched)' <<<"$out"; then echo "PASS: cpu_v3/glibc-v3"
elif grep -q 'ldso-done-42' <<<"$out"; then
  echo "FAIL: cpu_v3/glibc-v3 (ld.so --help in the guest: $(grep -E 'x86-64-v[234] ' <<<"$out" | tr -d '\r' | tr '\n' ' '))"
else echo "FAIL: cpu_v3/glibc-v3 (no shell on the appliance's console: $(tail -n 3 <<<"$out" | tr -d '\r' | tr '\n' ' '))"; fi
