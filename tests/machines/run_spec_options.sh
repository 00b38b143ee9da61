#!/usr/bin/env bash
# One machine spec for run, create and set (issue 12): every `hostel run`
# option is accepted by `hostel create` and `hostel set` under the same name,
# round-trips through the machine's folder (config.json -> hostel info
# --json "spec"), gives the same error for a bad value in all three
# commands, and a machine created with many of them at once starts and runs.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-spec-XXXXXX)
trap '"$H" rm --force all >/dev/null 2>&1; rm -rf "$HOSTEL_HOME"' EXIT
pass() { echo "PASS: machines/spec/$1"; }
fail() { echo "FAIL: machines/spec/$1 ($2)"; }
spec() { "$H" info "$1" --json 2>/dev/null | python3 -c "import json,sys; s=json.load(sys.stdin)['spec']; print(json.dumps($2))"; }
img="$HOSTEL_HOME/extra.img"; truncate -s 8M "$img"
sdir="$HOSTEL_HOME/shared"; mkdir -p "$sdir"

# option, value, python expression over s (the stored spec), expected JSON
cases=(
  "cmdline|console=ttyS0 quiet|s.get('cmdline')|\"console=ttyS0 quiet\""
  "initrd|$K|s.get('initrd')|\"$K\""
  "cpus|3|s.get('cpus')|3"
  "memory|96M|s.get('memory')|\"96M\""
  "engine|emu|s.get('engine')|\"emu\""
  "serial|none|s.get('serial')|\"none\""
  "no-reboot||s.get('no_reboot')|true"
  "watchdog|7|s.get('watchdog')|7"
  "console|virtio|s.get('console')|\"virtio\""
  "rng|off|s.get('rng')|false"
  "hpet|off|s.get('hpet')|false"
  "net|user,restrict=on|s.get('net')|\"user,restrict=on\""
  "forward|tcp:0:8080|s.get('forwards')|[\"tcp:0:8080\"]"
  "mac|52:54:00:aa:bb:cc|s.get('mac')|\"52:54:00:aa:bb:cc\""
  "disk|$img,format=raw,readonly=on|s.get('disks')|[{\"format\": \"raw\", \"path\": \"$img\", \"readonly\": true}]"
  "disk=blank|size=2M|[d.get('path') for d in s.get('disks', [])]|[\"disk.qcow2\"]"
  "share|$sdir:data,ro|s.get('shares')|[{\"dir\": \"$sdir\", \"readonly\": true, \"tag\": \"data\"}]"
  "disk=limited|$img,bps=4M,iops=200|[(d.get('bps'), d.get('iops')) for d in s.get('disks', [])]|[[\"4M\", 200]]"
  "net-limit|bps=1M,pps=300|s.get('net_limit')|\"bps=1M,pps=300\""
  "cpu-limit|0.25|s.get('cpu_limit')|\"0.25\""
  "memory-limit|1G|s.get('memory_limit')|\"1G\""
  "no-sandbox||s.get('sandbox')|false"
  "sandbox|off|s.get('sandbox')|false"
)
i=0
for c in "${cases[@]}"; do
  IFS='|' read -r label val expr want <<<"$c"
  opt=${label%%=*}; label=${label/=/-}
  i=$((i + 1)); m="o$i"
  args=("--$opt"); [ -n "$val" ] && args+=("$val")
  if ! out=$("$H" create "$m" --kernel "$K" "${args[@]}" 2>&1); then fail "create-$label" "$out"; continue; fi
  got=$(spec "$m" "$expr")
  [ "$got" = "$want" ] && pass "create-$label" || fail "create-$label" "stored $got, want $want"
  # set: the same option on a plain machine
  "$H" create "s$i" --kernel "$K" >/dev/null 2>&1
  if out=$("$H" set "s$i" "${args[@]}" 2>&1) && [ "$(spec "s$i" "$expr")" = "$want" ]; then pass "set-$label"
  else fail "set-$label" "$out; stored $(spec "s$i" "$expr")"; fi
  "$H" rm "$m" >/dev/null 2>&1; "$H" rm "s$i" >/dev/null 2>&1
done
# The blank disk is a real qcow2 file of that size in the machine's folder.
"$H" create blank --kernel "$K" --disk size=3M >/dev/null 2>&1
if out=$("$H" image info "$HOSTEL_HOME/machines/blank/disk.qcow2" 2>&1) && grep -q 'qcow2' <<<"$out" && grep -q '3 MiB\|3M\|3145728' <<<"$out"; then
  pass blank-disk-file; else fail blank-disk-file "$out"; fi
"$H" rm blank >/dev/null 2>&1

# Bad values: the same message from run, create and set.
"$H" create plain --kernel "$K" >/dev/null 2>&1
bad=( "cpus|0" "memory|12X" "engine|frob" "serial|tty" "watchdog|-1" "console|vga" "rng|maybe" "hpet|maybe"
      "net|wifi" "forward|tcp:x:22" "mac|01:00:00:00:00:00" "disk|/no/such,format=vmdk"
      "share|/no/such/dir:data" "share|$sdir:bad/tag" "net-limit|bps=fast" "cpu-limit|half"
      "memory-limit|lots" "sandbox|maybe" "disk-limit|x" )
for c in "${bad[@]}"; do
  IFS='|' read -r opt val <<<"$c"
  r=$("$H" run --kernel "$K" "--$opt" "$val" 2>&1 </dev/null | head -1 | sed 's/ (see .*//')
  cr=$("$H" create bad --kernel "$K" "--$opt" "$val" 2>&1 | head -1 | sed 's/ (see .*//')
  st=$("$H" set plain "--$opt" "$val" 2>&1 | head -1 | sed 's/ (see .*//')
  if [ -n "$r" ] && [ "$r" = "$cr" ] && [ "$r" = "$st" ] && grep -q -- "--$opt" <<<"$r"; then pass "same-error-$opt"
  else fail "same-error-$opt" "run: $r / create: $cr / set: $st"; fi
  "$H" rm bad >/dev/null 2>&1
done
"$H" rm plain >/dev/null 2>&1

# Many options at once: the machine starts, runs its guest and stops.
if out=$("$H" create all --kernel "$K" --cpus 2 --memory 64M --engine emu --cmdline "x=1" \
         --watchdog 0 --rng off --console virtio --disk size=1M --mac 52:54:00:01:02:03 \
         --net user --forward tcp:0:2323 --share "$sdir:data" 2>&1) && "$H" start all >/dev/null 2>&1; then
  ok=0
  for _ in $(seq 100); do grep -q 'idle: ready' "$HOSTEL_HOME/machines/all/console.log" 2>/dev/null && { ok=1; break; }; sleep 0.2; done
  info=$("$H" info all --json)
  if [ $ok = 1 ] && python3 -c 'import json,sys; o=json.load(sys.stdin); assert o["state"]=="running" and o["engine"]=="emu" and o["cpus"]==2 and o["forwards"][0]["guest_port"]==2323' <<<"$info"; then
    pass many-options-run; else fail many-options-run "$info"; fi
  "$H" stop all >/dev/null 2>&1 || "$H" stop --force all >/dev/null 2>&1
else
  fail many-options-run "$out"
fi
