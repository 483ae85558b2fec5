"""Model directories and training checkpoints: safetensors + JSON, written atomically, never pickled.

A model directory holds
    model.safetensors   the weights: fp32, or a stored form (config.json's `weights_form`: fp16, or int8 with
                        per-row scales, `name.q8` I8 + `name.scale` F32 for each matrix; brain/export.py writes
                        them), read back as fp32 arrays
    config.json         GPTConfig, tokenizer pieces, FORMAT_VERSION, ruleset id,
                        sha256 of the weights, data/training/eval notes
A training checkpoint adds
    optim.safetensors   AdamW moments, one tensor per parameter and slot
    optim.json          step, param-group hyperparameters, the run's arguments
config.json is written last, so a directory whose config names the weights'
hash is complete; anything else is reported as ModelLoadError, naming the file and key.

Loading (`load_weights`) needs numpy and safetensors only: play never imports torch. Every size in
config.json is bounded and every tensor in the weights' header is checked against the shape the config
implies before a byte of weights is read. Saving and optimizer state are torch's, imported where used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError, safe_open

from brain.config import ConfigError, GPTConfig, tensor_shapes
from brain.tokenizer import Tokenizer, TokenizerError
from game.atomic import write_atomic
from game.combat.envelope import Envelope, EnvelopeError
from game.combat.format import FORMAT_VERSION
from game.combat.sampler import SAMPLERS

if TYPE_CHECKING:
    import torch

    from brain.model import GPT

WEIGHTS, CONFIG, OPTIM, OPTIM_JSON, LOG = (
    "model.safetensors", "config.json", "optim.safetensors", "optim.json", "train_log.jsonl")
MAX_CONFIG_BYTES = 16 << 20  # config.json carries notes and eval tables, never megabytes of them


class ModelLoadError(ValueError):
    """A model or checkpoint that cannot be used: missing, truncated, corrupt or trained for other rules."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path: Path, obj: dict) -> None:
    write_atomic(path, json.dumps(obj, indent=1) + "\n")


def save_tensors(path: Path, tensors: dict, metadata: dict[str, str] | None = None) -> None:
    """numpy arrays or torch tensors -> one safetensors file, written atomically."""
    arrays = {k: v if isinstance(v, np.ndarray) else v.detach().cpu().numpy() for k, v in tensors.items()}
    write_atomic(path, safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in arrays.items()}, metadata))


def read_tensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as numpy; ModelLoadError naming the file otherwise."""
    _regular_file(path)
    try:
        return safetensors.numpy.load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}: not a readable safetensors file ({exc})") from exc


def _regular_file(path: Path) -> None:
    if not path.exists():
        raise ModelLoadError(f"{path}: missing (a model directory needs {CONFIG} and {WEIGHTS})")
    if not path.is_file():
        raise ModelLoadError(f"{path}: not a regular file")


def save_model(out: Path, model: GPT, tok: Tokenizer, ruleset_id: str, extra: dict | None = None) -> dict:
    """Weights then config (the commit point); returns the config written."""
    out.mkdir(parents=True, exist_ok=True)
    raw = model.module if hasattr(model, "module") else model
    save_tensors(out / WEIGHTS, {k: v.float() for k, v in raw.state_dict().items()},
                 metadata={"format": "pt", "ruleset_id": ruleset_id})
    config = {
        "format_version": FORMAT_VERSION, "ruleset_id": ruleset_id, "model": raw.cfg.to_json(),
        "params": raw.num_params(), "tokenizer": tok.to_json(), "weights_sha256": sha256_file(out / WEIGHTS),
        **(extra or {}),
    }
    write_json(out / CONFIG, config)
    return config


def read_config(model_dir: Path) -> dict:
    model_dir = Path(model_dir)
    path = model_dir / CONFIG
    if not model_dir.is_dir():
        raise ModelLoadError(f"{model_dir}: no such model directory")
    _regular_file(path)
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ModelLoadError(f"{path}: {path.stat().st_size} bytes, more than a config may have ({MAX_CONFIG_BYTES})")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelLoadError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path}: expected a JSON object")
    for key in ("format_version", "ruleset_id", "model", "tokenizer", "weights_sha256"):
        if key not in config:
            raise ModelLoadError(f"{path}: missing key {key!r}")
    return config


def check_config(config: dict, where: Path, ruleset_id: str | None = None) -> tuple[GPTConfig, Tokenizer]:
    """The model config and tokenizer of a read config.json, or ModelLoadError naming `where` and the key."""
    if config["format_version"] != FORMAT_VERSION:
        raise ModelLoadError(f"{where}: format_version: trained for block format {config['format_version']}, "
                             f"this game writes format {FORMAT_VERSION}; retrain the model")
    if ruleset_id is not None and config["ruleset_id"] != ruleset_id:
        raise ModelLoadError(f"{where}: ruleset_id: trained on ruleset {config['ruleset_id']}, the game's rules are "
                             f"{ruleset_id} (content/rules.toml changed); retrain with `rpg-brain train`")
    try:
        cfg = GPTConfig.from_json(config["model"])
    except ConfigError as exc:
        raise ModelLoadError(f"{where}: bad model config: {exc}") from exc
    try:
        tok = Tokenizer.from_json(config["tokenizer"])
    except TokenizerError as exc:
        raise ModelLoadError(f"{where}: tokenizer: {exc}") from exc
    want = Tokenizer.from_format().pieces
    if tok.pieces != want:  # swapped or renamed pieces load fine and score 0%: refuse them
        i = next((i for i, (a, b) in enumerate(zip(tok.pieces, want, strict=False)) if a != b),
                 min(len(tok.pieces), len(want)))
        got_piece = tok.pieces[i] if i < len(tok.pieces) else "(end)"
        want_piece = want[i] if i < len(want) else "(end)"
        raise ModelLoadError(f"{where}: tokenizer.pieces: differ from the block format's vocabulary at piece {i} "
                             f"({got_piece!r}, the format has {want_piece!r}); retrain the model")
    if len(tok) != cfg.vocab_size:
        raise ModelLoadError(f"{where}: model.vocab_size: {cfg.vocab_size}, the tokenizer has {len(tok)} pieces")
    if not isinstance(config["weights_sha256"], str):
        raise ModelLoadError(f"{where}: weights_sha256: expected a hex string")
    return cfg, tok


def model_envelope(config: dict, where: Path) -> Envelope | None:
    """The envelope a config.json records (None: it records none, a model from before envelopes); ModelLoadError
    naming the key when the record is malformed."""
    if "envelope" not in config:
        return None
    try:
        return Envelope.from_json(config["envelope"])
    except EnvelopeError as exc:
        raise ModelLoadError(f"{where}: {exc}") from exc


def stale_reason(envelope: Envelope | None, ruleset_id: str | None = None) -> str | None:
    """Why a model's envelope no longer describes what the code draws and the content rules, or None.

    A model is stale when its data came from another version of its sampler (the code's draws changed since),
    from a sampler the code no longer has, or under another ruleset (`ruleset_id`, when the caller checks it).
    """
    if envelope is None:
        return "it records no envelope (trained before envelopes were recorded)"
    sampler = SAMPLERS.get(envelope.sampler)
    if sampler is None:
        return f"trained on the {envelope.sampler!r} sampler, which the code no longer has"
    if sampler.version != envelope.sampler_version:
        return (f"trained on {sampler.name} sampler version {envelope.sampler_version}, the code's {sampler.name} "
                f"sampler is version {sampler.version}")
    if ruleset_id is not None and envelope.ruleset_id != ruleset_id:
        return f"trained under ruleset {envelope.ruleset_id}, the content's is {ruleset_id}"
    return None


STORED_FORMS = ("fp32", "fp16", "int8")


def quantize_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8: w ~ q * scale, q stored as safetensors I8."""
    scale = np.maximum(np.abs(w).max(axis=1, keepdims=True) / 127, 1e-12).astype(np.float32)
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, scale


def dequantize_rows(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * scale


def stored_tensors(cfg: GPTConfig, form: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The tensors (dtype, shape) a weights file of this form holds for this config."""
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    for name, shape in tensor_shapes(cfg).items():
        if form == "int8" and len(shape) == 2:
            out[name + ".q8"], out[name + ".scale"] = ("I8", shape), ("F32", (shape[0], 1))
        else:
            out[name] = ("F16" if form == "fp16" else "F32", shape)
    return out


def check_header(path: Path, cfg: GPTConfig, form: str = "fp32") -> None:
    """Every tensor the config and form imply, of its dtype and shape, and nothing else: from the header alone."""
    want = stored_tensors(cfg, form)
    try:
        with safe_open(str(path), framework="np") as f:
            got = {k: (f.get_slice(k).get_dtype(), tuple(f.get_slice(k).get_shape())) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}: not a readable safetensors file ({exc})") from exc
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    if missing or extra:
        raise ModelLoadError(f"{path}: tensors do not match {CONFIG} (missing {missing[:3]}, unexpected {extra[:3]})")
    for name, (want_dtype, shape) in want.items():
        dtype, got_shape = got[name]
        if dtype != want_dtype:
            raise ModelLoadError(f"{path}: {name}: dtype {dtype}, expected {want_dtype}")
        if got_shape != shape:
            raise ModelLoadError(f"{path}: {name}: shape {list(got_shape)}, {CONFIG} implies {list(shape)}")


def _fp32(raw: dict[str, np.ndarray], cfg: GPTConfig) -> dict[str, np.ndarray]:
    """A stored form's tensors (checked by check_header) as the fp32 arrays the decoders use."""
    return {name: dequantize_rows(raw[name + ".q8"], raw[name + ".scale"]) if name + ".q8" in raw
            else raw[name].astype(np.float32) for name in tensor_shapes(cfg)}


def load_weights(model_dir: Path, ruleset_id: str | None = None,
                 check_hash: bool = True) -> tuple[GPTConfig, Tokenizer, dict, dict[str, np.ndarray]]:
    """(config, tokenizer, config.json, fp32 arrays) of a model directory, without torch; ModelLoadError otherwise."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    cfg, tok = check_config(config, model_dir / CONFIG, ruleset_id)
    form = config.get("weights_form", "fp32")
    if form not in STORED_FORMS:
        raise ModelLoadError(f"{model_dir / CONFIG}: weights_form {form!r}, expected one of {', '.join(STORED_FORMS)}")
    weights = model_dir / WEIGHTS
    _regular_file(weights)
    want_bytes = 4 * sum(int(np.prod(s)) for s in tensor_shapes(cfg).values())
    if weights.stat().st_size > want_bytes + (1 << 20):  # the header is small: a bigger file is not these weights
        raise ModelLoadError(f"{weights}: {weights.stat().st_size} bytes, {CONFIG} implies about {want_bytes}")
    if check_hash and sha256_file(weights) != config["weights_sha256"]:
        raise ModelLoadError(f"{weights}: sha256 differs from {CONFIG} (corrupt or replaced weights)")
    check_header(weights, cfg, form)
    arrays = _fp32(read_tensors(weights), cfg)
    for name, a in arrays.items():
        if not np.isfinite(a).all():
            raise ModelLoadError(f"{weights}: {name}: holds NaN or infinite values")
    return cfg, tok, config, arrays


def load_model(model_dir: Path, ruleset_id: str | None = None, check_hash: bool = True) -> tuple[GPT, Tokenizer, dict]:
    """The torch model, its tokenizer and config (for training and export); ModelLoadError on anything wrong."""
    from brain.model import from_arrays

    cfg, tok, config, arrays = load_weights(model_dir, ruleset_id, check_hash)
    return from_arrays(cfg, arrays), tok, config


# ---------------------------------------------------------------- optimizer state

def save_optimizer(out: Path, opt: torch.optim.Optimizer, model: GPT, step: int, extra: dict) -> None:
    import torch

    names = {id(p): n for n, p in model.named_parameters()}
    tensors, groups = {}, []
    for group in opt.param_groups:
        hyper = {k: v for k, v in group.items() if k != "params"}
        groups.append(hyper | {"params": [names[id(p)] for p in group["params"]]})
        for p in group["params"]:
            for slot, value in opt.state.get(p, {}).items():
                tensors[f"{names[id(p)]}/{slot}"] = value if torch.is_tensor(value) else torch.tensor(value)
    save_tensors(out / OPTIM, tensors)
    write_json(out / OPTIM_JSON, {"step": step, "param_groups": groups, **extra})


def load_optimizer(ckpt: Path, opt: torch.optim.Optimizer, model: GPT) -> dict:
    """Restore AdamW moments and hyperparameters; returns optim.json (step, run arguments)."""
    import torch

    try:
        meta = json.loads((ckpt / OPTIM_JSON).read_text())
        tensors = {k: torch.from_numpy(v) for k, v in read_tensors(ckpt / OPTIM).items()}
    except (OSError, json.JSONDecodeError, ModelLoadError) as exc:
        raise ModelLoadError(f"{ckpt}: cannot resume, optimizer state unreadable: {exc}") from exc
    params = dict(model.named_parameters())
    if len(meta.get("param_groups", [])) != len(opt.param_groups):
        raise ModelLoadError(f"{ckpt / OPTIM_JSON}: {len(meta.get('param_groups', []))} param groups, expected "
                             f"{len(opt.param_groups)}")
    for group, saved in zip(opt.param_groups, meta["param_groups"], strict=False):
        if [params[n] for n in saved["params"] if n in params] != group["params"]:
            raise ModelLoadError(f"{ckpt / OPTIM_JSON}: parameter groups do not match the model")
        group.update({k: v for k, v in saved.items() if k != "params"})
        for name in saved["params"]:
            p = params[name]
            state = {k.split("/", 1)[1]: v for k, v in tensors.items() if k.split("/", 1)[0] == name}
            if state:
                opt.state[p] = {k: v.to(p.device) if k != "step" else v for k, v in state.items()}
    return meta
