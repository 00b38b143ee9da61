#!/usr/bin/env bash
# Replays every fuzz target over its corpus in tests/fuzz/corpus/T with the
# gcc ASan + UBSan build (build/fuzz/replay_T): one PASS per target naming
# how many inputs ran, a FAIL naming the input that crashed.  Under
# HOSTEL_TEST_ALL each libFuzzer build (clang) also fuzzes for a few
# seconds (HOSTEL_FUZZ_SECONDS) from that corpus.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
T=$(mktemp -d /tmp/hostel-fuzz-replay.XXXXXX)
trap 'rm -rf "$T"' EXIT
rc=0
for dir in tests/fuzz/corpus/*/; do
  t=$(basename "$dir")
  bin=$BUILD/fuzz/replay_$t
  if [ ! -x "$bin" ]; then
    echo "FAIL: fuzz/$t (no program $bin: run make)"; rc=1; continue
  fi
  if "$bin" "$dir" >"$T/$t.log" 2>&1; then
    echo "PASS: fuzz/$t ($(grep -o 'replayed [0-9]* inputs' "$T/$t.log"))"
  else
    tail -n 40 "$T/$t.log"
    culprit=$(sed -n 's/^replay: crashed on input //p' "$T/$t.log" | tail -n 1)
    echo "FAIL: fuzz/$t (crashed on ${culprit:-an input it did not name}; output above)"
    rc=1
  fi
done

if [ -z "${HOSTEL_TEST_ALL:-}" ]; then
  echo "SKIP: fuzz/libfuzzer-brief (short libFuzzer runs are under make test-all)"
elif ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
  echo "SKIP: fuzz/libfuzzer-brief (clang is not installed: scripts/deps.sh test)"
else
  for dir in tests/fuzz/corpus/*/; do
    t=$(basename "$dir")
    bin=$BUILD/fuzz/fuzz_$t
    if [ ! -x "$bin" ]; then
      echo "FAIL: fuzz/$t-libfuzzer (no program $bin: run make)"; rc=1; continue
    fi
    art=$BUILD/fuzz/found-$t
    mkdir -p "$T/new-$t" "$art"
    if "$bin" -max_total_time="${HOSTEL_FUZZ_SECONDS:-5}" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
         -artifact_prefix="$art/" "$T/new-$t" "$dir" >"$T/$t.fuzz.log" 2>&1; then
      echo "PASS: fuzz/$t-libfuzzer ($(grep -o 'Done [0-9]* runs' "$T/$t.fuzz.log"))"
    else
      tail -n 40 "$T/$t.fuzz.log"
      echo "FAIL: fuzz/$t-libfuzzer (found $art/$(ls -t "$art" | head -n 1); output above)"
      rc=1
    fi
  done
fi
exit $rc
