#!/usr/bin/env python3
"""Drives a guest's serial console for end-to-end tests: runs a command,
waits for output patterns and types lines, like a person at the console.

usage: console.py TIMEOUT -- COMMAND... <<< script
script lines:  expect TEXT   |  send TEXT   |  host SHELL-COMMAND   |  # comment
  host runs a command on the host while the guest runs (its output joins the
  transcript, prefixed "host: "); a non-zero exit status fails the script.
Exits 0 when every expect matched and the command ended with status 0
(or the status given by a final 'status N' line); prints the transcript."""
import os, select, subprocess, sys, time

def main():
    timeout = float(sys.argv[1])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    steps = [l.rstrip("\n") for l in sys.stdin if l.strip() and not l.startswith("#")]
    want_status = 0
    if steps and steps[-1].startswith("status "):
        want_status = int(steps.pop().split()[1])
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = b""
    deadline = time.monotonic() + timeout
    seen = 0        # transcript already matched
    def read_some(wait):
        nonlocal out
        r, _, _ = select.select([p.stdout], [], [], wait)
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                return False
            out += chunk
        return True
    ok = True
    for step in steps:
        verb, _, arg = step.partition(" ")
        if verb == "send":
            p.stdin.write(arg.encode() + b"\r")
            p.stdin.flush()
        elif verb == "expect":
            while arg.encode() not in out[seen:]:
                left = deadline - time.monotonic()
                if left <= 0 or not read_some(min(left, 1.0)):
                    if arg.encode() not in out[seen:]:
                        print("console.py: did not see %r" % arg, file=sys.stderr)
                        ok = False
                    break
            if not ok:
                break
            seen = out.index(arg.encode(), seen) + len(arg)
        elif verb == "host":
            left = max(1.0, deadline - time.monotonic())
            try:
                r = subprocess.run(arg, shell=True, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   timeout=left)
                rc = r.returncode
                text = r.stdout
            except subprocess.TimeoutExpired as e:
                rc, text = "timeout", e.stdout or b""
            out += b"".join(b"host: " + l + b"\n" for l in text.splitlines())
            seen = len(out)
            if rc != 0:
                print("console.py: host command %r ended with %s" % (arg, rc), file=sys.stderr)
                ok = False
                break
        else:
            print("console.py: unknown step %r" % step, file=sys.stderr)
            ok = False
            break
    if ok:
        p.stdin.close()
        while time.monotonic() < deadline and p.poll() is None:
            read_some(0.5)
    if p.poll() is None:
        p.kill()
        ok = False
        print("console.py: the command did not end in time", file=sys.stderr)
    while read_some(0):
        if not out or p.poll() is not None and not select.select([p.stdout], [], [], 0)[0]:
            break
    sys.stdout.write(out.decode("utf-8", "replace").replace("\r", ""))
    if ok and p.returncode != want_status:
        print("console.py: exit status %d, expected %d" % (p.returncode, want_status),
              file=sys.stderr)
        ok = False
    sys.exit(0 if ok else 1)

main()
