#!/usr/bin/env python3
"""A machine with a display saved on one engine and restored on another
(`hostel run --control S` ... save, `hostel run --restore`): the display
test guest's VBE picture comes back pixel for pixel and the guest goes on.

usage: xengine_check.py HOSTEL GUEST SRC_ENGINE DST_ENGINE"""
import json, os, re, shutil, socket, subprocess, sys, time, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfb  # noqa: E402
H, K = sys.argv[1], sys.argv[2]
tmp=tempfile.mkdtemp(); sock=tmp+"/c.sock"; state=tmp+"/st"
def control(req):
    s=socket.socket(socket.AF_UNIX); s.connect(sock); s.sendall((json.dumps(req)+"\n").encode())
    buf=b""
    while not buf.endswith(b"\n"):
        c=s.recv(4096)
        if not c: break
        buf+=c
    return json.loads(buf)
def start(*a):
    p=subprocess.Popen([H,"run",*a], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m=re.search(r"VNC on 127\.0\.0\.1:(\d+)", line)
        if m: return p,int(m.group(1))
src, dst = sys.argv[3], sys.argv[4]
name = "save-%s-to-%s" % (src, dst)
a,port=start("--engine",src,"--kernel",K,"--memory","64M","--control",sock,"--watchdog","0","--display","vnc=127.0.0.1:0")
for l in a.stdout:
    if "waiting" in l: break
c=rfb.Client("127.0.0.1",port); c.type_key(ord('q'))
for l in a.stdout:
    if "text ready" in l: break
c.type_key(ord('x'))
for l in a.stdout:
    if "vbe ready" in l: break
time.sleep(0.5); c.close()
r = control({"op":"save","path":state})
if not r.get("ok"):
    print("FAIL: display/%s (save: %s)" % (name, r)); a.kill(); sys.exit(0)
a.kill(); a.wait()
b,port=start("--engine",dst,"--restore",state,"--watchdog","0")
time.sleep(1)
c=rfb.Client("127.0.0.1",port)
ok=c.wait_for(lambda cl: cl.width==320 and all(cl.pixels[y*320+x]==((x&0xff)<<16|(y&0xff)<<8|((x^y)&0xff)) for y in range(200) for x in range(320)), 30)
c.type_key(ord('z'))
try:
    rc = b.wait(30)
except subprocess.TimeoutExpired:
    b.kill(); rc = "timeout"
print("PASS: display/%s" % name if ok and rc == 1 else
      "FAIL: display/%s (picture exact: %s at %dx%d; exit status %s)" % (name, ok, c.width, c.height, rc))
shutil.rmtree(tmp, ignore_errors=True)
