#!/usr/bin/env bash
# Clusters end to end (issue 19): three tiny machines on hostel's own switch,
# on emu (and on kvm where it runs Linux at full speed).  The cluster comes
# up from one file; every machine pings the others by name; a partition cuts
# n1 off while n2 <-> n3 still talk; heal brings it back; degrade --delay
# 100ms raises the measured round trip by 100 ms +-20 %; --loss 50% drops
# about half of 200 pings; the counters in `info --json` show it.  Then: a
# forward from the cluster file, a machine that joins ad hoc (`hostel run
# --net switch=NAME`), a machine that dies and is restarted alone, and `down
# --rm` with a dead machine.  Malformed cluster files are refused with the
# line and the key.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
. tests/lib/engines.sh
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: cluster/build (appliances/tiny/build.sh failed)"; exit 0
fi
engines=emu
[ -n "${HOSTEL_TEST_ENGINE:-}" ] && engines=$HOSTEL_TEST_ENGINE
if [ -z "${HOSTEL_TEST_ENGINE:-}" ]; then
  if [ -z "$(engine_unavailable kvm)" ] && engine_fast kvm; then engines="emu kvm"
  else echo "SKIP: cluster/kvm (kvm does not run Linux at full speed here: $(engine_unavailable kvm)$(engine_speed kvm); emu is tested)"; fi
fi
for engine in $engines; do
home=$(mktemp -d /tmp/hostel-cluster-XXXXXX)
HOSTEL_HOME=$home python3 - "$H" "$home" "$engine" "$(pwd)/$BUILD/appliances/tiny" <<'PY'
import json, os, re, signal, socket, statistics, subprocess, sys, time

H, HOME, ENGINE, TINY = sys.argv[1:5]
sys.path.insert(0, os.path.join(os.getcwd(), "tests/lib"))
from machines import Library, wait_for
suite = "cluster" if ENGINE == "emu" else "cluster@" + ENGINE
lib = Library(H, HOME, suite)
report = lib.report

def hostel(*args, timeout=300):
    return lib.hostel(*args, timeout=timeout)

def cleanup():
    hostel("cluster", "down", "db", "--rm", "--force", timeout=120)
    for m in ("n1", "n2", "n3"):
        hostel("rm", "--force", m)

def info(m):
    rc, out = hostel("info", m, "--json")
    try:
        return json.loads(out)
    except Exception:
        return {}

def pings(src, dst, n=2):
    rc, out = lib.run(src, "ping -c %d -W 2 %s" % (n, dst), timeout=60)
    return rc == 0

def rtts(src, dst, n):
    rc, out = lib.run(src, "ping -c %d -i 0.2 %s" % (n, dst), timeout=120)
    return [float(x) for x in re.findall(r"time=([0-9.]+) ms", "\n".join(out))]

def link(m, frm, to):
    for l in info(m).get("links", []):
        if l["from"] == frm and l["to"] == to:
            return l
    return {}

# -- malformed files: refused with the line and the key, nothing made
bad = {
    "memory": ('{"name": "db",\n "machines": [\n  {"name": "n1", "appliance": "tiny",\n   "memory": "12X"}]}\n',
               r":4: machines\[0\]\.memory: '12X' is not a memory size"),
    "unknown-key": ('name: db\nmachines:\n  - name: n1\n    appliance: tiny\n    memroy: 1G\n',
                    r":5: machines\[0\]: unknown key 'memroy'"),
    "twice": ('{"name": "db", "machines": [\n {"name": "n1", "appliance": "tiny"},\n {"name": "n1", "appliance": "tiny"}]}\n',
              r":3: machines\[1\]\.name: a machine named 'n1' is already declared on line 2"),
    "network": ('{"name": "db", "network": "10.10.0.1/24", "machines": []}\n',
                r":1: network: '10.10.0.1/24' is not an IPv4 network"),
    "address": ('{"name": "db", "machines": [\n {"name": "n1", "appliance": "tiny", "address": "10.9.0.5"}]}\n',
                r":2: machines\[0\]\.address: 10.9.0.5 is not on the cluster's network"),
    "syntax": ('{"name": "db", "machines": [\n {"name": "n1" "appliance": "tiny"}]}\n', r":2: "),
    "forward": ('{"name": "db", "machines": [{"name": "n1", "appliance": "tiny"}],\n "forwards": [{"machine": "n7", "guest": 22}]}\n',
                r":2: forwards\[0\]\.machine: no machine named 'n7'"),
}
for what, (text, want) in bad.items():
    path = os.path.join(HOME, "bad-%s.json" % what)
    open(path, "w").write(text)
    rc, out = hostel("cluster", "up", path)
    report("file-refused-" + what, rc != 0 and re.search(re.escape(path) + want, out)
           and not os.path.exists(os.path.join(HOME, "clusters", "db")), out)

# -- up: three machines, addresses, names
cfile = os.path.join(HOME, "cluster.json")
open(cfile, "w").write(json.dumps({
    "name": "db", "network": "10.10.0.0/24",
    "defaults": {"engine": ENGINE},
    "machines": [{"name": "n1", "appliance": TINY, "memory": "256M"},
                 {"name": "n2", "appliance": TINY}, {"name": "n3", "appliance": TINY}],
    "forwards": [{"machine": "n1", "host": 0, "guest": 7777}]}, indent=1))
t0 = time.monotonic()
rc, out = hostel("cluster", "up", cfile, timeout=900)
up_s = time.monotonic() - t0
ok = rc == 0 and all(("tiny: ready" in lib.log(m)) for m in ("n1", "n2", "n3"))
report("up", ok, out)
if not ok:
    for m in ("n1", "n2", "n3"):
        print("   %s: %s" % (m, lib.log(m)[-300:]))
    cleanup(); sys.exit(0)
print("   cluster up took %.1f s on %s" % (up_s, ENGINE))
rc, out = hostel("cluster", "status", "db", "--json")
st = json.loads(out) if rc == 0 else {}
addrs = {m["name"]: m.get("address") for m in st.get("machines", [])}
report("status-addresses", addrs == {"n1": "10.10.0.11", "n2": "10.10.0.12", "n3": "10.10.0.13"}
       and all(m.get("state") == "running" and m.get("lease") for m in st["machines"]), out)
rc, out = hostel("cluster", "ls")
report("ls", rc == 0 and re.search(r"^db\s+up\s+3/3\s+10\.10\.0\.0/24", out, re.M), out)
rc, out = lib.run("n2", "hostname; grep -c 'search db' /etc/resolv.conf")
report("dhcp-name", out[:2] == ["n2", "1"], out)

# -- every machine pings the others by name (and by NAME.CLUSTER)
bad_pairs = [(a, b) for a in ("n1", "n2", "n3") for b in ("n1", "n2", "n3")
             if a != b and not pings(a, b)]
report("ping-by-name", not bad_pairs, "no answer: %s" % bad_pairs)
# As root each machine's VMM joined the switch from inside its jail
# (docs/security.md): the jail user, nothing effective, no new privileges.
if os.geteuid() == 0:
    says = {}
    for m in ("n1", "n2", "n3"):
        i = info(m)
        try:
            st = open("/proc/%d/status" % i["pid"]).read()
        except Exception as ex:
            st = "?" + str(ex)
        says[m] = (i.get("isolation", {}).get("jail", ""),
                   [l for l in st.splitlines() if l.startswith(("Uid", "CapEff", "NoNewPrivs"))])
    report("jailed", all(j.startswith("on (uid 64434") and "Uid:\t64434\t64434\t64434\t64434" in l and
                         "CapEff:\t0000000000000000" in l and "NoNewPrivs:\t1" in l
                         for j, l in says.values()), says)
report("ping-by-fqdn", pings("n3", "n1.db"), lib.log("n3")[-300:])
rc, out = lib.run("n1", "nslookup nosuch")
report("dns-nxdomain", rc != 0 and any("NXDOMAIN" in l or "can't find" in l for l in out), out)

# -- partition n1 from n2 and n3: n1 is cut off both ways, n2 <-> n3 fine
rc, out = hostel("cluster", "partition", "db", "n1", "--from", "n2,n3")
report("partition", rc == 0, out)
report("partition-cuts", not pings("n1", "n2") and not pings("n2", "n1") and not pings("n3", "n1"),
       lib.log("n1")[-300:])
report("partition-others-fine", pings("n2", "n3") and pings("n3", "n2"), lib.log("n2")[-300:])
l = link("n1", "n1", "n2")
report("counters-partition", l.get("partitioned") and l.get("dropped_partition", 0) > 0, l)
rc, out = hostel("cluster", "status", "db")
report("status-shows-partition", re.search(r"partition\s+n1 <-> n2, n3", out), out)

# -- heal
rc, out = hostel("cluster", "heal", "db")
report("heal", rc == 0 and pings("n1", "n2") and pings("n2", "n1") and pings("n3", "n1"),
       out + lib.log("n1")[-300:])

# -- degrade --delay 100ms: the round trip grows by 100 ms +- 20 %
base = rtts("n1", "n2", 20)
rc, out = hostel("cluster", "degrade", "db", "n2", "--delay", "100ms")
slow = rtts("n1", "n2", 20)
ok = rc == 0 and len(base) >= 15 and len(slow) >= 15
diff = statistics.median(slow) - statistics.median(base) if ok else None
report("degrade-delay-100ms", ok and 80 <= diff <= 120,
       "median RTT %s ms before, %s ms after (+%s ms); %s" % (
           statistics.median(base) if base else "-", statistics.median(slow) if slow else "-", diff, out))
print("   RTT n1 -> n2: median %.1f ms, with --delay 100ms %.1f ms" % (
    statistics.median(base) if base else -1, statistics.median(slow) if slow else -1))
l = link("n2", "n2", "n1")
report("counters-delayed", l.get("delayed", 0) >= 20, l)
rc, out = hostel("cluster", "status", "db")
report("status-shows-degrade", re.search(r"degrade\s+n2 -> every other machine: delay 100ms", out), out)

# -- --loss 50%: about half of 200 pings come back (n2's replies are lost)
hostel("cluster", "heal", "db")
before = link("n2", "n2", "n1").get("dropped_loss", 0)
rc, out = hostel("cluster", "degrade", "db", "n2", "--loss", "50%")
rc2, lines = lib.run("n1", "ping -c 200 -i 0.05 -W 3 n2", timeout=180)
got = re.search(r"(\d+) packets transmitted, (\d+) packets received", "\n".join(lines))
recv = int(got.group(2)) if got else -1
lost = link("n2", "n2", "n1").get("dropped_loss", 0) - before
report("degrade-loss-50", rc == 0 and got and int(got.group(1)) == 200 and 65 <= recv <= 135,
       "%s of 200 pings answered" % recv)
report("counters-loss", 65 <= lost <= 135 and abs(lost - (200 - recv)) <= 10,
       "the switch dropped %d of n2's replies, ping missed %d" % (lost, 200 - recv))
print("   --loss 50%%: %d of 200 pings answered; the switch counted %d drops" % (recv, lost))
hostel("cluster", "heal", "db")
rc, out = hostel("cluster", "degrade", "db", "n9", "--loss", "1%")
report("refuse-unknown-machine", rc != 0 and "no machine named 'n9'" in out, out)
rc, out = hostel("cluster", "degrade", "db", "n2")
report("refuse-empty-degrade", rc != 0 and "--loss" in out, out)

# -- the API: the same operations on the cluster's control socket
from control import request
def api(req):
    return request(os.path.join(HOME, "clusters", "db", "control.sock"), req)
r1 = api({"op": "partition", "machine": "n3", "from": ["n2"]})
cut = not pings("n2", "n3")
r2 = api({"op": "status"})
r3 = api({"op": "heal", "machine": "n3"})
report("api", r1.get("ok") and cut and r2.get("ok") and len(r2.get("faults", [])) == 1 and
       r3.get("ok") and pings("n2", "n3") and api({"op": "bogus"}).get("ok") is False,
       [r1, r2.get("faults"), r3])

# -- the forward from the file reaches n1's port 7777
lib.run("n1", "(echo forwarded-to-n1 | nc -l -p 7777 &)")
fw = [f for f in json.loads(hostel("cluster", "status", "db", "--json")[1]).get("forwards", [])]
data = b""
try:
    with socket.create_connection(("127.0.0.1", fw[0]["host_port"]), timeout=20) as s:
        s.settimeout(20)
        while b"\n" not in data:
            c = s.recv(100)
            if not c:
                break
            data += c
except Exception as e:
    data = str(e).encode()
report("forward", b"forwarded-to-n1" in data, (fw, data))

# -- a machine that joins ad hoc: hostel run --net switch=db,name=guest
adhoc = subprocess.Popen([H, "run", "--engine", ENGINE, TINY, "--net", "switch=db,name=visitor",
                          "--watchdog", "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=dict(os.environ, HOSTEL_HOME=HOME))
os.set_blocking(adhoc.stdout.fileno(), False)
seen = b""
def read_adhoc():
    global seen
    try:
        c = adhoc.stdout.read()
        if c:
            seen += c
    except Exception:
        pass
    return seen.decode(errors="replace")
if wait_for(lambda: "tiny: ready" in read_adhoc(), 300):
    time.sleep(1)
    adhoc.stdin.write(b'ping -c 2 -W 2 n1 >/dev/null && echo ad""hoc-reached-n1\r')
    adhoc.stdin.flush()
    reached = wait_for(lambda: "adhoc-reached-n1" in read_adhoc().replace('ad""hoc', ''), 60)
    back = pings("n1", "visitor")
    report("adhoc-join", reached and back, read_adhoc()[-400:])
    adhoc.stdin.write(b"poweroff\r")
    adhoc.stdin.flush()
else:
    report("adhoc-join", False, read_adhoc()[-600:])
try:
    adhoc.wait(timeout=60)
except subprocess.TimeoutExpired:
    adhoc.kill()
rc, out = hostel("run", "--engine", ENGINE, TINY, "--net", "switch=nosuch")
report("adhoc-no-switch", rc != 0 and "switch 'nosuch' is not running" in out, out)

# -- a machine that dies shows as such, and restarts alone
pid = info("n2").get("pid")
os.kill(pid, signal.SIGKILL)
time.sleep(1)
rc, out = hostel("cluster", "status", "db", "--json")
n2 = [m for m in json.loads(out)["machines"] if m["name"] == "n2"][0]
report("dead-shown", n2["state"] == "crashed" and not n2.get("connected"), n2)
mark = len(lib.log("n2"))
rc, out = hostel("start", "n2")
ok = rc == 0 and wait_for(lambda: "tiny: ready" in lib.log("n2")[mark:], 300)
report("restart-alone", ok and pings("n1", "n2") and pings("n2", "n3"), out + lib.log("n2")[-300:])

# -- down --rm cleans everything, even with a dead machine
pid3 = info("n3").get("pid")
os.kill(pid3, signal.SIGKILL)
time.sleep(0.5)
t0 = time.monotonic()
rc, out = hostel("cluster", "down", "db", "--rm", timeout=300)
down_s = time.monotonic() - t0
rc2, ls = hostel("ls")
report("down-rm", rc == 0 and not any(m in ls for m in ("n1", "n2", "n3")) and
       not os.path.exists(os.path.join(HOME, "clusters", "db")), out + ls)
print("   cluster down --rm took %.1f s" % down_s)
rc, out = hostel("cluster", "ls")
report("down-ls-empty", rc == 0 and "db" not in out, out)
cleanup()
PY
rm -rf "$home"
done
