"""Harlequin's discipline: the core never imports the UI or torch."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import game

ROOT = Path(__file__).resolve().parents[1]


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(game.__path__, "game.")
                  if not m.name.startswith("game.tui"))


def test_core_modules_found():
    assert {"game.combat.rules", "game.combat.format", "game.resolve", "game.content.loader"} <= set(core_modules())


def test_core_imports_neither_textual_nor_torch():
    code = (
        "import importlib, sys\n"
        f"for m in {core_modules()!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'torch', 'brain', 'numpy'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_game_content_reads_the_shipped_envelope_through_brain_paths_alone():
    """Checking the shipped content against the shipped model's envelope (game.shipped.load_game_content) is a
    JSON read: it may import `brain` (a docstring) and `brain.paths`, and nothing else of brain, nor numpy."""
    code = (
        "import sys\n"
        "from game.content import ContentError\nfrom game.shipped import load_game_content\n"
        "try:\n    load_game_content()\nexcept ContentError:\n    pass  # refused: a light read all the same\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'torch', 'brain', 'numpy'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "RPG_CONTENT_DIR"})
    assert out.stdout.strip() in ("brain,brain.paths", ""), out.stdout


def test_rules_cli_never_imports_torch():
    code = (
        "import sys, io\n"
        "from brain.cli import main\n"
        "sys.stdin = io.StringIO('t00 A hp10/10 pw05 ar00 cd000000 B hp10/10 pw03 ar00 cd000000 do attack r3\\n')\n"
        "main(['resolve', '--resolver', 'rules'])\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["t01 A hp10 cd000000 B hp02 cd000000", "False"]
