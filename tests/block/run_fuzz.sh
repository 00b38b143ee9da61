#!/usr/bin/env bash
# Runs the qcow2 libFuzzer target briefly (under `make test-all` only),
# seeded with images hostel and qemu-img make.
set -u
BUILD=${BUILD:-build}
if [ -z "${HOSTEL_TEST_ALL:-}" ]; then
  echo "SKIP: fuzz_qcow2 (runs under make test-all)"; exit 0
fi
if ! command -v clang >/dev/null; then echo "SKIP: fuzz_qcow2 (clang not installed)"; exit 0; fi
if ! make --no-print-directory -s fuzz-qcow2 BUILD="$BUILD" >/dev/null 2>&1; then
  echo "SKIP: fuzz_qcow2 (clang cannot build libFuzzer targets here)"; exit 0
fi
T=$(mktemp -d /tmp/hostel-fuzz.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/corpus"
"$BUILD/hostel" image create -c 512 "$T/corpus/small.qcow2" 64K >/dev/null
if command -v qemu-img >/dev/null; then
  head -c 70000 /dev/urandom > "$T/r.raw"; yes hostel | head -c 60000 >> "$T/r.raw"; truncate -s 192K "$T/r.raw"
  qemu-img convert -c -O qcow2 -o cluster_size=512 "$T/r.raw" "$T/corpus/c.qcow2"
  qemu-img convert -O qcow2 -o compat=0.10,cluster_size=512 "$T/r.raw" "$T/corpus/v2.qcow2"
fi
if "$BUILD/fuzz/fuzz_qcow2" -max_total_time="${HOSTEL_FUZZ_SECONDS:-20}" -max_len=200000 \
     -rss_limit_mb=1024 "$T/corpus" >"$T/log" 2>&1; then
  echo "PASS: fuzz_qcow2 ($(grep -o 'Done [0-9]* runs' "$T/log"))"
else
  tail -30 "$T/log"; echo "FAIL: fuzz_qcow2 (crash found; see output above)"; exit 1
fi
