#!/usr/bin/env bash
# One round of the play loop, measured: arena logs -> ingest -> fine-tune -> arena on fresh seeds.
# Writes brain/reports/loop.json (rendered by `rpg-brain report`). About 25 minutes on a 2-core CPU.
# Usage: bash scripts/close_the_loop.sh [BASE_MODEL_DIR] [WORK_DIR]
set -euo pipefail
base=${1:-brain/models/default}
work=${2:-brain/runs/loop}
train_runs=("1:6000" "11:24000")  # seed:player turns of the logs trained on
fresh_seed=2
mkdir -p "$work"
for run in "${train_runs[@]}"; do
  s=${run%%:*}
  rpg-brain arena --turns "${run##*:}" --seed "$s" --resolver model --model "$base" --save-dir "$work/play" --json \
    --quiet > "$work/arena_train_$s.json"
done
rpg-brain ingest "$work/play/playlogs" --out "$work/data" > "$work/ingest.json"
rpg-brain finetune --from "$base" --data "$work/data" --out "$work/tuned" --steps 400
for m in before after; do
  dir=$base; [ "$m" = after ] && dir=$work/tuned
  rpg-brain arena --turns 24000 --seed "$fresh_seed" --resolver model --model "$dir" --save-dir "$work/fresh-$m" \
    --json --quiet > "$work/arena_fresh_$m.json"
done
python3 - "$work" "$fresh_seed" "${train_runs[*]%%:*}" "$base" <<'PY'
import json, sys
from pathlib import Path
work, fresh, seeds, base = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
load = lambda name: json.loads((work / name).read_text())
base_sha = json.loads((Path(base) / "config.json").read_text())["weights_sha256"]
out = {"base": base, "base_weights_sha256": base_sha, "train_seeds": [int(s) for s in seeds], "fresh_seed": fresh,
       "arena_train": {s: load(f"arena_train_{s}.json") for s in seeds},
       "ingest": json.loads((work / "ingest.json").read_text()),
       "finetune": load("tuned/finetune.json")["finetune"], "compare": load("tuned/finetune.json")["compare"],
       "fresh_before": load("arena_fresh_before.json"), "fresh_after": load("arena_fresh_after.json")}
Path("brain/reports/loop.json").write_text(json.dumps(out, indent=1) + "\n")
print(json.dumps({k: out[k]["divergences_per_1000"] for k in ("fresh_before", "fresh_after")}))
PY
