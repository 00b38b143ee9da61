#!/usr/bin/env bash
# bench/boot --appliance without booting anything: its console driver against
# scripted fake consoles (login, password, plain prompt, hang, early exit), the
# shadow appliance and QEMU command it builds from a manifest, and its errors.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
if [ ! -x "$BUILD/hostel" ]; then
  echo "SKIP: bench-smoke (no $BUILD/hostel: run make first)"; exit 0
fi
work=$(mktemp -d /tmp/hostel-bench-smoke-XXXXXX); trap 'rm -rf "$work"' EXIT

out=$(bench/boot --appliance "$work/none" 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q 'no such appliance' <<<"$out"; then echo "PASS: bench-smoke/missing-appliance"
else echo "FAIL: bench-smoke/missing-appliance (status $rc: $out)"; fi

# A fake appliance: the files need only exist for the manifest to be read.
mkdir "$work/fake"
printf 'k' >"$work/fake/vmlinuz"; printf 'i' >"$work/fake/initrd.img"
truncate -s 1M "$work/fake/data.img"
cat >"$work/fake/appliance.json" <<'JSON'
{ "format": 1, "name": "fake", "kernel": "vmlinuz", "initrd": "initrd.img",
  "cmdline": "console=ttyS0 quiet", "memory": "1G", "cpus": 2,
  "disks": [ { "file": "data.img", "format": "raw", "readonly": true } ],
  "forwards": [ "tcp:127.0.0.1:0:22" ], "login": "admin", "password": "pw" }
JSON

WORK=$work BUILD=$BUILD python3 - <<'PY'
import importlib.machinery, importlib.util, json, os, re, subprocess, types
loader = importlib.machinery.SourceFileLoader("ba", "bench/boot-appliance")
spec = importlib.util.spec_from_loader("ba", loader)
ba = importlib.util.module_from_spec(spec)
loader.exec_module(ba)
work = os.environ["WORK"]

def check(name, ok, why):
    print("PASS: bench-smoke/%s" % name if ok else "FAIL: bench-smoke/%s (%s)" % (name, why))

args = types.SimpleNamespace(cpus=None, memory=None, prompt=None, login_prompt=None, user=None)
os.makedirs(work + "/w")
app = ba.Appliance(os.path.join(work, "fake"), work + "/w", args)
sm = json.load(open(os.path.join(app.shadow, "appliance.json")))
check("shadow-manifest", "forwards" not in sm and sm["net"] == "user" and
      sm["disks"] == [{"file": "disk0.qcow2", "format": "qcow2", "readonly": True}], sm)
ovs = app.fresh_overlays()
info = subprocess.run([ba.HOSTEL, "image", "info", ovs[0]], capture_output=True, text=True).stdout
check("overlay", "data.img" in info, info.strip())
q = " ".join(app.qemu_cmd("tcg", ovs))
check("qemu-command", "-m 1024 -smp 2" in q and "-append console=ttyS0 quiet" in q and
      "format=qcow2,if=none,id=d0,readonly=on" in q and "virtio-net-pci" in q, q)
h = app.hostel_cmd("emu")
check("hostel-command", h[2] == app.shadow and "--cpus" in h and "1024M" in h, h)

# The console driver, against bash playing a guest: the terminal turns the
# driver's CR into a newline, so these read up to CR.
ans = r"""read -d $'\r' c; echo; [ "$c" = poweroff ] && exit 0; exit 3"""
login = (r"""echo '[  OK  ] Started getty'; printf 'fake login: '; read -d $'\r' u; echo;"""
         r"""printf 'Password: '; read -d $'\r' p; echo 'Last login: never';"""
         r"""[ "$u" = admin ] && [ "$p" = pw ] || exit 4; printf "$u@fake:~# "; """ + ans)
r = ba.boot_once(app, ["bash", "-c", login], work + "/login.log", 20)
check("login", r["login"] is not None and r["shell"] is not None and r["status"] == 0 and
      r["cpu"] is not None, r)
r = ba.boot_once(app, ["bash", "-c", "echo ready; printf 'tiny:/# '; " + ans],
                 work + "/shell.log", 20)
check("straight-to-shell", r["login"] is None and r["shell"] is not None and r["status"] == 0, r)
r = ba.boot_once(app, ["bash", "-c", "echo booting; exec sleep 60"], work + "/hang.log", 1)
check("timeout", r["shell"] is None and "timeout" in r["note"], r)
r = ba.boot_once(app, ["bash", "-c", "echo panic; exit 2"], work + "/dead.log", 20)
check("early-exit", r["status"] == 2 and "before the prompt" in r["note"], r)
PY
