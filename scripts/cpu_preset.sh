#!/usr/bin/env bash
# The CPU preset timed as one pipeline, data included (issue 12 §3): gen, then train --preset cpu.
# Usage: scripts/cpu_preset.sh [DATA_DIR] [RUN_DIR] [TRAIN_ARGS...]   (defaults brain/data/cpu, brain/runs/cpu;
#        TRAIN_ARGS go to `rpg-brain train --preset cpu`, e.g. --optimizer muon)
# Writes RUN_DIR/pipeline.json with the seconds of each stage. Run it on a quiet machine: the preset trains
# on two threads, and two OpenMP threads stall whenever another process holds a core (docs/brain.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-brain/data/cpu}
RUN=${2:-brain/runs/cpu}
shift $(( $# < 2 ? $# : 2 ))
N=${N:-1200000}
B=${BIN:-.venv/bin}
t0=$(date +%s)
"$B/rpg-brain" gen --out "$DATA" --n "$N" --workers 2 --quiet > "$DATA.gen.json"
t1=$(date +%s)
"$B/rpg-brain" train --preset cpu --data "$DATA" --out "$RUN" "$@" > "$RUN.json" 2> "$RUN.log"
t2=$(date +%s)
echo "{\"n\": $N, \"gen_s\": $((t1 - t0)), \"train_s\": $((t2 - t1)), \"total_s\": $((t2 - t0)), \"machine\": \"$(nproc) cores, $(uname -m)\"}" \
  | tee "$RUN/pipeline.json"
