#!/usr/bin/env bash
# Bundles the browser libraries `hostel web` serves into OUT (build/web):
# noVNC (Debian's novnc, an RFB client) and xterm.js (Debian's node-xterm),
# each into one script by Debian's esbuild, read from /usr/share at build
# time: nothing of theirs is kept in the repository.  Without them the page
# still lists and drives machines, and says what is missing.
# Usage: scripts/web-vendor.sh OUT
set -euo pipefail
out=${1:?usage: web-vendor.sh OUT}
mkdir -p "$out"
novnc=/usr/share/novnc/core/rfb.js
xterm=/usr/share/nodejs/xterm/lib/public/Terminal.js
if ! command -v esbuild >/dev/null || [ ! -f "$novnc" ] || [ ! -f "$xterm" ]; then
  echo "web-vendor: esbuild, novnc or node-xterm missing (scripts/deps.sh build installs them):" \
       "hostel web will show no screen or terminal" >&2
  exit 0
fi
esbuild "$novnc" --bundle --format=iife --global-name=NoVNC --log-level=warning \
  --outfile="$out/novnc.js"
esbuild "$xterm" --bundle --format=iife --global-name=XtermJs --log-level=warning \
  --outfile="$out/xterm.js"
cp /usr/share/nodejs/xterm/lib/xterm.css "$out/xterm.css"
