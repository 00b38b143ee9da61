#!/usr/bin/env bash
# The screen (docs/display.md): the display test guest booted with
# --display vnc, directly and through SeaBIOS + GRUB, on each engine that
# runs here, checked by two VNC viewers written in Python (rfb.py): text
# mode read back glyph by glyph, colours and cursor, keys typed in a viewer
# reaching the guest's PS/2 keyboard, the VBE framebuffer pixel for pixel,
# an idle screen sending nothing (display_check.py).  The tiny appliance's
# Linux shell on the screen, typed into from a viewer (linux_check.py).  And
# who may connect:
# a password is asked for when given, and VNC beyond loopback without one
# is refused.  One PASS:/FAIL:/SKIP: line per check.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$BUILD/hostel"
GUEST=$BUILD/guests/display.elf
. tests/lib/engines.sh
. tests/lib/boot_media.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/hostel-display-XXXXXX")
trap 'rm -rf "$work"' EXIT

[ -f "$GUEST" ] || { echo "FAIL: display/guest (no $GUEST: run make)"; exit 0; }
[ -f /usr/share/seabios/vgabios-stdvga.bin ] || {
  echo "FAIL: display/vgabios (no /usr/share/seabios/vgabios-stdvga.bin: scripts/deps.sh installs Debian's seabios)"; exit 0; }

disk_ok=1
make_grub_disk "$work/grub.img" "$GUEST" 2>"$work/err" || { echo "FAIL: display/make-disk ($(tail -1 "$work/err"))"; disk_ok=0; }

for engine in emu kvm; do
  why_not=$(engine_unavailable "$engine")
  if [ -n "$why_not" ]; then
    [ "$engine" = emu ] && { echo "FAIL: display/engine (emu must always run: $why_not)"; continue; }
    echo "SKIP: display/*@kvm ($why_not)"; continue
  fi
  timeout 150 python3 tests/display/display_check.py "$H" "$engine" direct "$GUEST" ||
    echo "FAIL: display/direct@$engine (the check itself failed or timed out: status $?)"
  if [ "$disk_ok" = 1 ]; then
    timeout 300 python3 tests/display/display_check.py "$H" "$engine" firmware "$work/grub.img" ||
      echo "FAIL: display/firmware@$engine (the check itself failed or timed out: status $?)"
  fi
done

# Saved on one engine, restored on the other: the picture comes back.
if [ -z "$(engine_unavailable kvm)" ]; then
  for pair in "emu kvm" "kvm emu"; do
    timeout 200 python3 tests/display/xengine_check.py "$H" "$GUEST" $pair ||
      echo "FAIL: display/save-${pair// /-to-} (the check itself failed: status $?)"
  done
else
  echo "SKIP: display/save-emu-to-kvm, save-kvm-to-emu (kvm: $(engine_unavailable kvm))"
fi

# Linux: the tiny appliance's shell on tty1 (vgacon), typed into over VNC.
if appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  if engine=$(test_engine); then
    cp -r --sparse=always "$BUILD/appliances/tiny" "$work/tiny"
    timeout 700 python3 tests/display/linux_check.py "$H" "$engine" "$work/tiny" ||
      echo "FAIL: display/linux@$engine (the check itself failed or timed out: status $?)"
  else
    echo "FAIL: display/linux (hostel engines found no engine that can run here: $(engine_why))"
  fi
else
  echo "FAIL: display/linux (appliances/tiny/build.sh failed)"
fi

# Beyond loopback without a password: refused before the machine starts.
timeout 30 "$H" run --engine emu --kernel "$GUEST" --display vnc=0.0.0.0:0 </dev/null >"$work/out" 2>"$work/err"
rc=$?
if [ "$rc" = 1 ] && grep -q "would let anyone on the network" "$work/err"; then
  echo "PASS: display/refuses-open-vnc"
else
  echo "FAIL: display/refuses-open-vnc (status $rc: $(tail -1 "$work/err"))"
fi
timeout 10 "$H" run --kernel "$GUEST" --display vnc=127.0.0.1 </dev/null >"$work/out" 2>"$work/err"
if grep -q "give vnc=ADDR:PORT" "$work/err"; then echo "PASS: display/bad-option"
else echo "FAIL: display/bad-option ($(tail -1 "$work/err"))"; fi

# A named machine: `hostel console NAME --vnc` says where its screen is;
# a snapshot and restore keep the screen (snapshot_check.py).
export HOSTEL_HOME="$work/home"
if "$H" create scr --kernel "$GUEST" --display vnc=127.0.0.1:0 --engine emu >"$work/out" 2>&1 &&
   "$H" start scr >>"$work/out" 2>&1; then
  where=$("$H" console scr --vnc 2>>"$work/out")
  if [[ $where =~ ^vnc\ 127\.0\.0\.1:([0-9]+)$ ]] &&
     python3 -c 'import sys; sys.path.insert(0, "tests/display"); import rfb
c = rfb.Client("127.0.0.1", int(sys.argv[1])); c.refresh(); sys.exit(0 if (c.width, c.height) == (640, 400) else 1)' "${BASH_REMATCH[1]}"; then
    echo "PASS: display/console-vnc"
  else
    echo "FAIL: display/console-vnc (console --vnc said '$where'; $(tail -1 "$work/out"))"
  fi
  timeout 200 python3 tests/display/snapshot_check.py "$H" scr ||
    echo "FAIL: display/snapshot (the check itself failed or timed out: status $?)"
  "$H" stop scr --force >/dev/null 2>&1
  if "$H" console scr --vnc >/dev/null 2>"$work/err"; then
    echo "FAIL: display/console-vnc-stopped (a stopped machine's display was reported)"
  elif grep -q "is not running" "$work/err"; then echo "PASS: display/console-vnc-stopped"
  else echo "FAIL: display/console-vnc-stopped ($(tail -1 "$work/err"))"; fi
else
  echo "FAIL: display/console-vnc (could not create and start a machine: $(tail -1 "$work/out"))"
fi
unset HOSTEL_HOME

# A password: a viewer without it is turned away, one with it gets in.
if python3 -c 'import cryptography' 2>/dev/null; then
  echo "s3cret-pw" > "$work/pw"
  timeout 60 python3 - "$H" "$GUEST" "$work/pw" <<'PY'
import os, re, subprocess, sys, time
sys.path.insert(0, "tests/display")
import rfb
h, guest, pw = sys.argv[1:4]
p = subprocess.Popen([h, "run", "--engine", "emu", "--kernel", guest, "--display",
                      "vnc=127.0.0.1:0,password-file=" + pw], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
port = None
for line in p.stderr:
    m = re.search(r"VNC on 127\.0\.0\.1:(\d+)", line)
    if m:
        port = int(m.group(1))
        break
try:
    try:
        rfb.Client("127.0.0.1", port)
        print("FAIL: display/password-required (a viewer without the password got in)")
    except PermissionError:
        print("PASS: display/password-required")
    try:
        rfb.Client("127.0.0.1", port, password="wrong").close()
        print("FAIL: display/password-wrong (a wrong password got in)")
    except PermissionError:
        print("PASS: display/password-wrong")
    # A web page (a WebSocket upgrade) is not served: cross-site pages
    # could otherwise reach the loopback port.
    import socket
    w = socket.create_connection(("127.0.0.1", port), timeout=10)
    w.sendall(b"GET /websockify HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n"
              b"Origin: http://elsewhere.example\r\n\r\n")
    got = b""
    try:
        while True:
            chunk = w.recv(100)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    print("PASS: display/refuses-web-pages" if not got else
          "FAIL: display/refuses-web-pages (a WebSocket upgrade got %r)" % got[:40])
    c = rfb.Client("127.0.0.1", port, password="s3cret-pw")
    c.refresh()
    print("PASS: display/password-right" if c.width > 0 else "FAIL: display/password-right")
    c.close()
finally:
    p.kill()
    p.wait()
PY
else
  echo "SKIP: display/password-* (python3-cryptography is missing: scripts/deps.sh test installs it)"
fi
