# Engines as hostel sees them, for test scripts (source this file).  Tests
# never guess an engine by booting something: they ask `hostel engines
# --json`, the same survey `--engine auto` uses (docs/run.md).
#
#   auto_engine            what --engine auto picks here (kvm or emu); empty
#                          and status 1 when nothing can run (a FAIL: emu
#                          always exists)
#   engine_why             why auto picks it
#   engine_unavailable E   why engine E cannot run here; empty when it can
#   engine_fast E          status 0 when E runs Linux at full speed here
#                          (emu always; kvm when its calibration says fast)
#   engines_available      every engine that can run here, kvm first
# Needs $H (the hostel binary) or $HOSTEL, and python3.

_engines_json=""
_engines_load() {
  [ -n "$_engines_json" ] && return 0
  local h=${H:-${HOSTEL:-${BUILD:-build}/hostel}}
  _engines_json=$("$h" engines --json 2>/dev/null) || true
  [ -n "$_engines_json" ] || _engines_json='{}'
}
_engines_py() {   # python expression over j (the survey)
  _engines_load
  python3 -c "import json,sys; j=json.loads(sys.argv[1]); e=j.get('engines',{}); $1" "$_engines_json" "${@:2}"
}
auto_engine() {
  local a
  a=$(_engines_py 'print(j.get("auto") or "")')
  [ -n "$a" ] && echo "$a"
}
engine_why() { _engines_py 'print(j.get("why",""))'; }
engine_unavailable() {
  _engines_py 'x=e.get(sys.argv[2]); print("" if x and x.get("available") else (x or {}).get("reason","hostel does not know engine " + sys.argv[2]))' "$1"
}
engine_fast() {
  [ "$1" = emu ] && [ -z "$(engine_unavailable emu)" ] && return 0
  [ "$(_engines_py 'x=e.get(sys.argv[2],{}); print(1 if x.get("available") and x.get("fast") else 0)' "$1")" = 1 ]
}
engine_speed() {   # E -> "4.5 million instructions/s" or ""
  _engines_py 'x=e.get(sys.argv[2],{}); v=x.get("insns_per_sec"); print("%.1f million instructions/s" % (v/1e6) if v else "")' "$1"
}
engines_available() {
  local e out=""
  for e in kvm emu; do [ -z "$(engine_unavailable "$e")" ] && out+="$e "; done
  echo "${out% }"
}

# The engine for a test that needs one that runs Linux well: what auto picks,
# or HOSTEL_TEST_ENGINE when set (to run a suite on one engine by hand).
# Prints nothing and returns 1 when there is none.
test_engine() {
  if [ -n "${HOSTEL_TEST_ENGINE:-}" ]; then echo "$HOSTEL_TEST_ENGINE"; return 0; fi
  auto_engine
}
