#!/usr/bin/env bash
# Interop of hostel's block layer with QEMU's qemu-img: images qemu makes
# read identically through hostel, and images hostel writes (random writes,
# overlays, a writer killed with SIGKILL) pass `qemu-img check` and match a
# raw replay of the same writes under `qemu-img compare`.
set -u
BUILD=${BUILD:-build}
H=$(realpath "$BUILD/hostel" 2>/dev/null || true)
if ! command -v qemu-img >/dev/null; then
  echo "SKIP: block_qemu_img (qemu-img not installed: scripts/deps.sh test)"; exit 0
fi
if [ ! -x "$H" ]; then echo "FAIL: block_qemu_img (no $BUILD/hostel: run make)"; exit 1; fi
# tmpfs when there is one: the test is about formats, not about disk flushes.
TMPBASE=/tmp; [ -d /dev/shm ] && [ -w /dev/shm ] && TMPBASE=/dev/shm
T=$(mktemp -d "$TMPBASE/hostel-block.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1 ($2)"; }
# checks NAME IMAGE: qemu-img check reports no errors (leaks allowed when $2 says so)
qcheck() {   # image allow_leaks -> 0 ok
  local out rc
  out=$(qemu-img check "$1" 2>&1); rc=$?
  [ $rc -eq 0 ] && return 0
  [ "${2:-0}" = 1 ] && [ $rc -eq 3 ] && return 0
  echo "$out" | head -5 | sed 's/^/    /'
  return 1
}
# replay SEED COUNT RAWPATH SIZE: the same writes on a fresh raw image
replay() { "$H" image create -f raw "$3" "$4" >/dev/null && "$H" image write-random "$3" "$1" "$2" >/dev/null; }

# A source disk with data, zeros and compressible text.
head -c 3M /dev/urandom > rnd.bin
truncate -s 16M src.raw
dd if=rnd.bin of=src.raw bs=1M seek=3 conv=notrunc status=none
yes "hostel block interop line" | head -c 2M | dd of=src.raw bs=1M seek=10 conv=notrunc status=none
dd if=rnd.bin of=src.raw bs=512 count=3 seek=32765 conv=notrunc status=none

# 1. qemu-made images read through hostel.
read_case() {   # name, qemu-img convert options...
  local name=$1; shift
  if ! qemu-img convert -O qcow2 "$@" src.raw "$name.qcow2" 2>err.txt; then
    echo "SKIP: read_$name (qemu-img cannot make it: $(head -1 err.txt))"; return
  fi
  if "$H" image convert "$name.qcow2" "$name.out" 2>err.txt && cmp -s src.raw "$name.out"; then
    pass "read_$name"
  else fail "read_$name" "hostel's raw copy differs from the source: $(head -1 err.txt)"; fi
}
read_case v2 -o compat=0.10
read_case v3 -o compat=1.1
read_case v2_compressed -c -o compat=0.10
read_case v3_zlib -c -o compat=1.1
read_case v3_zstd -c -o compression_type=zstd
read_case v3_4k_clusters -o cluster_size=4096
read_case v3_refcount8 -o refcount_bits=8

# A three-image chain made by qemu, relative backing names, data at each level.
mkdir -p chain/sub
qemu-img convert -q -O qcow2 src.raw chain/base.qcow2
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 chain/mid.qcow2
qemu-io -c "write -P 0x11 1M 200k" -c "write -z 3M 64k" chain/mid.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o compat=0.10 -b ../mid.qcow2 -F qcow2 chain/sub/top.qcow2
qemu-io -c "write -P 0x22 1100k 300k" -c "discard 10M 128k" chain/sub/top.qcow2 >/dev/null
qemu-img convert -O raw chain/sub/top.qcow2 chain.expect
if "$H" image convert chain/sub/top.qcow2 chain.out 2>err.txt && cmp -s chain.expect chain.out; then
  pass read_backing_chain
else fail read_backing_chain "$(head -1 err.txt)"; fi

# 2. Images hostel writes: thousands of seeded random writes.
write_case() {   # name, size, count, create options...
  local name=$1 size=$2 n=$3; shift 3
  "$H" image create "$@" "$name.qcow2" "$size" >/dev/null || { fail "write_$name" "create"; return; }
  "$H" image write-random "$name.qcow2" 11 "$n" >/dev/null || { fail "write_$name" "write-random"; return; }
  replay 11 "$n" "$name.raw" "$size"
  if ! qcheck "$name.qcow2"; then fail "write_$name" "qemu-img check found errors"; return; fi
  if ! qemu-img compare -q "$name.qcow2" "$name.raw"; then fail "write_$name" "differs from the raw replay"; return; fi
  if ! "$H" image check "$name.qcow2" >/dev/null; then fail "write_$name" "hostel image check"; return; fi
  pass "write_$name"
}
write_case random_64k 32M 2500
write_case random_512b 12M 600 -c 512   # many refcount blocks and table growth

# Writes over a qemu-made compressed image (each rewrite reallocates).
for v in v3_zlib v3_zstd v2_compressed; do
  [ -f $v.qcow2 ] || continue
  cp $v.qcow2 w_$v.qcow2; cp src.raw w_$v.raw
  "$H" image write-random w_$v.qcow2 5 1000 >/dev/null && "$H" image write-random w_$v.raw 5 1000 >/dev/null
  if qcheck w_$v.qcow2 && qemu-img compare -q w_$v.qcow2 w_$v.raw; then pass "rewrite_$v"
  else fail "rewrite_$v" "check or compare failed"; fi
done

# 3. A hostel overlay on a qemu base, and on a v2 base (no zero flag there).
for v in v3 v2; do
  "$H" image create -b $v.qcow2 ov_$v.qcow2 >/dev/null
  cp src.raw ov_$v.raw
  "$H" image write-random ov_$v.qcow2 9 1500 >/dev/null && "$H" image write-random ov_$v.raw 9 1500 >/dev/null
  if qcheck ov_$v.qcow2 && qemu-img compare -q ov_$v.qcow2 ov_$v.raw && cmp -s src.raw <(qemu-img convert -O raw $v.qcow2 /dev/stdout 2>/dev/null || cat $v.out); then
    pass "overlay_on_$v"
  else fail "overlay_on_$v" "check or compare failed"; fi
done

# 4. A writer killed with SIGKILL mid-write: no errors (leaks at most), and
#    identical to a replay of the finished writes outside the one in flight.
#    The third writes through an overlay on a qemu-made image (COW path).
for i in 1 2 3; do
  if [ $i -lt 3 ]; then "$H" image create -c 4K kill.qcow2 16M >/dev/null; base=
  else "$H" image create -b v3.qcow2 kill.qcow2 >/dev/null; base=src.raw; fi
  "$H" image write-random kill.qcow2 $((40 + i)) 100000 > prog.txt &
  pid=$!
  sleep 0.$((1 + i))
  kill -9 $pid; wait $pid 2>/dev/null
  done_n=$(grep '^done' prog.txt | tail -1 | awk '{print $2}'); done_n=${done_n:-0}
  inflight=$(tail -1 prog.txt)
  if ! qcheck kill.qcow2 1; then fail "sigkill_$i" "qemu-img check found errors after $done_n writes"; continue; fi
  qemu-img convert -O raw kill.qcow2 kill.got
  if [ -n "$base" ]; then
    cp "$base" kill.want && "$H" image write-random kill.want $((40 + i)) "$done_n" >/dev/null
  else replay $((40 + i)) "$done_n" kill.want 16M; fi
  if [[ $inflight == op* ]]; then   # blank the range whose write was cut off, in both
    read -r _ _ off len <<<"$inflight"
    for f in kill.got kill.want; do
      dd if=/dev/zero of=$f bs=512 seek=$((off / 512)) count=$((len / 512)) conv=notrunc status=none
    done
  fi
  ql=$(qemu-img check kill.qcow2 2>/dev/null | sed -n 's/^\([0-9]*\) leaked clusters.*/\1/p'); ql=${ql:-0}
  hl=$("$H" image check kill.qcow2 | sed -n 's/^\([0-9]*\) leaked clusters.*/\1/p'); hl=${hl:-0}
  if ! cmp -s kill.got kill.want; then fail "sigkill_$i" "contents differ from the replay of $done_n writes"
  elif [ "$ql" != "$hl" ]; then fail "sigkill_$i" "qemu-img counts $ql leaks, hostel $hl"
  else
    "$H" image check --repair kill.qcow2 >/dev/null
    if qcheck kill.qcow2; then pass "sigkill_$i"; else fail "sigkill_$i" "errors after check --repair"; fi
  fi
done

# 5. The dirty bit: an image left dirty by lazy refcounts is refused for
#    writing until check --repair rebuilds its refcounts.
qemu-img create -q -f qcow2 -o lazy_refcounts=on dirty.qcow2 16M
sh -c 'qemu-io -c "write -P 7 0 200k" -c abort dirty.qcow2; true' >/dev/null 2>&1
if "$H" image write-random dirty.qcow2 1 1 >/dev/null 2>err.txt; then
  fail dirty_bit "a dirty image was opened for writing"
elif ! grep -q "check --repair" err.txt; then fail dirty_bit "message: $(cat err.txt)"
elif ! "$H" image check --repair dirty.qcow2 >/dev/null; then fail dirty_bit "repair failed"
elif ! qcheck dirty.qcow2 || ! qemu-io -c "read -P 7 0 200k" dirty.qcow2 | grep -q "read 204800"; then
  fail dirty_bit "image wrong after repair"
else pass dirty_bit; fi

# 6. The CLI: create, info (--json), convert to qcow2.
"$H" image create -f qcow2 cli.qcow2 1G >/dev/null
if qemu-img info --output=json cli.qcow2 | grep -q '"virtual-size": 1073741824' &&
   "$H" image info --json cli.qcow2 | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[0]["virtual-size"]==1<<30 and d[0]["cluster-size"]==65536 else 1)'; then
  pass cli_create_info
else fail cli_create_info "sizes disagree"; fi
"$H" image create -b chain/sub/top.qcow2 cli_ov.qcow2 >/dev/null
if "$H" image info cli_ov.qcow2 | grep -q "backing file 3:" ; then pass cli_info_chain
else fail cli_info_chain "info does not list three backing files"; fi
"$H" image convert -O qcow2 chain/sub/top.qcow2 conv.qcow2
if qcheck conv.qcow2 && qemu-img compare -q conv.qcow2 chain.expect; then pass cli_convert_qcow2
else fail cli_convert_qcow2 "check or compare failed"; fi
if "$H" image create -f qcow2 bad.qcow2 12Q 2>err.txt; then fail cli_bad_size "accepted 12Q"
elif grep -q "bad size" err.txt; then pass cli_bad_size; else fail cli_bad_size "$(cat err.txt)"; fi
exit 0
