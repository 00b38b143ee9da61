#!/usr/bin/env bash
# Keeps kvm_quirks honest: it runs within its time bound, its text and JSON
# reports are well formed and say the same thing, a probe that cannot decide
# on a usable /dev/kvm is a failure (its control failed), and with
# HOSTEL_NO_KVM=1 every quirk is unknown.  docs/kvm-hosts.md says what the
# quirks are.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
Q=$BUILD/tests/kvm_quirks
LIMIT=60          # seconds: four probes of a few hundred instructions, each bounded at 3 s per run

if [ ! -x "$Q" ]; then
  echo "FAIL: kvm/quirks (no $Q: run make)"
  exit 0
fi
if ! command -v python3 >/dev/null; then
  echo "SKIP: kvm/quirks (python3 is not installed: scripts/deps.sh test)"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hostel-kvmq.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# run NAME ENV... -- ARGS: output in $tmp/NAME.out, status in $rc
run() {
  local name=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" timeout -k 5 "$LIMIT" "$Q" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
  rc=$?
}

# check NAME JSON TEXT NO_KVM: prints why the two reports are wrong, returns 1
check() {
  python3 - "$@" <<'PY'
import json, re, sys
name, jpath, tpath, no_kvm = sys.argv[1:5]
try:
    j = json.load(open(jpath))
except ValueError as e:
    sys.exit(print("--json output is not JSON: %s" % e) or 1)
def bad(why):
    sys.exit(print(why) or 1)
if not isinstance(j, dict) or set(j) - {"kvm", "why", "host", "quirks"}:
    bad("top level is not {kvm, host, quirks[, why]}: %r" % list(j))
for k in ("kvm", "host"):
    if not isinstance(j.get(k), str) or not j[k]:
        bad("%r is not a non-empty string" % k)
qs = j.get("quirks")
if not isinstance(qs, dict) or not qs:
    bad("'quirks' is not a non-empty object")
for n, q in qs.items():
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", n):
        bad("quirk name %r is not lower-case words joined by '-'" % n)
    if not isinstance(q, dict) or "present" not in q or \
       not (q["present"] is None or isinstance(q["present"], bool)) or \
       not isinstance(q.get("detail"), str):
        bad("quirk %s is not {present: true|false|null, detail: string}: %r" % (n, q))
    if q["present"] is not False and not q["detail"]:
        bad("quirk %s is %s without a detail" % (n, q["present"]))
if no_kvm == "1":
    if j["kvm"] == "available":
        bad("HOSTEL_NO_KVM=1 but kvm is %r" % j["kvm"])
    known = [n for n, q in qs.items() if q["present"] is not None]
    if known:
        bad("HOSTEL_NO_KVM=1 but these quirks are not unknown: %s" % ", ".join(known))
elif j["kvm"] == "available":
    unknown = ["%s (%s)" % (n, q["detail"]) for n, q in qs.items() if q["present"] is None]
    if unknown:
        bad("kvm is available but a probe could not decide: %s" % "; ".join(unknown))
# The text report: a kvm line, then one line per quirk, in agreement.
lines = open(tpath).read().splitlines()
if not lines or not lines[0].startswith("kvm: " + j["kvm"]):
    bad("the text report does not start with 'kvm: %s': %r" % (j["kvm"], lines[:1]))
seen = {}
for l in lines[1:]:
    m = re.fullmatch(r"quirk ([a-z0-9-]+): (present \((.+)\)|absent|unknown \((.+)\))", l)
    if not m:
        bad("malformed line %r" % l)
    seen[m.group(1)] = {"present": True, "absent": False}.get(m.group(2).split(" ")[0])
if set(seen) != set(qs):
    bad("text names %s, JSON names %s" % (sorted(seen), sorted(qs)))
for n in qs:
    if seen[n] != qs[n]["present"]:
        bad("quirk %s: text says %r, JSON %r" % (n, seen[n], qs[n]["present"]))
PY
}

for mode in host no-kvm; do
  envs=()
  label=kvm/quirks
  if [ $mode = no-kvm ]; then envs=(HOSTEL_NO_KVM=1); label=kvm/quirks-no-kvm; fi
  run text "${envs[@]}" -- ; rc_text=$rc
  run json "${envs[@]}" -- --json; rc_json=$rc
  if [ "$rc_text" -eq 124 ] || [ "$rc_json" -eq 124 ] || [ "$rc_text" -eq 137 ] || [ "$rc_json" -eq 137 ]; then
    echo "FAIL: $label (did not finish within ${LIMIT}s)"
  elif [ "$rc_text" -ne 0 ] || [ "$rc_json" -ne 0 ]; then
    echo "FAIL: $label (exit status $rc_text / $rc_json with --json, expected 0: $(head -c 300 "$tmp/text.err"))"
  elif why=$(check "$label" "$tmp/json.out" "$tmp/text.out" "$([ $mode = no-kvm ] && echo 1 || echo 0)"); then
    echo "PASS: $label"
    [ $mode = host ] && sed 's/^/  /' "$tmp/text.out"
  else
    echo "FAIL: $label ($why)"
    sed 's/^/     /' "$tmp/text.out"
  fi
done

# A bad argument is refused with a status of its own, not probed.
run bad -- --frobnicate
if [ "$rc" -eq 2 ] && grep -q "unknown argument" "$tmp/bad.err"; then
  echo "PASS: kvm/quirks-bad-argument"
else
  echo "FAIL: kvm/quirks-bad-argument (status $rc, expected 2 and 'unknown argument')"
fi
exit 0
