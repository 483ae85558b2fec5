"""Other forms of a trained model: fp16 and int8 weights, and the ONNX step graph.

Each stored form is a model directory like the original (config.json + model.safetensors, no pickle),
with `weights_form` in the config. The game's loader reads any of them back as fp32 arrays, so a stored
form changes size and accuracy, not speed: the numpy decoder (brain/fastpath.py) computes in fp32,
where torch's int8 kernels do not apply. The onnx form is the fp32 directory plus model.onnx
(brain/onnxexport.py), which changes speed, not weights. `rpg-brain export` measures every form on the
game's own path: one turn at a time through ModelResolver, the decoder each form loads.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from brain.bench import batch1_latency
from brain.checkpoint import (
    CONFIG,
    STORED_FORMS,
    WEIGHTS,
    load_model,
    load_weights,
    quantize_rows,
    save_tensors,
    sha256_file,
    write_json,
)
from brain.engine import ModelResolver
from brain.onnxform import ONNX_FILE
from brain.suites import held_out
from brain.suites.score import evaluate
from game.combat.ruleset import Ruleset

FORMS = (*STORED_FORMS, "onnx")


def write_form(model_dir: Path, out: Path, form: str, rules: Ruleset) -> Path:
    if form not in STORED_FORMS:
        raise ValueError(f"unknown stored form {form!r}; expected one of {', '.join(STORED_FORMS)}")
    _, _, config, arrays = load_weights(model_dir, rules.ruleset_id)
    out.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, np.ndarray] = {}
    for name, w in arrays.items():
        if form == "fp16":
            tensors[name] = w.astype(np.float16)
        elif form == "int8" and w.ndim == 2:
            tensors[name + ".q8"], tensors[name + ".scale"] = quantize_rows(w)
        else:
            tensors[name] = w.astype(np.float32)
    save_tensors(out / WEIGHTS, tensors, metadata={"weights_form": form, "ruleset_id": rules.ruleset_id})
    write_json(out / CONFIG, {**config, "weights_form": form, "weights_sha256": sha256_file(out / WEIGHTS)})
    return out


def differing(a: ModelResolver, b: ModelResolver, cases: list) -> list[int]:
    """Indices of the cases two resolvers answer differently, one turn at a time on the game's path (the answer's
    text and its error; latency and decode notes always differ)."""
    return [i for i, c in enumerate(cases) if (x := a.resolve_one(c)).raw != (y := b.resolve_one(c)).raw
            or x.error != y.error]


def export_forms(model_dir: Path, out: Path, rules: Ruleset, n: int = 1000, latency_n: int = 100) -> list[dict]:
    """Write every form under `out/<form>` and measure each: size, accuracy and latency, one turn at a time.

    The onnx form needs `onnx`, `onnxscript` and `onnxruntime` (`pip install -e '.[onnx]'`); without them
    its row says why it is missing instead of failing the other forms.
    """
    import torch

    from brain.onnxexport import write_onnx

    torch.set_num_threads(1)
    rows = []
    for form in FORMS:
        where = out / form
        if form in ("fp32", "onnx"):
            shutil.rmtree(where, ignore_errors=True)
            shutil.copytree(model_dir, where, ignore=shutil.ignore_patterns(ONNX_FILE, "optim.*"))
        else:
            write_form(model_dir, where, form, rules)
        if form == "onnx":
            try:
                model, _, config = load_model(where, rules.ruleset_id)
                write_onnx(model, config["weights_sha256"], where / ONNX_FILE)
            except ImportError as exc:
                rows.append({"form": form, "missing": f"{exc} (pip install -e '.[onnx]')"})
                continue
        resolver = ModelResolver.load(where, rules)  # every stored form, checked as the game loads it
        if form == "onnx" and resolver.engine.decoder != "onnx":
            rows.append({"form": form, "missing": resolver.decoder_note})
            continue
        mb = (where / (ONNX_FILE if form == "onnx" else WEIGHTS)).stat().st_size / 1e6
        acc = {s: evaluate(resolver, held_out(s, n, rules), rules, batch=1) for s in ("iid", "edge")}
        lat = batch1_latency(resolver, rules, latency_n)
        rows.append({"form": form, "decoder": resolver.engine.decoder, "weights_mb": mb,
                     "iid_exact": acc["iid"]["state_exact"], "edge_exact": acc["edge"]["state_exact"],
                     "parse_failures": acc["iid"]["parse_failures"] + acc["edge"]["parse_failures"],
                     "batch1_p50_ms": lat["p50"], "batch1_p95_ms": lat["p95"]})
    return rows


def forms_table(rows: list[dict]) -> str:
    lines = ["| form | decoder | file MB | iid exact (state) | edge exact (state) | parse fail | p50 ms | p95 ms |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "missing" in r:
            lines.append(f"| {r['form']} | not measured: {r['missing']} | | | | | | |")
            continue
        lines.append(f"| {r['form']} | {r.get('decoder', 'numpy')} | {r['weights_mb']:.3f} | {r['iid_exact']:.2%} "
                     f"| {r['edge_exact']:.2%} | {r['parse_failures']} | {r['batch1_p50_ms']:.2f} "
                     f"| {r['batch1_p95_ms']:.2f} |")
    return "\n".join(lines)


# ------------------------------------------------------------------ the `rpg-brain export` stage

def add_arguments(ex: argparse.ArgumentParser) -> None:
    ex.add_argument("--model", type=Path, default=None)
    ex.add_argument("--out", type=Path, default=Path("brain/runs/forms"))
    ex.add_argument("--report-dir", type=Path, default=Path("brain/reports"), help="where forms.json goes")
    ex.add_argument("--n", type=int, default=1000)


def run(args: argparse.Namespace) -> int:
    from brain.paths import shipped_model_dir
    from game.content import load_ruleset

    rows = export_forms(args.model or shipped_model_dir(), args.out, load_ruleset(args.content), n=args.n)
    table = forms_table(rows)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "forms.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(table)
    return 0
