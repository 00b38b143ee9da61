#!/usr/bin/env bash
# The test runner itself (tests/run.sh) must not let a test pass by saying
# nothing: a program that exits 0 without a PASS/FAIL/SKIP line is a FAIL,
# a run_*.sh that lost its run bit is a FAIL, a missing unit program is a
# FAIL, a program that hangs is stopped and a FAIL, and the totals line
# adds up.  Runs the runner on a made-up tree.
set -u
runner=$(cd "$(dirname "$0")/.." && pwd)/run.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hostel-runner.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tests/cli" "$tmp/tests/unit" "$tmp/build/tests/unit"
printf '#!/bin/sh\necho "PASS: a"\necho "SKIP: b (why)"\n' >"$tmp/tests/cli/run_good.sh"
printf '#!/bin/sh\necho "checking nothing"\nexit 0\n' >"$tmp/tests/cli/run_silent.sh"
printf '#!/bin/sh\necho "PASS: c"\n' >"$tmp/tests/cli/run_nobit.sh"
printf '#!/bin/sh\necho "PASS: d"\nexit 3\n' >"$tmp/tests/cli/run_crash.sh"
printf '#!/bin/sh\necho "PASS: e"\nsleep 600\n' >"$tmp/tests/cli/run_hang.sh"
chmod +x "$tmp/tests/cli/run_good.sh" "$tmp/tests/cli/run_silent.sh" "$tmp/tests/cli/run_crash.sh" \
  "$tmp/tests/cli/run_hang.sh"
touch "$tmp/tests/unit/test_gone.c"   # a unit test whose program was never built
out=$(cd "$tmp" && BUILD=build HOSTEL_TEST_ONLY="unit cli" HOSTEL_TEST_TIMEOUT=2 "$runner" 2>&1); rc=$?

check() {   # name, pattern
  if grep -Eq -- "$2" <<<"$out"; then echo "PASS: runner/$1"; else
    echo "FAIL: runner/$1 (no /$2/ in the runner's output)"; sed 's/^/   /' <<<"$out"; fi
}
check silent-is-fail 'FAIL: cli/run_silent \(exit status 0 but no PASS:'
check no-run-bit-is-fail 'FAIL: cli/run_nobit \(.*is not executable'
check missing-unit-is-fail 'FAIL: unit/test_gone \(no program'
check crash-after-pass-is-fail 'FAIL: cli/run_crash \(exit status 3\)'
check hang-is-fail 'FAIL: cli/run_hang \(exit status 124: still running after 2 s'
check totals '^3 passed, 5 failed, 1 skipped$'
if [ "$rc" -ne 0 ]; then echo "PASS: runner/exit-status"; else
  echo "FAIL: runner/exit-status (the runner exited 0 with failures)"; fi
