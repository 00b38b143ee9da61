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

# A program that hangs is stopped and counted as a failure instead of
# holding up the run for ever (HOSTEL_TEST_TIMEOUT seconds a program).
if [ -n "${HOSTEL_TEST_ALL:-}" ]; then limit=${HOSTEL_TEST_TIMEOUT:-10800}
else limit=${HOSTEL_TEST_TIMEOUT:-1800}; fi

run_one() {   # label, command...
  local label=$1; shift
  local out rc
  # No terminal on stdin: timeout runs the program in a process group of
  # its own, which must never stop on reading or setting a terminal.
  out=$(timeout -k 10 "$limit" "$@" </dev/null 2>&1); rc=$?
  local p f s
  p=$(grep -c '^PASS: ' <<<"$out"); f=$(grep -c '^FAIL: ' <<<"$out"); s=$(grep -c '^SKIP: ' <<<"$out")
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    f=$((f + 1)); out+=$'\n'"FAIL: $label (exit status $rc: still running after ${limit} s and stopped, or killed)"
  elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1; out+=$'\n'"FAIL: $label (exit status $rc)"
  elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
    # A test that checked nothing has not passed.
    f=1; out+=$'\n'"FAIL: $label (exit status $rc but no PASS:, FAIL: or SKIP: line)"
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

# A test that cannot run is a failure, never silently left out.
missing() {   # label, why
  fail=$((fail + 1)); failed_names+=("FAIL: $1 ($2)")
  echo "== $1: 0 passed, 1 failed"; echo "   FAIL: $1 ($2)"
}

shopt -s nullglob
if want unit; then
  for src in tests/unit/test_*.c; do
    t=$BUILD/tests/unit/$(basename "$src" .c)
    if [ -x "$t" ]; then run_one "unit/$(basename "$t")" "$t"
    else missing "unit/$(basename "$t")" "no program $t: run make"; fi
  done
fi
# Every other suite is a script tests/<suite>/run_*.sh (guests, cpu, e2e...).
for suite in structure guests kvm cpu machines e2e boot cli block net display fuzz bench; do
  want "$suite" || continue
  for t in tests/"$suite"/run_*.sh; do
    if [ -x "$t" ]; then run_one "$suite/$(basename "$t" .sh)" "$t"
    else missing "$suite/$(basename "$t" .sh)" "$t is not executable: chmod +x it"; fi
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
