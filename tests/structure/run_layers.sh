#!/usr/bin/env bash
# The layering of src/ (docs/architecture.md), checked over every #include
# line: each folder may include only the folders below it, devices never see
# the whole machine (machine/vm.h) or an engine, engines never see devices,
# and nothing that runs a machine includes management or the CLI.  Also: every
# source file opens with a comment that says what it is for.
set -u
cd "$(dirname "$0")/../.."
python3 - <<'PY'
import os, re, sys

# folder -> folders it may include (besides itself)
ALLOWED = {
    "lib":     set(),
    "block":   {"lib"},
    "net":     {"lib"},
    "host":    {"lib"},
    "share":   {"lib"},
    "engine":  {"machine", "lib"},
    "machine": {"engine", "lib"},
    "hw":      {"machine", "block", "net", "host", "share", "lib"},
    "boot":    {"machine", "engine", "lib"},
    "board":   {"machine", "hw", "engine", "boot", "block", "net", "host", "share", "lib"},
    "mgmt":    {"board", "machine", "engine", "boot", "block", "net", "host", "share", "lib"},
    "cli":     {"mgmt", "board", "machine", "engine", "boot", "hw", "block", "net", "host", "share", "lib"},
}
# Finer rules: (folder, included header) pairs that the folder rule allows
# but the design does not.
FORBIDDEN_FILES = {
    "hw": {"machine/vm.h"},                       # devices get small interfaces, not the machine
    "machine": {"engine/kvm_state.h"},            # only the engine interface
    "boot": {"machine/vm.h", "machine/bus.h"},    # loaders write guest RAM, nothing else
}
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

problems = {}
checked = 0
for root, _, files in os.walk("src"):
    for f in sorted(files):
        if not f.endswith((".c", ".h")):
            continue
        path = os.path.join(root, f)
        layer = path.split(os.sep)[1]
        if layer not in ALLOWED:
            problems.setdefault("known-folders", []).append(f"{path}: folder src/{layer} has no layer in the rule (add it to docs/architecture.md and this test)")
            continue
        checked += 1
        text = open(path, encoding="utf-8", errors="replace").read()
        if not text.lstrip().startswith(("/*", "//")):
            problems.setdefault("opening-comment", []).append(f"{path}: does not open with a comment saying what it is for")
        for n, line in enumerate(text.splitlines(), 1):
            m = INC.match(line)
            if not m:
                continue
            inc = m.group(1)
            if "/" not in inc:
                continue                         # a header next to the file
            target = inc.split("/")[0]
            if target == layer:
                continue
            if target not in ALLOWED:
                continue                         # not one of ours
            if target not in ALLOWED[layer]:
                problems.setdefault(f"{layer}-includes", []).append(f"{path}:{n}: includes {inc} (src/{layer} may include only {', '.join(sorted(ALLOWED[layer])) or 'lib'})")
            elif inc in FORBIDDEN_FILES.get(layer, ()):
                problems.setdefault(f"{layer}-includes", []).append(f"{path}:{n}: includes {inc} (not for src/{layer})")

rules = ["known-folders", "opening-comment"] + [f"{a}-includes" for a in ALLOWED]
if checked < 50:
    print(f"FAIL: layers/files (only {checked} source files found under src/: wrong folder?)")
for r in rules:
    if r in problems:
        print(f"FAIL: layers/{r} ({len(problems[r])}: " + "; ".join(problems[r][:5]) + ")")
    else:
        print(f"PASS: layers/{r}")
PY
