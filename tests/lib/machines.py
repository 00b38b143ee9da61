"""Helpers for tests that drive named machines: run hostel, read a machine's
console log, type at its console, wait for something.  Imported by the
python parts of tests/machines/*.sh (sys.path gets tests/lib)."""
import json
import os
import re
import subprocess
import sys
import time


class Library:
    """hostel with one HOSTEL_HOME."""

    def __init__(self, hostel, home, suite):
        self.hostel_bin, self.home, self.suite = hostel, home, suite

    def report(self, name, ok, why=""):
        if ok:
            print("PASS: %s/%s" % (self.suite, name))
        else:
            print("FAIL: %s/%s (%s)" % (self.suite, name, str(why)[-600:]))
        sys.stdout.flush()

    def hostel(self, *args, timeout=300):
        env = dict(os.environ, HOSTEL_HOME=self.home)
        r = subprocess.run([self.hostel_bin, *args], capture_output=True, text=True,
                           timeout=timeout, env=env)
        return r.returncode, r.stdout + r.stderr

    def log(self, machine):
        try:
            path = os.path.join(self.home, "machines", machine, "console.log")
            return open(path, errors="replace").read().replace("\r", "")
        except OSError:
            return ""

    def state(self, machine):
        rc, out = self.hostel("info", machine, "--json")
        try:
            return json.loads(out)["state"]
        except Exception:
            return "?"

    def type_lines(self, machine, *lines):
        """Types lines at the console through `hostel console` and detaches."""
        env = dict(os.environ, HOSTEL_HOME=self.home)
        p = subprocess.Popen([self.hostel_bin, "console", machine], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        time.sleep(0.5)
        for l in lines:
            p.stdin.write(l.encode() + b"\r")
            p.stdin.flush()
            time.sleep(0.2)
        p.stdin.write(b"\x01d")   # Ctrl-A d detaches
        p.stdin.flush()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()

    def run(self, machine, cmd, timeout=60):
        """Types a shell command at the machine's console and returns (exit
        status, output lines), or (None, lines so far) on a timeout.  The
        output is tagged line by line, so the command's own echo never
        matches."""
        self.seq = getattr(self, "seq", 0) + 1
        tag = "q%dx%d" % (os.getpid() % 1000, self.seq)
        half = len(tag) // 2
        split = '%s""%s' % (tag[:half], tag[half:])
        start = len(self.log(machine))
        self.type_lines(machine, '{ %s ; } >/tmp/%s 2>&1; r=$?; sed "s/^/%s: /" /tmp/%s; '
                        'echo "%s-end $r"' % (cmd, tag, split, tag, split))
        end = wait_for(lambda: re.search(r"^%s-end (\d+)$" % tag, self.log(machine)[start:], re.M),
                       timeout)
        text = self.log(machine)[start:]
        lines = re.findall(r"^%s: (.*)$" % tag, text, re.M)
        return (int(end.group(1)) if end else None), lines

    def answer(self, machine, key, timeout=60, start=0):
        """The word after "KEY: " at the start of a console line (type the
        key split, e.g. \\"ke\\"\\"y: \\", so the echo of the command does not
        match)."""
        g = wait_for(lambda: re.search(r"^%s: (\S+)" % key, self.log(machine)[start:], re.M),
                     timeout)
        return g.group(1) if g else None


def wait_for(pred, timeout, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None
