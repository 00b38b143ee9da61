#!/usr/bin/env bash
# Differential test of emu against the host CPU (tests/cpu/cpu_diff.c).
exec "${BUILD:-build}/tests/cpu/cpu_diff" "$@"
