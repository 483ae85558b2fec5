"""Other forms of a trained model: fp16 and int8 weights, and the ONNX step graph.

Each stored form is a model directory like the original (config.json + model.safetensors, no pickle),
with `weights_form` in the config. `load_form` reads any of them back into an fp32 model, so a stored
form changes size and accuracy, not speed: the numpy decoder (brain/fastpath.py) computes in fp32,
where torch's int8 kernels do not apply. The onnx form is the fp32 directory plus model.onnx
(brain/onnxform.py), which changes speed, not weights. `rpg-brain export` measures every form on the
game's own path: one turn at a time through ModelResolver, the decoder each form loads.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from pathlib import Path

import torch

from brain.bench import percentile
from brain.checkpoint import CONFIG, WEIGHTS, ModelLoadError, _load_state, load_model, sha256_file, write_json
from brain.engine import Engine, ModelResolver
from brain.evaluate import evaluate, held_out
from brain.model import GPT, GPTConfig
from brain.onnxform import ONNX_FILE, write_onnx
from brain.tensorfile import SafetensorsError, load_file, save_file
from brain.tokenizer import Tokenizer
from game.combat.ruleset import Ruleset

STORED_FORMS = ("fp32", "fp16", "int8")
FORMS = (*STORED_FORMS, "onnx")


def quantize_rows(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-row int8: w ~ q * scale. q is stored as uint8 (q + 128): the file format's byte type."""
    scale = (w.abs().amax(dim=1, keepdim=True) / 127).clamp(min=1e-12)
    q = torch.round(w / scale).clamp(-127, 127).to(torch.int16)
    return (q + 128).to(torch.uint8), scale.float()


def dequantize_rows(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return (q.to(torch.int16) - 128).float() * scale


def write_form(model_dir: Path, out: Path, form: str, rules: Ruleset) -> Path:
    if form not in STORED_FORMS:
        raise ValueError(f"unknown stored form {form!r}; expected one of {', '.join(STORED_FORMS)}")
    model, _, config = load_model(model_dir, rules.ruleset_id)
    out.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    for name, w in model.state_dict().items():
        if form == "fp16":
            tensors[name] = w.half()
        elif form == "int8" and w.dim() == 2:
            tensors[name + ".q8"], tensors[name + ".scale"] = quantize_rows(w)
        else:
            tensors[name] = w.float()
    save_file(tensors, out / WEIGHTS, metadata={"weights_form": form, "ruleset_id": rules.ruleset_id})
    write_json(out / CONFIG, {**config, "weights_form": form, "weights_sha256": sha256_file(out / WEIGHTS)})
    return out


def load_form(model_dir: Path, rules: Ruleset) -> ModelResolver:
    """Any stored form as a resolver (fp32 compute)."""
    model_dir = Path(model_dir)
    config = json.loads((model_dir / CONFIG).read_text())
    form = config.get("weights_form", "fp32")
    if form == "fp32":
        return ModelResolver.load(model_dir, rules)
    if config.get("ruleset_id") != rules.ruleset_id:
        raise ModelLoadError(f"{model_dir / CONFIG}: trained on ruleset {config.get('ruleset_id')}, "
                             f"the game's rules are {rules.ruleset_id}")
    if sha256_file(model_dir / WEIGHTS) != config["weights_sha256"]:
        raise ModelLoadError(f"{model_dir / WEIGHTS}: sha256 differs from {CONFIG}")
    try:
        raw, _ = load_file(model_dir / WEIGHTS)
    except SafetensorsError as exc:
        raise ModelLoadError(str(exc)) from exc
    tensors = {}
    for name, t in raw.items():
        if name.endswith(".q8"):
            base = name[:-3]
            tensors[base] = dequantize_rows(t, raw[base + ".scale"])
        elif not name.endswith(".scale"):
            tensors[name] = t.float()
    model = GPT(GPTConfig(**config["model"]))
    _load_state(model, tensors, model_dir / WEIGHTS)
    return ModelResolver(Engine(model.eval(), Tokenizer.from_json(config["tokenizer"])), rules, config, model_dir)


def batch1_latency(resolver: ModelResolver, rules: Ruleset, n: int = 100) -> dict[str, float]:
    cases = held_out("iid", n, rules, seed=7)
    for case in cases[:5]:
        resolver.resolve_batch([case])
    times = []
    for case in cases:
        t = time.perf_counter()
        resolver.resolve_batch([case])
        times.append((time.perf_counter() - t) * 1000)
    return {"p50": statistics.median(times), "p95": percentile(times, 0.95)}


def export_forms(model_dir: Path, out: Path, rules: Ruleset, n: int = 1000, latency_n: int = 100) -> list[dict]:
    """Write every form under `out/<form>` and measure each: size, accuracy and latency, one turn at a time.

    The onnx form needs `onnx`, `onnxscript` and `onnxruntime` (`pip install -e '.[onnx]'`); without them
    its row says why it is missing instead of failing the other forms.
    """
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
        resolver = load_form(where, rules)
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
