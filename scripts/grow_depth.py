"""Grow a trained model deeper without changing what it computes (experiment: does depth fix the regen cap?).

New blocks are interleaved after the old ones (old 0, new, old 1, new, ...) with their two residual projections
(`attn.proj`, `out`) at zero, so each new block adds nothing to the residual stream until training moves them:
the grown model's answers start identical to the old model's (checked below on one batch of blocks). Their
other weights start as a fresh model's would. Usage:
    python scripts/grow_depth.py OLD_MODEL_DIR NEW_DIR --layers 4
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch

from brain.checkpoint import load_model, save_model
from brain.model import GPT


def grow(old: GPT, layers: int, seed: int = 0) -> GPT:
    n = old.cfg.n_layer
    if layers < n or layers % n:
        raise SystemExit(f"--layers must be a multiple of the old depth {n}, got {layers}")
    torch.manual_seed(seed)
    new = GPT(replace(old.cfg, n_layer=layers))
    state, every = new.state_dict(), layers // n
    for name, t in old.state_dict().items():
        if not name.startswith("blocks."):
            state[name] = t.clone()
            continue
        _, i, rest = name.split(".", 2)
        state[f"blocks.{int(i) * every}.{rest}"] = t.clone()
    for j in range(layers):
        if j % every:
            state[f"blocks.{j}.attn.proj.weight"].zero_()
            state[f"blocks.{j}.out.weight"].zero_()
    new.load_state_dict(state)
    return new


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--layers", type=int, required=True)
    args = ap.parse_args()
    old, tok, config = load_model(args.old)
    new = grow(old.eval(), args.layers).eval()
    idx = torch.randint(4, len(tok), (4, 64))
    roles = torch.zeros(4, 64, 4, dtype=torch.long)  # any roles do: both models read the same ones
    roles[..., 2] = idx
    with torch.no_grad():
        same = torch.allclose(old(idx, roles), new(idx, roles), atol=1e-5)
    if not same:
        raise SystemExit("the grown model does not compute what the old one does")
    extra = {k: v for k, v in config.items() if k in ("envelope", "train")}
    save_model(args.new, new, tok, config["ruleset_id"], extra)
    print(json.dumps({"from": str(args.old), "to": str(args.new), "layers": [old.cfg.n_layer, args.layers],
                      "params": [old.num_params(), new.num_params()], "same_output": same}))


if __name__ == "__main__":
    main()
