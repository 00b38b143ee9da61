#!/usr/bin/env bash
# A plain `hostel run` machine with a control socket: "save" writes its
# state, `hostel run --restore` brings it back running (the idle guest's tick
# count goes on from where it was, its PM timer with no jump); the state moves
# between engines, emu -> kvm and kvm -> emu, where kvm can run (a slow nested
# kvm runs this small guest too).  Hostile: a save into a file path, a
# --control path that is someone's file, a restore with other machine
# options, a damaged state — each refused with a clear message.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
tmp=$(mktemp -d /tmp/hostel-save-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
. tests/lib/engines.sh
python3 - "$H" "$K" "$tmp" "$(engine_unavailable kvm)" <<'PY'
import json, os, re, signal, socket, subprocess, sys, time

H, K, TMP, KVM_WHY = sys.argv[1:5]
def report(name, ok, why=""):
    print(("PASS: save/%s" % name) if ok else ("FAIL: save/%s (%s)" % (name, str(why)[-500:])))
    sys.stdout.flush()

sys.path.insert(0, os.path.join(os.getcwd(), "tests/lib"))
from control import request as control

TICK = re.compile(rb"^tick (\d+) pm=(\d+) tsc=\d+", re.M)
class Run:
    def __init__(self, *args):
        self.out = open(os.path.join(TMP, "out-%d" % time.monotonic_ns()), "w+b")
        self.p = subprocess.Popen([H, "run", *args], stdin=subprocess.DEVNULL, stdout=self.out,
                                  stderr=subprocess.STDOUT)
    def text(self):
        self.out.flush()
        return open(self.out.name, "rb").read()
    def ticks(self):
        return [(int(a), int(b)) for a, b in TICK.findall(self.text())]
    def wait_ticks(self, n, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            t = self.ticks()
            if len(t) >= n:
                return t
            if self.p.poll() is not None:
                break
            time.sleep(0.2)
        return self.ticks()
    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait()

def save_and_restore(src, dst, label):
    sock = os.path.join(TMP, "c-%s.sock" % label)
    state = os.path.join(TMP, "state-" + label)
    a = Run("--engine", src, "--kernel", K, "--memory", "64M", "--control", sock, "--watchdog", "0")
    t = a.wait_ticks(5, 120)
    if len(t) < 5:
        report(label, False, "the guest did not tick on %s: %r" % (src, a.text()[-300:]))
        a.stop()
        return
    # Paused first, so the last tick read is the last one the saved state
    # printed (a running machine goes on ticking after the save's reply).
    reply = control(sock, {"op": "pause"})
    if reply.get("ok"):
        time.sleep(0.2)
        saved_tick, saved_pm = a.ticks()[-1]
        reply = control(sock, {"op": "save", "path": state})
    if not reply.get("ok"):
        report(label, False, reply)
        a.stop()
        return
    a.stop()
    b = Run("--engine", dst, "--restore", state, "--watchdog", "0")
    t2 = b.wait_ticks(3, 180)
    b.stop()
    ok = len(t2) >= 3 and saved_tick <= t2[0][0] <= saved_tick + 3 and \
         t2[0][1] >= saved_pm and t2[0][1] - saved_pm < 3579545 * 2
    report(label, ok, "saved at tick %d pm %d; after the restore on %s: %r; %r" %
           (saved_tick, saved_pm, dst, t2[:3], b.text()[-300:]))

save_and_restore("emu", "emu", "emu-to-emu")
if KVM_WHY:
    for l in ("emu-to-kvm", "kvm-to-emu", "kvm-to-kvm"):
        print("SKIP: save/%s (kvm cannot run here: %s)" % (l, KVM_WHY))
else:
    save_and_restore("emu", "kvm", "emu-to-kvm")
    save_and_restore("kvm", "emu", "kvm-to-emu")
    save_and_restore("kvm", "kvm", "kvm-to-kvm")

# Refusals.
sock = os.path.join(TMP, "r.sock")
a = Run("--engine", "emu", "--kernel", K, "--memory", "64M", "--control", sock, "--watchdog", "0")
a.wait_ticks(2, 60)
afile = os.path.join(TMP, "a-file")
open(afile, "w").write("mine")
r = control(sock, {"op": "save", "path": afile})
report("save-into-file-refused", not r.get("ok") and open(afile).read() == "mine", r)
r = control(sock, {"op": "save"})
report("save-needs-path", not r.get("ok") and "path" in r.get("error", ""), r)
r = control(sock, {"op": "snapshot", "name": "x"})
report("snapshot-is-for-named", not r.get("ok"), r)
state = os.path.join(TMP, "state-r")
r = control(sock, {"op": "save", "path": state})
report("save-ok", r.get("ok"), r)
a.stop()
p = subprocess.run([H, "run", "--kernel", K, "--control", afile], capture_output=True, text=True, timeout=30)
report("control-path-is-a-file", p.returncode != 0 and "not a socket" in p.stdout + p.stderr and
       open(afile).read() == "mine", p.stdout + p.stderr)
p = subprocess.run([H, "run", "--restore", state, "--cpus", "2"], capture_output=True, text=True, timeout=30)
report("restore-with-other-options", p.returncode != 0 and "--restore" in p.stderr, p.stderr)
st = os.path.join(state, "state.bin")
good = open(st, "rb").read()
open(st, "wb").write(good[: len(good) - 100])
p = subprocess.run([H, "run", "--restore", state], capture_output=True, text=True, timeout=30)
report("damaged-state-refused", p.returncode != 0 and ("damaged" in p.stderr or "truncated" in p.stderr), p.stderr)
open(st, "wb").write(good)
ram = os.path.join(state, "ram.bin")
os.truncate(ram, os.path.getsize(ram) // 2)
p = subprocess.run([H, "run", "--restore", state], capture_output=True, text=True, timeout=30)
report("short-ram-refused", p.returncode != 0 and "ram.bin" in p.stderr, p.stderr)
PY
