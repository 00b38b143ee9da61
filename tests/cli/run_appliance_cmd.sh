#!/usr/bin/env bash
# hostel appliance ls/pack/import on the tiny appliance: the packed file holds
# the manifest first and only the named files, imports byte for byte, is listed,
# boots with `hostel run FILE`; hostile archives and overwrites are refused.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
names="pack manifest-first no-leftovers sparse import ls ls-json same-files import-exists
       import-force hostile pack-exists ls-broken boot"
skip_all() { for n in $names; do echo "SKIP: appliance-cmd/$n ($1)"; done; exit 0; }
[ -x "$H" ] || skip_all "no $BUILD/hostel: run make first"
tiny="$(pwd)/$BUILD/appliances/tiny"
if [ ! -f "$tiny/appliance.json" ] &&
   ! appliances/tiny/build.sh "$tiny" >/dev/null 2>&1; then
  skip_all "the tiny appliance did not build (appliances/tiny/build.sh)"
fi
work=$(mktemp -d /tmp/hostel-appcmd-XXXXXX); trap 'rm -rf "$work"' EXIT
export HOSTEL_HOME="$work/home"
mkdir -p "$HOSTEL_HOME"
ok() { if [ "$2" = 0 ]; then echo "PASS: appliance-cmd/$1"; else echo "FAIL: appliance-cmd/$1 ($3)"; fi; }

out=$("$H" appliance pack tiny "$work/t.tar.zst" 2>&1); rc=$?
ok pack $rc "$out"
members=$(zstd -dc "$work/t.tar.zst" 2>/dev/null | tar -tf - 2>&1)
[ "$(head -1 <<<"$members")" = appliance.json ]; ok manifest-first $? "members: $members"
! grep -q recipe <<<"$members" && [ "$(wc -l <<<"$members")" = 4 ]
ok no-leftovers $? "members: $members"
"$H" appliance pack "$tiny" "$work/t.tar" >/dev/null 2>&1
size=$(stat -c %s "$work/t.tar" 2>/dev/null || echo 0)
[ "$size" -gt 0 ] && [ "$size" -lt $((48 << 20)) ]; ok sparse $? "plain tar is $size bytes (the 64 MiB disk was stored whole?)"

out=$("$H" appliance import "$work/t.tar.zst" --name tiny2 2>&1); rc=$?
ok import $rc "$out"
out=$("$H" appliance ls 2>&1); rc=$?
[ $rc = 0 ] && grep -q "^tiny2 (tiny) *1 .*$HOSTEL_HOME/appliances/tiny2" <<<"$out"; ok ls $? "$out"
out=$("$H" appliance ls --json 2>&1)
python3 -c 'import json,sys; l=json.load(sys.stdin); assert any(a["name"]=="tiny2" and a["version"]=="1" and a["kind"]=="folder" and a["size"]>0 for a in l)' <<<"$out"
ok ls-json $? "$out"
diffs=""
for f in appliance.json vmlinuz initrd.img disk.img; do
  cmp -s "$tiny/$f" "$HOSTEL_HOME/appliances/tiny2/$f" || diffs+=" $f"
done
[ -z "$diffs" ] && [ ! -e "$HOSTEL_HOME/appliances/tiny2/.recipe" ]; ok same-files $? "differ:$diffs"
out=$("$H" appliance import "$work/t.tar.zst" --name tiny2 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'exists.*--force' <<<"$out"; ok import-exists $? "status $rc: $out"
out=$("$H" appliance import "$work/t.tar.zst" --name tiny2 --force 2>&1); rc=$?
[ $rc = 0 ] && cmp -s "$tiny/disk.img" "$HOSTEL_HOME/appliances/tiny2/disk.img" &&
  [ -z "$(ls -A "$HOSTEL_HOME/appliances" | grep '^\.')" ]; ok import-force $? "status $rc: $out"

python3 - "$work/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name, data in (("appliance.json", b'{"format": 1, "name": "evil", "kernel": "k"}'),
                       ("k", b"k"), ("../evil", b"x")):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
PY
out=$("$H" appliance import "$work/evil.tar" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "refusing the member '../evil'" <<<"$out" && [ ! -e "$HOSTEL_HOME/evil" ] &&
  [ ! -e "$HOSTEL_HOME/appliances/evil" ] && [ -z "$(ls -A "$HOSTEL_HOME/appliances" | grep '^\.')" ]
ok hostile $? "status $rc: $out"

before=$(stat -c %Y.%s "$work/t.tar.zst")
out=$("$H" appliance pack tiny "$work/t.tar.zst" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'exists.*--force' <<<"$out" && [ "$(stat -c %Y.%s "$work/t.tar.zst")" = "$before" ] &&
  [ ! -e "$work/t.tar.zst.tmp" ]; ok pack-exists $? "status $rc: $out"

mkdir "$HOSTEL_HOME/appliances/broken"; echo '{ "format": 1,' >"$HOSTEL_HOME/appliances/broken/appliance.json"
out=$("$H" appliance ls 2>&1); rc=$?
[ $rc = 0 ] && grep -q '^broken ' <<<"$out" && grep -q 'broken: .*appliance.json' <<<"$out" &&
  grep -q '^tiny2' <<<"$out"; ok ls-broken $? "status $rc: $out"

log=$(tests/e2e/console.py 300 -- "$H" run --engine emu "$work/t.tar.zst" <<STEPS
expect tiny: ready
send poweroff
STEPS
)
rc=$?
ok boot $rc "status $rc: $(tail -5 <<<"$log")"
