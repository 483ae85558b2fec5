"""`rpg-tui`: argument parsing only; Textual is imported after `--help`/`--version` are handled."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _version() -> str:
    try:
        return version("rpg-tui")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rpg-tui", description="A terminal roguelike whose combat is resolved by "
                                "rules or by a tiny learned model.")
    p.add_argument("--seed", type=int, help="run seed (default: random)")
    p.add_argument("--resolver", choices=("rules", "model", "experts"),
                   help="combat resolver at start (default: model when --model is given, else rules)")
    p.add_argument("--model", metavar="DIR", help="model directory (default: the shipped brain/models/default)")
    p.add_argument("--experts", metavar="DIR", help="experts directory for --resolver experts and the m cycle "
                   "(default: brain/models/experts; none is shipped yet, docs/brain.md)")
    p.add_argument("--save-dir", metavar="DIR", help="saves, play logs and morgue files "
                   "(default: saves/ in a checkout, else $XDG_DATA_HOME/rpg-tui)")
    p.add_argument("--new", action="store_true", help="start a new game at once, without the title screen "
                   "(a living saved run is kept in SAVE_DIR/kept/ first)")
    p.add_argument("--load", metavar="FILE", help="continue the run saved in FILE (e.g. one kept in SAVE_DIR/kept/)")
    p.add_argument("--time-limit", type=float, default=2.0, metavar="S",
                   help="seconds the model may take per turn before the rules answer is applied")
    p.add_argument("--list-models", action="store_true", help="list the models found and exit")
    p.add_argument("--serve", action="store_true", help="serve the game to web browsers (needs rpg-tui[serve]): "
                   "each tab its own game, saved under SAVE_DIR/web/<slot>")
    p.add_argument("--host", default="127.0.0.1", help="with --serve: the address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="with --serve: the port (default: 8000)")
    p.add_argument("--version", action="version", version=f"rpg-tui {_version()}")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.time_limit <= 0:
        parser.error("--time-limit must be a positive number of seconds")
    if args.seed is not None and not -(2**63) <= args.seed <= 2**63:
        parser.error("--seed must be between -2**63 and 2**63")
    if args.new and args.load:
        parser.error("--new and --load exclude each other")
    resolver = args.resolver or ("model" if args.model else "rules")
    if args.list_models:
        from game.paths import available_models

        models = available_models()
        print("\n".join(map(str, models)) if models else "no models found")
        return 0
    from game.content import ContentError, load_content

    try:
        content = load_content()
    except ContentError as exc:
        print(f"rpg-tui: bad content: {exc}", file=sys.stderr)
        return 2
    if args.serve:
        return run_server(args, parser)
    from game.tui.app import create_app

    app = create_app(seed=args.seed, resolver=resolver, save_dir=args.save_dir, new_game=args.new,
                     model_dir=args.model, content=content, time_limit_s=args.time_limit, experts_dir=args.experts)
    app.load_path = args.load
    try:
        app.run()
    except Exception:  # a crash outside Textual's own handler (the driver, the terminal): say so, exit non-zero
        import traceback

        traceback.print_exc()
        return 1
    # Textual sets 1 when it caught a crash; a signal leaves 128 + its number (after the save)
    return app.return_code or 0


def run_server(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import importlib.util

    if args.new:
        parser.error("--new does not go with --serve: each tab starts at the title screen of its own slot")
    if not 0 < args.port < 65536:
        parser.error(f"--port must be 1-65535, not {args.port}")
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
    try:
        serve(game_args, Path(args.save_dir) if args.save_dir else default_save_dir(), args.host, args.port)
    except OSError as exc:  # the port is taken, the host is not an address of this machine, ...
        print(f"rpg-tui: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
