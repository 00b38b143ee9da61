#!/usr/bin/env bash
# Twenty tiny machines in one cluster (issue 19's scale goal), under make
# test-all (HOSTEL_TEST_ALL=1): `cluster up` returns once all twenty reached
# their prompt; they reach each other by name; idle, they use next to no CPU
# (measured from /proc over 20 s: HLT and the tickless kernel on the LAPIC
# timer); `cluster down --rm` leaves nothing behind.  Prints the times.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
N=${HOSTEL_CLUSTER_N:-20}
if [ -z "${HOSTEL_TEST_ALL:-}" ]; then
  echo "SKIP: cluster-scale/$N-machines (boots $N machines for minutes: runs under make test-all, HOSTEL_TEST_ALL=1)"
  exit 0
fi
. tests/lib/engines.sh
engine=${HOSTEL_TEST_ENGINE:-emu}
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: cluster-scale/build (appliances/tiny/build.sh failed)"; exit 0
fi
home=$(mktemp -d /tmp/hostel-scale-XXXXXX)
trap 'HOSTEL_HOME=$home "$H" cluster down big --rm --force >/dev/null 2>&1; rm -rf "$home"' EXIT
HOSTEL_HOME=$home python3 - "$H" "$home" "$engine" "$(pwd)/$BUILD/appliances/tiny" "$N" <<'PY'
import json, os, re, sys, time
H, HOME, ENGINE, TINY, N = sys.argv[1:6]
N = int(N)
sys.path.insert(0, os.path.join(os.getcwd(), "tests/lib"))
from machines import Library, wait_for
lib = Library(H, HOME, "cluster-scale")
report = lib.report
cfile = os.path.join(HOME, "big.yaml")
open(cfile, "w").write("name: big\nnetwork: 10.30.0.0/24\n"
                       "defaults: {appliance: %s, engine: %s}\n"
                       "machines:\n  - {name: n, count: %d}\n" % (TINY, ENGINE, N))
t0 = time.monotonic()
rc, out = lib.hostel("cluster", "up", cfile, timeout=3000)
up_s = time.monotonic() - t0
names = ["n%d" % i for i in range(1, N + 1)]
ok = rc == 0 and all("tiny: ready" in lib.log(m) for m in names)
report("up-%d" % N, ok, out[-800:])
print("   %d machines up (all at their prompt) in %.1f s on %s" % (N, up_s, ENGINE))
if not ok:
    sys.exit(0)
st = json.loads(lib.hostel("cluster", "status", "big", "--json")[1])
report("all-running-leased", sum(1 for m in st["machines"] if m["state"] == "running" and m.get("lease")) == N,
       [(m["name"], m["state"], m.get("lease")) for m in st["machines"]])
rss = [m.get("rss", 0) for m in st["machines"]]
print("   memory: %d x %d MiB of guest RAM; host RSS per VMM: median %d MiB, total %d MiB" % (
    N, st["machines"][0]["memory"] >> 20, sorted(rss)[N // 2] >> 20, sum(rss) >> 20))
rc1, o1 = lib.run("n1", "ping -c 2 -W 3 n%d" % N, timeout=120)
rc2, o2 = lib.run("n%d" % N, "ping -c 2 -W 3 n1", timeout=120)
report("first-and-last-by-name", rc1 == 0 and rc2 == 0, o1 + o2)

# Idle: CPU time of the VMMs over 20 s, after the boots have settled.
time.sleep(15)
tick = os.sysconf("SC_CLK_TCK")
pids = [m["pid"] for m in st["machines"] if m.get("pid")]
def cpu():
    t = 0
    for p in pids:
        try:
            f = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
            t += int(f[11]) + int(f[12])
        except OSError:
            pass
    return t / tick
c0, w0 = cpu(), time.monotonic()
time.sleep(20)
c1, w1 = cpu(), time.monotonic()
share = (c1 - c0) / (w1 - w0)                    # cores used by all of them
per = 100.0 * share / max(len(pids), 1)
print("   idle: %d VMMs use %.1f%% of one core together (%.2f%% each)" % (len(pids), 100 * share, per))
report("idle-near-zero", per < 3.0, "%.2f%% of a core per idle machine" % per)

t0 = time.monotonic()
rc, out = lib.hostel("cluster", "down", "big", "--rm", timeout=600)
down_s = time.monotonic() - t0
rc2, ls = lib.hostel("ls")
alive = [p for p in pids if os.path.exists("/proc/%d" % p) and
         "zombie" not in open("/proc/%d/status" % p).read().lower()]
report("down-%d" % N, rc == 0 and not any(re.search(r"^n\d+\s", ls, re.M) for _ in [0]) and
       not alive and not os.path.exists(os.path.join(HOME, "clusters", "big")), out + ls + str(alive))
print("   cluster down --rm took %.1f s" % down_s)
PY
