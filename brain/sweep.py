"""Capability per megabyte: one model per depth, same recipe and wall-clock budget, every suite measured.

`rpg-brain sweep --depths 1,2,3,4,6 --minutes M` trains each depth for about M minutes (the step count
comes from timing a few real training steps of that depth), evaluates it on every suite
(brain.failures.run_all), measures size and then batch-1 latency of all depths together
(`--latency-only` redoes just that on finished runs), and writes a table (markdown + JSON), a PNG
plot (matplotlib, when installed: `pip install -e '.[lab]'`) and a terminal plot of exact match against
megabytes and against training compute.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from brain.checkpoint import WEIGHTS
from brain.engine import ModelResolver
from brain.evaluate import held_out
from brain.failures import run_all
from brain.model import GPT
from brain.tokenizer import Tokenizer
from brain.train import PRESETS, TrainConfig, batches, make_optimizer, train, train_step
from game.combat.ruleset import Ruleset
from game.measure import percentile


def seconds_per_step(tc: TrainConfig, rules: Ruleset, steps: int = 6) -> tuple[float, float]:
    """Time real training steps of this depth (after one warm-up); also the mean tokens per step."""
    torch.set_num_threads(tc.threads)
    tok = Tokenizer.from_format()
    model = GPT(tc.model_config(len(tok))).train()
    opt = make_optimizer(model, tc)
    probe = replace(tc, steps=steps + 1, workers=0)
    times, tokens = [], []
    for i, (x, y, r) in enumerate(batches(probe, rules, 0, 0)):
        x, y, r = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(r)
        t = time.perf_counter()
        train_step(model, opt, probe, i, x, y, r)
        times.append(time.perf_counter() - t)
        tokens.append(x.numel())
    return sum(times[1:]) / len(times[1:]), sum(tokens) / len(tokens)


def sweep(depths: list[int], minutes: float, out: Path, rules: Ruleset, n: int = 500,
          base: TrainConfig = PRESETS["default"], log=print) -> list[dict]:
    rows = []
    out.mkdir(parents=True, exist_ok=True)
    for depth in depths:
        tc = replace(base, depth=depth)
        per_step, tokens_per_step = seconds_per_step(tc, rules)
        steps = max(50, int(minutes * 60 / per_step))
        tc = replace(tc, steps=steps, warmup=min(tc.warmup, steps // 10), eval_every=steps, ckpt_every=steps,
                     log_every=max(steps // 20, 1))
        log(f"depth {depth}: {per_step * 1000:.0f} ms/step -> {steps} steps in ~{minutes} min")
        run = out / f"depth{depth}"
        t = time.perf_counter()
        last = train(tc, run, rules, quiet=True)
        train_s = time.perf_counter() - t
        resolver = ModelResolver.load(run, rules)
        params = resolver.engine.model.num_params()
        result = run_all(resolver, rules, n=n, chains=5)
        row = {
            "depth": depth, "width": resolver.engine.model.cfg.n_embd, "params": params,
            "weights_mb": (run / WEIGHTS).stat().st_size / 1e6, "steps": steps, "train_s": round(train_s, 1),
            "train_pflop": 6 * params * tokens_per_step * steps / 1e15, "final_loss": last.get("loss"),
            "iid": result["iid"]["state_exact"], "edge": result["edge"]["state_exact"],
            "ood": result["ood"]["state_exact"], "order": result["order"]["state_exact"],
            "chain_on_track": result["chain"]["on_track_share"],
            "perturb_gated_rejection": result["perturb"]["gated_rejection_rate"],
            "label_collapse": result["label_collapse"]["value"], "token_drift": result["token_drift"]["value"],
            "boundary_confusion": result["boundary_confusion"]["value"],
        }
        rows.append(row)
        log(json.dumps(row))
        (out / "sweep.json").write_text(json.dumps({"minutes": minutes, "rows": rows}, indent=1) + "\n")
    return measure_latency(out, rules)


def measure_latency(out: Path, rules: Ruleset, rounds: int = 10, per_round: int = 12) -> list[dict]:
    """Batch-1 p50/p95 of every depth in out/sweep.json, in interleaved rounds on one thread.

    Measured after all the training and round-robin, so that whatever else the machine is doing
    falls on every depth alike instead of on whichever depth happened to be measured then.
    """
    saved = json.loads((out / "sweep.json").read_text())
    torch.set_num_threads(1)
    resolvers = {r["depth"]: ModelResolver.load(out / f"depth{r['depth']}", rules) for r in saved["rows"]}
    cases = held_out("iid", rounds * per_round, rules, seed=7)
    times: dict[int, list[float]] = {d: [] for d in resolvers}
    for res in resolvers.values():  # warm-up
        res.resolve_batch(cases[:1])
    for i in range(rounds):
        for d, res in resolvers.items():
            for case in cases[i * per_round:(i + 1) * per_round]:
                t = time.perf_counter()
                res.resolve_batch([case])
                times[d].append((time.perf_counter() - t) * 1000)
    for r in saved["rows"]:
        ts = times[r["depth"]]
        r["batch1_p50_ms"], r["batch1_p95_ms"] = statistics.median(ts), percentile(ts, 0.95)
    (out / "sweep.json").write_text(json.dumps(saved, indent=1) + "\n")
    return saved["rows"]


def sweep_table(rows: list[dict]) -> str:
    lines = ["| depth | width | params | MB | steps | train s | PFLOP | iid | edge | ood | order | chain | "
             "p50 ms | p95 ms |", "|" + "---|" * 14]
    for r in rows:
        lines.append(f"| {r['depth']} | {r['width']} | {r['params']:,} | {r['weights_mb']:.2f} | {r['steps']} | "
                     f"{r['train_s']:.0f} | {r['train_pflop']:.3f} | {r['iid']:.2%} | {r['edge']:.2%} | "
                     f"{r['ood']:.2%} | {r['order']:.2%} | {r['chain_on_track']:.2%} | {r['batch1_p50_ms']:.1f} | "
                     f"{r['batch1_p95_ms']:.1f} |")
    return "\n".join(lines)


def ascii_plot(points: list[tuple[float, float, str]], width: int = 60, height: int = 14,
               xlabel: str = "", ylabel: str = "") -> str:
    """A dependency-free scatter plot for the terminal: each point drawn as its label's first character."""
    if not points:
        return "(no points)"
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(0.0, min(ys)), max(1.0, max(ys))
    grid = [[" "] * width for _ in range(height)]
    for x, y, label in points:
        col = 0 if x1 == x0 else round((x - x0) / (x1 - x0) * (width - 1))
        row = height - 1 - round((y - y0) / (y1 - y0) * (height - 1))
        grid[row][col] = label[:1]
    lines = [f"{ylabel} {y1:.2f}"] + ["  |" + "".join(r) for r in grid] + ["  +" + "-" * width]
    lines.append(f"   {x0:<10.3g}{xlabel:^{width - 20}}{x1:>10.3g}")
    return "\n".join(lines)


def plots(rows: list[dict], out: Path) -> tuple[str, Path | None]:
    """The terminal plot (returned) and the PNG (written when matplotlib is installed)."""
    pts = [(r["weights_mb"], r["iid"], str(r["depth"])) for r in rows]
    text = ascii_plot(pts, xlabel="weights MB (digit = depth)", ylabel="iid exact")
    cpts = [(r["train_pflop"], r["iid"], str(r["depth"])) for r in rows]
    text += "\n\n" + ascii_plot(cpts, xlabel="training PFLOP (digit = depth)", ylabel="iid exact")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return text, None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((axes[0], "weights_mb", "weights (MB, fp32)"), (axes[1], "train_pflop", "training PFLOP")):
        for suite in ("iid", "edge", "ood", "chain_on_track"):
            ax.plot([r[key] for r in rows], [r[suite] for r in rows], marker="o", label=suite)
        for r in rows:
            ax.annotate(f"d{r['depth']}", (r[key], r["iid"]), textcoords="offset points", xytext=(4, -10))
        ax.set_xlabel(label)
        if key == "weights_mb":
            ax.set_xscale("log")  # depths 1..6 span two orders of magnitude of size
        ax.set_ylabel("exact match (next state)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle("capability per megabyte")
    fig.tight_layout()
    png = out / "sweep.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return text, png


# ------------------------------------------------------------------ the `rpg-brain sweep` stage

def add_arguments(sw: argparse.ArgumentParser) -> None:
    sw.add_argument("--depths", default="1,2,3,4,6")
    sw.add_argument("--minutes", type=float, default=3.0, help="training wall-clock per depth")
    sw.add_argument("--n", type=int, default=500, help="cases per suite")
    sw.add_argument("--out", type=Path, default=Path("brain/reports/sweep"))
    sw.add_argument("--latency-only", action="store_true",
                    help="re-measure batch-1 latency of the runs already in --out (interleaved across depths)")


def run(args: argparse.Namespace) -> int:
    from game.content import load_ruleset

    rules = load_ruleset(args.content)
    if args.latency_only:
        rows = measure_latency(args.out, rules)
        minutes = json.loads((args.out / "sweep.json").read_text())["minutes"]
    else:
        rows = sweep([int(d) for d in args.depths.split(",")], args.minutes, args.out, rules,
                     n=args.n, log=lambda msg: print(msg, file=sys.stderr, flush=True))
        minutes = args.minutes
    text, png = plots(rows, args.out)
    table = sweep_table(rows)
    (args.out / "sweep.md").write_text(f"# Capability per megabyte ({minutes} min per depth)\n\n{table}\n\n"
                                       f"```\n{text}\n```\n")
    print(table)
    print(text)
    print(f"plot: {png or 'matplotlib not installed (pip install -e .[lab])'}", file=sys.stderr)
    return 0

