"""Capability per megabyte: one model per depth, same recipe and wall-clock budget, every suite measured.

`rpg-brain sweep --depths 1,2,3,4,6 --minutes M` trains each depth for about M minutes (the step count
comes from timing a few real training steps of that depth), evaluates it on every suite
(brain.failures.run_all), measures size and then batch-1 latency of all depths together
(`--latency-only` redoes just that on finished runs), and writes a table (markdown + JSON), a PNG
plot (matplotlib, when installed: `pip install -e '.[lab]'`) and a terminal plot of exact match against
megabytes and against training compute. That is capability at equal cost.

`rpg-brain sweep --data DIR --sizes 1x32,2x32,2x64 --budget-s S` is the size curve at convergence
(`converge`): each size LAYERSxWIDTH trains on the token shards, its val exact match measured every K steps,
until it has not improved for P evaluations (patience), its schedule ends or its budget of S seconds is spent
(`--fit-schedule`: each size's schedule planned to end inside its budget); then it is measured on held-out iid,
edge and wide (`CURVE_SUITES`), its fp32 and int8 weights weighed, and the table names the smallest size that
reaches the target (99.9%) on every one.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from brain.checkpoint import WEIGHTS
from brain.engine import ModelResolver
from brain.failures import run_all
from brain.model import GPT
from brain.suites import held_out
from brain.suites.score import evaluate
from brain.tokenizer import Tokenizer
from brain.train import PRESETS, TrainConfig, batches, make_optimizer, train, train_step
from game.combat.ruleset import Ruleset
from game.measure import percentile


def seconds_per_step(tc: TrainConfig, rules: Ruleset, steps: int = 6) -> tuple[float, float]:
    """Time real training steps of this size (the mean of the second half); also the mean tokens per step."""
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
    settled = times[len(times) // 2:]  # the first steps grow the heap and are slower than the rest
    return sum(settled) / len(settled), sum(tokens) / len(tokens)


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
            "wide": result["wide"]["state_exact"], "order": result["order"]["state_exact"],
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
    lines = ["| depth | width | params | MB | steps | train s | PFLOP | iid | edge | wide | order | chain | "
             "p50 ms | p95 ms |", "|" + "---|" * 14]
    for r in rows:
        lines.append(f"| {r['depth']} | {r['width']} | {r['params']:,} | {r['weights_mb']:.2f} | {r['steps']} | "
                     f"{r['train_s']:.0f} | {r['train_pflop']:.3f} | {r['iid']:.2%} | {r['edge']:.2%} | "
                     f"{r['wide']:.2%} | {r['order']:.2%} | {r['chain_on_track']:.2%} | {r['batch1_p50_ms']:.1f} | "
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
        for suite in ("iid", "edge", "wide", "chain_on_track"):
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


# ------------------------------------------------------------------ the size curve at convergence

TARGET = 0.999  # next-state exact on every held-out suite of the curve (the shipped model's bar)


def parse_sizes(text: str, head_width: int = 32) -> list[tuple[int, int]]:
    """'1x32,2x64' -> [(1, 32), (2, 64)]: layers x width, width a multiple of the head width (the models': 32)."""
    sizes = []
    for item in text.split(","):
        depth, _, width = item.strip().partition("x")
        if not (depth.isdigit() and width.isdigit() and int(depth) > 0 and int(width) > 0
                and int(width) % head_width == 0):
            raise ValueError(f"--sizes: {item.strip()!r}: expected LAYERSxWIDTH, the width a multiple of "
                             f"{head_width} (heads are {head_width} wide), e.g. 2x64")
        sizes.append((int(depth), int(width)))
    return sizes


class Plateau:
    """train()'s stop rule for one size: val exact not improved for `patience` evaluations, or the budget spent.

    Until a first val block is answered exactly, a falling val loss counts as improving: a model that has not
    begun to write whole answers is learning, not converged. Asked at every log row, so the budget is checked
    every `log_every` steps (and after each evaluation)."""

    def __init__(self, patience: int, budget_s: float) -> None:
        self.patience, self.budget_s = patience, budget_s
        self.t0 = time.perf_counter()
        self.best, self.best_loss, self.best_step, self.since = -1.0, math.inf, 0, 0
        self.curve: list[tuple[int, float]] = []

    def __call__(self, row: dict) -> str | None:
        if "val_exact" in row:
            self.curve.append((row["step"], row["val_exact"]))
            learning = row["val_exact"] == 0 and row["val_loss"] < self.best_loss
            self.best_loss = min(self.best_loss, row["val_loss"])
            if row["val_exact"] > self.best or learning:
                self.best, self.best_step, self.since = max(self.best, row["val_exact"]), row["step"], 0
            else:
                self.since += 1
            if self.since >= self.patience:
                return f"plateau: no better val exact in {self.patience} evals since step {self.best_step}"
        if time.perf_counter() - self.t0 >= self.budget_s:
            return f"budget: {self.budget_s:g} s spent"
        return None


CURVE_SUITES = ("iid", "edge", "wide")  # what a size is measured on; the target holds on every one


def reached(row: dict, target: float) -> bool:
    return all(row.get(s, 0.0) >= target for s in CURVE_SUITES if s in row)


def converge(sizes: list[tuple[int, int]], data: Path, budget_s: float, out: Path, rules: Ruleset, n: int = 2000,
             eval_every: int = 250, patience: int = 4, val_n: int = 500, base: TrainConfig = PRESETS["default"],
             max_steps: int = 200_000, target: float = TARGET, jobs: int = 1, fit_schedule: bool = False,
             log=print) -> dict:
    """Each size trained to convergence on the shards in `data`; writes out/sweep.json and returns it.

    `max_steps` is the length of the lr schedule (warmup, cosine decay): a size stops on its plateau, its
    budget, or the schedule's end ("schedule end"). `fit_schedule`: each size's schedule is instead planned
    from a timing probe to end inside its budget (equal training time, every size annealed: the CPU's curve).
    `jobs` > 1 trains that many sizes at once, each in its own process (one GPU has room for several of
    these models: each alone leaves it mostly idle)."""
    out.mkdir(parents=True, exist_ok=True)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU, torch threads {base.threads}"
    result: dict = {"mode": "converge", "data": str(data), "budget_s": budget_s, "eval_every": eval_every,
                    "patience": patience, "val_n": val_n, "n": n, "target": target, "max_steps": max_steps,
                    "fit_schedule": fit_schedule, "suites": list(CURVE_SUITES),
                    "recipe": {k: getattr(base, k) for k in ("batch_size", "lr", "warmup", "optimizer", "seed")},
                    "machine": f"{platform.node()} {platform.machine()}, {device}, {jobs} size(s) at once",
                    "rows": [], "smallest": None}
    plan = [(size, data, budget_s, out, rules, n, eval_every, patience, val_n, base, max_steps, fit_schedule)
            for size in sizes]

    def record(row: dict) -> None:
        log(json.dumps({k: v for k, v in row.items() if k != "val_curve"}))
        result["rows"] = sorted([*result["rows"], row], key=lambda r: sizes.index((r["depth"], r["width"])))
        good = [r for r in result["rows"] if reached(r, target)]
        result["smallest"] = min(good, key=lambda r: r["params"])["size"] if good else None
        (out / "sweep.json").write_text(json.dumps(result, indent=1) + "\n")

    schedule = f"its schedule, fitted to {budget_s:g} s," if fit_schedule else f"the schedule ({max_steps} steps)"
    for depth, width in sizes:
        log(f"{depth}x{width}: training until val exact stalls for {patience} evals of {eval_every} steps, "
            f"{schedule} ends, or {budget_s:g} s")
    if jobs <= 1:
        for args in plan:
            record(converge_one(*args))
        return result
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:  # spawn: CUDA and fork don't mix
        futures = {pool.submit(converge_one, *args): args[0] for args in plan}
        for fut in as_completed(futures):
            try:
                record(fut.result())
            except Exception as e:  # one size failing must not lose the others' rows
                depth, width = futures[fut]
                log(f"{depth}x{width}: failed: {type(e).__name__}: {e}")
                result.setdefault("failed", {})[f"{depth}x{width}"] = f"{type(e).__name__}: {e}"
                (out / "sweep.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def converge_one(size: tuple[int, int], data: Path, budget_s: float, out: Path, rules: Ruleset, n: int,
                 eval_every: int, patience: int, val_n: int, base: TrainConfig, max_steps: int,
                 fit_schedule: bool = False) -> dict:
    """One size of the convergence sweep: trained into out/LAYERSxWIDTH, measured on held-out CURVE_SUITES."""
    from brain.export import write_form

    depth, width = size
    tc = replace(base, depth=depth, width=width, data=str(data), steps=max_steps, eval_every=eval_every,
                 log_every=math.gcd(base.log_every, eval_every), ckpt_every=max_steps, val_n=val_n,
                 val_loss_n=min(base.val_loss_n, val_n), init=None, workers=0)
    if fit_schedule:  # the steps that fit the budget, validation included (about 5% of a run on this CPU)
        per_step, _ = seconds_per_step(tc, rules, steps=30)
        steps = max(eval_every, int(0.93 * budget_s / per_step) // eval_every * eval_every)
        tc = replace(tc, steps=steps, ckpt_every=steps, warmup=min(tc.warmup, steps // 10))
        budget_s *= 1.5  # the plan is the limit; the budget only guards against a much slower machine
    run = out / f"{depth}x{width}"
    plateau = Plateau(patience, budget_s)
    t = time.perf_counter()
    last = train(tc, run, rules, quiet=True, stop=plateau)
    wall = time.perf_counter() - t
    resolver = ModelResolver.load(run, rules)
    scores = {suite: evaluate(resolver, held_out(suite, n, rules), rules)["state_exact"] for suite in CURVE_SUITES}
    int8 = write_form(run, run / "int8", "int8", rules) / WEIGHTS
    return {"size": f"{depth}x{width}", "depth": depth, "width": width, "params": resolver.num_params(),
            "bytes_fp32": (run / WEIGHTS).stat().st_size, "bytes_int8": int8.stat().st_size,
            "steps": last["step"], "examples": last["examples"], "wall_s": round(wall, 1),
            "stop": last.get("stop", "schedule end"), "best_val_exact": plateau.best,
            "best_val_step": plateau.best_step, "val_curve": plateau.curve, **scores}


def _source(row: dict) -> str:
    return f" (source {row['source']})" if "source" in row else ""


def converge_table(result: dict) -> str:
    suites = [x for x in CURVE_SUITES if any(x in r for r in result["rows"])]
    lines = ["| size | params | fp32 bytes | int8 bytes | steps | examples | wall s | stop | best val exact | "
             + " | ".join(f"{x} (n {result['n']})" for x in suites) + " |", "|" + "---|" * (9 + len(suites))]
    for r in result["rows"]:
        lines.append(f"| {r['size']} | {r['params']:,} | {r['bytes_fp32']:,} | {r['bytes_int8']:,} | {r['steps']:,} | "
                     f"{r['examples']:,} | {r['wall_s']:.0f} | {r['stop']}{_source(r)} | {r['best_val_exact']:.2%} "
                     f"(step {r['best_val_step']}) | " + " | ".join(
                         f"{r[x]:.2%}" if x in r else "-" for x in suites) + " |")
    small = next((r for r in result["rows"] if r["size"] == result["smallest"]), None)
    lines.append("")
    lines.append(f"Smallest size at >= {result['target']:.1%} next-state exact on every one of "
                 f"{', '.join(suites)}: " + (
                     f"**{small['size']}** ({small['params']:,} parameters, {small['bytes_int8']:,} bytes int8)"
                     if small else "none of these sizes reached it."))
    return "\n".join(lines)


# ------------------------------------------------------------------ the `rpg-brain sweep` stage

def add_arguments(sw: argparse.ArgumentParser) -> None:
    sw.add_argument("--depths", default="1,2,3,4,6", help="equal cost: one model per depth, width 32 x depth")
    sw.add_argument("--minutes", type=float, default=3.0, help="equal cost: training wall-clock per depth")
    sw.add_argument("--n", type=int, default=None,
                    help="cases per suite (default 500 at equal cost, 2000 held-out iid and edge at convergence)")
    sw.add_argument("--out", type=Path, default=None,
                    help="default brain/reports/sweep (equal cost), brain/reports/sweep/converge (--sizes)")
    sw.add_argument("--latency-only", action="store_true",
                    help="re-measure batch-1 latency of the runs already in --out (interleaved across depths)")
    sw.add_argument("--sizes", help="to convergence instead: LAYERSxWIDTH,... (e.g. 1x32,2x32,2x64), on --data")
    sw.add_argument("--data", type=Path, help="token shards (`rpg-brain gen`) the --sizes sweep trains on")
    sw.add_argument("--budget-s", type=float, default=1800.0, help="--sizes: wall-clock budget per size, seconds")
    sw.add_argument("--eval-every", type=int, default=250, help="--sizes: steps between val exact measurements")
    sw.add_argument("--patience", type=int, default=4,
                    help="--sizes: stop a size after this many evaluations without a better val exact")
    sw.add_argument("--val-n", type=int, default=500, help="--sizes: val blocks decoded at each evaluation")
    sw.add_argument("--preset", choices=tuple(PRESETS), default="default",
                    help="--sizes: the recipe (batch, lr, optimizer) every size trains with")
    sw.add_argument("--max-steps", type=int, default=200_000, help="--sizes: length of the lr schedule")
    sw.add_argument("--threads", type=int, default=None, help="--sizes: torch CPU threads (default: the preset's)")
    sw.add_argument("--fit-schedule", action="store_true",
                    help="--sizes: plan each size's schedule from a timing probe to end inside --budget-s (equal "
                         "training time, every size annealed; the CPU's curve)")
    sw.add_argument("--jobs", type=int, default=1, help="--sizes: sizes trained at once, one process each (a GPU)")
    sw.add_argument("--combine", type=Path, nargs="+", metavar="SWEEP_JSON",
                    help="one curve from several convergence sweeps' sweep.json (per size the longest-trained row)")


def run(args: argparse.Namespace) -> int:
    from game.content import load_ruleset

    rules = load_ruleset(args.content)
    if args.sizes or args.combine:
        return _run_converge(args, rules)
    args.out = args.out or Path("brain/reports/sweep")
    args.n = args.n or 500
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


def _run_converge(args: argparse.Namespace, rules: Ruleset) -> int:
    out = args.out or Path("brain/reports/sweep/converge")
    if args.combine:
        result = combine(args.combine)
        result["command"] = "rpg-brain " + " ".join(getattr(args, "argv", sys.argv[1:]))
        return _write_converge(out, result)
    sizes = parse_sizes(args.sizes)
    if args.data is None:
        raise ValueError("sweep --sizes trains from token shards: give --data DIR (rpg-brain gen)")
    for flag in ("budget_s", "eval_every", "patience", "val_n", "max_steps", "jobs"):
        if getattr(args, flag) <= 0:
            raise ValueError(f"--{flag.replace('_', '-')}: {getattr(args, flag)}, expected a positive number")
    result = converge(sizes, args.data, args.budget_s, out, rules, n=args.n or 2000, eval_every=args.eval_every,
                      patience=args.patience, val_n=args.val_n, max_steps=args.max_steps,
                      base=replace(PRESETS[args.preset], threads=args.threads or PRESETS[args.preset].threads),
                      jobs=args.jobs, fit_schedule=args.fit_schedule,
                      log=lambda msg: print(msg, file=sys.stderr, flush=True))
    result["command"] = "rpg-brain " + " ".join(getattr(args, "argv", sys.argv[1:]))
    return _write_converge(out, result)


def combine(paths: list[Path]) -> dict:
    """Several convergence sweeps (one lent GPU call each) as one curve: per size, the row that trained
    furthest (most steps; the later file on a tie). Each source's command and machine is kept."""
    sources = []
    for path in paths:
        try:
            sources.append(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a sweep.json ({exc})") from exc
        if sources[-1].get("mode") != "converge" or not isinstance(sources[-1].get("rows"), list):
            raise ValueError(f"{path}: expected a convergence sweep (\"mode\": \"converge\", \"rows\": [...])")
    best: dict[str, dict] = {}
    for i, src in enumerate(sources):
        for row in src["rows"]:
            if row["size"] not in best or row["steps"] >= best[row["size"]]["steps"]:
                best[row["size"]] = row | {"source": i}
    rows = sorted(best.values(), key=lambda r: r["params"])
    target = sources[-1]["target"]
    good = [r for r in rows if reached(r, target)]
    return {**{k: v for k, v in sources[-1].items() if k not in ("command", "rows", "smallest")}, "rows": rows,
            "smallest": min(good, key=lambda r: r["params"])["size"] if good else None,
            "sources": [{"file": str(p), "command": s.get("command"), "machine": s.get("machine"),
                         "budget_s": s.get("budget_s")} for p, s in zip(paths, sources, strict=True)]}


def _write_converge(out: Path, result: dict) -> int:
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(result, indent=1) + "\n")
    table = converge_table(result)
    pts = [(r["bytes_int8"] / 1e3, min(r[x] for x in CURVE_SUITES if x in r), str(r["depth"]))
           for r in result["rows"]]
    plot = ascii_plot(pts, xlabel="int8 KB (digit = layers)", ylabel="min over the suites")
    schedule = "fitted to its budget" if result.get("fit_schedule") else f"{result['max_steps']} steps"
    runs = result.get("sources") or [result]
    how = "\n".join(f"- {'source ' + str(i) + ': ' if 'sources' in result else ''}`{r['command']}` on {r['machine']}"
                    for i, r in enumerate(runs))
    # A fitted schedule stops every size at the same wall clock: that curve is not one at convergence.
    title = (f"Size curve at equal training time ({result['budget_s']:g} s a size)" if result.get("fit_schedule")
             else "Size curve at convergence")
    (out / "sweep.md").write_text(
        f"# {title}\n\n{how}\n\nEach size trains on the token shards until val exact "
        f"({result['val_n']} blocks, every {result['eval_every']} steps) has not improved for {result['patience']} "
        f"evaluations, its lr schedule ({schedule}) ends, or its budget is spent.\n\n{table}\n\n"
        f"```\n{plot}\n```\n")
    print(table)
    print(f"table: {out / 'sweep.md'}", file=sys.stderr)
    return 0
