#!/usr/bin/env bash
# The test runner behind `make test`.  Every test program prints lines
#   PASS: name        FAIL: name (why)        SKIP: name (why)
# and this script adds them up.  A program that exits non-zero without
# printing a FAIL line counts as one failure under its own name.
set -u
BUILD=${BUILD:-build}
only=${HOSTEL_TEST_ONLY:-}
pass=0 fail=0 skip=0
failed_names=()

run_one() {   # label, command...
  local label=$1; shift
  local out rc
  out=$("$@" 2>&1); rc=$?
  local p f s
  p=$(grep -c '^PASS: ' <<<"$out"); f=$(grep -c '^FAIL: ' <<<"$out"); s=$(grep -c '^SKIP: ' <<<"$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1; out+=$'\n'"FAIL: $label (exit status $rc)"
  fi
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  if [ "$f" -gt 0 ]; then
    echo "== $label: $p passed, $f failed"
    echo "$out" | sed 's/^/   /' | tail -n 60
    while IFS= read -r l; do failed_names+=("$l"); done < <(grep '^FAIL: ' <<<"$out")
  else
    if [ "$s" -gt 0 ]; then echo "== $label: $p passed, $s skipped"; else echo "== $label: $p passed"; fi
    grep '^SKIP: ' <<<"$out" | sed 's/^/   /'
  fi
}

want() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }

if want unit; then
  for t in "$BUILD"/tests/unit/test_*; do
    [ -x "$t" ] && [[ "$t" != *.d && "$t" != *.o ]] && run_one "unit/$(basename "$t")" "$t"
  done
fi
# Every other suite is a script tests/<suite>/run_*.sh (guests, cpu, e2e...).
for suite in guests cpu machines e2e cli block net bench; do
  want "$suite" || continue
  for t in tests/"$suite"/run_*.sh; do
    [ -x "$t" ] && run_one "$suite/$(basename "$t" .sh)" "$t"
  done
done

if [ ${#failed_names[@]} -gt 0 ]; then
  echo
  echo "failures:"
  printf '  %s\n' "${failed_names[@]}"
fi
echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
