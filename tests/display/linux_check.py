#!/usr/bin/env python3
"""Boots the tiny appliance with --display vnc and checks the screen as a
person would: Linux's text console (vgacon on the VGA) shows the shell on
tty1, a command typed in a VNC viewer runs, and its output appears on the
screen.  Prints PASS:/FAIL: lines.

usage: linux_check.py HOSTEL ENGINE APPLIANCE_DIR"""
import os
import queue
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfb  # noqa: E402

hostel, engine, app = sys.argv[1:4]
tag = "linux@" + engine
proc = subprocess.Popen([hostel, "run", app, "--engine", engine, "--net", "none",
                         "--display", "vnc=127.0.0.1:0"], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        errors="replace")
lines = queue.Queue()
threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
errs = queue.Queue()
threading.Thread(target=lambda: [errs.put(l) for l in proc.stderr], daemon=True).start()
serial = []


def fail(name, why):
    print("FAIL: display/%s-%s (%s)" % (name, tag, why))
    print("    serial: " + " | ".join(l.rstrip() for l in serial[-6:]))
    proc.kill()
    sys.exit(0)


port = None
deadline = time.time() + 30
while port is None and time.time() < deadline:
    try:
        l = errs.get(timeout=1)
    except queue.Empty:
        continue
    m = re.search(r"display: VNC on 127\.0\.0\.1:(\d+)", l)
    if m:
        port = int(m.group(1))
if port is None:
    fail("listens", "no 'display: VNC on' line")
deadline = time.time() + 600
while time.time() < deadline:
    try:
        l = lines.get(timeout=1)
    except queue.Empty:
        continue
    serial.append(l)
    if "tiny: ready" in l:
        break
else:
    fail("boots", "no 'tiny: ready' on the serial console")
glyphs = rfb.load_font()
c = rfb.Client("127.0.0.1", port)


def screen_has(text):
    return lambda cl: any(text in row for row in rfb.read_text(cl, glyphs))


if not c.wait_for(screen_has("tiny:/#"), 60):
    fail("prompt", "no 'tiny:/#' on the screen: %r" % [r.rstrip() for r in rfb.read_text(c, glyphs) if r.strip()][-5:])
print("PASS: display/prompt-%s" % tag)
c.type_text("echo $((6*7))-on-screen\n")
if not c.wait_for(screen_has("42-on-screen"), 60):
    fail("typing", "the command's output is not on the screen: %r" % [r.rstrip() for r in rfb.read_text(c, glyphs) if r.strip()][-5:])
print("PASS: display/typing-%s" % tag)
if os.environ.get("HOSTEL_SCREENSHOT"):
    rfb.save_png(c, os.environ["HOSTEL_SCREENSHOT"])
c.close()
proc.stdin.write("poweroff\n")
proc.stdin.flush()
try:
    rc = proc.wait(120)
except subprocess.TimeoutExpired:
    proc.kill()
    rc = "timeout"
print("PASS: display/poweroff-%s" % tag if rc == 0 else
      "FAIL: display/poweroff-%s (exit status %s)" % (tag, rc))
