#!/usr/bin/env bash
# x86-64-v3 programs on emu: compiles the C workloads of tests/cpu/v3/ with
# gcc -O2 -march=x86-64-v3 (static), checks that they really contain VEX
# code (ymm registers, vfmadd, BMI2 shifts, glibc's AVX2 string functions),
# and runs each natively and under hostel-emu-user, comparing every output
# byte.  SKIPs by name while emu does not offer the x86-64-v3 level (a
# probe, v3probe.c, reads CPUID and XCR0 under emu) or the host lacks it.
set -u
BUILD=${BUILD:-build}
EMU="$BUILD/hostel-emu-user"
SRC=$(dirname "$0")/v3
CC=${CC:-gcc}
declare -A known_gaps=(
  # [workload]="why emu cannot run it yet"
)
no_bb=""
check_prefix=emu_user_v3

if [ ! -x "$EMU" ]; then
  echo "FAIL: emu_user_v3 ($EMU is missing: build it with make all)"; exit 1
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/emu_user_check.sh"

workloads="checksum sort matmul strings"
built=1
for w in $workloads; do
  if ! $CC -O2 -march=x86-64-v3 -Wall -Wextra -c -o "$tmp/$w.o" "$SRC/$w.c" 2>"$tmp/cc.err" ||
     ! $CC -O2 -march=x86-64-v3 -static -o "$tmp/$w" "$tmp/$w.o" 2>>"$tmp/cc.err"; then
    echo "FAIL: emu_user_v3/build_$w ($(head -c 300 "$tmp/cc.err"))"; built=0
  fi
done
if ! $CC -O2 -static -Wall -Wextra -o "$tmp/v3probe" "$SRC/v3probe.c" 2>"$tmp/cc.err"; then
  echo "FAIL: emu_user_v3/build_v3probe ($(head -c 300 "$tmp/cc.err"))"; built=0
fi
[ "$built" = 1 ] || exit 1

# The workloads' own code (the objects, not glibc) must use the v3 forms the
# test is about, and the static glibc must carry its AVX2 string variants.
vex_need() {   # name, object or binary, extended regex, what
  local n
  n=$(objdump -d --no-show-raw-insn "$2" | grep -cE "$3")
  if [ "$n" -gt 0 ]; then echo "PASS: emu_user_v3/vex_$1 ($n instructions: $4)"
  else echo "FAIL: emu_user_v3/vex_$1 (no $4 in $(basename "$2"): gcc did not emit x86-64-v3 code)"; fi
}
vex_need checksum_ymm "$tmp/checksum.o" '%ymm' "256-bit AVX2 on ymm registers"
vex_need matmul_fma "$tmp/matmul.o" 'vfmadd[0-9]+p[sd] .*%ymm' "vfmadd on ymm"
vex_need bmi2 "$tmp/checksum.o" '\s(shlx|shrx|sarx|rorx)\s' "BMI2 shifts"
if nm "$tmp/strings" | grep -qE '__(strlen|memchr|memcmp)_avx2'; then
  echo "PASS: emu_user_v3/glibc_avx2_variants"
else
  echo "FAIL: emu_user_v3/glibc_avx2_variants (the static glibc has no __strlen_avx2/__memchr_avx2)"
fi

# The host must run them natively, and emu must offer the level.
if ! host=$("$tmp/v3probe"); then
  for w in $workloads; do echo "SKIP: emu_user_v3/$w (the host CPU is not x86-64-v3: $host)"; done
  exit 0
fi
probe=$("$EMU" "$tmp/v3probe" 2>"$tmp/probe.err"); rc=$?
if [ "$rc" -gt 1 ]; then
  echo "FAIL: emu_user_v3/probe (v3probe did not run on emu: status $rc, $(head -c 200 "$tmp/probe.err"))"
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  for w in $workloads; do echo "SKIP: emu_user_v3/$w (emu does not offer x86-64-v3 yet: $probe)"; done
  exit 0
fi
echo "PASS: emu_user_v3/probe (emu reports $probe)"

export tmp EMU
check checksum '$R $tmp/checksum 64'
check sort     '$R $tmp/sort 20'
check matmul   '$R $tmp/matmul 64'
check strings  '$R $tmp/strings 1'
