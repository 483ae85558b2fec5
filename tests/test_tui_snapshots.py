"""Snapshot tests (fixed seed, 80x24). Update with: pytest tests/test_tui_snapshots.py --snapshot-update"""

from __future__ import annotations

from fakes import clear_monsters, spawn_adjacent

from game.content import load_content
from game.tui.app import create_app

CONTENT = load_content()


def test_title(snap_compare, tmp_path):
    app = create_app(seed=42, save_dir=tmp_path, content=CONTENT)
    app.list_models = lambda: []  # the picture must not depend on which models are installed
    assert snap_compare(app, terminal_size=(80, 24))


def test_dungeon_after_a_few_moves(snap_compare, tmp_path):
    app = create_app(seed=42, save_dir=tmp_path, new_game=True, content=CONTENT)
    assert snap_compare(app, press=["l", "l", "j", "j", "h"], terminal_size=(80, 24))


def test_fight_with_debug_pane(snap_compare, tmp_path):
    # rules mode: model latencies are wall-clock and would make the picture differ run to run
    app = create_app(seed=42, save_dir=tmp_path, new_game=True, content=CONTENT)

    async def setup(pilot):
        s = pilot.app.session
        clear_monsters(s)
        _, d = spawn_adjacent(s, "orc")
        key = {(-1, 0): "h", (1, 0): "l", (0, -1): "k", (0, 1): "j", (-1, -1): "y", (1, -1): "u",
               (-1, 1): "b", (1, 1): "n"}[d]
        await pilot.press("f2", "s", key)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, run_before=setup, terminal_size=(80, 24))


def test_help(snap_compare, tmp_path):
    app = create_app(seed=42, save_dir=tmp_path, new_game=True, content=CONTENT)
    assert snap_compare(app, press=["question_mark"], terminal_size=(80, 24))


def _pinned(seed: int, tmp_path):
    from game.entities import FloorItem

    app = create_app(seed=seed, save_dir=tmp_path, new_game=True, content=CONTENT)

    async def setup(pilot):
        s = pilot.app.session
        clear_monsters(s)
        spawn_adjacent(s, "goblin shaman", hp=6)
        s.floor.items.append(FloorItem("throwing knife", s.player.x, s.player.y))
        s.player.inventory = ["healing draught", "healing draught", "throwing knife", "scroll of thunder",
                              "chain mail", "berserker brew"]
        s.update_fov()
        await pilot.pause()

    return app, setup


def test_look(snap_compare, tmp_path):
    app, setup = _pinned(42, tmp_path)

    async def run(pilot):
        await setup(pilot)
        await pilot.press("semicolon")
        await pilot.pause()

    assert snap_compare(app, run_before=run, terminal_size=(80, 24))


def test_inventory(snap_compare, tmp_path):
    app, setup = _pinned(42, tmp_path)

    async def run(pilot):
        await setup(pilot)
        await pilot.press("i")
        await pilot.pause()

    assert snap_compare(app, run_before=run, terminal_size=(80, 24))


def test_history(snap_compare, tmp_path):
    app, setup = _pinned(42, tmp_path)

    async def run(pilot):
        await setup(pilot)
        for i in range(30):
            pilot.app.session.messages.add(f"message {i}: the kobold {'hits' if i % 2 else 'misses'} you", "hurt")
        await pilot.press("M", *"kobold hits")
        await pilot.pause()

    assert snap_compare(app, run_before=run, terminal_size=(80, 24))
