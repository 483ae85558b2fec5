"""`rpg-brain`: the model pipeline's command line.

Subcommands that need torch (train, ship, report, finetune, sweep, export) import it
inside their handler; the others (sample, resolve, eval, bench, arena, ingest) work
without it, the model decoding with numpy or ONNX Runtime.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from game.combat.format import encode_input, encode_output
from game.combat.sampler import SUITES, sample
from game.content import ContentError, load_ruleset
from game.paths import shipped_experts_dir, shipped_model_dir
from game.resolve import Resolver, RulesResolver, resolve_blocks

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    COMMANDS[fn.__name__.removeprefix("cmd_")] = fn
    return fn


@command
def cmd_sample(args: argparse.Namespace) -> int:
    rules = load_ruleset(args.content)
    for state, action, roll in sample(args.suite, args.n, args.seed, rules):
        print(encode_input(state, action, roll))
    return 0


def _chunks(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(islice(lines, size)):
        yield chunk


MAX_BLOCK_BYTES = 4096  # an input block is under 100 bytes; a longer line is answered without reading it whole


def _stdin_lines(stream: BinaryIO) -> Iterator[str | Exception]:
    """Lines of stdin read as bytes: each decoded line, or the error that line gets (not UTF-8, too long).

    Reading bytes keeps one bad line from ending the stream, whatever PYTHONIOENCODING says."""
    while raw := stream.readline(MAX_BLOCK_BYTES + 1):
        if len(raw) > MAX_BLOCK_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(MAX_BLOCK_BYTES)
            yield ValueError(f"malformed input: line longer than {MAX_BLOCK_BYTES} bytes")
            continue
        raw = raw.rstrip(b"\r\n")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield ValueError(f"malformed input: not UTF-8 at column {exc.start + 1} "
                             f"(byte 0x{raw[exc.start]:02x}); expected an ASCII input block")


def _write_line(text: str) -> None:
    out = getattr(sys.stdout, "buffer", None)  # bytes: an answer never fails on the terminal's encoding
    if out is None:  # a text stream put in place of stdout (tests, embedding)
        sys.stdout.write(text + "\n")
    else:
        out.write(text.encode("utf-8", "backslashreplace") + b"\n")


def _stdin_bytes() -> BinaryIO:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is not None:
        return stream
    import io

    return io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))  # a text stream put in place of stdin


@command
def cmd_resolve(args: argparse.Namespace) -> int:
    rules = load_ruleset(args.content)
    resolver: Resolver
    if args.resolver == "rules":
        resolver = RulesResolver(rules)
    else:
        from game.resolve import load_experts_resolver, load_model_resolver

        try:
            resolver = (load_experts_resolver(args.experts or shipped_experts_dir(), rules)
                        if args.resolver == "experts" else load_model_resolver(args.model, rules))
        except ValueError as exc:
            print(f"rpg-brain: cannot load the {args.resolver}: {exc}", file=sys.stderr)
            return 2
        resolver.draft = args.draft  # type: ignore[attr-defined]
    # the model answers a batch at a time; the rules answer line by line, so streams stay live
    size = 1 if args.resolver == "rules" else args.batch
    sys.stdout.flush()
    for chunk in _chunks(_stdin_lines(_stdin_bytes()), size):
        blocks = [x for x in chunk if isinstance(x, str)]
        answers = iter(resolve_blocks(resolver, blocks, rules))
        for item in chunk:
            if isinstance(item, Exception):
                _write_line(f"error: {item}")
                continue
            res = next(answers)
            if res.ok:
                _write_line(res.raw if args.derivation else encode_output(res.next_state))
            else:
                _write_line(f"error: {res.error}")
        sys.stdout.flush()
        if hasattr(sys.stdout, "buffer"):
            sys.stdout.buffer.flush()
    return 0


@command
def cmd_gen(args: argparse.Namespace) -> int:
    from brain.data import Mix
    from brain.shards import ShardError, generate

    rules = load_ruleset(args.content)
    try:
        m = generate(args.out, args.n, args.seed, rules, Mix(args.edge, args.easy_keep), shard_size=args.shard_size,
                     workers=args.workers, progress=not args.quiet)
    except ShardError as exc:
        print(f"rpg-brain: {exc}", file=sys.stderr)
        return 2
    g = m["gen"]
    per_worker = g["draws_this_run"] / max(1e-9, g["seconds"]) / g["workers"]
    print(json.dumps({"out": str(args.out), "counts": m["counts"], "tokens": m["tokens"],
                      "duplicates_removed": m["duplicates_removed"], **g, "draws_per_s_per_worker": round(per_worker)}))
    return 0


@command
def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from brain.checkpoint import ModelLoadError
    from brain.shards import ShardError
    from brain.train import PRESETS, train

    tc = PRESETS[args.preset]
    keys = ("depth", "steps", "lr", "batch_size", "seed", "workers", "threads", "eval_every", "warmup", "rope", "roles",
            "optimizer", "muon_lr")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    if args.data is not None:
        overrides["data"] = str(args.data)
    if args.init is not None:
        overrides["init"] = str(args.init)
    tc = replace(tc, **overrides)
    if args.expert or args.stale:
        return _train_experts(args, tc)
    out = args.out or Path("brain/runs") / args.preset
    try:
        row = train(tc, out, load_ruleset(args.content), resume=args.resume)
    except (ModelLoadError, ShardError) as exc:
        print(f"rpg-brain: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(row))
    return 0


def _train_experts(args: argparse.Namespace, tc) -> int:
    """`train --expert NAME` (one expert on its route's share of --data) or `train --stale` (every stale one)."""
    from brain.experts import train_expert, train_stale

    if args.data is None:
        print("rpg-brain: --expert and --stale train from token shards: give --data DIR (rpg-brain gen)",
              file=sys.stderr)
        return 2
    directory = args.experts or shipped_experts_dir()
    rules = load_ruleset(args.content)
    try:
        if args.stale:
            done = train_stale(args.data, directory, rules, tc, dep_n=args.dep_n)
        else:
            done = {args.expert: train_expert(args.expert, args.data, directory, rules, tc, dep_n=args.dep_n)}
    except ValueError as exc:  # ModelLoadError, ShardError, ExpertsError
        print(f"rpg-brain: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"experts": str(directory), "trained": {k: {"constants": e.constants, **e.trained}
                                                             for k, e in done.items()}}))
    return 0


def _load_resolver(args: argparse.Namespace):
    rules = load_ruleset(args.content)
    if getattr(args, "resolver", "model") == "experts":
        from brain.experts import ExpertsResolver

        return ExpertsResolver.load(args.experts or shipped_experts_dir(), rules, draft=args.draft,
                                    threads=args.threads)
    from brain.engine import ModelResolver

    return ModelResolver.load(args.model, rules, threads=args.threads, draft=args.draft)


FAILURE_SUITES = ("perturb", "order", "ood", "chain")


@command
def cmd_eval(args: argparse.Namespace) -> int:
    from brain.evaluate import SUITES, evaluate, held_out, summary_table

    known = (*SUITES, *FAILURE_SUITES, "all")
    unknown = [s for s in args.suite if s not in known]
    if unknown:
        print(f"rpg-brain: unknown suite {unknown[0]!r}; expected one of {', '.join(known)}", file=sys.stderr)
        return 2
    rules = load_ruleset(args.content)
    try:
        resolver = _load_resolver(args)
    except ValueError as exc:
        print(f"rpg-brain: cannot load the {args.resolver}: {exc}", file=sys.stderr)
        return 2
    if any(s in FAILURE_SUITES or s == "all" for s in args.suite):
        from brain.failures import all_table, raw_answers, run_all, ungated_answers

        raw = None if args.no_raw else (lambda blocks: raw_answers(resolver, blocks))
        result = run_all(resolver, rules, n=args.n, ungated_answer=lambda blocks: ungated_answers(resolver, blocks),
                         raw_answer=raw)
        if "all" not in args.suite:
            result = {k: v for k, v in result.items() if k in args.suite}
        table = "all" in args.suite and not args.json
        print(all_table(result) if table else json.dumps(result, indent=1))
        return 0
    results = {}
    for suite in args.suite:
        results[suite] = evaluate(resolver, held_out(suite, args.n, rules, args.seed), rules)
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[args.suite[0]], indent=1))
    else:
        print(summary_table(results))
    return 0


@command
def cmd_bench(args: argparse.Namespace) -> int:
    from brain.bench import bench, draft_identity

    try:
        if args.resolver == "experts":
            from brain.experts import bench_experts

            result = bench_experts(args.experts or shipped_experts_dir(), load_ruleset(args.content), n=args.n)
        elif args.identity:
            result = draft_identity(args.model, load_ruleset(args.content), args.identity)
        else:
            result = bench(args.model, load_ruleset(args.content), n=args.n, content=args.content)
    except ValueError as exc:
        print(f"rpg-brain: cannot load the model: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1 if args.json else None))
    return 0


@command
def cmd_ship(args: argparse.Namespace) -> int:
    import torch

    from brain.ship import ship

    torch.set_num_threads(args.threads)
    try:
        config = ship(args.run, args.to, load_ruleset(args.content), n=args.n)
    except ValueError as exc:
        print(f"rpg-brain: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(config["eval"], indent=1))
    return 0


@command
def cmd_report(args: argparse.Namespace) -> int:
    import torch

    from brain.ship import write_report

    torch.set_num_threads(args.threads)
    try:
        path = write_report(args.model, load_ruleset(args.content), n=args.n, out_dir=args.out,
                            content=args.content)
    except ValueError as exc:
        print(f"rpg-brain: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


@command
def cmd_arena(args: argparse.Namespace) -> int:
    from brain.arena import run_arena
    from game.content import load_content

    content = load_content(args.content)
    model, status = None, "off (--no-model)"
    if not args.no_model:
        from game.resolve import load_experts_resolver, load_model_resolver

        try:
            if args.resolver == "experts":
                model = load_experts_resolver(args.experts or shipped_experts_dir(), content.rules)
                where = args.experts or "shipped experts"
            else:
                model = load_model_resolver(args.model, content.rules)
                where = args.model or "shipped default"
            model.draft = args.draft  # type: ignore[attr-defined]
            status = f"loaded ({where}, {model.decoder} decoder, draft {args.draft})"
        except ValueError as exc:
            if args.resolver != "rules":
                print(f"rpg-brain: cannot load the {args.resolver}: {exc}", file=sys.stderr)
                return 2
            status = f"unavailable ({exc})"
    result = run_arena(content, args.turns, args.seed, args.resolver, args.save_dir, model, status,
                       progress=not args.quiet)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for key in ("games", "turns_played", "combat_turns", "divergences_per_1000", "fallbacks", "fallback_reasons",
                    "model_latency_ms", "deaths", "wins", "depth_reached", "win_rate", "games_lost_to_crash"):
            print(f"{key}: {result[key]}")
    return 0


@command
def cmd_ingest(args: argparse.Namespace) -> int:
    from brain.ingest import IngestError, ingest

    try:
        manifest = ingest(args.paths, args.out, load_ruleset(args.content))
    except IngestError as exc:
        print(f"rpg-brain ingest: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"rpg-brain ingest: cannot write {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for line in manifest["bad_lines"][:20]:
        print(f"skipped {line}", file=sys.stderr)
    print(json.dumps({"out": str(args.out), "counts": manifest["counts"], "ingest": manifest["ingest"]}))
    return 0


@command
def cmd_finetune(args: argparse.Namespace) -> int:
    from brain.finetune import FinetuneConfig, compare, compare_table, finetune

    rules = load_ruleset(args.content)
    try:
        info = finetune(args.from_, args.data, args.out, rules, FinetuneConfig(steps=args.steps, lr=args.lr,
                                                                                     threads=args.threads))
    except (ValueError, OSError) as exc:
        print(f"rpg-brain: {exc}", file=sys.stderr)
        return 2
    result = compare(args.from_, args.out, args.data, rules, n=args.n)
    report = args.report or args.out / "finetune.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(f"# Fine-tune: {args.from_} -> {args.out}\n\nData: {args.data} "
                      f"({info['play_rows']} play rows, mixed half and half with fresh synthetic data), "
                      f"{args.steps} steps.\n\nNext-state exact match, before and after:\n\n"
                      f"{compare_table(result)}\n")
    (report.with_suffix(".json")).write_text(json.dumps({"finetune": info, "compare": result}, indent=1) + "\n")
    print(compare_table(result))
    print(f"report: {report}", file=sys.stderr)
    return 0


@command
def cmd_sweep(args: argparse.Namespace) -> int:
    from brain.sweep import measure_latency, plots, sweep, sweep_table

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


@command
def cmd_export(args: argparse.Namespace) -> int:
    from brain.export import export_forms, forms_table

    rows = export_forms(args.model or shipped_model_dir(), args.out, load_ruleset(args.content), n=args.n)
    table = forms_table(rows)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "forms.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rpg-brain", description=__doc__.splitlines()[0])
    p.add_argument("--content", type=Path, default=None, help="content directory (default: the project's content/)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sample", help="print input blocks from the state sampler")
    s.add_argument("--suite", choices=sorted(SUITES), default="iid")
    s.add_argument("--n", type=int, default=10)
    s.add_argument("--seed", type=int, default=0)

    r = sub.add_parser("resolve", help="read input blocks on stdin, write one next-state block or error per line")
    r.add_argument("--resolver", choices=("rules", "model", "experts"), default="rules")
    r.add_argument("--experts", type=Path, default=None,
                   help="experts directory for --resolver experts (default: brain/models/experts)")
    r.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    r.add_argument("--batch", type=int, default=256, help="lines resolved together by the model")
    r.add_argument("--derivation", action="store_true", help="print the whole answer, derivation included")
    r.add_argument("--draft", choices=("rules", "copy", "none"), default="rules",
                   help="what each model call verifies (brain/draft.py); the answers are the same, rules is fastest")
    g = sub.add_parser("gen", help="write the training distribution as token shards + manifest.json (resumes)")
    g.add_argument("--out", type=Path, default=Path("brain/data"))
    g.add_argument("--n", type=int, default=200_000, help="draws before the split and deduplication")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--edge", type=float, default=0.2, help="share of edge-suite cases")
    g.add_argument("--easy-keep", type=float, default=0.5, help="acceptance of an easy case")
    g.add_argument("--workers", type=int, default=None, help="processes drawing shards (default: every core)")
    g.add_argument("--shard-size", type=int, default=50_000, help="draws per shard (the unit of resume)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")

    t = sub.add_parser("train", help="train a model (see docs/brain.md for the presets)")
    t.add_argument("--preset", choices=("tiny", "default", "cpu", "long"), default="default")
    t.add_argument("--out", type=Path, default=None, help="run directory (default brain/runs/PRESET)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--data", type=Path, default=None,
                   help="token shards written by `rpg-brain gen` (default: draw batches from the rules)")
    t.add_argument("--init", type=Path, default=None,
                   help="start from this model directory's weights (a second phase; experts from the single model)")
    t.add_argument("--depth", type=int)
    t.add_argument("--steps", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--warmup", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--seed", type=int)
    t.add_argument("--eval-every", type=int)
    t.add_argument("--rope", action=argparse.BooleanOptionalAction, default=None,
                   help="rotary positions (default) or learned absolute positions (--no-rope)")
    t.add_argument("--roles", action=argparse.BooleanOptionalAction, default=None,
                   help="role embeddings (default) or none (--no-roles)")
    t.add_argument("--optimizer", choices=("adamw", "muon"), help="muon: Muon for the matrices, AdamW for the rest")
    t.add_argument("--muon-lr", type=float, help="peak lr of the Muon matrices")
    t.add_argument("--workers", type=int, help="batch-drawing processes (0: inline)")
    t.add_argument("--threads", type=int, help="torch CPU threads (default 2)")
    t.add_argument("--expert", help="train one expert (brain/experts.py: strikes, self, ignite) on its route's "
                   "share of --data, into --experts DIR, and update its manifest")
    t.add_argument("--stale", action="store_true",
                   help="retrain, from their own weights, only the experts the content made stale")
    t.add_argument("--experts", type=Path, default=None, help="experts directory (default: brain/models/experts)")
    t.add_argument("--dep-n", type=int, default=2000,
                   help="sampled blocks per route when measuring an expert's rule constants")

    e = sub.add_parser("eval", help="exact match of the model on held-out test-split blocks")
    e.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    e.add_argument("--resolver", choices=("model", "experts"), default="model")
    e.add_argument("--experts", type=Path, default=None,
                   help="experts directory for --resolver experts (default: brain/models/experts)")
    e.add_argument("--suite", nargs="+", default=["iid"],
                   help="suites: iid edge (held-out tables), perturb order ood chain, or all (every suite and the "
                        "failure metrics; docs/evaluation.md)")
    e.add_argument("--no-raw", action="store_true", help="skip the slow ungated, unconstrained perturb pass")
    e.add_argument("--n", type=int, default=2000)
    e.add_argument("--seed", type=int, default=20261125, help="evaluation seed (never a training seed)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a shared machine)")
    e.add_argument("--draft", choices=("rules", "copy", "none"), default="rules",
                   help="what each model call verifies (brain/draft.py); the answers are the same, rules is fastest")

    b = sub.add_parser("bench", help="latency (batch 1, one thread), load time, throughput, size")
    b.add_argument("--model", type=Path, default=None)
    b.add_argument("--resolver", choices=("model", "experts"), default="model",
                   help="experts: load time, size and batch-1 latency of the composed resolver")
    b.add_argument("--experts", type=Path, default=None,
                   help="experts directory for --resolver experts (default: brain/models/experts)")
    b.add_argument("--n", type=int, default=200, help="batch-1 turns timed")
    b.add_argument("--json", action="store_true", help="indented JSON")
    b.add_argument("--identity", type=int, metavar="N", default=0,
                   help="instead: check that every drafter gives the undrafted answer on N held-out blocks per suite")

    sh = sub.add_parser("ship", help="copy a run's model into a model directory with its eval summary")
    sh.add_argument("run", type=Path, help="the training run directory")
    sh.add_argument("--to", type=Path, default=shipped_model_dir())
    sh.add_argument("--n", type=int, default=2000, help="held-out cases per suite for the eval summary")
    sh.add_argument("--threads", type=int, default=1)

    rp = sub.add_parser("report", help="write the markdown report card under brain/reports/")
    rp.add_argument("--model", type=Path, default=None)
    rp.add_argument("--n", type=int, default=2000, help="held-out cases per suite")
    rp.add_argument("--out", type=Path, default=Path("brain/reports"))
    rp.add_argument("--threads", type=int, default=1)
    a = sub.add_parser("arena", help="headless games by the scripted player; divergences, fallbacks, latency")
    a.add_argument("--turns", type=int, default=5000, help="player turns in total, over as many games as it takes")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--resolver", choices=("rules", "model", "experts"), default="model")
    a.add_argument("--experts", type=Path, default=None,
                   help="experts directory for --resolver experts (default: brain/models/experts)")
    a.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    a.add_argument("--no-model", action="store_true", help="rules only, no shadow model")
    a.add_argument("--save-dir", type=Path, default=Path("saves/arena"), help="play logs go to DIR/playlogs")
    a.add_argument("--json", action="store_true")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    a.add_argument("--draft", choices=("rules", "copy", "none"), default="rules",
                   help="what each model call verifies (brain/draft.py); the answers are the same, rules is fastest")

    ig = sub.add_parser("ingest", help="play logs -> a dataset labelled by the rules")
    ig.add_argument("paths", type=Path, nargs="+", help="play-log files or directories")
    ig.add_argument("--out", type=Path, required=True)

    ft = sub.add_parser("finetune", help="continue training on play data mixed with synthetic data")
    ft.add_argument("--from", dest="from_", type=Path, default=shipped_model_dir())
    ft.add_argument("--data", type=Path, required=True, help="a dataset written by `rpg-brain ingest`")
    ft.add_argument("--out", type=Path, required=True)
    ft.add_argument("--steps", type=int, default=400)
    ft.add_argument("--lr", type=float, default=3e-4)
    ft.add_argument("--threads", type=int, default=1, help="torch CPU threads (two stall on a shared machine)")
    ft.add_argument("--n", type=int, default=2000, help="held-out cases per standard suite for the comparison")
    ft.add_argument("--report", type=Path, default=None, help="markdown comparison (default OUT/finetune.md)")

    sw = sub.add_parser("sweep", help="one model per depth, same budget: capability per megabyte")
    sw.add_argument("--depths", default="1,2,3,4,6")
    sw.add_argument("--minutes", type=float, default=3.0, help="training wall-clock per depth")
    sw.add_argument("--n", type=int, default=500, help="cases per suite")
    sw.add_argument("--out", type=Path, default=Path("brain/reports/sweep"))
    sw.add_argument("--latency-only", action="store_true",
                    help="re-measure batch-1 latency of the runs already in --out (interleaved across depths)")

    ex = sub.add_parser("export", help="fp16 / int8 / onnx forms of a model: size, accuracy, latency")
    ex.add_argument("--model", type=Path, default=None)
    ex.add_argument("--out", type=Path, default=Path("brain/runs/forms"))
    ex.add_argument("--report-dir", type=Path, default=Path("brain/reports"), help="where forms.json goes")
    ex.add_argument("--n", type=int, default=1000)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ContentError as exc:
        print(f"rpg-brain: bad content: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `rpg-brain sample | head` is normal use
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
