"""The report card: one markdown file under brain/reports/ from the model directory's own records.

`render` composes the card's own sections, each a function returning its markdown lines: model size
(`model_section`), the training mix's statistics measured on fresh draws of the model's sampler
(`data_section`), the recipe and training curves, phase 1's too when the model had one (`training_section`),
held-out evaluation (`eval_section`, rpg-brain eval) and the benchmark (`bench_section`, rpg-brain bench).
`write_report` adds the sections of brain/lab_report.py (failure-first suites, measured afresh; the size
curves, forms, play loop and experts, rendered from what their own commands wrote). Every figure is
recomputed by `rpg-brain report`.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path

from brain.checkpoint import CONFIG, LOG, WEIGHTS
from brain.data import Mix, draw, split_of
from brain.paths import shipped_model_dir
from game.combat.ruleset import Ruleset
from game.combat.sampler import SAMPLERS


def data_stats(rules: Ruleset, mix: Mix, n: int = 20_000, seed: int = 0) -> dict:
    rng = random.Random(f"report:{seed}")
    actions: Counter[str] = Counter()
    events: Counter[str] = Counter()
    splits: Counter[str] = Counter()
    hp: Counter[int] = Counter()
    t = time.perf_counter()
    for _ in range(n):
        ex = draw(rng, rules, mix)
        actions[ex.action] += 1
        events.update(set(ex.rules))
        splits[split_of(ex.block)] += 1
        hp[min(ex.answer.split(" | ")[0].count(">"), 5)] += 1
    us = (time.perf_counter() - t) / n * 1e6
    return {"n": n, "us_per_example": us, "actions": dict(actions), "events": dict(events),
            "splits": dict(splits), "hp_changes": dict(sorted(hp.items()))}


def _curve(rows: list[dict], width: int = 60, height: int = 12, key: str = "loss") -> str:
    """An ASCII plot of log10(loss) against step: readable in any viewer."""
    import math

    pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None and r[key] > 0]
    if len(pts) < 2:
        return "(not enough points)"
    xs, ys = [p[0] for p in pts], [math.log10(p[1]) for p in pts]
    lo, hi = min(ys), max(ys)
    grid = [[" "] * width for _ in range(height)]
    for x, y in zip(xs, ys, strict=False):
        c = int((x - xs[0]) / max(1, xs[-1] - xs[0]) * (width - 1))
        r = int((hi - y) / max(1e-9, hi - lo) * (height - 1))
        grid[r][c] = "*"
    lines = [f"{10 ** (hi - (hi - lo) * i / (height - 1)):9.4f} |" + "".join(row) for i, row in enumerate(grid)]
    lines.append(" " * 10 + "+" + "-" * width)
    lines.append(" " * 11 + f"step {xs[0]}" + " " * (width - 20) + f"step {xs[-1]}")
    return "\n".join(lines)


PHASE1_LOG = "train_log.phase1.jsonl"  # the curve of the run a second phase started from (`rpg-brain ship` copies it)


def _rows(path: Path) -> list[dict]:
    """The rows of a JSONL training log, or none when there is no such log."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def model_section(model_dir: Path, config: dict) -> list[str]:
    m = config["model"]
    return ["## Model", "",
            f"- GPT depth {m['n_layer']}, width {m['n_embd']}, {m['n_head']} heads, context {m['block_size']}, "
            f"vocabulary {m['vocab_size']}",
            f"- {config['params']:,} parameters, {(model_dir / WEIGHTS).stat().st_size / 1e6:.2f} MB of fp32 weights",
            f"- format version {config['format_version']}, ruleset {config['ruleset_id']}, "
            f"weights sha256 {config['weights_sha256'][:16]}...", ""]


def data_section(data: dict) -> list[str]:
    """The training mix as `data_stats` measured it on fresh draws."""
    n = data["n"]
    out = ["## Data", "",
           f"Stream mix: {json.dumps(data.get('mix', {}))}; {n:,} fresh draws measured, "
           f"{data['us_per_example']:.0f} us per labelled example (one core).", "",
           "| action | share |", "|---|---|"]
    out += [f"| {a} | {c / n:.1%} |" for a, c in sorted(data["actions"].items())]
    out += ["", "| hp-changing events in the turn | share |", "|---|---|"]
    out += [f"| {k}{'+' if str(k) == '5' else ''} | {c / n:.1%} |" for k, c in data["hp_changes"].items()]
    out += ["", "| rule event | turns with it |", "|---|---|"]
    out += [f"| {r} | {c / n:.2%} |" for r, c in sorted(data["events"].items(), key=lambda kv: -kv[1])]
    return [*out, "", f"Split by sha1 of the input block: {json.dumps(data['splits'])}.", ""]


def training_section(config: dict, rows: list[dict], phase1: list[dict]) -> list[str]:
    """The recipe and the curves: of the run a second phase started from (`phase1`), then of this run."""
    train = config.get("train", {})
    tc = train.get("config", {})
    out = ["## Training", ""]
    if phase1:
        last = phase1[-1]
        out += [f"Phase 1 (the run this one started from, `{tc.get('init')}`): {last['step']} steps, "
                f"{last['elapsed_s'] / 60:.1f} min, last loss {last['loss']:.4f}, val exact "
                f"{last.get('val_exact', float('nan')):.2%}.", "", "```", _curve(phase1), "```", "",
                "| step | loss | val loss | val exact | tok/s |", "|---|---|---|---|---|"]
        out += [f"| {r['step']} | {r['loss']:.4f} | {r['val_loss']:.4f} | {r['val_exact']:.2%} | {r['tok_s']:,} |"
                for r in phase1 if "val_loss" in r]
        out += ["", "Phase 2 (this run):", ""]
    if tc:
        out += [f"- recipe: `{json.dumps(tc)}`",
                f"- {train.get('step')} steps x {tc.get('batch_size')} x {train.get('world', 1)} sequences"
                f" = {train.get('step', 0) * tc.get('batch_size', 0) * train.get('world', 1):,} examples"]
    if rows:
        last = rows[-1]
        out += [f"- wall time {last['elapsed_s'] / 60:.1f} min, last loss {last['loss']:.4f}", "",
                "Training loss (log scale):", "", "```", _curve(rows), "```", "",
                "| step | loss | val loss | val exact | val next-state exact | tok/s |", "|---|---|---|---|---|---|"]
        out += [f"| {r['step']} | {r['loss']:.4f} | {r['val_loss']:.4f} | {r['val_exact']:.2%} "
                f"| {r['val_state_exact']:.2%} | {r['tok_s']:,} |" for r in rows if "val_loss" in r]
    return out


def eval_section(evals: dict[str, dict]) -> list[str]:
    """The held-out suites' summary, then per suite exact match by action and by hp-changing events."""
    from brain.suites.score import summary_table

    out = ["", "## Evaluation (held-out test-split blocks, `rpg-brain eval`)", "", summary_table(evals), ""]
    for name, r in evals.items():
        out += [f"### {name}: exact match by action", "", "| action | exact | n |", "|---|---|---|"]
        out += [f"| {k} | {v['exact']:.2%} | {v['n']} |" for k, v in r["by_action"].items()]
        out += ["", "| hp-changing events | exact | n |", "|---|---|---|"]
        out += [f"| {k} | {v['exact']:.2%} | {v['n']} |" for k, v in r["by_hp_changes"].items()]
        out += ["", f"Rules involved in wrong fields: {json.dumps(r['wrong_rules'])}",
                f"Wrong fields: {json.dumps(r['wrong_fields'])}", ""]
    return out


def bench_section(bench: dict) -> list[str]:
    """`rpg-brain bench`: the game's path first, each decoder alone, load, batches, and per drafter."""
    b1 = bench["batch1_threads1_ms"]
    decoder = bench.get("decoder", "numpy")
    note = f" ({bench['decoder_note']})" if bench.get("decoder_note") else ""
    out = ["## Benchmark (`rpg-brain bench`, one CPU thread)", "",
           f"batch-1 fast-forward is the game's path: the {decoder} decoder{note}, "
           "parse, invariants. The other rows time the decoder alone.", "",
           "| measure | value |", "|---|---|",
           f"| batch-1 p50 / p95, fast-forward, {decoder} (game path) | "
           f"{b1['fast_forward']['p50']:.2f} / {b1['fast_forward']['p95']:.2f} ms |"]
    out += [f"| batch-1 p50 / p95, {k.removeprefix('fast_forward_')} fast-forward (decoder only) | "
            f"{v['p50']:.2f} / {v['p95']:.2f} ms |" for k, v in b1.items() if k.startswith("fast_forward_")]
    if "lockstep" in b1:
        out += [f"| batch-1 p50 / p95, torch lockstep, no fast-forward (decoder only) | "
                f"{b1['lockstep']['p50']:.2f} / {b1['lockstep']['p95']:.2f} ms |"]
    out += [f"| load (warm process) | {bench['load_s'] * 1000:.0f} ms |",
            f"| load in a fresh process, imports included, no torch | {bench['load_cold_s'] * 1000:.0f} ms, "
            f"peak RSS {bench['rss_mb']:.0f} MB |"]
    out += [f"| {k} | {v:,.2f} |" for k, v in bench.items()
            if k.startswith("batch") and k not in ("batch1_threads1_ms", "batch1_n") and v is not None]
    if "drafted_rules_threads1_turns_per_s" in bench:
        out += [f"| drafted turns one after another (eval, arena), one thread | "
                f"{bench['drafted_rules_threads1_turns_per_s']:,.0f} turns/s |"]
    out += [f"| params / weights | {bench['params']:,} / {bench['weights_mb']:.2f} MB |", ""]
    if bench.get("drafts"):  # brain/draft.py: what each model call verified
        out += ["Per drafter, the game path (each call verifies a drafted answer; the answers are the same):", "",
                "| draft | p50 / p95 ms | model calls per turn | whole draft taken | drafted tokens accepted |",
                "|---|---|---|---|---|"]
        for name, d in bench["drafts"].items():
            share = "-" if d.get("accepted_tokens_share") is None else f"{d['accepted_tokens_share']:.1%}"
            out.append(f"| {name} | {d['p50']:.2f} / {d['p95']:.2f} | {d['calls_per_turn']:.2f} | "
                       f"{d['whole_draft_accepted_share']:.1%} of turns | {share} |")
        out.append("")
    return out


def render(model_dir: Path, rules: Ruleset, evals: dict[str, dict], bench: dict | None, data: dict) -> str:
    """The report card's own sections, from the model directory's records and the measurements given; the
    long-running measurements' sections (brain/lab_report.py) follow it in `write_report`."""
    config = json.loads((model_dir / CONFIG).read_text())
    out = [f"# rpg-brain report: {model_dir}", "", *model_section(model_dir, config), *data_section(data),
           *training_section(config, _rows(model_dir / LOG), _rows(model_dir / PHASE1_LOG)), *eval_section(evals)]
    if bench:
        out += bench_section(bench)
    return "\n".join(out) + "\n"


def training_mix(config: dict) -> Mix:
    """The mix a model was trained on, from its config.json: the recipe's edge share and easy-case acceptance,
    drawn by the sampler its envelope names (the data's own; a recipe's `sampler` only says what a stream would
    draw), else the recipe's."""
    tc = config.get("train", {}).get("config", {})
    envelope = config.get("envelope") if isinstance(config.get("envelope"), dict) else {}
    sampler = next((s for s in (envelope.get("sampler"), tc.get("sampler")) if s in SAMPLERS), Mix().sampler)
    return Mix(tc.get("edge", 0.2), tc.get("easy_keep", 0.5), sampler)


def write_report(model_dir: Path | None, rules: Ruleset, n: int = 2000, out_dir: Path = Path("brain/reports"),
                 content: Path | None = None) -> Path:
    from brain.bench import bench
    from brain.engine import ModelResolver
    from brain.suites import held_out
    from brain.suites.score import evaluate

    model_dir = Path(model_dir) if model_dir else shipped_model_dir()
    resolver = ModelResolver.load(model_dir, rules)
    evals = {s: evaluate(resolver, held_out(s, n, rules), rules) for s in ("iid", "edge")}
    b = bench(model_dir, rules, content=content)
    mix = training_mix(json.loads((model_dir / CONFIG).read_text()))
    data = data_stats(rules, mix) | {"mix": mix.recorded()}
    out_dir.mkdir(parents=True, exist_ok=True)
    name = "default.md" if model_dir.resolve() == shipped_model_dir().resolve() else f"{model_dir.name}.md"
    path = out_dir / name
    from brain.failures import raw_answers, ungated_answers
    from brain.lab_report import (
        converge_section,
        experts_section,
        failure_section,
        forms_section,
        loop_section,
        sweep_section,
    )

    failures, failure_result = failure_section(resolver, rules, n // 2, lambda bl: ungated_answers(resolver, bl),
                                               lambda bl: raw_answers(resolver, bl))
    extra = "\n".join([failures, converge_section(out_dir), sweep_section(out_dir), forms_section(out_dir),
                       loop_section(out_dir), experts_section(out_dir)])
    path.write_text(render(model_dir, rules, evals, b, data) + "\n" + extra)
    slim = {k: {kk: vv for kk, vv in v.items() if kk != "examples"} for k, v in evals.items()}
    failure_slim = {k: ({kk: vv for kk, vv in v.items() if kk != "examples"} if isinstance(v, dict) else v)
                    for k, v in failure_result.items()}
    (out_dir / (path.stem + ".json")).write_text(json.dumps({"eval": slim, "bench": b, "data": data,
                                                             "failure_first": failure_slim}, indent=1) + "\n")
    return path


# ------------------------------------------------------------------ the `rpg-brain report` stage

def add_arguments(rp: argparse.ArgumentParser) -> None:
    rp.add_argument("--model", type=Path, default=None)
    rp.add_argument("--n", type=int, default=2000, help="held-out cases per suite")
    rp.add_argument("--out", type=Path, default=Path("brain/reports"))
    rp.add_argument("--threads", type=int, default=1)


def run(args: argparse.Namespace) -> int:
    import torch

    from game.content import load_ruleset

    torch.set_num_threads(args.threads)
    print(write_report(args.model, load_ruleset(args.content), n=args.n, out_dir=args.out, content=args.content))
    return 0
