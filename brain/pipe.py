"""`rpg-brain resolve`: input blocks on stdin, one next-state block (or `error: ...`) per line on stdout.

Needs no torch: the rules answer, or the model decoding with numpy or ONNX Runtime (game.resolve's lazy door).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from game.combat.format import encode_output
from game.content import load_ruleset
from game.paths import shipped_experts_dir
from game.resolve import Resolver, RulesResolver, resolve_blocks


def add_arguments(r: argparse.ArgumentParser) -> None:
    r.add_argument("--resolver", choices=("rules", "model", "experts"), default="rules")
    r.add_argument("--experts", type=Path, default=None,
                   help="experts directory for --resolver experts (default: brain/models/experts)")
    r.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    r.add_argument("--batch", type=int, default=256, help="lines resolved together by the model")
    r.add_argument("--derivation", action="store_true", help="print the whole answer, derivation included")
    r.add_argument("--draft", choices=("rules", "copy", "none"), default="rules",
                   help="what each model call verifies (brain/draft.py); the answers are the same, rules is fastest")


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


def run(args: argparse.Namespace) -> int:
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
            raise ValueError(f"cannot load the {args.resolver}: {exc}") from exc
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
