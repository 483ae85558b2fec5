"""Snapshot tests: one picture per case (seed 42, 80x24), each in tests/__snapshots__/test_tui_snapshots/ as
test_snapshot[CASE].svg. Update after a deliberate visual change with:
pytest tests/test_tui_snapshots.py --snapshot-update"""

from __future__ import annotations

import pytest
from fakes import KEY_OF, clear_monsters, spawn_adjacent

from game.entities import FloorItem
from game.tui.app import create_app


async def _fight_with_debug_pane(pilot) -> None:
    # rules mode: model latencies are wall-clock and would make the picture differ run to run
    s = pilot.app.session
    clear_monsters(s)
    _, d = spawn_adjacent(s, "orc")
    await pilot.press("f2", "s", KEY_OF[d])
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _pinned(pilot) -> None:
    """A shaman next to the player, a knife underfoot and a full pack: what look, inventory and history show."""
    s = pilot.app.session
    clear_monsters(s)
    spawn_adjacent(s, "goblin shaman", hp=6)
    s.floor.items.append(FloorItem("throwing knife", s.player.x, s.player.y))
    s.player.inventory = ["healing draught", "healing draught", "throwing knife", "scroll of thunder",
                          "chain mail", "berserker brew"]
    s.update_fov()
    await pilot.pause()


def _pinned_then(*keys: str):
    async def run(pilot) -> None:
        await _pinned(pilot)
        await pilot.press(*keys)
        await pilot.pause()

    return run


async def _history(pilot) -> None:
    await _pinned(pilot)
    for i in range(30):
        pilot.app.session.messages.add(f"message {i}: the kobold {'hits' if i % 2 else 'misses'} you", "hurt")
    await pilot.press("M", *"kobold hits")
    await pilot.pause()


# id: the picture's name; new_game: False opens on the title; then snap_compare's run_before and press
CASES = [
    pytest.param(False, None, [], id="title"),
    pytest.param(True, None, ["l", "l", "j", "j", "h"], id="dungeon_after_a_few_moves"),
    pytest.param(True, _fight_with_debug_pane, [], id="fight_with_debug_pane"),
    pytest.param(True, None, ["question_mark"], id="help"),
    pytest.param(True, _pinned_then("semicolon"), [], id="look"),
    pytest.param(True, _pinned_then("i"), [], id="inventory"),
    pytest.param(True, _history, [], id="history"),
]


@pytest.mark.parametrize("new_game, run_before, press", CASES)
def test_snapshot(snap_compare, tmp_path, content, new_game, run_before, press):
    app = create_app(seed=42, save_dir=tmp_path, new_game=new_game, content=content)
    app.list_models = lambda: []  # the picture must not depend on which models are installed
    assert snap_compare(app, press=press, run_before=run_before, terminal_size=(80, 24))
