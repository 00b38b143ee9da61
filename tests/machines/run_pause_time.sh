#!/usr/bin/env bash
# Pausing a named machine freezes its guest time: across a ~3 s pause, the
# idle guest's own clocks (ACPI PM timer and TSC, printed on its tick lines)
# must advance by the time it ran, not by the pause.  Uses the idle guest on
# the first engine that runs; the TSC is checked on emu only (under kvm it
# follows host time, see docs/irq.md).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
H="$(pwd)/$BUILD/hostel"
K="$(pwd)/$BUILD/guests/idle.elf"
export HOSTEL_HOME=$(mktemp -d /tmp/hostel-pt-XXXXXX)
trap '"$H" rm --force clock >/dev/null 2>&1; rm -rf "$HOSTEL_HOME"' EXIT

tests="pause-time-stands-still pause-time-pm-no-jump pause-time-tsc-no-jump pause-time-runs-after"
. tests/lib/engines.sh
if ! engine=$(test_engine); then
  echo "FAIL: machines/pause-time-engine (hostel engines found no engine that can run here: $(engine_why))"; exit 0
fi

if ! out=$("$H" create clock --kernel "$K" --engine "$engine" --memory 32M 2>&1) ||
   ! out=$("$H" start clock 2>&1); then
  for t in $tests; do echo "FAIL: machines/$t (could not start the machine: $out)"; done
  exit 0
fi

python3 - "$H" "$HOSTEL_HOME/machines/clock/console.log" "$engine" <<'PY'
import re, subprocess, sys, time

H, LOG, ENGINE = sys.argv[1:4]
PM_HZ = 3579545
PAUSE_S = 3.0
TICK = re.compile(r'^tick (\d+) pm=(\d+) tsc=(\d+)\r?\n', re.M)   # whole lines only
mono = time.monotonic

def ticks():
    try:
        with open(LOG, errors='replace') as f:
            data = f.read()
    except OSError:
        return []
    return [tuple(map(int, m.groups())) for m in TICK.finditer(data)]

def next_tick(after, timeout):
    """The first tick line numbered above `after`, and when we saw it: the
    guest prints one every 200 ms and we look every 10 ms, so that is within
    about 10 ms of when the guest read its clocks."""
    end = mono() + timeout
    while mono() < end:
        t = ticks()
        if t and t[-1][0] > after:
            return mono(), t[-1]
        time.sleep(0.01)
    return None, None

def give_up(why):
    for t in ('stands-still', 'pm-no-jump', 'tsc-no-jump', 'runs-after'):
        print(f'FAIL: machines/pause-time-{t} ({why})')
    sys.exit(0)

def hostel(*args):
    r = subprocess.run([H, *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        give_up(f'hostel {" ".join(args)}: {r.stderr.strip()}')

_, first = next_tick(0, 90)
if not first:
    give_up('no tick lines from the idle guest')
h0, l0 = next_tick(first[0], 30)          # the TSC's rate is measured from here ...
h1, l1 = next_tick(l0[0] + 4, 30) if l0 else (None, None)   # ... to here, just before the pause
if not l1:
    give_up('the guest stopped ticking before the pause')

tp0 = mono(); hostel('pause', 'clock'); tp1 = mono()
n_paused = ticks()[-1][0]
time.sleep(PAUSE_S)
n_still = ticks()[-1][0]
tr0 = mono(); hostel('resume', 'clock'); tr1 = mono()
h2, l2 = next_tick(l1[0] + 5, 30)         # about a second of guest time later
if not l2:
    print('PASS: machines/pause-time-stands-still' if n_still == n_paused else
          f'FAIL: machines/pause-time-stands-still (ticks {n_paused} -> {n_still} while paused)')
    give_up('no tick lines after the resume')

host = h2 - h1
frozen_min, frozen_max = tr0 - tp1, tr1 - tp0
guest_pm = (l2[1] - l1[1]) / PM_HZ
print(f'  engine {ENGINE}: host {host:.3f} s between the two lines, paused {frozen_min:.3f}-'
      f'{frozen_max:.3f} s, guest PM timer {guest_pm:.3f} s')

if n_still == n_paused:
    print('PASS: machines/pause-time-stands-still')
else:
    print(f'FAIL: machines/pause-time-stands-still (ticks {n_paused} -> {n_still} while paused)')

# Without the freeze the guest sees the whole host interval, pause included.
# Slack: 10 ms polling, console latency, the guest running late on a busy host.
if guest_pm <= host - frozen_min + 0.5:
    print('PASS: machines/pause-time-pm-no-jump')
else:
    print(f'FAIL: machines/pause-time-pm-no-jump (the PM timer advanced {guest_pm:.3f} s over '
          f'{host:.3f} s of which at least {frozen_min:.3f} s paused)')

if guest_pm >= host - frozen_max - 1.0 and guest_pm > 0.5:
    print('PASS: machines/pause-time-runs-after')
else:
    print(f'FAIL: machines/pause-time-runs-after (the PM timer advanced {guest_pm:.3f} s over '
          f'{host:.3f} s of which at most {frozen_max:.3f} s paused)')

if ENGINE != 'emu':
    print(f'SKIP: machines/pause-time-tsc-no-jump (under {ENGINE} the TSC follows host time)')
else:
    rate = (l1[2] - l0[2]) / ((l1[1] - l0[1]) / PM_HZ)      # TSC ticks per guest second
    guest_tsc = (l2[2] - l1[2]) / rate
    # No jump, and in step with the PM timer.
    if guest_tsc <= host - frozen_min + 0.5 and abs(guest_tsc - guest_pm) <= 0.1 + 0.02 * guest_pm:
        print('PASS: machines/pause-time-tsc-no-jump')
    else:
        print(f'FAIL: machines/pause-time-tsc-no-jump (the TSC advanced {guest_tsc:.3f} s, '
              f'the PM timer {guest_pm:.3f} s, over {host:.3f} s of which at least '
              f'{frozen_min:.3f} s paused)')
PY
exit 0
