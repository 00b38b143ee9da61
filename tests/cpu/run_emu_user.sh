#!/usr/bin/env bash
# Runs programs on emu through hostel-emu-user (tests/cpu/user_libc, Debian's
# static busybox, and dynamically linked Debian programs: coreutils, perl,
# python3) and compares every output byte with the same programs run natively.
set -u
BUILD=${BUILD:-build}
EMU="$BUILD/hostel-emu-user"
BB=${BUSYBOX:-/bin/busybox}
UL="$BUILD/tests/cpu/user_libc"
UC="$BUILD/tests/cpu/user_code"

# Workloads emu cannot run yet, by name, each with its reason: their guest
# #UD (an instruction emu lacks) is reported as SKIP.  A #UD in any other
# workload is a FAIL, and so is a listed workload that no longer raises one
# (remove it from the list then).  Empty: every workload runs.
declare -A known_gaps=(
  # [workload]="why emu cannot run it yet"
)

for f in "$EMU" "$UL" "${UL}_pie" "$UC"; do
  if [ ! -x "$f" ]; then
    echo "FAIL: emu_user ($f is missing: build it with make all)"; exit 1
  fi
done

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Why busybox workloads cannot run here (empty: they can).
no_bb=""
if [ ! -x "$BB" ]; then
  no_bb="no static busybox at $BB: install busybox-static"
elif ! "$EMU" "$BB" true 2>"$tmp/err" && grep -q 'dynamically linked' "$tmp/err"; then
  no_bb="$BB is dynamically linked: install busybox-static"
fi

# Small, deterministic inputs: the emulator is slow.
python3 - "$tmp" <<'PY'
import random, sys
random.seed(20261125)
d = sys.argv[1]
words = ["".join(random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(random.randint(1, 12))) for _ in range(3000)]
with open(d + "/text", "w") as f:
    for i in range(12000):
        f.write(" ".join(random.choice(words) for _ in range(random.randint(1, 8))) + " %d\n" % random.randint(-99999, 99999))
with open(d + "/bin", "wb") as f:
    f.write(bytes(random.getrandbits(8) for _ in range(150000)))
PY

# check NAME CMD: see emu_user_check.sh.
. "$(dirname "$0")/emu_user_check.sh"
export BB tmp EMU UL UC
check libc_static '$R $UL'
check libc_static_pie '$R ${UL}_pie'
# Code that arrives by read() over code emu translated (the host's write
# into guest RAM must be seen), by a store, and in a mapping made again.
check code_by_read '$R $UC'
check sha256sum   '$R $BB sha256sum $tmp/bin $tmp/text'
check md5sum      '$R $BB md5sum $tmp/bin'
check gzip        '$R $BB gzip -c $tmp/text'
check gzip_pipe   '$R $BB gzip -c $tmp/text | $R $BB gunzip'
check sort        '$R $BB sort $tmp/text'
check sort_n      '$R $BB sort -n -k 2 $tmp/text | $R $BB head -c 20000'
# Debian's busybox awk has no math functions (sqrt is an error): square roots by Newton's method.
check awk_sqrt    '$R $BB awk '"'"'BEGIN{for(i=1;i<=200;i++){x=i; for(k=0;k<30;k++) x=(x+i/x)/2; s+=x*1.5}; printf "%.6f %.17g\n", s, x}'"'"
check awk_float   '$R $BB awk '"'"'BEGIN{for(i=1;i<=300;i++) s+=i*1.5/7+1e-3*i*i; printf "%.6f %g %e\n", s, s/3, 1/s}'"'"
check awk_fields  '$R $BB awk '"'"'{n+=NF; t+=$NF} END{print n, t, NR}'"'"' $tmp/text'
check sed         '$R $BB sed -e s/a/X/g -e /q/d $tmp/text | $R $BB tail -n 50'
check wc          '$R $BB wc $tmp/text $tmp/bin'
check sha512_sha1 '$R $BB sha512sum $tmp/bin; $R $BB sha1sum $tmp/text'
check bzip2_pipe  '$R $BB bzip2 -c $tmp/text | $R $BB bunzip2 | $R $BB md5sum'
check base64_tr   '$R $BB base64 $tmp/bin | $R $BB tr a-m n-z | $R $BB cut -c 3-40 | $R $BB sort | $R $BB uniq -c | $R $BB tail -n 20'
mkdir -p "$tmp/tree/sub" && cp "$tmp/text" "$tmp/tree/" && head -c 5000 "$tmp/bin" > "$tmp/tree/sub/b"
check factor_dc   '$R $BB factor 1234567890123 999999999989 600851475143; $R $BB dc -e "2 100 ^ p 17 k 2 v p"'
check sha3_crc32  '$R $BB sha3sum $tmp/text; $R $BB crc32 $tmp/bin'
check find_tar    '$R $BB find $tmp/tree | $R $BB sort; $R $BB tar -cf - -C $tmp/tree . | $R $BB md5sum'
check od          '$R $BB od -A x -c -t x1 $tmp/bin | $R $BB head -n 300'
# Dynamically linked programs from Debian: hostel-emu-user loads their
# interpreter (ld.so) beside them, as Linux does, or runs ld.so itself as
# the program with theirs as its argument.
check dyn_coreutils '$R /usr/bin/sort $tmp/text | $R /usr/bin/sha256sum; $R /bin/gzip -9 -c $tmp/text | $R /usr/bin/md5sum'
check dyn_ldso      '$R /lib64/ld-linux-x86-64.so.2 /usr/bin/sha1sum $tmp/bin'
check dyn_perl      '$R /usr/bin/perl -e '"'"'my %h; $h{$_ % 97} += sqrt($_) for 1..20000; printf "%.10f %s\n", $h{5}, join(",", (sort { $a <=> $b } keys %h)[0..9]); print 2**70, " ", 7/3, "\n"'"'"
check dyn_python3   '$R /usr/bin/python3 -c '"'"'import hashlib, json, zlib, fractions; d = open("'"'"'$tmp/text'"'"'", "rb").read(); print(hashlib.sha256(d).hexdigest(), zlib.crc32(zlib.compress(d, 9)), sum(fractions.Fraction(1, k) for k in range(1, 60)), 3 ** 200 % 1000003, repr(sum(1 / k for k in range(1, 5000))), json.dumps([w.decode() for w in sorted(d.split()[:200])[:5]]))'"'"
# OpenSSL's own assembly (perlasm: AES-NI, VAES/AVX2, SHA, ChaCha20 and
# Poly1305 in SSE/AVX2 forms, bignum with MULX/ADX), as CPUID offers it and
# with AES-NI/PCLMULQDQ or AVX/AVX2 masked (OPENSSL_ia32cap), so that its
# other code paths run too; keys made natively, signatures compared (RSA
# PKCS#1 and Ed25519 are deterministic; ECDSA is verified both ways).
K=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
IV=0f0e0d0c0b0a09080706050403020100
if command -v openssl >/dev/null; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.pem" 2>/dev/null
  openssl genpkey -algorithm ED25519 -out "$tmp/ed.pem" 2>/dev/null
  openssl genpkey -algorithm X25519 -out "$tmp/x1.pem" 2>/dev/null
  openssl genpkey -algorithm X25519 2>/dev/null | openssl pkey -pubout -out "$tmp/x2.pub" 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.pem" 2>/dev/null
  openssl pkey -in "$tmp/ec.pem" -pubout -out "$tmp/ec.pub" 2>/dev/null
  openssl dgst -sha256 -sign "$tmp/ec.pem" -out "$tmp/ec.sig" "$tmp/text" 2>/dev/null
fi
export K IV
ossl_sym='for d in sha1 sha256 sha512 sha3-256 blake2b512 sm3; do $R /usr/bin/openssl dgst -$d $tmp/bin; done
for c in aes-128-cbc aes-256-ctr aes-128-ofb chacha20 camellia-256-cbc aria-128-cbc; do
  $R /usr/bin/openssl enc -$c -K $K -iv $IV -in $tmp/bin 2>/dev/null | /usr/bin/md5sum; done
$R /usr/bin/openssl mac -in $tmp/bin -macopt cipher:AES-256-GCM -macopt hexkey:$K -macopt hexiv:000102030405060708090a0b GMAC
$R /usr/bin/openssl mac -in $tmp/bin -macopt hexkey:$K Poly1305
$R /usr/bin/openssl mac -in $tmp/bin -macopt digest:SHA512 -macopt hexkey:$K HMAC'
check dyn_openssl        "$ossl_sym"
check dyn_openssl_noaes  "export OPENSSL_ia32cap='~0x200000200000000'; $ossl_sym"
check dyn_openssl_noavx  "export OPENSSL_ia32cap='~0x1000000000000000:~0x20'; $ossl_sym"
check dyn_openssl_pubkey '$R /usr/bin/openssl dgst -sha256 -sign $tmp/rsa.pem $tmp/text | /usr/bin/md5sum
$R /usr/bin/openssl pkeyutl -sign -inkey $tmp/ed.pem -rawin -in $tmp/text | /usr/bin/md5sum
$R /usr/bin/openssl pkeyutl -derive -inkey $tmp/x1.pem -peerkey $tmp/x2.pub | /usr/bin/md5sum
$R /usr/bin/openssl dgst -sha256 -verify $tmp/ec.pub -signature $tmp/ec.sig $tmp/text
$R /usr/bin/openssl dgst -sha256 -sign $tmp/ec.pem -out $tmp/ec2.sig.$$ $tmp/text && /usr/bin/openssl dgst -sha256 -verify $tmp/ec.pub -signature $tmp/ec2.sig.$$ $tmp/text'
# Compressors with big tables: xz -9e asks for 674 MiB (hostel-emu-user's
# RAM is 4 GiB, touched only where used); zstd without its worker threads
# (one thread here).
check dyn_xz_zstd_bzip2  '$R /usr/bin/xz -9e -c $tmp/text | /usr/bin/md5sum; /usr/bin/xz -c $tmp/bin | $R /usr/bin/xz -dc | /usr/bin/md5sum
$R /usr/bin/zstd --single-thread --no-asyncio -q -19 -c $tmp/text | /usr/bin/md5sum; /usr/bin/zstd -q -c $tmp/bin | $R /usr/bin/zstd --no-asyncio -q -dc | /usr/bin/md5sum
$R /usr/bin/bzip2 -9 -c $tmp/bin | /usr/bin/md5sum'
