"""Model directories and training checkpoints: safetensors + JSON, written atomically, never pickled.

A model directory holds
    model.safetensors   the weights (fp32)
    config.json         GPTConfig, tokenizer pieces, FORMAT_VERSION, ruleset id,
                        sha256 of the weights, data/training/eval notes
A training checkpoint adds
    optim.safetensors   AdamW moments, one tensor per parameter and slot
    optim.json          step, param-group hyperparameters, the run's arguments
config.json is written last, so a directory whose config names the weights'
hash is complete; anything else is reported as ModelLoadError.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import fields
from pathlib import Path

import torch

from brain.model import GPT, GPTConfig
from brain.tensorfile import SafetensorsError, load_file, save_file
from brain.tokenizer import Tokenizer, TokenizerError
from game.combat.format import FORMAT_VERSION

WEIGHTS, CONFIG, OPTIM, OPTIM_JSON, LOG = (
    "model.safetensors", "config.json", "optim.safetensors", "optim.json", "train_log.jsonl")


class ModelLoadError(ValueError):
    """A model or checkpoint that cannot be used: missing, truncated, corrupt or trained for other rules."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_model(out: Path, model: GPT, tok: Tokenizer, ruleset_id: str, extra: dict | None = None) -> dict:
    """Weights then config (the commit point); returns the config written."""
    out.mkdir(parents=True, exist_ok=True)
    raw = model.module if hasattr(model, "module") else model
    save_file({k: v.float() for k, v in raw.state_dict().items()}, out / WEIGHTS,
              metadata={"format": "pt", "ruleset_id": ruleset_id})
    config = {
        "format_version": FORMAT_VERSION, "ruleset_id": ruleset_id, "model": raw.cfg.to_json(),
        "params": raw.num_params(), "tokenizer": tok.to_json(), "weights_sha256": sha256_file(out / WEIGHTS),
        **(extra or {}),
    }
    write_json(out / CONFIG, config)
    return config


def read_config(model_dir: Path) -> dict:
    path = model_dir / CONFIG
    if not model_dir.is_dir():
        raise ModelLoadError(f"{model_dir}: no such model directory")
    if not path.is_file():
        raise ModelLoadError(f"{path}: missing (a model directory needs {CONFIG} and {WEIGHTS})")
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path}: expected a JSON object")
    for key in ("format_version", "ruleset_id", "model", "tokenizer", "weights_sha256"):
        if key not in config:
            raise ModelLoadError(f"{path}: missing key {key!r}")
    return config


def load_model(model_dir: Path, ruleset_id: str | None = None, check_hash: bool = True) -> tuple[GPT, Tokenizer, dict]:
    """The model, its tokenizer and config; ModelLoadError on anything that does not fit."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    where = model_dir / CONFIG
    if config["format_version"] != FORMAT_VERSION:
        raise ModelLoadError(f"{where}: trained for block format {config['format_version']}, "
                             f"this game writes format {FORMAT_VERSION}; retrain the model")
    if ruleset_id is not None and config["ruleset_id"] != ruleset_id:
        raise ModelLoadError(f"{where}: trained on ruleset {config['ruleset_id']}, the game's rules are {ruleset_id} "
                             "(content/rules.toml changed); retrain with `rpg-brain train`")
    try:
        tok = Tokenizer.from_json(config["tokenizer"])
        cfg = GPTConfig(**config["model"])
        for f in fields(GPTConfig):
            value = getattr(cfg, f.name)
            if type(value) is not type(getattr(GPTConfig, f.name)) or (type(value) is int and value < 1):
                raise TypeError(f"model.{f.name} = {value!r}")
        if cfg.n_embd % cfg.n_head:
            raise TypeError(f"n_embd {cfg.n_embd} is not a multiple of n_head {cfg.n_head}")
    except (TokenizerError, TypeError) as exc:
        raise ModelLoadError(f"{where}: bad tokenizer or model config: {exc}") from exc
    if len(tok) != cfg.vocab_size:
        raise ModelLoadError(f"{where}: tokenizer has {len(tok)} pieces, model expects {cfg.vocab_size}")
    weights = model_dir / WEIGHTS
    if not weights.is_file():
        raise ModelLoadError(f"{weights}: missing")
    if check_hash and sha256_file(weights) != config["weights_sha256"]:
        raise ModelLoadError(f"{weights}: sha256 differs from {CONFIG} (corrupt or replaced weights)")
    try:
        tensors, _ = load_file(weights)
    except SafetensorsError as exc:
        raise ModelLoadError(str(exc)) from exc
    model = GPT(cfg)
    _load_state(model, tensors, weights)
    return model.eval(), tok, config


def _load_state(model: torch.nn.Module, tensors: dict[str, torch.Tensor], where: Path) -> None:
    want = model.state_dict()
    missing, extra = sorted(set(want) - set(tensors)), sorted(set(tensors) - set(want))
    if missing or extra:
        raise ModelLoadError(f"{where}: tensors do not match the config "
                             f"(missing {missing[:3]}, unexpected {extra[:3]})")
    for k, v in tensors.items():
        if v.shape != want[k].shape:
            raise ModelLoadError(f"{where}: {k} has shape {list(v.shape)}, config implies {list(want[k].shape)}")
    model.load_state_dict(tensors)


# ---------------------------------------------------------------- optimizer state

def save_optimizer(out: Path, opt: torch.optim.Optimizer, model: GPT, step: int, extra: dict) -> None:
    names = {id(p): n for n, p in model.named_parameters()}
    tensors, groups = {}, []
    for group in opt.param_groups:
        hyper = {k: v for k, v in group.items() if k != "params"}
        groups.append(hyper | {"params": [names[id(p)] for p in group["params"]]})
        for p in group["params"]:
            for slot, value in opt.state.get(p, {}).items():
                tensors[f"{names[id(p)]}/{slot}"] = value if torch.is_tensor(value) else torch.tensor(value)
    save_file(tensors, out / OPTIM)
    write_json(out / OPTIM_JSON, {"step": step, "param_groups": groups, **extra})


def load_optimizer(ckpt: Path, opt: torch.optim.Optimizer, model: GPT) -> dict:
    """Restore AdamW moments and hyperparameters; returns optim.json (step, run arguments)."""
    try:
        meta = json.loads((ckpt / OPTIM_JSON).read_text())
        tensors, _ = load_file(ckpt / OPTIM)
    except (OSError, json.JSONDecodeError, SafetensorsError) as exc:
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
