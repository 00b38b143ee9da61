#!/usr/bin/env bash
# Installs the Debian packages hostel needs to build and test, when missing.
# Usage: scripts/deps.sh [build|test|all]   (default: all)
set -euo pipefail
what=${1:-all}
# seabios and ipxe-qemu are what hostel runs, not what it builds with: the
# PC firmware (--firmware bios, and the VGA BIOS whose font --display draws
# text with) and the virtio-net option ROM for PXE.  libvncserver: --display vnc;
# libmicrohttpd, nettle (WebSocket handshake): hostel web; esbuild, novnc and
# node-xterm: the screen and terminal in its page (scripts/web-vendor.sh).
# chromium: the headless browser tests/display/web_browser.py drives.
# zstd, bzip2, openssl: programs tests/cpu/run_emu_user.sh runs on emu.
# clang and libclang-rt-14-dev (libFuzzer's runtime, only recommended by
# clang on bookworm): the fuzz targets (tests/fuzz/fuzz.mk).
build_pkgs=(build-essential pkg-config zlib1g-dev libzstd-dev libjansson-dev
            libslirp-dev libseccomp-dev libarchive-dev libyaml-dev libvncserver-dev
            libmicrohttpd-dev nettle-dev esbuild novnc node-xterm seabios ipxe-qemu)
test_pkgs=(busybox-static cpio gzip xz-utils zstd bzip2 openssl python3 qemu-utils bc acpica-tools openssh-client
           debootstrap e2fsprogs git rsync grub-pc-bin grub-common xorriso mtools fdisk isolinux
           pxelinux syslinux-common python3-cryptography chromium clang libclang-rt-14-dev)
# CPython's own regression tests (tests/cpu/run_emu_python.sh runs them on
# emu), for the python3 this Debian has: libpython3.11-testsuite on
# bookworm.  The version is the one Debian's python3 package depends on,
# so that it is right before python3 is installed too.
pyver=$(apt-cache depends python3 2>/dev/null | sed -n 's/^ *Depends: python3\.\([0-9]*\)$/3.\1/p' | head -n 1)
[ -n "$pyver" ] || pyver=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 3.11)
test_pkgs+=("libpython$pyver-testsuite")
case "$what" in
  build) pkgs=("${build_pkgs[@]}") ;;
  test)  pkgs=("${test_pkgs[@]}") ;;
  all)   pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "deps.sh: unknown set '$what' (build, test or all)" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "hostel: installing Debian packages: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
