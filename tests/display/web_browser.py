#!/usr/bin/env python3
"""hostel web in a real browser: Debian's chromium, headless, driven over
the DevTools protocol on a pipe (--remote-debugging-pipe).  Two machines:
LINUX, the tiny appliance with a screen, already running (its boot is the
slow part, shared with run_web.sh's HTTP checks), and LOCKED, the display
test guest whose VNC has a password, stopped.  The page lists both; it
starts LOCKED, asks for its screen's password (a wrong one is refused,
the right one shows the screen); it shows LINUX's serial
console in xterm.js and runs a command typed into the terminal, shows
its screen in noVNC and reads the shell's prompt off the canvas (its
pixels matched against the VGA font, and compared with what a VNC viewer
of our own receives), types into the screen, and stops it.  Prints
PASS:/FAIL: lines.

usage: web_browser.py URL LINUX LOCKED:PASSWORD [--screenshot FILE]"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfb  # noqa: E402

ap = argparse.ArgumentParser(usage=__doc__.split("usage: ")[1])
ap.add_argument("url")
ap.add_argument("linux")
ap.add_argument("locked")
ap.add_argument("--screenshot")
args = ap.parse_args()
url, name, shot = args.url, args.linux, args.screenshot
locked, password = args.locked.split(":", 1)
base = url.split("/?")[0]
token = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["token"][0]


def check(what, ok, why=""):
    print("PASS: web/browser-%s" % what if ok else "FAIL: web/browser-%s (%s)" % (what, why))
    return ok


class Browser:
    """Chromium with its DevTools protocol on fds 3 (commands) and 4
    (answers and events), each message JSON ended by a NUL byte."""

    def __init__(self, profile):
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()

        def fds():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)
        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", "--user-data-dir=" + profile,
             "--window-size=1500,1000", "--no-first-run", "about:blank"],
            pass_fds=(3, 4), preexec_fn=fds,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.next_id = 0
        self.buf = b""
        self.session = None

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        end = time.time() + timeout
        while time.time() < end:
            while b"\0" not in self.buf:
                chunk = os.read(self.from_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium went away")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            ans = json.loads(raw)
            if ans.get("id") == self.next_id:
                if "error" in ans:
                    raise RuntimeError("%s: %s" % (method, ans["error"]))
                return ans["result"]
        raise RuntimeError("%s: no answer" % method)

    def page(self):
        targets = self.call("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": page["targetId"], "flatten": True},
                                 session=False)["sessionId"]

    def js(self, expr, timeout=30):
        r = self.call("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                           "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError("%s: %s" % (expr, r["exceptionDetails"].get("text")))
        return r["result"].get("value")

    def wait(self, expr, timeout):
        end = time.time() + timeout
        while time.time() < end:
            try:
                v = self.js(expr)
                if v:
                    return v
            except RuntimeError:
                pass
            time.sleep(0.3)
        return None

    def key(self, ch):
        """A key press as the keyboard would make it (US layout)."""
        if ch == "\n":
            p = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"}
        elif ch == " ":
            p = {"key": " ", "code": "Space", "windowsVirtualKeyCode": 32, "text": " "}
        else:
            p = {"key": ch, "code": "Key" + ch.upper(), "windowsVirtualKeyCode": ord(ch.upper()),
                 "text": ch}
        self.call("Input.dispatchKeyEvent", dict(p, type="keyDown"))
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": p["key"], "code": p["code"],
                                             "windowsVirtualKeyCode": p["windowsVirtualKeyCode"]})

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Canvas:
    """The screen canvas's pixels, shaped like rfb.Client for read_text."""

    def __init__(self, w, h, rgba):
        self.width, self.height = w, h
        self.rgba = rgba

    def pixel(self, x, y):
        i = 4 * (y * self.width + x)
        r, g, b = self.rgba[i], self.rgba[i + 1], self.rgba[i + 2]
        return r << 16 | g << 8 | b


def canvas(b):
    v = b.js("(() => { const c = document.querySelector('#screen canvas');"
             " if (!c || !c.width) return null;"
             " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
             " let s = ''; for (let i = 0; i < d.length; i += 8192)"
             "   s += String.fromCharCode.apply(null, d.subarray(i, i + 8192));"
             " return [c.width, c.height, btoa(s)]; })()")
    return Canvas(v[0], v[1], base64.b64decode(v[2])) if v else None


# Refusals first: every path, the WebSocket included, wants the token.
def status(path, tok, ws=False):
    req = urllib.request.Request(base + path + ("?token=" + tok if tok is not None else ""))
    if ws:
        for k, v in (("Upgrade", "websocket"), ("Connection", "Upgrade"),
                     ("Sec-WebSocket-Version", "13"),
                     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")):
            req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


bad = [(p, t, s) for p, ws in (("/", False), ("/static/novnc.js", False),
                               ("/api/machines/%s/screen" % name, True))
       for t in (None, "0" * 32) for s in [status(p, t, ws)] if s != 403]
check("token-refused", not bad, "answered without the right token: %r" % bad)

glyphs = rfb.load_font()
profile = tempfile.mkdtemp(prefix="hostel-chromium-")
try:
    b = Browser(profile)
    b.page()
except (OSError, RuntimeError, StopIteration) as e:
    print("SKIP: web/browser (chromium did not start: %s)" % e)
    sys.exit(0)


def row_state(m):
    return b.js("(() => { const r = document.querySelector('tr[data-name=\"%s\"]');"
                " return r ? r.dataset.state : null; })()" % m)


def becomes(m, state, timeout=30):
    return b.wait("(() => { const r = document.querySelector('tr[data-name=\"%s\"]');"
                  " return r && r.dataset.state == '%s'; })()" % (m, state), timeout)


def stop(m, what):
    ans = b.js("act('%s', 'stop')" % m, timeout=120)
    return check(what, becomes(m, "stopped"), "%r; state %r" % (ans, row_state(m)))


def finish():
    stop(name, "stop")
    b.close()
    subprocess.run(["rm", "-rf", profile])
    sys.exit(0)


b.call("Page.enable")
b.call("Page.navigate", {"url": url})
if not check("lists", becomes(name, "running", 20) and becomes(locked, "stopped", 5),
             "want %s running and %s stopped: %r, %r" %
             (name, locked, row_state(name), row_state(locked))):
    b.close()
    sys.exit(0)

# LOCKED: started from the page; its screen wants a password, which the
# page asks for: a wrong one, then the right one.
ans = b.js("act('%s', 'start')" % locked, timeout=120)
if check("start", becomes(locked, "running", 20), "%r; state %r" % (ans, row_state(locked))):
    results = []
    for given in ("wrong-" + password, password):
        b.js("document.getElementById('screen').dataset.state = '';"
             " setTimeout(() => showScreen('%s'), 10); 1" % locked)
        end, asked = time.time() + 15, False
        while not asked and time.time() < end:
            try:
                b.call("Page.handleJavaScriptDialog", {"accept": True, "promptText": given})
                asked = True
            except RuntimeError:        # no dialog yet
                time.sleep(0.2)
        results.append((asked, b.wait("document.getElementById('screen').dataset.state", 15)))
    check("password-asked", all(a for a, _ in results), "no password prompt: %r" % results)
    check("password-wrong-refused", results[0][1] == "disconnected", "%r" % results)
    check("password-right-connects", results[1][1] == "connected", "%r" % results)
    # (left running: the display guest ignores the ACPI power button, so
    # the page's stop would wait out hostel stop's timeout first)

# The serial console in xterm.js: a command typed into the terminal.
b.js("attach('%s')" % name)
# Typed before the stream is attached, the prompt it brings back would be
# printed to no one (the page's stream had not reached the console yet).
b.wait("document.getElementById('term').dataset.state == 'open'", 15)
b.js("term.focus()")
b.key("\n")                             # a fresh prompt: the boot went by before
if not check("console-output", b.wait("consoleText().includes('tiny:/#')", 30),
             "no 'tiny:/#' in the terminal: %r" % (b.js("consoleText()") or "")[-200:]):
    finish()
for ch in "echo from browser\n":
    b.key(ch)
check("console-typed", b.wait("consoleText().split('\\n').some(l => l.trim() == 'from browser')", 30),
      "no 'from browser' line: %r" % (b.js("consoleText()") or "")[-200:])

# The screen in noVNC: the shell on tty1, read off the canvas.
b.js("showScreen('%s')" % name)
if not check("screen-connects", b.wait("document.getElementById('screen').dataset.state == "
                                       "'connected'", 20),
             "noVNC did not connect: %r" % b.js("document.getElementById('err').textContent")):
    finish()


def screen_rows():
    c = canvas(b)
    return (c, rfb.read_text(c, glyphs)) if c else (None, [])


end = time.time() + 60
c, rows = screen_rows()
while not any("tiny:/#" in r for r in rows) and time.time() < end:
    time.sleep(0.5)
    c, rows = screen_rows()
check("screen-prompt", any("tiny:/#" in r for r in rows),
      "no 'tiny:/#' on the canvas: %r" % [r.rstrip() for r in rows if r.strip()][-4:])

# The canvas shows exactly the machine's framebuffer: the prompt's rows
# compared pixel for pixel with what our own VNC viewer receives.
display = b.js("document.querySelector('tr[data-name=\"%s\"] td:nth-child(3)').textContent"
               % name)
port = int(display.rsplit(":", 1)[1])
v = rfb.Client("127.0.0.1", port)
v.refresh()
c, rows = screen_rows()
line = next((i for i, r in enumerate(rows) if "tiny:/#" in r), 0)
region = [(x, y) for y in range(line * 16, line * 16 + 16) for x in range(0, 8 * 20)]
diff = sum(1 for x, y in region if c.pixel(x, y) != v.pixel(x, y))
lit = sum(1 for x, y in region if c.pixel(x, y) != c.pixel(0, line * 16))
check("screen-pixels", c.width == v.width and c.height == v.height and diff == 0 and lit > 50,
      "canvas %dx%d, VNC %dx%d, %d of %d pixels differ, %d lit" %
      (c.width, c.height, v.width, v.height, diff, len(region), lit))
v.close()

# Keys typed on the screen reach the guest's keyboard.
b.js("document.querySelector('#screen canvas').focus()")
for ch in "echo on screen\n":
    b.key(ch)
end = time.time() + 30
while time.time() < end and not any(r.strip() == "on screen" for r in screen_rows()[1]):
    time.sleep(0.5)
check("screen-typed", any(r.strip() == "on screen" for r in screen_rows()[1]),
      "no 'on screen' line: %r" % [r.rstrip() for r in screen_rows()[1] if r.strip()][-4:])
if shot:
    b.js("document.activeElement.blur(); window.scrollTo(0, 0)")
    time.sleep(0.5)
    png = b.call("Page.captureScreenshot", {"format": "png"})["data"]
    with open(shot, "wb") as f:
        f.write(base64.b64decode(png))
finish()
