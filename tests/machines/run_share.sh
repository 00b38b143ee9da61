#!/usr/bin/env bash
# Shared folders (issue 18) on a named tiny machine, on emu and, where it
# runs Linux at speed, on kvm (HOSTEL_TEST_ENGINE picks one): files made, written,
# renamed, deleted and read by the guest are seen by the host at once and
# the other way round; modes and mtimes match both ways; `git clone` inside
# the share leaves `git status` clean on the host; make rebuilds on the
# host's mtimes; rsync -a keeps modes and times; a read-only share answers
# writes with EROFS; escapes from inside the guest (.. walks, symlinks to /,
# a symlink swapped during a walk, hard links to outside files, mknod) fail
# and the host directory around the share is untouched; a running machine
# with shares refuses snapshots; --share errors are the same for run,
# create and set.
#
# The guest gets git, make and rsync from the host through a second
# initramfs archive appended to tiny's (the kernel unpacks both).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
T=$(mktemp -d /tmp/hostel-share-XXXXXX)
trap 'for h in "$T"/*/home; do HOSTEL_HOME=$h "$H" rm --force sh >/dev/null 2>&1; done; chmod -R u+rwX "$T" 2>/dev/null; rm -rf "$T"' EXIT
. tests/lib/engines.sh
if [ -n "${HOSTEL_TEST_ENGINE:-}" ]; then engines=$HOSTEL_TEST_ENGINE
else
  engines=emu
  if engine_fast kvm; then engines="emu kvm"
  else echo "SKIP: share@kvm (kvm does not run Linux at speed here: $(engine_unavailable kvm)$(engine_speed kvm))"; fi
fi
if ! appliances/tiny/build.sh "$(pwd)/$BUILD/appliances/tiny" >/dev/null 2>&1; then
  echo "FAIL: share/build (appliances/tiny/build.sh failed)"; exit 0
fi

# Tools for the guest: each binary with the libraries ldd names.
tools=$T/tools
mkdir -p "$tools/usr/bin" "$tools/usr/lib/git-core" "$tools/lib64"
for b in git make rsync; do
  p=$(command -v $b) || continue
  cp "$p" "$tools/usr/bin/$b"
  for lib in $(ldd "$p" | awk '/=> \//{print $3} /^\t\/lib/{print $1}'); do
    mkdir -p "$tools$(dirname "$lib")"; cp -L "$lib" "$tools$lib"
  done
done
[ -e "$tools/usr/bin/git" ] && for c in git git-upload-pack git-receive-pack; do
  ln -sf /usr/bin/git "$tools/usr/lib/git-core/$c"; done
mkdir -p "$tools/lib/x86_64-linux-gnu" && ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$tools/lib64/ld-linux-x86-64.so.2" 2>/dev/null
cp -L /lib64/ld-linux-x86-64.so.2 "$tools/lib/x86_64-linux-gnu/" 2>/dev/null
(cd "$tools" && find . | cpio -o -H newc --quiet | gzip -1) > "$T/tools.cpio.gz"
cat "$BUILD/appliances/tiny/initrd.img" "$T/tools.cpio.gz" > "$T/initrd.img"

for engine in $engines; do
suite=share; [ "$engine" = emu ] || suite=share@$engine
mkdir -p "$T/$engine"
python3 - "$H" "$T/$engine/home" "$engine" "$T/$engine" "$T" "$suite" <<'PY'
import hashlib, os, re, stat, subprocess, sys, time

H, HOME, ENGINE, T, TT, SUITE = sys.argv[1:7]
sys.path.insert(0, os.path.join(os.getcwd(), "tests/lib"))
from machines import Library, wait_for
lib = Library(H, HOME, SUITE)
report = lib.report
def hostel(*args, timeout=120):
    return lib.hostel(*args, timeout=timeout)
def log():
    return lib.log("sh")

S = os.path.join(T, "src")            # the share
RO = os.path.join(T, "ro")            # a read-only share
OUT = os.path.join(T, "outside")      # beside the share: must stay as it is
for d in (S, RO, OUT):
    os.makedirs(d)
open(os.path.join(OUT, "secret"), "w").write("secret\n")
os.chmod(os.path.join(OUT, "secret"), 0o600)
open(os.path.join(RO, "keep"), "w").write("keep\n")
os.symlink("../outside", os.path.join(S, "hostlink"))         # a host-made way out
os.symlink(OUT, os.path.join(S, "abslink"))
os.link(os.path.join(OUT, "secret"), os.path.join(T, "secret-link"))  # outside the share
TOOLS = os.path.join(TT, "tools/usr/bin")

def tree(root, skip):
    """Every path under root except skip: type, mode, size, mtime, contents."""
    out = {}
    for dp, dns, fns in os.walk(root):
        dns[:] = [d for d in dns if os.path.join(dp, d) != skip and d != "home"]
        for n in dns + fns:
            p = os.path.join(dp, n)
            st = os.lstat(p)
            h = ""
            if stat.S_ISREG(st.st_mode):
                h = hashlib.sha1(open(p, "rb").read()).hexdigest()
            out[p] = (stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_size, st.st_mtime_ns, h)
    return out
before = tree(T, S)

rc, out = hostel("create", "sh", "--appliance", "tiny", "--engine", ENGINE, "--memory", "384M",
                 "--initrd", os.path.join(TT, "initrd.img"), "--share", S + ":src",
                 "--share", RO + ":ro,ro", "--net", "none")
if rc:
    report("create", False, out); sys.exit(0)
# --share errors, the same from run, create and set.
errs = {}
for verb in ("run", "create", "set"):
    args = {"run": ["run", "--kernel", "/nonexistent"], "create": ["create", "bad", "--appliance", "tiny"],
            "set": ["set", "sh"]}[verb]
    outs = []
    for bad in ("/nonexistent-dir:t", S + ":bad/tag", S + ":" + "x" * 37, S + ":t,rw2", S):
        rc, out = hostel(*args, "--share", bad)
        m = re.search(r"--share[^\n]*", out)
        # The same text, less the pointer to each verb's own help.
        outs.append((rc != 0, re.sub(r" \(see 'hostel \w+ --help'\)", "", m.group(0)) if m else out.strip()[-120:]))
    errs[verb] = outs
report("flag-errors-same", errs["run"] == errs["create"] == errs["set"] and all(r for r, _ in errs["run"]),
       "\n".join("%s: %r" % (v, errs[v]) for v in errs))
import json
def spec_shares():
    rc, out = hostel("info", "sh", "--json")
    try:
        return json.loads(out)["spec"].get("shares", [])
    except Exception:
        return "?" + out[-300:]
sh = spec_shares()
report("spec-keeps-shares", isinstance(sh, list) and [(x["tag"], x.get("readonly", False)) for x in sh] ==
       [("src", False), ("ro", True)] and sh[0]["dir"] == S, sh)
rc, out = hostel("start", "sh")
if rc or not wait_for(lambda: "tiny: ready" in log(), 300):
    report("boot", False, out + log()[-800:]); sys.exit(0)
report("mounted-by-tag", "share src mounted on /mnt/src" in log() and "share ro mounted on /mnt/ro" in log(),
       log()[-600:])
# As root the VMM serves its shares from inside its jail (docs/security.md):
# the jail user, nothing effective, no new privileges; every check below
# then runs jailed.
if os.geteuid() == 0:
    rc, out = hostel("info", "sh", "--json")
    try:
        info = json.loads(out)
        status = open("/proc/%d/status" % info["pid"]).read()
        jail = info.get("isolation", {}).get("jail", "")
    except Exception as ex:
        status, jail = "?" + str(ex), ""
    report("jailed", "\nUid:\t64434\t64434\t64434\t64434\n" in status and "\nCapEff:\t0000000000000000\n" in status
           and "\nNoNewPrivs:\t1\n" in status and jail.startswith("on (uid 64434"),
           "%r; %s" % (jail, " ".join(l for l in status.splitlines() if l.startswith(("Uid", "Cap", "NoNew")))))

n = [0]
def run(cmd, timeout=120):
    """Runs cmd in the guest; returns (status, output)."""
    n[0] += 1
    k = "R%d" % n[0]
    mark = len(log())
    lib.type_lines("sh", "( %s ) > /tmp/o.%s 2>&1; echo \"%s\"\"-$?-\"$(base64 -w0 < /tmp/o.%s)\"-END\"" % (cmd, k, k, k))
    m = wait_for(lambda: re.search(r"^%s-(\d+)-([A-Za-z0-9+/=]*)-END" % k, log()[mark:], re.M), timeout)
    if not m:
        return None, log()[-400:]
    import base64
    return int(m.group(1)), base64.b64decode(m.group(2)).decode(errors="replace")

def host(p):
    return os.path.join(S, p)
def read(p):
    try:
        return open(host(p)).read()
    except OSError as e:
        return "<%s>" % e

# Guest to host: create, write, rename, delete, read.
rc, out = run("echo one > /mnt/src/a; mkdir /mnt/src/dir; echo two > /mnt/src/dir/b; mv /mnt/src/a /mnt/src/dir/a2; "
              "echo three >> /mnt/src/dir/a2; rm /mnt/src/dir/b; cat /mnt/src/dir/a2")
report("guest-writes-host-sees", rc == 0 and read("dir/a2") == "one\nthree\n" and not os.path.exists(host("dir/b"))
       and not os.path.exists(host("a")) and out == "one\nthree\n", "%s %r %r" % (rc, out, read("dir/a2")))
# Host to guest.
open(host("fromhost"), "w").write("hello from the host\n")
os.rename(host("dir/a2"), host("dir/renamed"))
time.sleep(1.2)    # names and attributes are cached for a second (docs/shares.md)
rc, out = run("cat /mnt/src/fromhost; ls /mnt/src/dir; test -e /mnt/src/dir/a2 && echo still; true")
report("host-writes-guest-sees", rc == 0 and out == "hello from the host\nrenamed\n", "%s %r" % (rc, out))
os.unlink(host("fromhost"))
open(host("dir/renamed"), "a").write("four\n")
time.sleep(1.2)
rc, out = run("test -e /mnt/src/fromhost || echo gone; cat /mnt/src/dir/renamed")
report("host-deletes-appends-guest-sees", out == "gone\none\nthree\nfour\n", "%s %r" % (rc, out))
# Bigger data both ways.
data = os.urandom(3 << 20)
open(host("blob"), "wb").write(data)
rc, out = run("md5sum < /mnt/src/blob; dd if=/dev/urandom of=/mnt/src/gblob bs=64k count=100 2>/dev/null; md5sum < /mnt/src/gblob")
sums = out.split()
report("data-both-ways", rc == 0 and len(sums) >= 4 and sums[0] == hashlib.md5(data).hexdigest()
       and sums[2] == hashlib.md5(open(host("gblob"), "rb").read()).hexdigest()
       and os.path.getsize(host("gblob")) == 6553600, out)

# Modes and mtimes, both ways.
rc, out = run("echo x > /mnt/src/m; chmod 0751 /mnt/src/m; touch -d '2001-02-03 04:05:06' /mnt/src/m; "
              "mkdir /mnt/src/md; chmod 2750 /mnt/src/md; stat -c '%a %Y %u' /mnt/src/m /mnt/src/md")
st, sd = os.stat(host("m")), os.stat(host("md"))
report("guest-modes-mtimes-on-host", rc == 0 and stat.S_IMODE(st.st_mode) == 0o751 and int(st.st_mtime) == 981173106
       and stat.S_IMODE(sd.st_mode) == 0o2750 and st.st_uid == os.geteuid(), "%s %r %o %d" % (rc, out, st.st_mode, st.st_mtime))
open(host("hm"), "w").write("y\n")
os.chmod(host("hm"), 0o640)
os.utime(host("hm"), (1500000000, 1600000000))
time.sleep(1.2)
rc, out = run("stat -c '%a %Y %s' /mnt/src/hm")
report("host-modes-mtimes-in-guest", out.strip() == "640 1600000000 2", "%s %r" % (rc, out))
rc, out = run("echo x > /mnt/src/suid; chmod 4755 /mnt/src/suid; stat -c %a /mnt/src/suid")
report("no-setuid-on-host", stat.S_IMODE(os.stat(host("suid")).st_mode) == 0o755, "%o %r" % (os.stat(host("suid")).st_mode, out))

# Editors' atomic save: write a temporary file, rename it over.
open(host("doc.txt"), "w").write("old\n")
rc, out = run("echo new > /mnt/src/.doc.txt.swp && mv /mnt/src/.doc.txt.swp /mnt/src/doc.txt && cat /mnt/src/doc.txt")
report("rename-over", rc == 0 and read("doc.txt") == "new\n" and not os.path.exists(host(".doc.txt.swp")), "%s %r" % (rc, out))

# git: a small repo made here, cloned inside the share by the guest.
have_git = "git" in os.listdir(TOOLS)
if have_git:
    repo = host("repo")
    g = lambda *a, cwd=repo: subprocess.run(["git", *a], cwd=cwd, capture_output=True, text=True)
    os.makedirs(repo)
    g("init", "-q", "-b", "main")
    for i in range(5):
        open(os.path.join(repo, "f%d.txt" % i), "w").write("file %d\n" % i * (i + 1))
    os.makedirs(os.path.join(repo, "sub"))
    open(os.path.join(repo, "sub/run.sh"), "w").write("#!/bin/sh\necho hi\n")
    os.chmod(os.path.join(repo, "sub/run.sh"), 0o755)
    g("add", "-A")
    g("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    head = g("rev-parse", "HEAD").stdout.strip()
    rc, out = run("cd /mnt/src && HOME=/root GIT_EXEC_PATH=/usr/lib/git-core git clone -q repo clone && "
                  "cd clone && git rev-parse HEAD && git status --porcelain && test -x sub/run.sh && echo exec-ok", 300)
    st = g("status", "--porcelain", cwd=host("clone"))
    report("git-clone-in-guest", rc == 0 and head in out and "exec-ok" in out, "%s %r" % (rc, out))
    report("git-status-clean-on-host", st.returncode == 0 and st.stdout == "" and
           g("rev-parse", "HEAD", cwd=host("clone")).stdout.strip() == head,
           "%d %r %r" % (st.returncode, st.stdout, st.stderr))
    fs = g("fsck", "--no-progress", cwd=host("clone"))
    report("git-fsck-on-host", fs.returncode == 0, fs.stdout + fs.stderr)
else:
    print("SKIP: %s/git (git is not installed on the host)" % SUITE)

# make: rebuilds after the host touches a source.
if "make" in os.listdir(TOOLS):
    os.makedirs(host("mk"))
    open(host("mk/in.txt"), "w").write("v1\n")
    open(host("mk/Makefile"), "w").write("out.txt: in.txt\n\tcp in.txt out.txt\n")
    rc1, out1 = run("cd /mnt/src/mk && make && make")
    time.sleep(1.1)
    open(host("mk/in.txt"), "w").write("v2\n")
    time.sleep(1.2)
    rc2, out2 = run("cd /mnt/src/mk && make && cat out.txt")
    report("make", rc1 == 0 and "up to date" in out1 and rc2 == 0 and out2.strip().endswith("v2") and
           read("mk/out.txt") == "v2\n", "%r %r" % (out1, out2))
if "rsync" in os.listdir(TOOLS):
    rc, out = run("mkdir -p /tmp/rs/d && echo r > /tmp/rs/d/f && chmod 0604 /tmp/rs/d/f && "
                  "touch -d '2010-01-01 00:00:00' /tmp/rs/d/f && rsync -a /tmp/rs/ /mnt/src/rs/ && "
                  "rsync -a /tmp/rs/ /mnt/src/rs/ && echo rsync-ok")
    st = os.stat(host("rs/d/f")) if os.path.exists(host("rs/d/f")) else None
    report("rsync", rc == 0 and st is not None and stat.S_IMODE(st.st_mode) == 0o604 and
           int(st.st_mtime) == 1262304000, "%s %r" % (rc, out))

# Read-only share.
rc, out = run("echo x > /mnt/ro/new; echo x >> /mnt/ro/keep; rm /mnt/ro/keep; mkdir /mnt/ro/d; "
              "touch /mnt/ro/keep; chmod 777 /mnt/ro/keep; mv /mnt/ro/keep /mnt/ro/k2; cat /mnt/ro/keep")
refusals = out.count("Read-only file system")
report("readonly-erofs", refusals >= 6 and out.rstrip().endswith("keep") and
       sorted(os.listdir(RO)) == ["keep"] and open(os.path.join(RO, "keep")).read() == "keep\n" and
       stat.S_IMODE(os.stat(os.path.join(RO, "keep")).st_mode) == 0o644, "%d refusals: %r" % (refusals, out))

# Escapes from inside the guest.  Each leaves a mark named "escape-*"
# wherever it got to; none may reach the host outside the share.
rc, out = run("cd /mnt/src; cat ../../outside/secret; cat /mnt/src/../outside/secret; cat hostlink/secret; "
              "cat abslink/secret; echo escape > hostlink/escape-rel; echo escape > abslink/escape-abs; "
              "ln -s / rootlink; echo escape > rootlink/escape-root; cat rootlink" + OUT + "/secret; "
              "ln -s /../../../.. dots; echo escape > dots/escape-dots; "
              "ln /etc/passwd /mnt/src/pw; ln hostlink/secret hl; ln " + os.path.join(T, "secret-link") + " hl2; "
              "mknod /mnt/src/null c 1 3; mknod /mnt/src/sda b 8 0; echo done")
report("escape-walks-fail", "secret" not in out.splitlines()
       and out.rstrip().endswith("done") and not os.path.exists(host("null")) and not os.path.exists(host("sda"))
       and not os.path.exists(host("pw")) and not os.path.exists(host("hl")), out)
# A symlink swapped for a directory while the guest walks through it.
rc, out = run("cd /mnt/src && mkdir -p sw && echo in > sw/f && i=0; "
              "( while [ $i -lt 150 ]; do mv sw sw.x; ln -s / sw; rm sw; mv sw.x sw; i=$((i+1)); done ) & "
              "j=0; while [ $j -lt 150 ]; do cat sw/f >/dev/null 2>&1; echo e > sw/escape-swap 2>/dev/null; "
              "cat sw/etc/hostname >/dev/null 2>&1; j=$((j+1)); done; wait; echo swapped", 600)
report("escape-swap-fails", out.strip().endswith("swapped"), out)
# The host around the share, and the usual places, are as they were.
after = tree(T, S)
changed = [p for p in set(before) | set(after) if before.get(p) != after.get(p)]
marks = [os.path.join(d, f) for d in ("/", "/tmp", T, TT, OUT, "/etc") if os.path.isdir(d)
         for f in os.listdir(d) if f.startswith("escape-")]
report("host-outside-untouched", not changed and not marks, "changed %s, marks %s" % (changed[:5], marks))
# Marks the guest made inside the share stay inside it.
inside = [os.path.join(dp, f) for dp, _, fs in os.walk(S) for f in fs if f.startswith("escape-")]
report("marks-stay-inside", all(p.startswith(S + "/") for p in inside), inside)

# A running machine with shares refuses snapshots, and runs on.
rc, out = hostel("snapshot", "sh", "s1")
rc2, out2 = run("echo alive")
report("snapshot-refused", rc != 0 and "shared folder" in out and out2 == "alive\n", out + repr(out2))

# set: the new share applies at the next start; none drops them.
os.makedirs(os.path.join(T, "later"))
rc, out = hostel("set", "sh", "--share", os.path.join(T, "later") + ":later")
sh = spec_shares()
report("set-adds-share", rc == 0 and isinstance(sh, list) and [x["tag"] for x in sh] == ["src", "ro", "later"], out + repr(sh))
rc, out = hostel("stop", "sh", "--timeout", "120")
report("stop", rc == 0, out)
rc, out = hostel("set", "sh", "--share", "none")
sh = spec_shares()
report("set-share-none", rc == 0 and sh == [], out + repr(sh))
PY
done
