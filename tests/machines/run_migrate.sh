#!/usr/bin/env bash
# Live migration (issue 15) on loopback, between two HOSTEL_HOMEs: the tiny
# appliance on emu runs a counter that prints a number every 100 ms and
# appends it to a file on its disk, and a TCP stream comes in through a
# forward.  Refusals first (hostile streams, an address not allowed), then
# faults (the receiver killed mid-copy, the connection cut mid-copy: the
# machine runs on where it was, nothing is left running on the other side),
# then the migration with its disk copied: the console stream (sender's log,
# then receiver's) counts on without a gap or a repeat, the TCP stream loses
# no byte, ls/info say where each side stands; then the sender is killed
# after the switch-over and the machine runs on; the file on the disk has
# every number, and both disks pass qemu-img check.  Then emu -> kvm -> emu
# in one folder (hostel migrate --engine) with the small idle guest and a
# portable CPU, where kvm runs; a guest with emu's own CPU refused by name.
# Then machines with the features merged beside migration: a shared folder
# (refused before anything is sent, the reason named), a firmware boot from
# a CD image (moves, and counts on), a port on a cluster's switch (refused
# where the switch does not run; between engines in its folder, where kvm
# runs, it moves and rejoins the switch).  Last, a guest that writes memory
# faster than a limited link carries: with --no-auto-converge the migration
# gives up and says so (the guest runs on); with auto-converge the guest is
# throttled until it converges, and its counter goes on without a gap.
# HOSTEL_TEST_ALL=1 adds the tiny Linux appliance emu -> kvm -> emu (a
# counter through both switches), where kvm runs.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
work=$(mktemp -d /tmp/hostel-mig-XXXXXX)
cleanup() {
  HOSTEL_HOME=$work/h4 "$H" cluster down migsw --rm --force >/dev/null 2>&1
  for h in "$work"/h1 "$work"/h2 "$work"/h3 "$work"/h4 "$work"/h5; do
    [ -d "$h/machines" ] || continue
    for m in "$h"/machines/*; do HOSTEL_HOME=$h "$H" rm --force "$(basename "$m")" >/dev/null 2>&1; done
  done
  # VMMs this test started and noted (a sender that lingers for connections).
  [ -f "$work/pids" ] && while read -r p; do kill -9 "$p" 2>/dev/null; done <"$work/pids"
  rm -rf "$work"
}
trap cleanup EXIT
. tests/lib/engines.sh
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: migrate/build (appliances/tiny/build.sh failed)"; exit 0
fi
# A CD image that boots the idle guest through the firmware (SeaBIOS, GRUB).
. tests/lib/boot_media.sh
iso=""
if [ -f /usr/share/seabios/bios-256k.bin ] || [ -n "${HOSTEL_BIOS:-}" ]; then
  make_grub_iso "$work/idle.iso" "$K" 2>"$work/iso.err" && iso="$work/idle.iso"
fi
[ -n "$iso" ] || iso_why="no SeaBIOS or GRUB tools here: $(tail -1 "$work/iso.err" 2>/dev/null)"
kvm_slow=""
[ -z "$(engine_unavailable kvm)" ] && ! engine_fast kvm && kvm_slow=1
python3 - "$H" "$K" "$work" "$(engine_unavailable kvm)" "${HOSTEL_TEST_ALL:-}" "$iso" "${iso_why:-}" "$kvm_slow" <<'PY'
import json, os, re, signal, socket, subprocess, sys, threading, time

H, K, WORK, KVM_WHY, ALL, ISO, ISO_WHY, KVM_SLOW = sys.argv[1:9]
H1, H2, H3 = (os.path.join(WORK, h) for h in ("h1", "h2", "h3"))
def report(name, ok, why=""):
    print(("PASS: migrate/%s" % name) if ok else ("FAIL: migrate/%s (%s)" % (name, str(why)[-700:])))
    sys.stdout.flush()
    return ok

def hostel(home, *args, timeout=300):
    env = dict(os.environ, HOSTEL_HOME=home)
    r = subprocess.run([H, *args], capture_output=True, text=True, timeout=timeout, env=env)
    return r.returncode, r.stdout + r.stderr

def log(home, name="c"):
    try:
        return open(os.path.join(home, "machines", name, "console.log"), errors="replace").read().replace("\r", "")
    except OSError:
        return ""

def wait_for(pred, timeout, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None

def type_lines(home, *lines, name="c"):
    p = subprocess.Popen([H, "console", name], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=dict(os.environ, HOSTEL_HOME=home))
    time.sleep(0.5)
    for l in lines:
        p.stdin.write(l.encode() + b"\r")
        p.stdin.flush()
        time.sleep(0.2)
    p.stdin.write(b"\x01d")
    p.stdin.flush()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()

# A line may follow a prompt and the terminal's queries the shell echoes.
COUNT = re.compile(r"^(?:.*# )?count (\d+)$", re.M)
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")
def counts(text):
    return [int(x) for x in COUNT.findall(ANSI.sub("", text))]

def info(home, name="c"):
    rc, out = hostel(home, "info", name, "--json")
    try:
        return json.loads(out)
    except Exception:
        return {}

def state(home, name="c"):
    return info(home, name).get("state", "?")

def running_count(home):
    rc, out = hostel(home, "ls", "--json")
    try:
        return sum(1 for m in json.loads(out) if m["state"] in ("running", "paused", "migrating", "incoming"))
    except Exception:
        return -1

def receive(home, *extra, name="c"):
    rc, out = hostel(home, "receive", name, "--listen", "127.0.0.1:0", "--json", *extra)
    try:
        return json.loads(out.splitlines()[0])["listen"]
    except Exception:
        report("receive", False, out)
        sys.exit(0)

def receiver_pid(home, name="c"):
    try:
        line = open(os.path.join(home, "machines", name, "state")).read().split()
        return int(line[1]) if line[0] in ("incoming", "running") else None
    except Exception:
        return None

def advancing(home, name="c", by=5, timeout=60):
    c0 = counts(log(home, name))
    start = max(c0) if c0 else 0
    return wait_for(lambda: (max(counts(log(home, name)) or [0]) >= start + by), timeout) is not None

# ---- the machine -----------------------------------------------------------------
rc, out = hostel(H1, "create", "c", "--appliance", "tiny", "--engine", "emu", "--memory", "256M",
                 "--forward", "tcp:0:7777")
if rc:
    report("create", False, out); sys.exit(0)
rc, out = hostel(H1, "start", "c")
if rc or not wait_for(lambda: "tiny: ready" in log(H1), 300):
    report("boot", False, out + log(H1)[-500:]); sys.exit(0)
# The stream's listener first: typing while the counter prints mixes the lines.
type_lines(H1, "nc -l -p 7777 | while read l; do echo \"got: $l\"; done &",
           "i=0; while :; do i=$((i+1)); echo \"count $i\"; echo $i >> /mnt/disk/count; sleep 0.1; done & cpid=$!")
if not wait_for(lambda: len(counts(log(H1))) >= 10, 120):
    report("counter", False, log(H1)[-500:]); sys.exit(0)
sender_pid = info(H1).get("pid")
def note_pid(pid):
    if pid:
        open(os.path.join(WORK, "pids"), "a").write("%d\n" % pid)
note_pid(sender_pid)

# ---- refusals ------------------------------------------------------------------------
addr = receive(H2)
report("receive-listens", addr is not None and state(H2) == "incoming",
       "%s %s" % (addr, hostel(H2, "ls")[1]))
host, port = addr.rsplit(":", 1)
def raw(data):
    s = socket.create_connection((host, int(port)), timeout=10)
    got = b""
    try:
        s.sendall(data)
        s.settimeout(3)
        # The receiver writes a refusal's header and its text apart: read
        # until it closes (or goes quiet).
        while len(got) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, OSError):
        pass
    finally:
        s.close()
    return got
import struct, zlib, random
def msg(t, payload):
    h = struct.pack("<II", t, len(payload))
    return h + struct.pack("<I", zlib.crc32(h + payload)) + payload
hostile = [b"GET / HTTP/1.0\r\n\r\n", bytes(random.getrandbits(8) for _ in range(3000)),
           msg(1, b"HOSTELMG" + struct.pack("<II", 99, 0)),                 # a future version
           msg(1, b"HOSTELMG" + struct.pack("<II", 1, 0) + b"\xff" * 40),   # a cut-short HELLO
           struct.pack("<III", 1, 0xfffffff0, 0),                           # a huge length
           msg(1, b"HOSTELMG")[:-3] + b"xyz",                               # a bad checksum
           msg(7, b"\x00" * 16)]                                            # STATE before HELLO
answers = [raw(d) for d in hostile]
pid2 = receiver_pid(H2)
note_pid(pid2)
alive = pid2 is not None and os.path.exists("/proc/%d" % pid2)
report("hostile-streams-refused", alive and state(H2) == "incoming" and
       any(b"version" in a for a in answers), "alive %s, answers %r" % (alive, answers[:4]))

rc, out = hostel(H2, "receive", "d", "--listen", "127.0.0.1:0", "--allow", "10.9.9.9", "--json")
try:
    daddr = json.loads(out.splitlines()[0])["listen"]
except Exception:
    daddr = "127.0.0.1:1"
rc, out = hostel(H1, "migrate", "c", daddr, timeout=120)
report("address-not-allowed", rc != 0 and state(H1) == "running" and advancing(H1), out)
hostel(H2, "rm", "--force", "d")

# ---- faults during the copy ---------------------------------------------------------------
# The receiver killed mid-copy (a slow link makes the copy long).
p = subprocess.Popen([H, "migrate", "c", addr, "--bandwidth", "1M", "--json"], stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, text=True, env=dict(os.environ, HOSTEL_HOME=H1))
def ram_phase():
    line = p.stdout.readline()
    return line if '"phase":"ram"' in line and '"pages_sent":0,' not in line else None
wait_for(ram_phase, 60, step=0)
os.kill(pid2, signal.SIGKILL)
try:
    out, _ = p.communicate(timeout=120)
except subprocess.TimeoutExpired:
    p.kill(); out = "timeout"
ok = p.returncode != 0 and state(H1) == "running" and advancing(H1) and running_count(H2) == 0
report("receiver-killed-mid-copy", ok, "rc %s, %s; sender %s; receiver side: %s" %
       (p.returncode, out[-300:], state(H1), hostel(H2, "ls")[1]))

# The connection cut mid-copy, through a proxy.
class Proxy:
    def __init__(self, target):
        self.target = target
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.socks = []
        self.bytes = 0
        threading.Thread(target=self.run, daemon=True).start()
    def pump(self, a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                self.bytes += len(d)
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
    def run(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            h, pt = self.target.rsplit(":", 1)
            u = socket.create_connection((h, int(pt)))
            self.socks += [c, u]
            threading.Thread(target=self.pump, args=(c, u), daemon=True).start()
            threading.Thread(target=self.pump, args=(u, c), daemon=True).start()
    def cut(self):
        self.ls.close()
        for s in self.socks:
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass

addr = receive(H2)
px = Proxy(addr)
p = subprocess.Popen([H, "migrate", "c", "127.0.0.1:%d" % px.port, "--bandwidth", "1M", "--json"],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                     env=dict(os.environ, HOSTEL_HOME=H1))
wait_for(ram_phase, 60, step=0)
px.cut()
try:
    out, _ = p.communicate(timeout=120)
except subprocess.TimeoutExpired:
    p.kill(); out = "timeout"
gone = wait_for(lambda: running_count(H2) == 0 and not os.path.exists(os.path.join(H2, "machines", "c")), 60)
report("connection-cut-mid-copy", p.returncode != 0 and state(H1) == "running" and advancing(H1) and gone,
       "rc %s, %s; sender %s; receiver side: %s" % (p.returncode, out[-300:], state(H1), hostel(H2, "ls")[1]))

# ---- the migration, disks copied, with a TCP stream through the forward -------------------------
fport = [f["host_port"] for f in info(H1).get("forwards", []) if f["guest_port"] == 7777]
stream = {"sent": 0, "err": None, "stop": False}
def feed(sock):
    try:
        while not stream["stop"]:
            sock.sendall(b"line %d\n" % stream["sent"])
            stream["sent"] += 1
            time.sleep(0.05)
    except OSError as ex:
        stream["err"] = str(ex)
try:
    tcp = socket.create_connection(("127.0.0.1", fport[0]), timeout=10)
    threading.Thread(target=feed, args=(tcp,), daemon=True).start()
except Exception as ex:
    tcp = None
    stream["err"] = "cannot connect to the forward %s: %s" % (fport, ex)
time.sleep(1)
addr = receive(H2)
seen = {"migrating": False}
def watch():
    while not seen.get("done"):
        if state(H1) == "migrating":
            seen["migrating"] = True
        time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()
rc, out = hostel(H1, "migrate", "c", addr, "--disks", "copy", timeout=600)
seen["done"] = True
report("migrate", rc == 0 and "migrated c" in out, out)
m = re.search(r"paused (\d+) ms", out)
print("       (%s)" % next((l for l in out.splitlines() if l.startswith("migrated c")), out.strip()[-200:]))
report("states", state(H1) == "migrated" and state(H2) == "running" and running_count(H1) == 0,
       "sender %s, receiver %s; %s" % (state(H1), state(H2), hostel(H1, "ls", "--json")[1]))
i2 = info(H2)
report("info-shows-migration", i2.get("migration", {}).get("phase") == "completed" and
       i2.get("migration", {}).get("side") == "receiver", i2.get("migration"))
advancing(H2, by=20)
time.sleep(3)
stream["stop"] = True
time.sleep(1)
stream_text = log(H1) + log(H2)
c = counts(stream_text)
gaps = [(a, b) for a, b in zip(c, c[1:]) if b != a + 1]
def around(n):
    i = stream_text.find("count %d\n" % n)
    return repr(stream_text[max(0, i - 60):i + 120])
report("counter-continues", c and not gaps and len(counts(log(H2))) >= 20,
       "gaps or repeats at %s (%s); %d counts on the receiver, the sender's last %r" %
       (gaps[:5], around(gaps[0][0]) if gaps else "", len(counts(log(H2))), log(H1)[-80:]))
got = [int(x) for x in re.findall(r"^got: line (\d+)$", stream_text, re.M)]
report("tcp-stream-no-bytes-lost", not stream["err"] and got == list(range(stream["sent"])) and
       len(got) > 40 and any(re.search(r"^got: line %d$" % g, log(H2), re.M) for g in got[-3:]),
       "err %s; sent %d, got %d, first missing %s" % (stream["err"], stream["sent"], len(got),
       next((i for i in range(stream["sent"]) if i >= len(got) or got[i] != i), None)))
rc, out = hostel(H1, "start", "c")
report("migrated-machine-not-restarted", rc != 0 and "migrated" in out, out)

# The sender lingers for the stream's connection; killed, the machine runs on.
lingering = sender_pid and os.path.exists("/proc/%d" % sender_pid)
if lingering:
    os.kill(sender_pid, signal.SIGKILL)
time.sleep(1)
report("sender-killed-after-switch-over", lingering and state(H2) == "running" and advancing(H2) and
       running_count(H1) == 0 and running_count(H2) == 1,
       "lingering %s; receiver %s, sender side %s" % (lingering, state(H2), hostel(H1, "ls")[1]))
if tcp:
    tcp.close()

# Every number on the disk, the disks clean.
mark = len(log(H2))
type_lines(H2, "kill %1 %2; sleep 0.3; awk 'NR==1{f=$1} NR>1 && $1!=p+1{bad++} {p=$1} END{print \"fil\" \"e: first \" f \" bad \" bad+0 \" last \" p}' /mnt/disk/count; sync")
g = wait_for(lambda: re.search(r"^file: first (\d+) bad (\d+) last (\d+)", log(H2)[mark:], re.M), 60)
# Both jobs killed (%1 the stream's listener, %2 the counter): the file ends
# at the last number shown (one less if the kill fell between the echo and
# the append).
shown = max(counts(log(H2)))
report("disk-has-every-write", g and g.group(1) == "1" and g.group(2) == "0" and
       shown - 1 <= int(g.group(3)) <= shown + 1,
       "%s, last shown %d" % (g.group(0), shown) if g else log(H2)[-300:])
rc, out = hostel(H2, "stop", "c", "--timeout", "120")
for home, what in ((H2, "receiver"), (H1, "sender")):
    r = subprocess.run(["qemu-img", "check", os.path.join(home, "machines/c/disk.qcow2")],
                       capture_output=True, text=True)
    report("qemu-img-check-" + what, r.returncode == 0, r.stdout + r.stderr)

# ---- between engines, in one folder --------------------------------------------------------
TICK = re.compile(r"^tick (\d+) pm=(\d+)", re.M)
def ticks(home, name):
    return [(int(a), int(b)) for a, b in TICK.findall(log(home, name))]
if KVM_WHY:
    print("SKIP: migrate/emu-kvm-emu (kvm cannot run here: %s)" % KVM_WHY)
else:
    rc, out = hostel(H3, "create", "i", "--kernel", K, "--memory", "64M", "--engine", "emu",
                     "--cpu", "portable", "--watchdog", "0")
    rc2, out2 = hostel(H3, "start", "i")
    wait_for(lambda: len(ticks(H3, "i")) >= 3, 60)
    steps = []
    for eng in ("kvm", "emu"):
        rc, out = hostel(H3, "migrate", "i", "--engine", eng, timeout=300)
        n0 = len(ticks(H3, "i"))
        wait_for(lambda: len(ticks(H3, "i")) >= n0 + 3, 120)
        steps.append((eng, rc, info(H3, "i").get("engine"), out.strip()[-200:]))
    t = ticks(H3, "i")
    ok = all(rc == 0 and e == eng for eng, rc, e, _ in steps) and \
         all(b[0] == a[0] + 1 and b[1] > a[1] for a, b in zip(t, t[1:]))
    report("emu-kvm-emu", ok, "%s; ticks %s" % (steps, t[-8:]))
    hostel(H3, "rm", "--force", "i")
    # A guest that saw emu's own CPU moves only where that CPU can be shown.
    hostel(H3, "create", "j", "--kernel", K, "--memory", "64M", "--engine", "emu", "--watchdog", "0")
    hostel(H3, "start", "j")
    wait_for(lambda: len(ticks(H3, "j")) >= 2, 60)
    rc, out = hostel(H3, "migrate", "j", "--engine", "kvm", timeout=300)
    eng = info(H3, "j").get("engine")
    report("cpu-model-kept-or-refused", (rc == 0 and eng == "kvm") or
           (rc != 0 and "features" in out and eng == "emu" and state(H3, "j") == "running"), out)
    hostel(H3, "rm", "--force", "j")

# ---- machines with shares, firmware and a cluster's switch ---------------------------------------
H4, H5 = os.path.join(WORK, "h4"), os.path.join(WORK, "h5")
def ticking(home, name, by=3, timeout=60):
    n0 = len(ticks(home, name))
    return wait_for(lambda: len(ticks(home, name)) >= n0 + by, timeout) is not None

# A shared folder: refused before anything is sent; the receiver waits on.
os.makedirs(os.path.join(WORK, "sharedir"), exist_ok=True)
hostel(H4, "create", "s", "--kernel", K, "--memory", "64M", "--engine", "emu", "--watchdog", "0",
       "--share", os.path.join(WORK, "sharedir") + ":data")
hostel(H4, "start", "s")
wait_for(lambda: len(ticks(H4, "s")) >= 2, 60)
raddr = receive(H5, name="s")
t0 = time.monotonic()
rc, out = hostel(H4, "migrate", "s", raddr, timeout=120)
report("share-refused-up-front", rc != 0 and "shared folder ('data')" in out and
       time.monotonic() - t0 < 10 and state(H4, "s") == "running" and ticking(H4, "s") and
       state(H5, "s") == "incoming", "rc %d: %s; receiver %s" % (rc, out, state(H5, "s")))
hostel(H5, "rm", "--force", "s")
hostel(H4, "rm", "--force", "s")

# A firmware boot from a CD image moves, and the guest counts on.
if not ISO:
    print("SKIP: migrate/firmware-cdrom (%s)" % ISO_WHY)
else:
    hostel(H4, "create", "f", "--cdrom", ISO, "--memory", "64M", "--engine", "emu", "--watchdog", "0")
    rc, out = hostel(H4, "start", "f")
    booted = wait_for(lambda: len(ticks(H4, "f")) >= 3, 120)
    raddr = receive(H5, name="f")
    rc, out = hostel(H4, "migrate", "f", raddr, timeout=300)
    ok = booted and rc == 0 and ticking(H5, "f", by=5)
    t = ticks(H4, "f") + ticks(H5, "f")
    cfg = info(H5, "f").get("spec", {})
    report("firmware-cdrom", ok and all(b[0] == a[0] + 1 for a, b in zip(t, t[1:])) and
           state(H4, "f") == "migrated" and state(H5, "f") == "running",
           "booted %s, rc %d: %s; ticks %s; receiver %s" % (bool(booted), rc, out.strip()[-300:],
                                                            t[-6:], state(H5, "f")))
    hostel(H5, "rm", "--force", "f")
    hostel(H4, "rm", "--force", "f")

# A port on a cluster's switch: refused where the switch does not run.
cfile = os.path.join(WORK, "migsw.yaml")
open(cfile, "w").write("name: migsw\nmachines:\n  - name: n1\n    appliance: tiny\n"
                       "    engine: emu\n    memory: 128M\n")
rc, out = hostel(H4, "cluster", "up", cfile, timeout=600)
if rc:
    report("switch-cluster-up", False, out)
else:
    hostel(H4, "create", "w", "--kernel", K, "--memory", "64M", "--engine", "emu", "--cpu", "portable",
           "--watchdog", "0", "--net", "switch=migsw")
    hostel(H4, "start", "w")
    wait_for(lambda: len(ticks(H4, "w")) >= 2, 60)
    raddr = receive(H5, name="w")
    rc, out = hostel(H4, "migrate", "w", raddr, timeout=120)
    gone = wait_for(lambda: running_count(H5) == 0, 30)
    report("switch-refused-elsewhere", rc != 0 and "switch of cluster 'migsw'" in out and
           state(H4, "w") == "running" and ticking(H4, "w") and gone,
           "rc %d: %s; receiver side %s" % (rc, out, hostel(H5, "ls")[1]))
    if KVM_WHY:
        print("SKIP: migrate/switch-engine-switch (kvm cannot run here: %s)" % KVM_WHY)
    else:
        rc, out = hostel(H4, "migrate", "w", "--engine", "kvm", timeout=300)
        def joined():
            r, o = hostel(H4, "cluster", "status", "migsw")
            return re.search(r"^w .* joined", o, re.M)
        report("switch-engine-switch", rc == 0 and info(H4, "w").get("engine") == "kvm" and
               ticking(H4, "w") and wait_for(joined, 30),
               "rc %d: %s; %s" % (rc, out, hostel(H4, "cluster", "status", "migsw")[1]))
    hostel(H4, "rm", "--force", "w")
    hostel(H4, "cluster", "down", "migsw", "--rm", "--force", timeout=120)

# ---- a guest that writes faster than the link carries ------------------------------------------------
hostel(H4, "create", "b", "--appliance", "tiny", "--engine", "emu", "--memory", "128M", "--watchdog", "0")
hostel(H4, "start", "b")
if not wait_for(lambda: "tiny: ready" in log(H4, "b"), 300):
    report("converge-boot", False, log(H4, "b")[-400:])
else:
    # 8 MiB rewritten over and over in RAM (tmpfs), and the counter.
    type_lines(H4, "dd if=/dev/urandom of=/tmp/a bs=1M count=8 2>/dev/null; "
               "while :; do cp /tmp/a /tmp/b; done &",
               "i=0; while :; do i=$((i+1)); echo \"count $i\"; sleep 0.1; done &", name="b")
    wait_for(lambda: len(counts(log(H4, "b"))) >= 10, 120)
    raddr = receive(H5, name="b")
    rc, out = hostel(H4, "migrate", "b", raddr, "--bandwidth", "4M", "--no-auto-converge",
                     timeout=600)
    report("no-auto-converge-gives-up", rc != 0 and "cannot converge" in out and
           state(H4, "b") == "running" and advancing(H4, "b") and running_count(H5) == 0,
           "rc %d: %s; receiver side %s" % (rc, out.strip()[-400:], hostel(H5, "ls")[1]))
    raddr = receive(H5, name="b")
    rc, out = hostel(H4, "migrate", "b", raddr, "--bandwidth", "4M", timeout=600)
    wait_for(lambda: len(counts(log(H5, "b"))) >= 10, 60)
    c = counts(log(H4, "b") + log(H5, "b"))
    gaps = [(a, b) for a, b in zip(c, c[1:]) if b != a + 1]
    report("auto-converge", rc == 0 and "auto-converge throttles the guest" in out and
           state(H5, "b") == "running" and not gaps and len(counts(log(H5, "b"))) >= 10,
           "rc %d: %s; gaps %s; receiver %s with %d counts" %
           (rc, out.strip()[-600:], gaps[:5], state(H5, "b"), len(counts(log(H5, "b")))))
    print("       (%s)" % next((l for l in out.splitlines() if l.startswith("migrated b")), "-"))
hostel(H5, "rm", "--force", "b")
hostel(H4, "rm", "--force", "b")

# ---- Linux, emu -> kvm -> emu (slow where kvm is nested) --------------------------------------------
if not ALL:
    print("SKIP: migrate/linux-emu-kvm-emu (under make test-all: HOSTEL_TEST_ALL=1)")
elif KVM_WHY:
    print("SKIP: migrate/linux-emu-kvm-emu (kvm cannot run here: %s)" % KVM_WHY)
else:
    hostel(H3, "create", "L", "--appliance", "tiny", "--engine", "emu", "--cpu", "portable",
           "--memory", "128M", "--watchdog", "0")
    hostel(H3, "start", "L")
    if not wait_for(lambda: "tiny: ready" in log(H3, "L"), 300):
        report("linux-emu-kvm-emu", False, "boot: " + log(H3, "L")[-400:])
    else:
        type_lines(H3, "i=0; while :; do i=$((i+1)); echo \"count $i\"; sleep 0.2; done &", name="L")
        wait_for(lambda: len(counts(log(H3, "L"))) >= 5, 120)
        def vmm():
            try:
                return open(os.path.join(H3, "machines", "L", "vmm.log"), errors="replace").read()
            except OSError:
                return ""
        quirk = lambda: KVM_SLOW and "KVM internal error (suberror 1)" in vmm()
        steps = []
        for eng in ("kvm", "emu"):
            rc, out = hostel(H3, "migrate", "L", "--engine", eng, timeout=600)
            n0 = max(counts(log(H3, "L")) or [0])
            moved = wait_for(lambda: max(counts(log(H3, "L")) or [0]) >= n0 + 5 or quirk(), 300)
            steps.append((eng, rc, info(H3, "L").get("engine"), moved, out.strip()[-200:]))
            if quirk():
                break
        c = counts(log(H3, "L"))
        gaps = [(a, b) for a, b in zip(c, c[1:]) if b != a + 1]
        if quirk():
            # A slow nested KVM emulates the guest's code itself and gives up
            # on some instructions (docs/kvm-hosts.md): the host's, not ours.
            print("SKIP: migrate/linux-emu-kvm-emu (this host's KVM could not emulate an "
                  "instruction of the guest after the move: KVM_INTERNAL_ERROR_EMULATION, a "
                  "nested-host quirk; docs/kvm-hosts.md)")
        else:
            report("linux-emu-kvm-emu", all(rc == 0 and e == eng and m
                                            for eng, rc, e, m, _ in steps) and not gaps,
                   "%s; gaps %s" % (steps, gaps[:5]))
    hostel(H3, "rm", "--force", "L")
PY
