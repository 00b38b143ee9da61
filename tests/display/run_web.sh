#!/usr/bin/env bash
# `hostel web` (docs/display.md): the page and its API over HTTP, as a
# browser would use them: refused without the token or with a wrong one;
# with it, the page, the machine list with states, start (the machine
# runs, its screen's address is listed), pause, resume, stop; the serial
# console's output as events and a line sent to it (the tiny appliance);
# then the page in headless Chromium, its terminal and screen
# (web_browser.py; HOSTEL_WEB_SCREENSHOT=FILE keeps a picture of it).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
GUEST=$(pwd)/$BUILD/guests/display.elf
[ -f "$GUEST" ] || { echo "FAIL: web/guest (no $GUEST: run make)"; exit 0; }
work=$(mktemp -d "${TMPDIR:-/tmp}/hostel-web-XXXXXX")
export HOSTEL_HOME="$work/home"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  # w1 and w2 (the display guest) do not power off on the ACPI button
  "$H" stop w1 --force --timeout 1 >/dev/null 2>&1
  "$H" stop t1 --force >/dev/null 2>&1
  "$H" stop w2 --force --timeout 1 >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
"$H" create w1 --kernel "$GUEST" --display vnc=127.0.0.1:0 --engine emu >/dev/null ||
  { echo "FAIL: web/create"; exit 0; }
appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1 ||
  { echo "FAIL: web/tiny (appliances/tiny/build.sh failed)"; exit 0; }
"$H" create t1 --appliance "$(pwd)/$BUILD/appliances/tiny" --net none \
  --display vnc=127.0.0.1:0 >/dev/null ||
  { echo "FAIL: web/create-tiny"; exit 0; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$H" web --listen "127.0.0.1:$port" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 50); do grep -qs "token=" "$work/out" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$work/out")
[ -n "$url" ] || { echo "FAIL: web/listens (no URL printed: $(cat "$work/err"))"; exit 0; }
echo "PASS: web/listens"
python3 - "$url" <<'PY'
import json, sys, time, urllib.error, urllib.parse, urllib.request
url = sys.argv[1]
base = url.split("/?")[0]
token = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["token"][0]

def call(path, method="GET", tok=token, header=True, data=b""):
    req = urllib.request.Request(base + path, method=method, data=data if method == "POST" else None)
    if tok is not None and header:
        req.add_header("X-Hostel-Token", tok)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

def check(name, ok, why=""):
    print("PASS: web/%s" % name if ok else "FAIL: web/%s (%s)" % (name, why))

st, _ = call("/api/machines", tok=None)
check("no-token-refused", st == 403, "status %d" % st)
st, _ = call("/api/machines", tok="0" * 32)
check("wrong-token-refused", st == 403, "status %d" % st)
st, body = call("/?token=" + token, header=False)
check("page", st == 200 and "<table>" in body, "status %d" % st)

def machine(want=None):
    # The VMM records a new state just after it answers: a moment to settle.
    for _ in range(50):
        st, body = call("/api/machines")
        m = {m["name"]: m for m in json.loads(body)}.get("w1", {})
        if want is None or m.get("state") == want:
            break
        time.sleep(0.1)
    return m

check("lists", machine().get("state") == "stopped", "w1 is %r" % machine())
st, body = call("/api/machines/w1/start", "POST")
m = machine("running")
check("start", st == 200 and m.get("state") == "running", "status %d %s; w1 is %r" % (st, body, m))
check("lists-screen", m.get("display", "").startswith("vnc 127.0.0.1:"), "w1 is %r" % m)
st, body = call("/api/machines/w1/screen")          # the screen is a WebSocket only
check("screen-not-websocket", st == 400 and "WebSocket" in body, "status %d %s" % (st, body))
st, body = call("/api/machines/t1/screen")          # t1 is stopped
check("screen-not-running", st == 409 and "not running" in body, "status %d %s" % (st, body))

# The screen's WebSocket by hand: the VNC greeting arrives in a binary
# frame, a ping is answered, a frame a client may not send (unmasked) ends
# it with a protocol-error close.
import socket
def ws_open():
    s = socket.create_connection((urllib.parse.urlparse(base).hostname,
                                  urllib.parse.urlparse(base).port), timeout=10)
    s.sendall(("GET /api/machines/w1/screen?token=%s HTTP/1.1\r\nHost: x\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" % token).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, rest = data.split(b"\r\n\r\n", 1)
    while len(rest) < 14:
        rest += s.recv(4096)
    return s, head, rest
s, head, rest = ws_open()
check("screen-websocket", head.startswith(b"HTTP/1.1 101") and
      b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head and rest[:2] == b"\x82\x0c" and
      rest[2:14].startswith(b"RFB 003."), "%r %r" % (head, rest[:14]))
s.sendall(b"\x89\x84\x01\x02\x03\x04" + bytes(c ^ m for c, m in zip(b"ping", b"\x01\x02\x03\x04")))
def recv_exact(n):
    got = b""
    while len(got) < n:
        k = s.recv(n - len(got))
        if not k:
            break
        got += k
    return got
pong = recv_exact(6)
check("screen-websocket-ping", pong == b"\x8a\x04ping", "%r" % pong)
s.sendall(b"\x82\x01x")                            # unmasked
bye = recv_exact(4)
check("screen-websocket-bad-frame", bye == b"\x88\x02\x03\xea", "%r" % bye)
s.close()
st, body = call("/api/machines/w1/pause", "POST")
check("pause", st == 200 and machine("paused").get("state") == "paused", "status %d %s" % (st, body))
st, body = call("/api/machines/w1/resume", "POST")
check("resume", st == 200 and machine("running").get("state") == "running", "status %d %s" % (st, body))
st, body = call("/api/machines/w1/stop", "POST")
check("stop", st == 200 and machine("stopped").get("state") == "stopped", "status %d %s; w1 is %r" % (st, body, machine()))
st, body = call("/api/machines/nosuch/start", "POST")
check("unknown-machine", st == 409 and "no such machine" in body, "status %d %s" % (st, body))
st, body = call("/api/machines/w1/start", "POST")   # left running for the port check

# The serial console: tiny's output as events, a line sent back in.
if call("/api/machines/t1/start", "POST")[0] != 200:
    check("console", False, "t1 did not start")
    sys.exit(0)
req = urllib.request.Request(base + "/api/machines/t1/console?token=" + token)
stream = urllib.request.urlopen(req, timeout=300)
seen = b""
def read_until(text, limit):
    global seen
    end = time.time() + limit
    while text not in seen and time.time() < end:
        line = stream.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            seen += bytes.fromhex(line[6:].strip().decode())
    return text in seen
check("console-output", read_until(b"tiny: ready", 300), "no 'tiny: ready' in %r" % seen[-200:])
read_until(b"tiny:/# ", 30)                          # the shell is reading
st, body = call("/api/machines/t1/console", "POST", data=b"echo web-$((6*7))\r")
check("console-input", st == 200 and read_until(b"web-42", 60), "status %d %s; saw %r" % (st, body, seen[-200:]))
stream.close()         # t1 runs on, for the browser
PY
# The page in a browser: Debian's chromium, headless (web_browser.py).
if ! command -v chromium >/dev/null; then
  echo "SKIP: web/browser (no chromium: scripts/deps.sh test installs it)"
elif [ ! -f "$BUILD/web/novnc.js" ] || [ ! -f "$BUILD/web/xterm.js" ]; then
  echo "FAIL: web/browser (no $BUILD/web/novnc.js or xterm.js: scripts/web-vendor.sh did not bundle them)"
else
  # w2: the display guest with a VNC password, for the page's prompt.
  echo "sesame" >"$work/vncpw"
  "$H" create w2 --kernel "$GUEST" --engine emu \
    --display "vnc=127.0.0.1:0,password-file=$work/vncpw" >/dev/null ||
    echo "FAIL: web/create-w2"
  timeout 300 python3 tests/display/web_browser.py "$url" t1 w2:sesame \
    ${HOSTEL_WEB_SCREENSHOT:+--screenshot "$HOSTEL_WEB_SCREENSHOT"} ||
    echo "FAIL: web/browser (web_browser.py failed)"
fi
# A machine started from the page does not keep the page's port: once
# hostel web is gone, the port is free while the machine runs on.
kill "$pid"; wait "$pid" 2>/dev/null; pid=""
if python3 -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()' "$port" 2>/dev/null; then
  echo "PASS: web/port-freed"
else
  echo "FAIL: web/port-freed (port $port is still held: the VMM inherited the server's socket)"
fi
