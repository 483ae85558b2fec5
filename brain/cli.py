"""`rpg-brain`: the model pipeline's command line.

This file only builds the parser and dispatches. Each subcommand is a stage module that owns its flags and its
work: `add_arguments(parser)` and `run(args) -> int` (docs/brain.md, "Layout"). Only the chosen stage is
imported, so the torch-free ones (sample, resolve, eval, bench, arena, ingest) never import torch. One handler
turns the project's known errors (bad content, a model or shards that cannot be loaded, bad input: all
ValueError; an unreadable or unwritable path: OSError) into `rpg-brain: <message>` and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable
from pathlib import Path

from game.content import ContentError

# subcommand -> (stage module, one-line help); a new subcommand is one module and one line here
STAGES: dict[str, tuple[str, str]] = {
    "sample": ("brain.sample", "print input blocks of a suite (iid, edge, wide, crowded, long)"),
    "resolve": ("brain.pipe", "read input blocks on stdin, write one next-state block or error per line"),
    "gen": ("brain.gen", "write the training distribution as token shards + manifest.json (resumes)"),
    "train": ("brain.train", "train a model (see docs/brain.md for the presets)"),
    "eval": ("brain.evaluate", "exact match on the suites: held-out blocks, failure-first suites, the envelope probe"),
    "bench": ("brain.bench", "latency (batch 1, one thread), load time, throughput, size"),
    "ship": ("brain.ship", "copy a run's model into a model directory with its eval summary"),
    "report": ("brain.report", "write the markdown report card under brain/reports/"),
    "arena": ("brain.arena", "headless games (scripted or random player); divergences, fallbacks, latency"),
    "ingest": ("brain.ingest", "play logs -> token shards labelled by the rules"),
    "finetune": ("brain.finetune", "continue training on play data mixed with synthetic data"),
    "sweep": ("brain.sweep", "models of several sizes: capability per megabyte (to convergence, or equal cost)"),
    "export": ("brain.export", "fp16 / int8 / onnx forms of a model: size, accuracy, latency"),
}


def build_parser(stages: Iterable[str] = STAGES) -> argparse.ArgumentParser:
    """The parser, with the flags of `stages` (importing their modules); the others are listed, not built."""
    p = argparse.ArgumentParser(prog="rpg-brain", description=__doc__.splitlines()[0])
    p.add_argument("--content", type=Path, default=None, help="content directory (default: the project's content/)")
    sub = p.add_subparsers(dest="command", required=True)
    wanted = set(stages)
    for name, (module, about) in STAGES.items():
        s = sub.add_parser(name, help=about, description=about)
        if name in wanted:
            importlib.import_module(module).add_arguments(s)
    return p


def _command_of(argv: list[str]) -> str | None:
    """The subcommand named in argv (after the global --content), without importing any stage."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--content")
    pre.add_argument("command", nargs="?")
    known, _ = pre.parse_known_args(argv)
    return known.command if known.command in STAGES else None


def _error(exc: BaseException) -> str:
    if isinstance(exc, ContentError):
        return f"bad content: {exc}"
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_of(argv)
    try:
        parser = build_parser([command] if command else [])
    except ModuleNotFoundError as exc:  # a play install (no torch) asked for a training stage
        print(f"rpg-brain: {command} needs {exc.name} (pip install 'rpg-tui[train]')", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    args.argv = argv  # what a stage records as its command line (sweep.json)
    try:
        return importlib.import_module(STAGES[args.command][0]).run(args)
    except BrokenPipeError:  # `rpg-brain sample | head` is normal use
        return 0
    except (ValueError, OSError) as exc:  # ContentError, ModelLoadError, ShardError, ExpertsError, IngestError...
        print(f"rpg-brain: {_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
