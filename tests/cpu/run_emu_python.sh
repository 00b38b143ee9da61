#!/usr/bin/env bash
# CPython's own regression tests (Debian's libpython3.X-testsuite: code no
# one here wrote) run by Debian's python3 on emu, through hostel-emu-user
# with translation on (unless HOSTEL_EMU_JIT=0 says otherwise), module by
# module, and natively: each module must
# pass in both, running the same number of tests with the same skips.
# Python is dynamically linked: hostel-emu-user loads ld.so beside it, as
# Linux does.  Big integers, floats and their formatting, struct packing,
# zlib, regular expressions, hashing: a broad differential check of emu's
# integer, SSE and string code on a real program.
# Quick by default (about half a minute here); HOSTEL_TEST_ALL=1 runs every
# module listed below, HOSTEL_EMU_PYTHON="test_re test_json" those named.
set -u
BUILD=${BUILD:-build}
EMU="$BUILD/hostel-emu-user"
PY=/usr/bin/python3
RUNNER="$(cd "$(dirname "$0")" && pwd)/py_unittest.py"

quick=(test_int test_float test_complex test_fractions test_struct test_binascii test_zlib test_re
       test_math test_long)
more=(test_array test_audioop test_base64 test_bisect test_bool test_builtin test_bytes test_class
      test_cmath test_codecs test_collections test_csv test_deque test_dict test_email test_enum
      test_format test_functools test_generators test_grammar test_gzip test_hashlib test_heapq
      test_ipaddress test_itertools test_json test_list test_marshal test_operator test_secrets
      test_set test_slice test_sort test_statistics test_string test_strtod test_textwrap test_tuple
      test_userstring test_zipfile test_random test_datetime test_lzma test_difflib test_ast
      test_memoryview test_genexps test_hmac)

# Tests left out, by id suffix (a class when it ends in a dot), each for
# what hostel-emu-user (one thread of one process, no signals delivered)
# cannot do: never for what emu computes.
declare -A excluded=(
  [test_struct]="StructTest.test_struct_cleans_up_at_runtime_shutdown"
  [test_re]="ReTests.test_regression_gh94675"
  [test_bytes]="ByteArrayTest.test_check_encoding_errors BytesTest.test_check_encoding_errors"
  [test_json]="test_tool.TestTool."
  [test_base64]="TestMain."
  [test_hashlib]="HashLibTestCase.test_threaded_hashing"
  [test_enum]="OldTestFlag.test_unique_composite OldTestIntFlag.test_unique_composite"
  [test_marshal]="BugsTestCase.test_deterministic_sets CodeTestCase.test_minimal_linetable_with_no_debug_ranges"
  [test_builtin]="BuiltinTest.test_compile_top_level_await ShutdownTest.test_cleanup PtyTests.test_input_no_stdout_fileno"
  [test_generators]="SignalAndYieldFromTest.test_raise_and_yield_from"
  [test_itertools]="TestBasicOps.test_tee_concurrent"
  [test_email]="TestMiscellaneous.test_make_msgid_collisions"
  [test_gzip]="TestCommandLine."
  [test_random]="TestModule.test_after_fork"
  [test_zipfile]="CommandLineTest. TestExecutablePrependedZip. StoredTestsWithSourceFile.test_add_file_after_2107 StoredTestsWithSourceFile.test_add_file_before_1980 TestPath.test_encoding_warnings"
  [test_functools]="TestCachedProperty.test_threaded TestLRUC.test_lru_cache_threaded TestLRUC.test_lru_cache_threaded2 TestLRUC.test_lru_cache_threaded3 TestLRUPy.test_lru_cache_threaded TestLRUPy.test_lru_cache_threaded2 TestLRUPy.test_lru_cache_threaded3"
)
why_excluded="they start a subprocess or a thread, raise a signal or set a file time hostel-emu-user does not pass on"

if [ ! -x "$EMU" ]; then
  echo "FAIL: emu_python ($EMU is missing: build it with make all)"; exit 1
fi
EMU=$(realpath "$EMU")
if [ ! -x "$PY" ]; then
  echo "SKIP: emu_python (no $PY: install python3)"; exit 0
fi
ver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if ! "$PY" -c 'import test.test_int' 2>/dev/null; then
  echo "SKIP: emu_python (CPython's tests are not installed: apt-get install libpython$ver-testsuite)"; exit 0
fi

mods=("${quick[@]}")
[ -z "${HOSTEL_TEST_ALL:-}" ] || mods+=("${more[@]}")
# HOSTEL_EMU_PYTHON="test_re test_json": only these modules.
[ -z "${HOSTEL_EMU_PYTHON:-}" ] || read -r -a mods <<<"$HOSTEL_EMU_PYTHON"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
# run_module MODULE NAME [VAR=VALUE...]: natively, then on emu with those
# variables set, and compares.
run_module() {
  local m=$1 name=$2 rn re nres eres; shift 2
  # Each run in a fresh directory: some tests write files in the current one.
  mkdir -p n e
  # shellcheck disable=SC2086
  (cd n && "$PY" "$RUNNER" "$m" ${excluded[$m]:-} >out 2>err); rn=$?
  # shellcheck disable=SC2086
  (cd e && env "$@" "$EMU" "$PY" "$RUNNER" "$m" ${excluded[$m]:-} >out 2>err) 2>/dev/null; re=$?
  nres=$(grep '^RESULT' n/out); eres=$(grep '^RESULT' e/out)
  if [ "$rn" -ne 0 ] || [[ "$nres" != "RESULT ran="* ]]; then
    echo "FAIL: $name (does not pass natively: status $rn, ${nres:-no result}; $(tail -n 3 n/err | tr '\n' ' ' | head -c 300))"
  elif grep -q '^hostel-emu-user:' e/err; then
    echo "FAIL: $name ($(grep -m1 '^hostel-emu-user:' e/err))"
  elif [ "$re" -ne 0 ]; then
    echo "FAIL: $name (on emu: status $re, ${eres:-no result}; $(grep -m3 -E '^(FAIL|ERROR):' e/err | tr '\n' ' ' | head -c 400))"
  elif [ "$nres" != "$eres" ]; then
    echo "FAIL: $name (natively $nres, on emu $eres)"
  else
    echo "PASS: $name (${eres#RESULT }${excluded[$m]:+; left out: ${excluded[$m]}, as $why_excluded})"
  fi
  rm -rf n e
}

for m in "${mods[@]}"; do
  run_module "$m" "emu_python/$m"
done
# With HOSTEL_TEST_ALL: the quick modules again with every block translated
# on its first run (no interpreter warm-up), the translator's hardest case.
if [ -n "${HOSTEL_TEST_ALL:-}" ] && [ -z "${HOSTEL_EMU_PYTHON:-}" ]; then
  for m in "${quick[@]}"; do
    run_module "$m" "emu_python/threshold0/$m" HOSTEL_EMU_JIT_THRESHOLD=0
  done
fi
