#!/usr/bin/env bash
# One lent GPU, one call (issue 12 §3 and §4): the token shards, the GPU preset, and the size curve at
# convergence, all from the repository root with the machine's own python3 + torch (no install).
#
#   OUT=/some/dir scripts/gpu_session.sh      # on the GPU machine ($OUT comes back)
#   FORMAT_PATCH=my-format.patch OUT=/some/dir scripts/gpu_session.sh   # a format experiment (docs/brain.md, "Format 2")
#
# The GPU preset trains beside the sweep's sizes (one process each): these models leave one GPU mostly idle,
# so its wall time here is an upper bound on the preset alone. Every process is capped (DEADLINE_S) so the call
# ends inside its limit; a capped preset run keeps its last 1,000-step checkpoint and says so in gpu.log.
# Evaluation, the arena and shipping happen afterwards on the CPU (docs/brain.md, "One GPU session").
set -u
OUT=${OUT:-/tmp/gpu_session}
DATA=${DATA:-/tmp/rpg_data}
N=${N:-2800000}
GEN_ARGS=${GEN_ARGS:---boundary 0.1 --long 0.15 --narrow 0.3}  # the shipped model's mix from its phase 2 on (docs/brain.md)
SIZES=${SIZES:-1x32,2x32,3x32,4x32,1x64,2x64,3x64}
BUDGET_S=${BUDGET_S:-330}      # per sweep size, training
DEADLINE_S=${DEADLINE_S:-480}  # from the start of the training phase: everything still running is stopped
MAX_STEPS=${MAX_STEPS:-5000}   # the sweep's schedule: the GPU preset's length
GPU_ARGS=${GPU_ARGS:-}         # extra `train` flags (a CPU smoke run passes --steps 20)
SWEEP_ARGS=${SWEEP_ARGS:-}
FORMAT_PATCH=${FORMAT_PATCH:-}  # a format experiment instead of the tree's format; patches the tree: only on a throwaway copy
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
brain() { python3 -m brain.cli "$@"; }

{ date -u; nproc; nvidia-smi -L 2>&1; python3 -c "import sys, numpy, torch; print(sys.version.split()[0], numpy.__version__, \
torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA')"; } | tee "$OUT/machine.txt"
if [ -n "$FORMAT_PATCH" ]; then  # the device's copy of the tree is throwaway: patch it in place
  { echo "format patch: $FORMAT_PATCH"; patch -p1 --forward <"$FORMAT_PATCH"; } | tee -a "$OUT/machine.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || exit 1
  python3 -c "from game.combat.format import FORMAT_VERSION as v; print('format version', v)" | tee -a "$OUT/machine.txt"
fi

t=$(date +%s)
# shellcheck disable=SC2086
brain gen --out "$DATA" --n "$N" $GEN_ARGS --quiet >"$OUT/gen.json" 2>"$OUT/gen.log" || { cat "$OUT/gen.log"; exit 1; }
echo "gen: $(( $(date +%s) - t )) s"; cat "$OUT/gen.json"

t=$(date +%s)
[ -n "${SKIP_GPU:-}" ] && mkdir -p "$OUT/gpu" && touch "$OUT/gpu.json" "$OUT/gpu.log"  # a second call: sweep only
# shellcheck disable=SC2086
[ -z "${SKIP_GPU:-}" ] && timeout -s INT "$DEADLINE_S" python3 -m brain.cli train --preset gpu --data "$DATA" --out "$OUT/gpu" $GPU_ARGS \
  >"$OUT/gpu.json" 2>"$OUT/gpu.log" &
gpu=$!
jobs=$(awk -F, '{print NF}' <<<"$SIZES")
# shellcheck disable=SC2086
timeout -s INT "$DEADLINE_S" python3 -m brain.cli sweep --sizes "$SIZES" --data "$DATA" --preset gpu \
  --max-steps "$MAX_STEPS" --eval-every 250 --patience 4 --budget-s "$BUDGET_S" --jobs "$jobs" $SWEEP_ARGS \
  --out "$OUT/converge" >"$OUT/sweep.txt" 2>"$OUT/sweep.log"
echo "sweep: rc $? after $(( $(date +%s) - t )) s"
wait $gpu
echo "gpu preset: rc $? after $(( $(date +%s) - t )) s (124: stopped at the deadline)"
tail -3 "$OUT/gpu.log"; cat "$OUT/sweep.txt"; grep -v '^{' "$OUT/sweep.log" | tail -5
# the models and logs come back; optimizer state stays (nothing resumes these runs elsewhere)
tar czf "$OUT/runs.tgz" --exclude='optim*' -C "$OUT" gpu converge machine.txt gen.json gen.log gpu.log gpu.json \
  sweep.log sweep.txt && rm -rf "$OUT/gpu" "$OUT/converge"
ls -la "$OUT"
