"""The screens and their keys (game/tui/screens.py, widgets.py), driven by Pilot: the death and end screens, the
side panel, log and key bar, the debug pane, look, the message history, the inventory, help, and the keys of
activities (explore, rest, run, travel)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fakes import KEY_OF, PerfectModel, clear_monsters, settle, spawn_adjacent
from rich.color import Color, ColorSystem
from textual.containers import VerticalScroll
from textual.widgets import HelpPanel, Input
from textual.widgets._footer import FooterKey

from game.combat.format import encode_answer
from game.combat.state import Combatant, Status
from game.dungeon import FLOOR
from game.entities import FloorItem, Monster
from game.runs import load_runs
from game.tui.screens import (
    EndScreen,
    GameScreen,
    HistoryLog,
    HistoryScreen,
    InventoryScreen,
    LookScreen,
    RunsScreen,
    TitleScreen,
)


async def _die(pilot, app) -> None:
    s = app.session
    clear_monsters(s)
    s.player.body = replace(s.player.body, hp=1)
    spawn_adjacent(s, "bone knight")
    for _ in range(30):
        if isinstance(app.screen, EndScreen):
            return
        await pilot.press("full_stop")
    raise AssertionError("the bone knight did not kill a 1-hp player")


async def test_q_on_the_death_screen_quits(run_app):
    async with run_app(seed=5) as (app, pilot):
        await _die(pilot, app)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_death_is_acknowledged_with_enter_not_a_move_key(tmp_path, run_app):
    async with run_app(seed=5) as (app, pilot):
        await _die(pilot, app)
        for key in ("n", "h", "j", "k", "l", "y", "u", "b", "1", "3"):
            await pilot.press(key)
            assert isinstance(app.screen, EndScreen), key
        await pilot.press("enter")
        assert isinstance(app.screen, TitleScreen)
        # the finished run went into the run history, which the title shows with r
        runs = load_runs(tmp_path)
        assert len(runs) == 1 and runs[0]["seed"] == 5 and "bone knight" in runs[0]["cause"]
        await pilot.press("r")
        assert isinstance(app.screen, RunsScreen)
        assert "bone knight" in str(app.screen.query_one("#runs").content)


async def test_side_panel_log_and_inventory_use_words(run_app):
    async with run_app(seed=5) as (app, pilot):
        s = app.session
        clear_monsters(s)
        s.player.inventory = ["scroll of venom", "antidote", "healing draught"]
        await pilot.press("i")
        inv = str(app.screen.query_one("#inventory-text").content)
        assert "Teaches the special action poison strike" in inv and "Cures poison and burning" in inv
        assert f"Restores up to {s.item_spec('healing draught').value} hp" in inv
        for raw in ("poison_strike", "('poison'", "restore_hp", "teach", "cure "):
            assert raw not in inv, raw
        await pilot.press("a")  # read the scroll of venom
        assert s.messages.items[-1].text == "You learn poison strike!"
        side = str(app.screen.query_one("#side").content)
        assert "p poison strike ready" in side and "poison_strike" not in side


def _at_end(log: VerticalScroll) -> bool:
    return log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y


async def test_log_follows_after_palette_save_and_resize(run_app):
    async with run_app(seed=5) as (app, pilot):
        s = app.session
        clear_monsters(s)
        for i in range(12):
            s.messages.add(f"line {i}", "info")
        await pilot.press("full_stop")
        log = app.screen.query_one("#log", VerticalScroll)
        await pilot.pause()
        assert _at_end(log)
        await pilot.press("ctrl+p")
        await pilot.press(*"Save game")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, GameScreen) and s.messages.items[-1].text.startswith("Saved to")
        await pilot.pause()
        assert _at_end(log)
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        await pilot.press("full_stop")
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert _at_end(log)


async def test_every_game_key_has_a_description_and_escape_closes_the_keys_panel(run_app):
    async with run_app(seed=5) as (app, pilot):
        bindings = [b for b in GameScreen.BINDINGS]
        assert all(b.description for b in bindings), [b.key for b in bindings if not b.description]
        app.action_show_help_panel()
        await pilot.pause()
        assert app.screen.query(HelpPanel)
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query(HelpPanel)


async def test_screenshot_goes_under_the_save_dir(tmp_path, monkeypatch, run_app):
    monkeypatch.setenv("HOME", str(tmp_path / "home-without-downloads"))
    async with run_app(seed=5, save_dir=tmp_path / "saves") as (app, pilot):
        saved = app.deliver_screenshot()
        await pilot.pause()
        shots = list((tmp_path / "saves" / "screenshots").glob("*.svg"))
        assert len(shots) == 1 and str(shots[0]) == saved
        assert app.session.messages.items[-1].text == f"Screenshot saved to {saved}."


async def test_debug_pane_columns_recent_turns_and_fresh_scroll(run_app):
    async with run_app(seed=5, size=(100, 32)) as (app, pilot):
        s = app.session
        clear_monsters(s)
        s.player.known.append("ignite")
        spawn_adjacent(s, "bog troll")
        await pilot.press("t")  # ignite: the troll turns fragile, A.fragile / B.fragile fields appear
        await pilot.press("f2")
        await settle(pilot)
        text = str(app.screen.query_one("#debug-text").content)
        lines = text.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("field"))
        rows = [line for line in lines[header + 1:] if line[:2] in ("A.", "B.", "tu")]
        assert any("fragile.magnitude" in r for r in rows)
        # the model column starts at the same place on every row: nothing pushes it right
        width = lines[header].index("model")
        assert all(r[width - 1] == " " for r in rows), rows
        assert lines.index("recent:") < header  # the recent turns are above the fold
        debug = app.screen.query_one("#debug", VerticalScroll)
        debug.scroll_relative(y=10, animate=False)
        await pilot.pause()
        await pilot.press("f2", "f2")
        await pilot.pause()
        assert debug.scroll_y == 0


async def test_lab_input_shows_the_start_of_the_block(run_app):
    async with run_app(seed=5) as (app, pilot):
        await pilot.press("f3")
        await settle(pilot)
        inp = app.screen.query_one("#lab-input", Input)
        assert len(inp.value) > 80 and inp.cursor_position == 0 and inp.scroll_offset.x == 0


def test_visible_and_remembered_floor_are_far_apart_in_256_colours():
    from game.tui.widgets import _DIM, _LIT

    def grey(style) -> int:
        return Color.parse(style.color.name).downgrade(ColorSystem.EIGHT_BIT).number

    assert grey(_LIT[FLOOR]) - grey(_DIM[FLOOR]) >= 8


# ---------------------------------------------------------------- the keys of activities, and screens

async def test_explore_rest_run_and_travel_keys(run_app):
    async with run_app(seed=3) as (app, pilot):
        s = app.session
        clear_monsters(s)
        s.floor.items.clear()
        seen = sum(map(sum, s.level.seen))
        await pilot.press("o")
        assert s.turns > 1 and sum(map(sum, s.level.seen)) > seen
        s.player.body = replace(s.player.body, hp=20).with_cooldown("heal", 3)
        await pilot.press("R")
        b = s.player.body
        assert b.hp == b.max_hp and b.cooldown("heal") == 0
        assert "You are rested" in s.messages.items[-1].text
        before = s.turns
        for key in ("L", "H", "J", "K"):
            await pilot.press(key)
        assert s.turns >= before  # running never crashes; a wall says so and costs nothing
        for _ in range(40):
            await pilot.press("o")
            if s.level.down and s.level.seen[s.level.down[1]][s.level.down[0]]:
                break
        s.player.x, s.player.y = s.level.up
        s.update_fov()
        await pilot.press("greater_than_sign")
        assert (s.player.x, s.player.y) == s.level.down and s.depth == 1
        await pilot.press("greater_than_sign")
        assert s.depth == 2


async def test_rest_stops_when_a_monster_comes(run_app):
    async with run_app(seed=3) as (app, pilot):
        s = app.session
        clear_monsters(s)
        s.player.body = replace(s.player.body, hp=10)
        m, _ = spawn_adjacent(s, "rat")
        await pilot.press("R")
        assert s.turns == 0 and "Not while a monster is near" in s.messages.items[-1].text
        s.floor.monsters.remove(m)
        await pilot.press("o")  # exploring with nothing in view walks on
        assert s.turns > 0


async def test_look_describes_monsters_and_items(run_app):
    async with run_app(seed=3) as (app, pilot):
        s = app.session
        clear_monsters(s)
        m, d = spawn_adjacent(s, "goblin shaman", hp=5)
        s.update_fov()
        await pilot.press("semicolon")
        assert isinstance(app.screen, LookScreen)
        text = str(app.screen.query_one("#look").content)
        assert "goblin shaman" in text and f"HP 5/{m.body.max_hp}" in text
        assert "heal: +5 hp, then regen 2/turn" in text and "ignite: burn 2/turn for 3 turns; fragile +2" in text
        assert "flees below 35% hp" in text
        assert app.screen.map_view.cursor == (m.x, m.y)
        s.floor.items.append(FloorItem("throwing knife", s.player.x, s.player.y))
        await pilot.press(*{(-1, 0): "l", (1, 0): "h", (0, -1): "j", (0, 1): "k", (-1, -1): "n", (1, -1): "b",
                            (-1, 1): "u", (1, 1): "y"}[d])
        text = str(app.screen.query_one("#look").content)
        assert "throwing knife" in text and f"{s.item_spec('throwing knife').value} damage" in text
        await pilot.press("escape")
        assert isinstance(app.screen, GameScreen) and app.screen.query_one("#map").cursor is None


async def test_message_history_scrolls_and_searches(run_app):
    async with run_app(seed=3) as (app, pilot):
        s = app.session
        clear_monsters(s)
        for i in range(60):
            s.messages.add(f"line number {i}", "info")
        await pilot.press("M")
        assert isinstance(app.screen, HistoryScreen)
        await settle(pilot)
        scroll = app.screen.query_one("#history-scroll", HistoryLog)
        assert scroll.scroll_y == scroll.max_scroll_y > 0  # opens on the newest lines
        await pilot.press(*"number 7")
        await pilot.pause()
        assert "1 lines match 'number 7'" in str(app.screen.query_one("#history-title").content)
        await pilot.press("enter")
        await pilot.pause()
        assert scroll.scroll_y == 8  # the welcome line, then lines 0..6
        await pilot.press("escape")
        assert isinstance(app.screen, GameScreen)


async def test_stacking_drop_and_new_items(content, run_app):
    async with run_app(seed=3) as (app, pilot):
        s = app.session
        clear_monsters(s)
        p = s.player
        for _ in range(3):
            s.floor.items.append(FloorItem("throwing knife", p.x, p.y))
        for _ in range(3):
            await pilot.press("g")
        await pilot.press("i")
        inv = str(app.screen.query_one("#inventory-text").content)
        assert "throwing knife x3" in inv
        await pilot.press("escape")
        await pilot.press("d")
        assert isinstance(app.screen, InventoryScreen)
        await pilot.press("a")
        assert p.inventory.count("throwing knife") == 2 and len(s.items_at(p.x, p.y)) == 1
        p.inventory.append("chain mail")
        await pilot.press("i", "b")  # wear the chain mail
        assert p.worn == "chain mail" and p.body.armor == content.player.armor + s.item_spec("chain mail").value


async def test_help_lists_specials_with_numbers_and_glyphs(run_app):
    async with run_app(seed=3) as (app, pilot):
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help").content)
        assert "e heal          +5 hp, then regen 2/turn for 2 turns (cd 3)" in text
        assert "T bog troll" in text and "[ armour" in text and "o explore" in text


# ---------------------------------------------------------------- defects met in play

async def test_inventory_d_drops_when_it_is_no_item_and_uses_the_item_under_d(run_app):
    """Seed 244942: `u k g i d a` put the armour on. `i d` said "Drop which?" but the letter used the item, and
    the item under d could not be used at all (d always switched to dropping)."""
    async with run_app(seed=244942) as (app, pilot):
        s = app.session
        clear_monsters(s)
        p = s.player
        p.inventory = ["leather armour"]
        await pilot.press("i", "d", "a")
        assert p.worn is None and p.inventory == [] and [i.kind for i in s.items_at(p.x, p.y)] == ["leather armour"]
        p.inventory = ["healing draught", "antidote", "ration", "scroll of venom"]  # a b c d
        await pilot.press("i")
        assert "Tab: drop instead" in str(app.screen.query_one("#inventory-text").content)
        await pilot.press("d")  # the scroll under d: read, not a switch to dropping
        assert "poison_strike" in p.known and not isinstance(app.screen, InventoryScreen)
        await pilot.press("i", "tab", "b")  # Tab switches to dropping, whatever the letters
        assert "antidote" not in p.inventory and "antidote" in [i.kind for i in s.items_at(p.x, p.y)]
        await pilot.press("i", "b")  # a free letter (b's antidote was dropped) says so; the inventory stays open
        assert isinstance(app.screen, InventoryScreen)
        assert "nothing under b" in str(app.screen.query_one("#inventory-text").content)


async def test_less_than_on_depth_1_names_the_way_out(run_app):
    """`<` on depth 1 said "no stairs up" while the `<` was drawn on the map."""
    async with run_app(seed=3) as (app, pilot):
        s = app.session
        clear_monsters(s)
        p = s.player
        up = s.level.up
        step = next(d for d in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1))
                    if s.level.walkable(up[0] + d[0], up[1] + d[1]))
        await pilot.press(KEY_OF[step], KEY_OF[step] if s.level.walkable(up[0] + 2 * step[0], up[1] + 2 * step[1])
                          else "full_stop")
        assert (p.x, p.y) != up
        await pilot.press("less_than_sign")
        text = " ".join(m.text for m in s.messages.items[-2:])
        assert (p.x, p.y) == up and "way out" in text and "sealed" in text and "no stairs" not in text
        await pilot.press("less_than_sign")  # on it: what pressing it does
        assert "way out" in s.messages.items[-1].text and "down (>)" in s.messages.items[-1].text and s.depth == 1


async def test_a_decoder_note_is_said_once_in_the_log_not_in_the_status_line(content, run_app):
    """The play install has no ONNX Runtime: every model load filled the top bar with "model.onnx not used"."""
    class NumpyOnly(PerfectModel):
        decoder, model_dir = "numpy", Path("/models/default")
        decoder_note = "model.onnx not used: onnxruntime is not installed"

    def no_experts():
        raise ValueError("no experts here")

    async with run_app(seed=3, resolver="model", model_loader=lambda: NumpyOnly(content.rules),
                       experts_loader=no_experts) as (app, pilot):
        s = app.session
        assert s.model_status == "loaded (default, numpy decoder)"
        assert "onnx" not in str(app.screen.query_one("#status").content)
        for _ in range(3):  # experts (cannot load), rules, the model loaded again
            await pilot.press("m")
            await settle(pilot)
        assert s.active == "model" and s.model is not None
        notes = [m for m in s.messages.items if "model.onnx not used" in m.text]
        assert len(notes) == 1 and "pip install 'rpg-tui[onnx]'" in notes[0].text


class _GuardDiverges(PerfectModel):
    """Agrees with the rules except on guard, where it forgets the shield: one divergence to find again."""

    name = "fake-guard"

    def resolve_batch(self, cases):
        out = super().resolve_batch(cases)
        for i, ((_state, action, _roll), r) in enumerate(zip(cases, out, strict=True)):
            if action == "guard":
                nxt = replace(r.next_state, actor=r.next_state.actor.with_status("shield", None))
                out[i] = replace(r, raw=encode_answer(r.events, nxt), next_state=nxt)
        return out


async def test_the_debug_pane_steps_back_to_a_divergence_after_other_turns(content, run_app):
    """F2 showed only the latest turn: a [diverged] turn could not be reviewed once another followed."""
    async with run_app(seed=3, size=(100, 40), resolver=_GuardDiverges(content.rules)) as (app, pilot):
        s = app.session
        clear_monsters(s)
        s.player.body = replace(s.player.body, armor=60)  # nothing of the troll's gets through: no death here
        _m, d = spawn_adjacent(s, "bog troll")
        await pilot.press("s")  # guard: diverges
        await settle(pilot)
        for _ in range(3):  # then plain blows, that agree
            await pilot.press(KEY_OF[d])
            await settle(pilot)
        assert s.recent[-1].tag != "[diverged]" and len(s.stats.notable) == 1
        await pilot.press("f2")
        assert "divergence or fallback 1 of" not in str(app.screen.query_one("#debug-text").content)
        await pilot.press("left_parenthesis")
        text = str(app.screen.query_one("#debug-text").content)
        assert "divergence or fallback 1 of 1" in text and "you -> bog troll guard" in text
        assert "A.shield.magnitude" in text and "[diverged]" in text
        await pilot.press("right_parenthesis")  # past the newest: the latest turn again
        assert "divergence or fallback" not in str(app.screen.query_one("#debug-text").content)


async def test_the_side_panel_lists_every_monster_in_view(run_app):
    """Only the monster being fought showed in the side panel."""
    async with run_app(seed=3) as (app, pilot):
        s = app.session
        clear_monsters(s)
        spawn_adjacent(s, "rat", hp=5)
        p = s.player
        cell = next(c for c in sorted(s.visible, key=lambda c: -abs(c[0] - p.x) - abs(c[1] - p.y))
                    if s.level.walkable(*c) and s.monster_at(*c) is None and max(abs(c[0] - p.x), abs(c[1] - p.y)) > 2)
        orc = Monster("orc", *cell, Combatant(20, 30, 6, 2).with_status("poison", Status(2, 3)), awake=True)
        s.floor.monsters.append(orc)
        await pilot.press("full_stop")
        side = str(app.screen.query_one("#side").content)
        assert "rat" in side and "orc" in side and "/30" in side and "po2:" in side


async def test_the_key_bar_fits_80_columns(run_app):
    """At 80x24 the key bar at the bottom was cut off (no ctrl+q, "f3 L")."""
    async with run_app(seed=3) as (app, pilot):
        await pilot.pause()
        keys = list(app.screen.query(FooterKey))
        palette = [k for k in keys if k.has_class("-command-palette")]
        shown = [k for k in keys if k not in palette]
        right = palette[0].region.x if palette else 80
        assert shown and all(k.region.right <= right for k in shown), [(k.key, k.region) for k in shown]
        assert "ctrl+q" in [k.key for k in shown]
