# Shared by run_emu_user.sh and run_emu_user_v3.sh: runs one workload
# natively and under hostel-emu-user and compares stdout, stderr and exit
# status byte for byte.  Expects: EMU, tmp (a scratch directory),
# known_gaps (an associative array: workload -> why emu cannot run it yet)
# no_bb (why busybox workloads cannot run here; empty when they can) and,
# optionally, check_prefix (the test-name prefix, default emu_user).

# check NAME CMD...: CMD is a shell snippet using $R (the runner: emu or nothing).
check() {
  local name=$1 cmd=$2
  local rn re gap=${known_gaps[$1]:-}
  if [ -n "$no_bb" ] && [[ "$cmd" == *'$BB'* ]]; then
    echo "SKIP: ${check_prefix:-emu_user}/$name ($no_bb)"; return
  fi
  R="" bash -c "$cmd" >"$tmp/n.out" 2>"$tmp/n.err"; rn=$?
  R="$EMU" bash -c "$cmd" >"$tmp/e.out" 2>"$tmp/e.err"; re=$?
  if [ "$rn" -ne 0 ] || [ -s "$tmp/n.err" ] || [ ! -s "$tmp/n.out" ]; then
    # A workload that fails natively (a missing applet, a bad option) would
    # compare only two identical error messages: fix the workload.
    echo "FAIL: ${check_prefix:-emu_user}/$name (the workload does not work natively: status $rn, $(head -c 200 "$tmp/n.err"))"
  elif grep -q 'guest exception 6 ' "$tmp/e.err"; then
    local ud
    ud=$(grep -m1 'guest exception' "$tmp/e.err" | sed 's/^hostel-emu-user: //')
    if [ -n "$gap" ]; then
      echo "SKIP: ${check_prefix:-emu_user}/$name (known gap: $gap; $ud)"
    else
      echo "FAIL: ${check_prefix:-emu_user}/$name (emu lacks an instruction: $ud)"
    fi
  elif [ -n "$gap" ]; then
    echo "FAIL: ${check_prefix:-emu_user}/$name (listed as a known gap, $gap, but raised no #UD: remove it from known_gaps)"
  elif grep -q 'hostel-emu-user:' "$tmp/e.err"; then
    echo "FAIL: ${check_prefix:-emu_user}/$name ($(grep -m1 'hostel-emu-user:' "$tmp/e.err"))"
  elif [ "$rn" != "$re" ]; then
    echo "FAIL: ${check_prefix:-emu_user}/$name (exit status: native $rn, emu $re)"
  elif ! cmp -s "$tmp/n.out" "$tmp/e.out"; then
    echo "FAIL: ${check_prefix:-emu_user}/$name (output differs from native: $(cmp "$tmp/n.out" "$tmp/e.out" 2>&1 | head -1))"
  elif ! cmp -s "$tmp/n.err" "$tmp/e.err"; then
    echo "FAIL: ${check_prefix:-emu_user}/$name (stderr differs from native: $(head -c 200 "$tmp/e.err"))"
  else
    echo "PASS: ${check_prefix:-emu_user}/$name"
  fi
}
