# Shell helpers for tests of named machines: what `hostel info --json`
# says of one, and waiting for its console.  Needs $H (the hostel binary)
# and $HOSTEL_HOME.
state() { "$H" info "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
vmm_pid() { "$H" info "$1" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("pid",""))'; }
live_iso() {  # name, key: the running VMM's isolation report
  "$H" info "$1" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("isolation",{}).get(sys.argv[1],""))' "$2"
}
wait_log() {  # name, pattern, seconds
  for _ in $(seq $(( $3 * 10 ))); do grep -q "$2" "$HOSTEL_HOME/machines/$1/console.log" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
