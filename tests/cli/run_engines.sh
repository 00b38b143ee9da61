#!/usr/bin/env bash
# `hostel engines` and --engine auto: the survey tests rely on is well formed;
# HOSTEL_NO_KVM=1 makes hostel see no /dev/kvm (auto picks emu, --engine kvm
# fails clearly, a guest still boots); the kvm measurement is kept per host
# and measured again when asked, when its key changes or when it is corrupt.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
HELLO="$BUILD/guests/hello.elf"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hostel-engines.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export HOSTEL_CACHE_DIR=$tmp/cache
pass() { echo "PASS: engines/$1"; }
fail() { echo "FAIL: engines/$1 ($2)"; }
field() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }

"$H" engines --json >"$tmp/s.json" 2>"$tmp/err"; rc=$?
if [ $rc -eq 0 ] && [ "$(field "$tmp/s.json" 'j["engines"]["emu"]["available"]')" = True ] &&
   [[ "$(field "$tmp/s.json" 'j["auto"]')" =~ ^(kvm|emu)$ ]] && [ -n "$(field "$tmp/s.json" 'j["why"]')" ]; then
  pass survey-json
else
  fail survey-json "status $rc: $(cat "$tmp/s.json" "$tmp/err")"
fi
out=$("$H" engines 2>&1)
grep -q '^auto picks \(kvm\|emu\): ' <<<"$out" && grep -q '^emu ' <<<"$out" && pass survey-text || fail survey-text "$out"
out=$("$H" engines --frob 2>&1); [ $? -ne 0 ] && pass bad-flag || fail bad-flag "accepted --frob: $out"

# A host without /dev/kvm, as CI without nested virtualization sees it.
HOSTEL_NO_KVM=1 "$H" engines --json >"$tmp/n.json"
if [ "$(field "$tmp/n.json" 'j["engines"]["kvm"]["available"]')" = False ] &&
   grep -q HOSTEL_NO_KVM <<<"$(field "$tmp/n.json" 'j["engines"]["kvm"]["reason"]')" &&
   [ "$(field "$tmp/n.json" 'j["auto"]')" = emu ]; then
  pass no-kvm-survey
else
  fail no-kvm-survey "$(cat "$tmp/n.json")"
fi
out=$(HOSTEL_NO_KVM=1 timeout 30 "$H" run --engine kvm --kernel "$HELLO" </dev/null 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q 'engine kvm is not available: .*HOSTEL_NO_KVM.*try --engine emu' <<<"$out" \
  && pass no-kvm-explicit-kvm || fail no-kvm-explicit-kvm "status $rc: $out"
out=$(HOSTEL_NO_KVM=1 timeout 60 "$H" run -v --kernel "$HELLO" </dev/null 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q 'hello: ok' <<<"$out" && grep -q 'engine emu: kvm is not available' <<<"$out" \
  && pass no-kvm-auto-boots || fail no-kvm-auto-boots "status $rc: $out"

# The per-host measurement.
if [ "$(field "$tmp/s.json" 'j["engines"]["kvm"]["available"]')" != True ]; then
  for t in cache-written cache-used cache-measure cache-stale-key cache-corrupt; do
    echo "SKIP: engines/$t (kvm cannot run here: $(field "$tmp/s.json" 'j["engines"]["kvm"].get("reason")'))"
  done
  exit 0
fi
rm -rf "$HOSTEL_CACHE_DIR"
"$H" engines --json >"$tmp/1.json"
cache=$HOSTEL_CACHE_DIR/engine-auto.json
[ "$(field "$tmp/1.json" 'j["engines"]["kvm"]["cached"]')" = False ] && [ -s "$cache" ] &&
  [ "$(field "$cache" 'j["kvm_insns_per_sec"] > 0')" = True ] && pass cache-written || fail cache-written "$(cat "$tmp/1.json" "$cache" 2>&1)"
"$H" engines --json >"$tmp/2.json"
out=$(timeout 60 "$H" run -v --kernel "$HELLO" </dev/null 2>&1)
[ "$(field "$tmp/2.json" 'j["engines"]["kvm"]["cached"]')" = True ] &&
  [ "$(field "$tmp/2.json" 'j["engines"]["kvm"]["insns_per_sec"]')" = "$(field "$tmp/1.json" 'j["engines"]["kvm"]["insns_per_sec"]')" ] &&
  grep -q 'measured 20' <<<"$out" && pass cache-used || fail cache-used "$(cat "$tmp/2.json"; echo "$out" | head -3)"
"$H" engines --measure --json >"$tmp/3.json"
[ "$(field "$tmp/3.json" 'j["engines"]["kvm"]["cached"]')" = False ] && pass cache-measure || fail cache-measure "$(cat "$tmp/3.json")"
python3 - "$cache" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); j["key"] = j["key"].replace("kernel=", "kernel=older "); j["kvm_insns_per_sec"] = 1
json.dump(j, open(sys.argv[1], "w"))
PY
"$H" engines --json >"$tmp/4.json"
[ "$(field "$tmp/4.json" 'j["engines"]["kvm"]["cached"]')" = False ] &&
  [ "$(field "$cache" 'j["kvm_insns_per_sec"] > 1')" = True ] && pass cache-stale-key || fail cache-stale-key "$(cat "$tmp/4.json")"
printf '{"key": ' >"$cache"
"$H" engines --json >"$tmp/5.json" 2>&1; rc=$?
[ $rc -eq 0 ] && [ "$(field "$tmp/5.json" 'j["engines"]["kvm"]["cached"]')" = False ] && pass cache-corrupt \
  || fail cache-corrupt "status $rc: $(cat "$tmp/5.json")"
