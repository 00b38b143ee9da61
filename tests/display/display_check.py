#!/usr/bin/env python3
"""Boots the display test guest (tests/guests/display.c) with --display vnc
and checks, as two VNC viewers at once, what a person at the screen would:
the firmware's text (firmware boot), the guest's text-mode picture read
back glyph by glyph with its colours and cursor, keys typed in a viewer
reaching the guest's PS/2 keyboard, the VBE framebuffer's pattern pixel
for pixel, and an idle screen sending nothing.  Prints PASS:/FAIL: lines.

usage: display_check.py HOSTEL ENGINE direct|firmware GUEST_OR_DISK"""
import os
import queue
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfb  # noqa: E402

hostel, engine, mode, image = sys.argv[1:5]
tag = "%s@%s" % (mode, engine)
failed = False


def result(name, ok, why=""):
    global failed
    if ok:
        print("PASS: display/%s-%s" % (name, tag))
    else:
        failed = True
        print("FAIL: display/%s-%s (%s)" % (name, tag, why))
    sys.stdout.flush()
    return ok


args = [hostel, "run", "--engine", engine, "--watchdog", "0", "--display", "vnc=127.0.0.1:0"]
args += ["--kernel", image] if mode == "direct" else ["--disk", image]
proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True, errors="replace")
lines, errs = queue.Queue(), []
seen = []


def pump(stream, sink):
    for line in stream:
        sink(line.rstrip("\r\n"))


threading.Thread(target=pump, args=(proc.stdout, lines.put), daemon=True).start()
err_q = queue.Queue()
threading.Thread(target=pump, args=(proc.stderr, err_q.put), daemon=True).start()


def wait_line(pattern, timeout):
    deadline = time.time() + timeout
    for l in seen:
        if re.search(pattern, l):
            return l
    while time.time() < deadline:
        try:
            l = lines.get(timeout=max(0.05, deadline - time.time()))
        except queue.Empty:
            break
        seen.append(l)
        if re.search(pattern, l):
            return l
    return None


def stderr_text():
    while not err_q.empty():
        errs.append(err_q.get())
    return "\n".join(errs[-8:])


def finish(code):
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if failed:
        print("    serial: " + " | ".join(seen[-12:]))
        print("    stderr: " + stderr_text().replace("\n", " | "))
    sys.exit(code)


limit = 240 if mode == "firmware" else 90
port = None
deadline = time.time() + 30
while time.time() < deadline and port is None:
    try:
        l = err_q.get(timeout=1)
    except queue.Empty:
        if proc.poll() is not None:
            break
        continue
    errs.append(l)
    m = re.search(r"display: VNC on 127\.0\.0\.1:(\d+)", l)
    if m:
        port = int(m.group(1))
if not result("listens", port is not None, "no 'display: VNC on 127.0.0.1:PORT' on stderr"):
    finish(0)

if not result("boots", wait_line(r"^display: waiting for a key", limit) is not None,
              "the guest never said it waits for a key"):
    finish(0)
glyphs = rfb.load_font()
a = rfb.Client("127.0.0.1", port)
b = rfb.Client("127.0.0.1", port)

if mode == "firmware":
    # What SeaBIOS and GRUB printed through the VGA BIOS is on the screen.
    a.refresh()
    text = rfb.read_text(a, glyphs)
    screen = "\n".join(text)
    result("firmware-text", "SeaBIOS" in screen and "grub: booting /boot/guest" in screen,
           "the screen (%dx%d) shows %r" % (a.width, a.height, [t.rstrip() for t in text if t.strip()][:6]))

# A key typed in viewer b reaches the guest's keyboard ('q': set 2 0x15,
# or set 1 0x10 when the firmware turned on the controller's translation).
b.type_key(ord("q"))
l = wait_line(r"^display: key before drawing ", 30)
result("key", l is not None and l.split()[-1] in ("15", "10"), "guest got %r" % l)

if wait_line(r"^display: text ready", 30) is None:
    result("text", False, "the guest never drew its text")
    finish(0)


def text_ok(c):
    t = rfb.read_text(c, glyphs)
    return (c.width, c.height) == (640, 400) and t[0].startswith("HOSTEL DISPLAY TEST") and \
        "text mode: 0123456789 abcxyz" in t[2] and t[24].rstrip().endswith("bottom")


for name, c in (("a", a), ("b", b)):
    ok = c.wait_for(text_ok, 20)
    t = rfb.read_text(c, glyphs)
    result("text-viewer-" + name, ok, "%dx%d, rows %r" % (c.width, c.height,
                                                        [t[i].rstrip() for i in (0, 2, 24)]))
# Colours and the cursor, pixel for pixel: 'H' (0x48) is white on blue;
# the cursor (scan lines 13-14) at row 3, column 0, in the cell's colour.
h = [a.pixel(x, 5) for x in range(8)]
glyph_h = None
for g, ch in glyphs.items():
    if ch == 0x48:
        glyph_h = g
want = [0xffffff if (glyph_h[5] >> (7 - x)) & 1 else 0x0000aa for x in range(8)]
result("text-colours", h == want, "row 5 of 'H' is %s, expected %s" % ([hex(p) for p in h],
                                                                       [hex(p) for p in want]))
cur = [a.pixel(3, 3 * 16 + y) for y in (12, 13, 14, 15)]
result("text-cursor", cur == [0, 0xaaaaaa, 0xaaaaaa, 0], "cursor cell column 3: %s" %
       [hex(p) for p in cur])

a.type_key(ord("x"))
l = wait_line(r"^display: key after text ", 30)
result("key-second", l is not None and l.split()[-1] in ("22", "2d"), "guest got %r" % l)
if wait_line(r"^display: vbe ready", 30) is None:
    result("vbe", False, "the guest never drew its framebuffer")
    finish(0)


def pattern_ok(c):
    if (c.width, c.height) != (320, 200):
        return False
    return all(c.pixels[y * 320 + x] == ((x & 0xff) << 16 | (y & 0xff) << 8 | ((x ^ y) & 0xff))
               for y in range(200) for x in range(320))


for name, c in (("a", a), ("b", b)):
    ok = c.wait_for(pattern_ok, 20)
    bad = -1 if (c.width, c.height) != (320, 200) else sum(
        1 for y in range(200) for x in range(320)
        if c.pixels[y * 320 + x] != ((x & 0xff) << 16 | (y & 0xff) << 8 | ((x ^ y) & 0xff)))
    result("vbe-viewer-" + name, ok, "%dx%d, %d pixels wrong" % (c.width, c.height, bad))

# Idle: once what was pending is sent, an incremental request gets no
# update while nothing changes.
idle_ok = False
for _ in range(5):
    a.request(True)
    a.sock.settimeout(1.5)
    try:
        a.read_update()
    except Exception:
        idle_ok = True
        break
a.sock.settimeout(30)
result("idle-sends-nothing", idle_ok, "an update came for an unchanged screen")
a.close()

b.type_key(ord("z"))
l = wait_line(r"^display: key after vbe ", 30)
result("key-third", l is not None and l.split()[-1] in ("1a", "2c"), "guest got %r" % l)
result("exits", wait_line(r"^display: ok", 30) is not None and proc.wait(30) == 1,
       "exit status %s" % proc.poll())
b.close()
finish(0)
