"""`rpg-tui`: argument parsing only; Textual is imported after `--help`/`--version` are handled."""

from __future__ import annotations

import argparse
import math
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _version() -> str:
    try:
        return version("rpg-tui")
    except PackageNotFoundError:
        return "unknown"


MAX_TIME_LIMIT_S = 600.0  # a model slower than this per turn is not playable; larger values overflowed thread waits


def _seconds(text: str) -> float:
    """--time-limit: a finite number of seconds above 0 and at most MAX_TIME_LIMIT_S (inf, nan, 1e10 and
    negative numbers are an argparse error, not a crash at the first model turn)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= MAX_TIME_LIMIT_S):
        raise argparse.ArgumentTypeError(f"expected seconds above 0 and at most {MAX_TIME_LIMIT_S:g}, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rpg-tui", description="A terminal roguelike whose combat is resolved by "
                                "rules or by a tiny learned model.")
    p.add_argument("--seed", type=int, help="run seed (default: random)")
    p.add_argument("--resolver", choices=("rules", "model", "experts"),
                   help="combat resolver at start (default: model when --model is given, else rules)")
    p.add_argument("--model", metavar="DIR", help="model directory (default: the shipped brain/models/default)")
    p.add_argument("--experts", metavar="DIR", help="experts directory for --resolver experts and the m cycle "
                   "(default: brain/models/experts, docs/brain.md \"Experts\")")
    p.add_argument("--allow-stale", action="store_true", help="load a stale model anyway (trained on another "
                   "ruleset or sampler version): it plays, and every answer of it is marked stale")
    p.add_argument("--content", metavar="DIR", help="play the content in DIR instead of the shipped content "
                   "(also RPG_CONTENT_DIR): checked against the legal state only, not the shipped model's envelope")
    p.add_argument("--save-dir", metavar="DIR", help="saves, play logs and morgue files "
                   "(default: saves/ in a checkout, else $XDG_DATA_HOME/rpg-tui)")
    p.add_argument("--new", action="store_true", help="start a new game at once, without the title screen "
                   "(a living saved run is kept in SAVE_DIR/kept/ first)")
    p.add_argument("--load", metavar="FILE", help="continue the run saved in FILE (e.g. one kept in SAVE_DIR/kept/)")
    p.add_argument("--time-limit", type=_seconds, default=2.0, metavar="S",
                   help="seconds the model may take per turn before the rules answer is applied")
    p.add_argument("--list-models", action="store_true", help="list the models found and exit")
    p.add_argument("--serve", action="store_true", help="serve the game to web browsers (needs rpg-tui[serve]): "
                   "each tab its own game, saved under SAVE_DIR/web/<slot>")
    p.add_argument("--host", default="127.0.0.1", help="with --serve: the address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="with --serve: the port (default: 8000)")
    p.add_argument("--max-games", type=int, default=8, metavar="N", help="with --serve: games (browser tabs) "
                   "played at once; a tab past that is told so (default: 8)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME", help="with --serve: a host name "
                   "the browser may use besides IP addresses, localhost and this machine's name (repeatable)")
    p.add_argument("--web", action="store_true", help="set by --serve on each tab's game: no command that asks "
                   "for a directory, and the game saves and exits when the server is gone")
    p.add_argument("--version", action="version", version=f"rpg-tui {_version()}")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.seed is not None:
        from game.saves import SEED_RANGE, seed_problem  # the one seed range (the title's field, saves)

        if seed_problem(args.seed) is not None:
            parser.error(f"--seed must be {SEED_RANGE}, not {args.seed}")
    if args.new and args.load:
        parser.error("--new and --load exclude each other")
    resolver = args.resolver or ("model" if args.model else "rules")
    if args.list_models:
        from game.resolve import available_models

        models = available_models()
        print("\n".join(map(str, models)) if models else "no models found")
        return 0
    from game.content import ContentError
    from game.shipped import load_game_content

    try:  # the shipped content against the shipped model's envelope; content of one's own against the legal state
        content = load_game_content(args.content)
    except ContentError as exc:
        print(f"rpg-tui: bad content: {exc}", file=sys.stderr)
        return 2
    if args.serve:
        return run_server(args, parser)
    from game.tui.app import create_app

    app = create_app(seed=args.seed, resolver=resolver, save_dir=args.save_dir, new_game=args.new,
                     model_dir=args.model, content=content, time_limit_s=args.time_limit, experts_dir=args.experts,
                     allow_stale=args.allow_stale)
    app.load_path = args.load
    app.web = args.web
    if args.web:
        leave_when_orphaned()
    try:
        app.run()
    except Exception:  # a crash outside Textual's own handler (the driver, the terminal): say so, exit non-zero
        import traceback

        traceback.print_exc()
        return 1
    # Textual sets 1 when it caught a crash; a signal leaves 128 + its number (after the save), also when the
    # terminal closing ended the app (Textual's input thread reads EIO) before the hang-up signal was handled
    return app.signal_exit_code or app.return_code or 0


def leave_when_orphaned(interval_s: float = 0.5) -> None:
    """--web: the server that started this game is its parent. Once it is gone (even killed with SIGKILL) nobody
    reads the game any more: SIGHUP itself, on which the game saves and exits (RpgApp._on_signal)."""
    import os
    import signal
    import threading
    import time

    parent = int(os.environ.get("RPG_TUI_SERVER_PID") or os.getppid())  # set by the server: it may die first

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os.kill(os.getpid(), getattr(signal, "SIGHUP", signal.SIGTERM))

    threading.Thread(target=watch, name="rpg-server-watch", daemon=True).start()


def run_server(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import importlib.util

    if args.new:
        parser.error("--new does not go with --serve: each tab starts at the title screen of its own slot")
    if not 0 < args.port < 65536:
        parser.error(f"--port must be 1-65535, not {args.port}")
    if args.max_games < 1:
        parser.error(f"--max-games must be at least 1, not {args.max_games}")
    if importlib.util.find_spec("textual_serve") is None:
        print("rpg-tui: --serve needs textual-serve, which is not installed: pip install 'rpg-tui[serve]'",
              file=sys.stderr)
        return 2
    from game.paths import default_save_dir
    from game.tui.serve import serve

    # what each tab's game process is started with; --save-dir is per slot
    game_args = [f"--time-limit={args.time_limit}"]
    if args.seed is not None:
        game_args.append(f"--seed={args.seed}")
    if args.resolver:
        game_args.append(f"--resolver={args.resolver}")
    if args.model:
        game_args.append(f"--model={Path(args.model).resolve()}")
    if args.experts:
        game_args.append(f"--experts={Path(args.experts).resolve()}")
    if args.content:
        game_args.append(f"--content={Path(args.content).resolve()}")
    if args.allow_stale:
        game_args.append("--allow-stale")
    try:
        serve(game_args, Path(args.save_dir) if args.save_dir else default_save_dir(), args.host, args.port,
              max_games=args.max_games, allow_hosts=args.allow_host, time_limit_s=args.time_limit)
    except OSError as exc:  # the port is taken, the host is not an address of this machine, ...
        print(f"rpg-tui: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
