#!/usr/bin/env python3
"""A named machine with a display, snapshotted and restored: the display
test guest shows its text, a snapshot is taken, a key moves it to its VBE
picture, the restore brings the text picture back (the VGA's state and
text memory as they were), and the restored guest still takes a key and
draws its framebuffer pattern.  Prints PASS:/FAIL: lines.

usage: snapshot_check.py HOSTEL NAME  (HOSTEL_HOME set; NAME started)"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfb  # noqa: E402

hostel, name = sys.argv[1:3]
glyphs = rfb.load_font()


def viewer():
    where = subprocess.check_output([hostel, "console", name, "--vnc"], text=True).split()[1]
    host, port = where.rsplit(":", 1)
    return rfb.Client(host, int(port))


def shows_text(c):
    return (c.width, c.height) == (640, 400) and \
        rfb.read_text(c, glyphs)[0].startswith("HOSTEL DISPLAY TEST")


def shows_pattern(c):
    return (c.width, c.height) == (320, 200) and c.pixel(10, 20) == 0x0a141e and \
        c.pixel(319, 199) == 0x3fc7f8


def check(label, ok, why):
    print(("PASS: display/%s" % label) if ok else ("FAIL: display/%s (%s)" % (label, why)))
    sys.stdout.flush()
    return ok


c = viewer()
c.type_key(ord("q"))
if not check("snapshot-before", c.wait_for(shows_text, 30), "no text picture before the snapshot"):
    sys.exit(0)
c.close()
r = subprocess.run([hostel, "snapshot", name, "s1"], capture_output=True, text=True)
if not check("snapshot-taken", r.returncode == 0, r.stderr.strip()):
    sys.exit(0)
c = viewer()
c.type_key(ord("x"))
check("snapshot-moved-on", c.wait_for(shows_pattern, 30), "no VBE picture after the key")
c.close()
r = subprocess.run([hostel, "restore", name, "s1"], capture_output=True, text=True)
if not check("snapshot-restored", r.returncode == 0, r.stderr.strip()):
    sys.exit(0)
time.sleep(0.5)
c = viewer()
check("snapshot-restored-picture", c.wait_for(shows_text, 30),
      "the restored screen is %dx%d: %r" % (c.width, c.height, rfb.read_text(c, glyphs)[0]))
c.type_key(ord("x"))
check("snapshot-restored-runs", c.wait_for(shows_pattern, 30),
      "the restored guest drew no VBE picture after a key")
c.close()
