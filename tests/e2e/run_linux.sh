#!/usr/bin/env bash
# Boots Debian's stock kernel (built from Debian packages by
# scripts/linux-guest.sh) with a busybox initramfs on each engine that can run
# here, runs commands in the guest and checks their output and the kernel log.
# A kvm that `hostel engines` measures as slow (nested, emulated) boots Linux
# only under make test-all (HOSTEL_TEST_ALL=1), with a longer timeout.
# HOSTEL_E2E_FLAVOURS="cloud generic" picks kernels (default: cloud; test-all: both).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$BUILD/hostel"
flavours=${HOSTEL_E2E_FLAVOURS:-cloud}
[ -n "${HOSTEL_TEST_ALL:-}" ] && flavours=${HOSTEL_E2E_FLAVOURS:-cloud generic}

. tests/lib/engines.sh
engines=${HOSTEL_ENGINES:-kvm emu}
[ -n "$(auto_engine)" ] || echo "FAIL: linux/engine (hostel engines found no engine that can run here: $(engine_why))"

for flavour in $flavours; do
  paths=$(scripts/linux-guest.sh "$flavour" 2>/dev/null) || { echo "FAIL: linux/$flavour (could not build the guest from Debian packages)"; continue; }
  eval "$paths"
  for engine in $engines; do
    limit=600
    why_not=$(engine_unavailable "$engine")
    if [ -z "$why_not" ] && ! engine_fast "$engine"; then
      if [ -n "${HOSTEL_TEST_ALL:-}" ]; then limit=3000
      else why_not="$engine is slow here ($(engine_speed "$engine")): Linux on it runs under make test-all"; fi
    fi
    if [ -n "$why_not" ] && [ "$engine" = emu ]; then
      echo "FAIL: linux/$flavour@emu (emu must always run: $why_not)"; continue
    fi
    if [ -n "$why_not" ]; then
      for c in 1 2; do echo "SKIP: linux/$flavour@$engine/cpus=$c ($why_not)"; done
      continue
    fi
    for cpus in 1 2; do
      name="linux/$flavour@$engine/cpus=$cpus"
      log=$(mktemp)
      timeout "$limit" "$H" run --engine "$engine" --cpus "$cpus" --memory 512M --kernel "$KERNEL" --initrd "$INITRD" \
        --cmdline "console=ttyS0 panic=-1 hostel.script=uname_-a,nproc,cat_/proc/cpuinfo,cat_/sys/devices/system/clocksource/clocksource0/avail*,dmesg" --no-reboot \
        --serial stdio </dev/null >"$log" 2>&1
      rc=$?
      tr -d '\r' <"$log" >"$log.txt"
      why=""
      [ $rc -eq 0 ] || why="exit status $rc"
      grep -q 'hostel-guest: init reached' "$log.txt" || why="${why:+$why; }never reached /init"
      grep -q '^Linux hostel ' "$log.txt" || why="${why:+$why; }no uname output"
      n=$(sed -n '/^== nproc/{n;p}' "$log.txt" | head -1)
      [ "$n" = "$cpus" ] || why="${why:+$why; }nproc printed '$n', expected $cpus"
      # The board's HPET (on by default): a clocksource, and no complaint about it.
      cs=$(sed -n '/^== cat \/sys\/devices\/system\/clocksource/{n;p}' "$log.txt" | head -1)
      case " $cs " in *" hpet "*) ;; *) why="${why:+$why; }available clocksources '$cs' lack hpet" ;; esac
      bad=$(grep -E 'WARNING:|BUG:|Oops|timer doesn.t work|Failed to|Kernel panic' "$log.txt" | head -3)
      bad=${bad:-$(grep -iE 'hpet.*(not counting|fail|broken|error|warn)' "$log.txt" | head -3)}
      [ -z "$bad" ] || why="${why:+$why; }kernel log: $bad"
      if [ -z "$why" ]; then echo "PASS: $name"; else echo "FAIL: $name ($why)"; tail -n 25 "$log.txt"; fi
      rm -f "$log" "$log.txt"
    done
  done
done
