"""`rpg-brain resolve`: input blocks on stdin, one next-state block (or `error: ...`) per line on stdout.

Needs no torch: the rules answer, or the model decoding with numpy or ONNX Runtime (game.resolve's lazy door).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from game.combat.format import encode_output
from game.combat.judge import Resolver, RulesResolver, resolve_blocks
from game.content import load_ruleset


def add_arguments(r: argparse.ArgumentParser) -> None:
    r.add_argument("--resolver", choices=("rules", "model", "experts"), default="rules")
    r.add_argument("--experts", type=Path, default=None,
                   help="experts directory for --resolver experts (default: brain/models/experts)")
    r.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    r.add_argument("--allow-stale", action="store_true", help="load a stale model anyway (its answers are marked)")
    r.add_argument("--batch", type=_positive, default=256, help="lines resolved together by the model (at least 1)")
    r.add_argument("--derivation", action="store_true", help="print the whole answer, derivation included")
    r.add_argument("--draft", choices=("rules", "copy", "none"), default="rules",
                   help="what each model call verifies (brain/draft.py); the answers are the same, rules is fastest")


def _positive(text: str) -> int:
    """--batch: a whole number of lines, at least 1 (0 read nothing and answered nothing, with exit code 0)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of lines, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 line, got {value}")
    return value


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
    try:
        if out is None:  # a text stream put in place of stdout (tests, embedding)
            sys.stdout.write(text + "\n")
        else:
            out.write(text.encode("utf-8", "backslashreplace") + b"\n")
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:
        raise _StdoutGone(getattr(exc, "strerror", None) or str(exc)) from None


def _stdin_bytes() -> BinaryIO:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is not None:
        return stream
    import io

    return io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))  # a text stream put in place of stdin


class _StdoutGone(Exception):
    """stdout is closed (`>&-`) or refuses writes (EBADF): nobody can read an answer."""


def _stdout_closed(why: str) -> int:
    """Say so once on stderr (when there is one) and leave with exit code 2, no traceback; stdout is pointed at
    /dev/null so that the interpreter's own flush at exit has nothing left to complain about."""
    import os

    with contextlib.suppress(OSError, ValueError):
        sys.stdout = open(os.devnull, "w")  # lives until the process ends
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            print(f"rpg-brain: resolve: cannot write the answers ({why})", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if sys.stdout is None:  # started with stdout closed
        return _stdout_closed("stdout is closed")
    try:
        return _run(args)
    except BrokenPipeError:
        raise  # the reader stopped reading (`| head`): rpg-brain's handler leaves quietly
    except _StdoutGone as exc:
        return _stdout_closed(str(exc))


def _flush() -> None:
    try:
        sys.stdout.flush()
        if hasattr(sys.stdout, "buffer"):
            sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:  # EBADF: stdout is not open for writing; ValueError: it was closed
        raise _StdoutGone(getattr(exc, "strerror", None) or str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    rules = load_ruleset(args.content)
    resolver: Resolver
    if args.resolver == "rules":
        resolver = RulesResolver(rules)
    else:
        from brain.experts import load_learned

        resolver = load_learned(args.resolver, args.experts if args.resolver == "experts" else args.model, rules,
                                draft=args.draft, allow_stale=args.allow_stale)
    # the model answers a batch at a time; the rules answer line by line, so streams stay live
    size = 1 if args.resolver == "rules" else args.batch
    _flush()
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
        _flush()
    return 0
