#!/usr/bin/env bash
# Linked clones and backups (issue 13), on the engine --engine auto picks:
# three clones of a running tiny machine boot at once, each with its own MAC
# address and identity and the source's files; a backup taken while the
# machine writes (and leaves no disk layer behind) restores in another
# library, running, with a disk that qemu-img check finds clean and holds
# what the guest had written; the source
# cannot be removed while clones use its layers; damaged backups are refused
# and leave nothing behind.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-clone-XXXXXX)
OTHER=$(mktemp -d /tmp/hostel-other-XXXXXX)
trap 'for m in src k1 k2 k3; do "$H" rm --force $m >/dev/null 2>&1; done; HOSTEL_HOME=$OTHER "$H" rm --force b >/dev/null 2>&1; rm -rf "$HOSTEL_HOME" "$OTHER"' EXIT
. tests/lib/engines.sh
engine=$(test_engine) || { echo "FAIL: clone/engine (no engine: $(engine_why))"; exit 0; }
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: clone/build (appliances/tiny/build.sh failed)"; exit 0
fi
python3 - "$H" "$HOSTEL_HOME" "$OTHER" "$engine" <<'PY'
import json, os, re, subprocess, sys, time

H, HOME, OTHER, ENGINE = sys.argv[1:5]
sys.path.insert(0, os.path.join(os.getcwd(), "tests/lib"))
from machines import Library, wait_for
here, there = Library(H, HOME, "clone"), Library(H, OTHER, "clone")
report = here.report
def hostel(*args, home=HOME, timeout=300):
    return (here if home == HOME else there).hostel(*args, timeout=timeout)
def log(m, home=HOME):
    return (here if home == HOME else there).log(m)
def type_lines(m, *lines, home=HOME):
    (here if home == HOME else there).type_lines(m, *lines)
def answer(m, key, timeout=60, home=HOME, start=0):
    return (here if home == HOME else there).answer(m, key, timeout=timeout, start=start)

rc, out = hostel("create", "src", "--appliance", "tiny", "--engine", ENGINE, "--memory", "192M")
rc2, out2 = hostel("start", "src")
if rc or rc2 or not wait_for(lambda: "tiny: ready" in log("src"), 300):
    report("source-boots", False, out + out2 + log("src")[-300:]); sys.exit(0)
type_lines("src", "echo from-source > /mnt/disk/origin; sync")
time.sleep(1)

# Three clones of the running source, booted at once.
ok = True
for k in ("k1", "k2", "k3"):
    rc, out = hostel("clone", "src", k)
    if rc:
        ok = False
        report("clone-running", False, out)
        break
if ok:
    report("clone-running", True)
report("source-still-running", json.loads(hostel("info", "src", "--json")[1])["state"] == "running")
for k in ("k1", "k2", "k3"):
    hostel("start", k)
booted = all(wait_for(lambda k=k: "tiny: ready" in log(k), 300) for k in ("k1", "k2", "k3"))
report("clones-boot-at-once", booted, [log(k)[-200:] for k in ("k1", "k2", "k3")])
macs, ids, origins = {}, {}, {}
for k in ("k1", "k2", "k3"):
    mark = len(log(k))
    type_lines(k, "echo \"m\"\"ac: $(cat /sys/class/net/eth0/address)\"",
               "echo \"i\"\"d: $(sed -n 's/.*hostel.id=\\([0-9a-f]*\\).*/\\1/p' /proc/cmdline)\"",
               "echo \"ori\"\"gin: $(cat /mnt/disk/origin)\"")
    macs[k] = answer(k, "mac", start=mark)
    ids[k] = answer(k, "id", start=mark)
    origins[k] = answer(k, "origin", start=mark)
report("clones-own-mac", len(set(macs.values())) == 3 and None not in macs.values(), macs)
report("clones-own-identity", len(set(ids.values())) == 3 and all(i and len(i) == 32 for i in ids.values()), ids)
report("clones-see-source-disk", all(o == "from-source" for o in origins.values()), origins)
# Writing in a clone does not reach the source or the other clones.
type_lines("k1", "echo k1-only > /mnt/disk/origin; sync")
time.sleep(1)
mark = len(log("k2"))
type_lines("k2", "echo \"ori\"\"gin: $(cat /mnt/disk/origin)\"")
report("clones-disks-apart", answer("k2", "origin", start=mark) == "from-source")

rc, out = hostel("rm", "--force", "src")
report("rm-source-refused", rc != 0 and "linked clones" in out and os.path.isdir(os.path.join(HOME, "machines/src")), out)

# A backup while the source writes.
type_lines("src", "i=0; while :; do i=$((i+1)); echo $i >> /mnt/disk/w; sync; sleep 0.05; done &")
time.sleep(3)
bfile = os.path.join(OTHER, "src.hostel-backup")
SDIR = os.path.join(HOME, "machines/src")
def layers():
    return sorted(f for f in os.listdir(SDIR) if ".L" in f and f.endswith(".qcow2"))
before = layers()
rc, out = hostel("backup", "src", bfile)
report("backup-running", rc == 0 and os.path.getsize(bfile) > 0 and "running state" in out, out)
# Its snapshot's layer merged back: backups do not lengthen the disk's chain
# (a second one, while the machine goes on writing, neither).
b2 = os.path.join(OTHER, "second.hostel-backup")
rc2, out2 = hostel("backup", "src", b2)
report("backup-leaves-no-layer", rc2 == 0 and layers() == before, "%s -> %s %s" % (before, layers(), out2))
if os.path.exists(b2):
    os.unlink(b2)
rc, out = hostel("restore-backup", bfile, "--name", "b", home=OTHER)
report("restore-backup-elsewhere", rc == 0, out)
st = json.loads(hostel("info", "b", "--json", home=OTHER)[1] or "{}").get("state")
report("restored-running", st == "running", st)
mark = len(log("b", OTHER))
type_lines("b", "kill %1 2>/dev/null; sleep 0.2; awk 'NR>1 && $1<=p{bad++} {p=$1} END{print \"wr\" \"ites: \" bad+0 \"-\" NR}' /mnt/disk/w", home=OTHER)
w = answer("b", "writes", home=OTHER, start=mark)
report("backup-holds-writes", w is not None and w.startswith("0-") and int(w.split("-")[1]) > 10, w)
hostel("stop", "b", "--timeout", "120", home=OTHER)
bad = []
for f in os.listdir(os.path.join(OTHER, "machines/b")):
    if f.endswith(".qcow2"):
        r = subprocess.run(["qemu-img", "check", os.path.join(OTHER, "machines/b", f)], capture_output=True, text=True)
        if r.returncode:
            bad.append(f + ": " + r.stdout + r.stderr)
report("restored-disk-check", not bad, bad)

# Damaged backups: refused, nothing left behind.
data = open(bfile, "rb").read()
for what, blob in (("truncated", data[: len(data) // 3]), ("garbage", b"\0" * 4096)):
    p = os.path.join(OTHER, what + ".hostel-backup")
    open(p, "wb").write(blob)
    rc, out = hostel("restore-backup", p, "--name", "d", home=OTHER)
    left = os.path.exists(os.path.join(OTHER, "machines/d")) or any(
        x.startswith("d.") for x in os.listdir(os.path.join(OTHER, "machines")))
    report("refuse-%s-backup" % what, rc != 0 and not left, out)
rc, out = hostel("restore-backup", bfile, "--name", "b", home=OTHER)
report("refuse-existing-name", rc != 0 and "already exists" in out, out)

# A layer only a clone needs survives the source going back to an older
# snapshot in place (its VMM, jailed, sees no other machine: the CLI
# collects): snapshots c, a, b; a clone of a; a and b removed; restore c.
ok = all(hostel("snapshot", "src", x)[0] == 0 for x in ("c", "a", "b"))
rc, out = hostel("clone", "src", "k4", "--snapshot", "a")
ok = ok and rc == 0 and all(hostel("snapshot", "rm", "src", x)[0] == 0 for x in ("a", "b"))
rc, out2 = hostel("restore", "src", "c")
k4disk = os.path.join(HOME, "machines/k4/disk.qcow2")
chk = subprocess.run(["qemu-img", "check", "-U", k4disk], capture_output=True, text=True)
report("clone-layer-survives-restore", ok and rc == 0 and chk.returncode == 0,
       out + out2 + chk.stdout + chk.stderr)
hostel("rm", "k4")

for k in ("k1", "k2", "k3"):
    hostel("stop", "--force", k, "--timeout", "30")
    hostel("rm", k)
hostel("stop", "--force", "src", "--timeout", "30")
rc, out = hostel("rm", "src")
report("rm-source-after-clones", rc == 0, out)
PY
