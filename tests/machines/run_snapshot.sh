#!/usr/bin/env bash
# Snapshots of a running Linux machine (issue 13), on the engine --engine
# auto picks.  The tiny appliance runs a counter that prints a growing number
# every 100 ms and appends it to a file on its disk.  Snapshot at N, let it
# run to N+50, restore: the console goes on from N+1, the file ends at N or
# N+1, and the kernel logs no complaint (clock, RCU, soft lockup).  Then:
# a snapshot of a stopped machine (disks only), restore 20 times in a row,
# snapshot ls/rm, refusals (unknown names, damaged state files, a busy name)
# that leave the machine as it was, and the disk passing qemu-img check.
# The frozen layer stays as it was while the machine writes on; a snapshot
# taken and removed leaves no layer behind (merged back, reading the same).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-snap-XXXXXX)
trap '"$H" rm --force c >/dev/null 2>&1; rm -rf "$HOSTEL_HOME"' EXIT
. tests/lib/engines.sh
engine=$(test_engine) || { echo "FAIL: snapshot/engine (no engine: $(engine_why))"; exit 0; }
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: snapshot/build (appliances/tiny/build.sh failed)"; exit 0
fi
python3 - "$H" "$HOSTEL_HOME" "$engine" <<'PY'
import hashlib, json, os, re, subprocess, sys, time

H, HOME, ENGINE = sys.argv[1:4]
sys.path.insert(0, os.path.join(os.getcwd(), "tests/lib"))
from machines import Library, wait_for
lib = Library(H, HOME, "snapshot")
report = lib.report
def hostel(*args, timeout=120):
    return lib.hostel(*args, timeout=timeout)
def log():
    return lib.log("c")
def type_lines(*lines):
    lib.type_lines("c", *lines)
def state():
    return lib.state("c")

COUNT = re.compile(r"^count (\d+)$", re.M)
def counts(text):
    return [int(x) for x in COUNT.findall(text)]

rc, out = hostel("create", "c", "--appliance", "tiny", "--engine", ENGINE, "--memory", "256M",
                 "--forward", "tcp:0:7777")
if rc:
    report("create", False, out); sys.exit(0)
rc, out = hostel("start", "c")
if rc or not wait_for(lambda: "tiny: ready" in log(), 300):
    report("boot", False, out + log()[-500:]); sys.exit(0)
type_lines("i=0; while :; do i=$((i+1)); echo \"count $i\"; echo $i >> /mnt/disk/count; sleep 0.1; done &")
if not wait_for(lambda: len(counts(log())) >= 20, 120):
    report("counter", False, log()[-500:]); sys.exit(0)

# Snapshot at N.
rc, out = hostel("snapshot", "c", "s1")
report("take-running", rc == 0, out)
n_at = max(counts(log()))
MDIR = os.path.join(HOME, "machines/c")
def digest(path):
    try:
        return hashlib.sha256(open(path, "rb").read()).hexdigest()
    except OSError as e:
        return str(e)
try:
    s1_layer = os.path.join(MDIR, json.load(open(os.path.join(MDIR, "snapshots/s1/info.json")))["layers"][0])
except Exception as e:
    s1_layer = "(no layer: %s)" % e
s1_digest = digest(s1_layer)
if not wait_for(lambda: max(counts(log())) >= n_at + 50, 120):
    report("runs-on", False, log()[-300:])
report("runs-on-after-snapshot", state() == "running", state())
# What the guest wrote since went to the new overlay: the frozen layer is
# as it was (a VMM still writing the renamed file would change it).
type_lines("sync")
time.sleep(2)
report("frozen-layer-unchanged", digest(s1_layer) == s1_digest, s1_layer)
mark = len(log())
rc, out = hostel("restore", "c", "s1")
report("restore", rc == 0, out)
# Lines the guest printed between the mark and the restore's pause come
# first: the restored console starts where the count drops back.
def restored(text):
    c = counts(text)
    for k in range(1, len(c)):
        if c[k] < c[k - 1]:
            return c[k:]
    return c if c and c[0] <= n_at + 2 else []
after = wait_for(lambda: restored(log()[mark:]), 120)
first = after[0] if after else None
# The console goes on from N+1 (the line in flight at the instant may be
# printed again: N is fine too).
report("console-continues", first is not None and n_at - 1 <= first <= n_at + 2,
       "last before the snapshot %d, first after the restore %s" % (n_at, first))
# The file on the disk went back with the machine: had the disk kept the
# numbers written after the snapshot, the counter (restarted at N+1) would
# append them a second time.  So: strictly increasing, and up to what the
# console shows.
type_lines("kill %1; sleep 0.3; awk 'NR>1 && $1<=p{bad++} {p=$1} END{print \"fil\" \"e: order \" bad+0 \" last \" p}' /mnt/disk/count",
           "echo \"kern\"\"el: \"$(dmesg | grep -c -E -i 'rcu.*stall|soft lockup|clocksource.*unstable|hung task|timekeeping watchdog') complaints")
got = wait_for(lambda: re.search(r"^file: order (\d+) last (\d+)", log()[mark:], re.M), 60)
if got:
    bad, last = int(got.group(1)), int(got.group(2))
    shown = max(restored(log()[mark:]) or [0])
    report("file-ends-at-instant", bad == 0 and first is not None and first <= last <= shown + 1,
           "%d numbers out of order; file ends at %d, console resumed at %s and reached %d, snapshot at %d"
           % (bad, last, first, shown, n_at))
else:
    report("file-ends-at-instant", False, log()[-300:])
d = wait_for(lambda: re.search(r"^kernel: (\d+) complaints", log()[mark:], re.M), 30)
if d and d.group(1) != "0":
    type_lines("dmesg | grep -E -i 'rcu.*stall|soft lockup|clocksource.*unstable|hung task|timekeeping watchdog' | head -3")
    time.sleep(2)
report("kernel-no-complaint", d is not None and d.group(1) == "0",
       (d.group(0) + ": " + log()[-400:]) if d else "no answer")

# ls, and the record
rc, out = hostel("snapshot", "ls", "c", "--json")
try:
    snaps = json.loads(out)
    ok = len(snaps) == 1 and snaps[0]["name"] == "s1" and snaps[0]["has_state"] and snaps[0]["size"] > 0
except Exception:
    ok = False
report("ls-json", ok, out)
rc, out = hostel("snapshot", "ls", "c")
report("ls-text", rc == 0 and "s1" in out, out)

# Refusals that change nothing.
rc, out = hostel("snapshot", "c", "s1")
report("refuse-existing-name", rc != 0 and "already" in out, out)
rc, out = hostel("restore", "c", "nosuch")
report("refuse-unknown", rc != 0 and "no snapshot named 'nosuch'" in out and state() == "running", out)
rc, out = hostel("snapshot", "c", "../x")
report("refuse-bad-name", rc != 0 and "snapshot name" in out, out)
# The control socket's "compact" (what snapshot rm sends) with a layer that
# is not under the disk, or names something outside the folder, or a disk
# the machine lacks: refused, nothing moved, the machine runs on.
from control import request
def control(req):
    try:
        return request(os.path.join(MDIR, "control.sock"), req, timeout=30)
    except Exception as e:
        return {"ok": True, "error": "no answer: %s" % e}
files_before = sorted(os.listdir(MDIR))
replies = [control({"op": "compact", "disk": 0, "layer": l})
           for l in ("../../../etc/x.L1.qcow2", "disk.Lnosuch.qcow2", os.path.basename(s1_layer))]
replies.append(control({"op": "compact", "disk": 7, "layer": "disk.L1.qcow2"}))
report("refuse-bad-compact", all(not r.get("ok") and r.get("error") for r in replies) and
       sorted(os.listdir(MDIR)) == files_before and state() == "running", replies)
st = os.path.join(HOME, "machines/c/snapshots/s1/state.bin")
good = open(st, "rb").read()
for what, data in (("truncated", good[: len(good) // 2]), ("damaged", good[:100] + bytes([good[100] ^ 0xff]) + good[101:])):
    open(st, "wb").write(data)
    before = max(counts(log()))
    rc, out = hostel("restore", "c", "s1")
    time.sleep(1)
    report("refuse-%s-state" % what, rc != 0 and "s1" in out and state() == "running" and
           max(counts(log())) >= before, out)
open(st, "wb").write(good)

# A TCP connection from the host through a forward stays open across a
# snapshot and a restore (the VMM restores in place and keeps its sockets).
import socket
def host_port():
    rc, out = hostel("info", "c", "--json")
    try:
        return [f["host_port"] for f in json.loads(out).get("forwards", []) if f["guest_port"] == 7777][0]
    except Exception:
        return None
type_lines("kill %1 2>/dev/null; nc -l -p 7777 | while read l; do echo \"got: $l\"; done &")
port = host_port()
# The forward accepts at once; until the guest's nc listens, the guest
# answers with a reset, so connect again until a line gets through.
def connect_and_say(deadline):
    while time.time() < deadline:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"before-snapshot\n")
        except OSError:
            time.sleep(1)
            continue
        # Alive (nothing to read yet) until the guest's reset arrives.
        while time.time() < deadline:
            if "got: before-snapshot" in log():
                return s, True
            try:
                s.setblocking(False)
                dead = s.recv(1) == b""
            except BlockingIOError:
                dead = False
            except OSError:
                dead = True
            s.setblocking(True)
            if dead:
                s.close()
                break
            time.sleep(0.5)
        time.sleep(1)
    return None, False
stage = "connect"
try:
    sock, ok = connect_and_say(time.time() + 45)
    if not sock:
        raise OSError("the guest's nc never took a line on port 7777 in 45 s")
    rc, out = hostel("snapshot", "c", "tcp")
    mark = len(log())
    rc2, out2 = hostel("restore", "c", "tcp")
    stage = "after the restore"
    sock.sendall(b"after-restore\n")
    ok2 = wait_for(lambda: "got: after-restore" in log()[mark:], 30) is not None
    report("tcp-open-across-restore", ok and rc == 0 and rc2 == 0 and ok2,
           "before %s, snapshot %s %s, restore %s %s, after %s" % (ok, rc, out, rc2, out2, ok2))
    sock.close()
except Exception as ex:
    report("tcp-open-across-restore", False, "port %s, %s: %s" % (port, stage, ex))
hostel("snapshot", "rm", "c", "tcp")
type_lines("kill %1 2>/dev/null")

# Restore the same snapshot 20 times in a row.
ok = True
for i in range(20):
    mark = len(log())
    rc, out = hostel("restore", "c", "s1")
    # As above: what the guest printed between the mark and the pause
    # (the previous round's counter going on) comes first.
    c = wait_for(lambda: restored(log()[mark:]), 60)
    if rc or not c or not (n_at - 1 <= c[0] <= n_at + 2):
        ok = False
        report("restore-20-times", False, "round %d: %s %s" % (i, out, c[:3] if c else None))
        break
if ok:
    report("restore-20-times", True)

# A stopped machine: a disk-only snapshot, restored with the machine stopped.
type_lines("kill %1; echo before-s2 > /mnt/disk/mark; sync")
time.sleep(1)
rc, out = hostel("stop", "c", "--timeout", "120")
report("stop", rc == 0 and state() == "stopped", out)
rc, out = hostel("snapshot", "c", "s2")
report("take-stopped", rc == 0, out)
rc, out = hostel("snapshot", "ls", "c", "--json")
try:
    s2 = [s for s in json.loads(out) if s["name"] == "s2"][0]
    report("stopped-is-disk-only", not s2["has_state"] and s2["parent"] == "s1", out)
except Exception:
    report("stopped-is-disk-only", False, out)
rc, out = hostel("start", "c")
wait_for(lambda: log().count("tiny: ready") >= 2, 300)
type_lines("echo after-s2 > /mnt/disk/mark; sync")
time.sleep(1)
hostel("stop", "c", "--timeout", "120")
rc, out = hostel("restore", "c", "s2")
report("restore-stopped", rc == 0 and state() == "stopped", out + state())
mark = len(log())
hostel("start", "c")
wait_for(lambda: "tiny: ready" in log()[mark:], 300)
type_lines("echo \"ma\"\"rk: \"$(cat /mnt/disk/mark)")
got = wait_for(lambda: re.search(r"^mark: (\S+)", log()[mark:], re.M), 60)
report("disk-back-to-s2", got and got.group(1) == "before-s2", got.group(0) if got else log()[-200:])
hostel("stop", "c", "--timeout", "120")

# rm: the record goes, layers nothing needs go, the disk still works.
rc, out = hostel("snapshot", "rm", "c", "s1")
report("rm", rc == 0 and not os.path.exists(os.path.join(HOME, "machines/c/snapshots/s1")), out)
rc, out = hostel("snapshot", "rm", "c", "s1")
report("rm-again-refused", rc != 0 and "no snapshot named 's1'" in out, out)
disk = os.path.join(HOME, "machines/c/disk.qcow2")
r = subprocess.run(["qemu-img", "check", disk], capture_output=True, text=True)
report("qemu-img-check", r.returncode == 0, r.stdout + r.stderr)

# A snapshot taken and removed leaves no layer behind: the active disk
# (written meanwhile) merges into the frozen layer under it, which takes its
# place, and the disk reads the same.
def layers():
    return sorted(f for f in os.listdir(MDIR) if ".L" in f and f.endswith(".qcow2"))
before = layers()
rc1, out1 = hostel("snapshot", "c", "s3")
w = subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 192k", "-c", "write -z 4M 64k", disk],
                   capture_output=True, text=True)
flat = os.path.join(HOME, "flat.raw")
f = subprocess.run(["qemu-img", "convert", "-O", "raw", disk, flat], capture_output=True, text=True)
rc2, out2 = hostel("snapshot", "rm", "c", "s3")
cmp = subprocess.run(["qemu-img", "compare", disk, flat], capture_output=True, text=True)
chk = subprocess.run(["qemu-img", "check", disk], capture_output=True, text=True)
report("rm-merges-layer", rc1 == 0 and rc2 == 0 and w.returncode == 0 and f.returncode == 0 and
       layers() == before and cmp.returncode == 0 and chk.returncode == 0,
       "%s %s layers %s -> %s; %s %s %s %s" % (out1, out2, before, layers(), w.stderr, f.stderr,
                                              cmp.stdout + cmp.stderr, chk.stdout + chk.stderr))
PY
