#!/bin/bash
# Diagnosis only (issue 10: the sidecar's read figures split by process; the cause it found was dictionary-mode
# responses, now settled at start by sidecar/response-shape.ts). Runs `bench:sidecar` once with the
# sidecar under --perf-basic-prof and records `perf record -g` of that sidecar alone for 20 s of the load phases,
# so a slow run and a fast run can be compared (`perf report -i <out>.data --no-children --sort dso,sym`).
# Needs `perf` (cpu-clock works without hardware counters) and a built tree (npm run build).
# Usage: bash test/bench/perf-sidecar.sh <out-prefix>   (writes <out-prefix>.data, .out, .map)
set -euo pipefail
out=${1:-/tmp/perf-sidecar}
node dist/test/bench/sidecar.bench.js --starts=1 --idle=2 --settle=12 --subject-node-args=--perf-basic-prof >"$out.out" 2>&1 &
bench=$!
# the bench starts one start-to-ready sample, then the sidecar it loads: the newest process with the flag
sleep 9
pid=$(pgrep -f -n "perf-basic-prof")
# past the 12 s settle and the idle CPU sample: the warm-up and the alternating phases
sleep 11
perf record -F 999 -g -p "$pid" -o "$out.data" -- sleep 20 >/dev/null 2>&1
wait "$bench"
cp "/tmp/perf-$pid.map" "$out.map"
echo "sidecar pid $pid; $(grep -E 'reads/s|CPU us per read' "$out.out" | tr -s ' ')"
echo "to read: cp $out.map /tmp/perf-$pid.map && perf report -i $out.data --no-children --sort dso,sym"
