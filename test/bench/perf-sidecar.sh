#!/bin/bash
# Diagnosis only (issue 10: the sidecar's read figures split by process; the cause it found was dictionary-mode
# responses, now settled at start by sidecar/response-shape.ts). Runs `bench:sidecar` once with the sidecar and the
# floor under --perf-basic-prof and records `perf record -g` of those two processes for 20 s of the load phases, so
# the two can be compared symbol by symbol: each process's samples over its own kernel samples (the same syscalls
# per read in both) show what the sidecar spends that the floor does not.
# Needs `perf` (cpu-clock works without hardware counters) and a built tree (npm run build).
# Usage: bash test/bench/perf-sidecar.sh <out-prefix>   (writes <out-prefix>.data, .out, .map, .fmap)
set -euo pipefail
out=${1:-/tmp/perf-sidecar}
node dist/test/bench/sidecar.bench.js --starts=1 --idle=2 --settle=12 --subject-node-args=--perf-basic-prof \
  --floor-node-args=--perf-basic-prof >"$out.out" 2>&1 &
bench=$!
# the bench starts one start-to-ready sample, then the sidecar it loads, then the floors
sleep 9
pid=$(pgrep -f -n "perf-basic-prof.*vault-irsa-sidecar")
fpid=$(pgrep -f -n "perf-basic-prof.*floor")
# past the 12 s settle and the idle CPU sample: the warm-up and the alternating phases
sleep 11
perf record -F 999 -g -p "$pid,$fpid" -o "$out.data" -- sleep 20 >/dev/null 2>&1
wait "$bench"
cp "/tmp/perf-$pid.map" "$out.map"
cp "/tmp/perf-$fpid.map" "$out.fmap"
echo "sidecar pid $pid, floor pid $fpid; $(grep -E 'reads/s|CPU us per read' "$out.out" | tr -s ' ')"
echo "to read: cp $out.map /tmp/perf-$pid.map && cp $out.fmap /tmp/perf-$fpid.map &&" \
  "perf report -i $out.data --no-children --sort pid,dso,sym"
