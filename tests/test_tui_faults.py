"""Faults met in the app: damaged saves on Continue, refused writes, a new game over a living run, the
palette under the size notice, screens closed twice."""

from __future__ import annotations

import json

import pytest
from fakes import clear_monsters, spawn_adjacent
from textual import events
from textual.command import CommandPalette

from game import saves
from game.autoplay import play
from game.session import GameSession
from game.tui.app import create_app
from game.tui.palette import SafeCommandPalette
from game.tui.screens import GameScreen, HelpScreen, InventoryScreen, TitleScreen, TooSmallScreen


def _log(app) -> str:
    return "\n".join(m.text for m in app.session.messages.items)


def _two_saves(content, save_dir, turns=(10, 40)):
    """save.json.bak from `turns[0]` player turns, save.json from `turns[1]`."""
    s = GameSession.new(content, 8, "run-a")
    play(s, turns[0], seed=1)
    saves.save_game(s, save_dir)
    play(s, turns[1] - turns[0], seed=2)
    saves.save_game(s, save_dir)
    return s


async def test_continue_offers_the_backup_when_save_json_is_corrupt(content, tmp_path, run_app):
    _two_saves(content, tmp_path)
    bak_turns = json.loads((tmp_path / saves.BACKUP_NAME).read_text())["turns"]
    saves.save_path(tmp_path).write_text('{"save_version": 1, "seed": 1e400')
    async with run_app(seed=5, new_game=False) as (app, pilot):
        await pilot.press("c")
        assert isinstance(app.screen, GameScreen) and app.session.turns == bak_turns
        assert "save.json.bak" in _log(app) and "moved aside" in _log(app)
        broken = list(tmp_path.glob("save.broken-*.json"))
        assert len(broken) == 1 and "1e400" in broken[0].read_text()
        await pilot.press("ctrl+q")
    assert saves.load_game(tmp_path, content).turns == bak_turns


async def test_continue_offers_a_leftover_temp_file(content, tmp_path, run_app):
    s = _two_saves(content, tmp_path)
    newest = json.dumps(saves.session_to_dict(play(s, 20, seed=3)))
    saves.save_path(tmp_path).unlink()  # a kill between the two renames of the old saves.py
    (tmp_path / "save.json.tmp").write_text(newest)
    async with run_app(seed=5, new_game=False) as (app, pilot):
        assert "continue the saved game" in str(app.screen.query_one("#title-menu").content)
        await pilot.press("c")
        assert isinstance(app.screen, GameScreen) and app.session.turns == s.turns


async def test_nothing_loads_every_file_is_set_aside(tmp_path, run_app):
    saves.save_path(tmp_path).write_text("[" * 100_000)
    (tmp_path / saves.BACKUP_NAME).write_text('{"save_version": 1, "turns": ' + "9" * 5000 + "}")
    async with run_app(seed=5, new_game=False) as (app, pilot):
        await pilot.press("c")
        assert isinstance(app.screen, TitleScreen)
        notice = str(app.screen.query_one("#title-notice").content)
        assert "cannot be used" in notice and notice.count("moved aside") == 2
        assert len(list(tmp_path.glob("save.broken-*.json"))) == 2
        await pilot.press("n")
        assert isinstance(app.screen, GameScreen)


async def test_save_json_a_directory_keeps_playing_and_saves_elsewhere(content, tmp_path, run_app):
    save_dir = tmp_path / "saves"
    saves.save_path(save_dir).mkdir(parents=True)
    async with run_app(seed=5, save_dir=save_dir) as (app, pilot):
        clear_monsters(app.session)
        await pilot.press("l", "ctrl+q")
        assert app.is_running and isinstance(app.screen, GameScreen)
        assert f"Could not save: {saves.save_path(save_dir)}: is a directory" in _log(app)
        commands = {c.title: c.callback for c in app.get_system_commands(app.screen)}
        commands["Save to another directory…"]()
        await pilot.pause()
        field = app.screen.query_one("#savedir")
        field.value = str(tmp_path / "elsewhere")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, GameScreen) and app.save_error is None
        assert saves.load_game(tmp_path / "elsewhere", content).turns == app.session.turns
        await pilot.press("h", "ctrl+q")
    assert saves.load_game(tmp_path / "elsewhere", content).turns == 2


async def test_a_second_ctrl_q_leaves_without_saving_when_saving_fails(tmp_path, run_app):
    (tmp_path / "saves").write_text("a file where the save dir should be")
    async with run_app(seed=5, save_dir=tmp_path / "saves") as (app, pilot):
        await pilot.press("ctrl+q")
        assert app.is_running and "Could not save" in _log(app)
        await pilot.press("ctrl+q")
    assert app.return_code in (0, None)
    assert (tmp_path / "saves").read_text() == "a file where the save dir should be"


async def test_playlogs_a_file_never_stops_a_fight(content, tmp_path, run_app):
    (tmp_path / "playlogs").write_text("not a directory")
    async with run_app(seed=5) as (app, pilot):
        s = app.session
        clear_monsters(s)
        spawn_adjacent(s, "rat")
        for _ in range(3):
            await pilot.press("full_stop")
        assert app.is_running and s.stats.combat_turns >= 1
        assert "The play log cannot be written" in _log(app) and "playlogs" in _log(app)
        await pilot.press("ctrl+q")
    assert saves.load_game(tmp_path, content).stats.combat_turns == s.stats.combat_turns


async def test_a_new_game_keeps_the_living_run(content, tmp_path, run_app):
    old = _two_saves(content, tmp_path)
    async with run_app(seed=6, new_game=False) as (app, pilot):
        await pilot.press("n")
        assert isinstance(app.screen, GameScreen) and "previous run was kept" in _log(app)
        for _ in range(3):
            app.save_game()  # save.json and then .bak are the new run now
    kept = tmp_path / saves.KEPT_DIR / "run-a.json"
    assert saves.load_file(kept, content).turns == old.turns
    # --load continues it, and keeps the run it replaces
    app = create_app(seed=7, save_dir=tmp_path, content=content)
    app.load_path = str(kept)
    async with app.run_test():
        assert isinstance(app.screen, GameScreen) and app.session.run_id == "run-a"
        assert app.session.turns == old.turns
    assert len(list((tmp_path / saves.KEPT_DIR).glob("*.json"))) == 2


async def test_loading_the_living_save_by_name_keeps_no_copy(content, tmp_path, run_app):
    """`rpg-tui --load SAVE_DIR/save.json` is the living run itself: continued, not copied to kept/ as if replaced."""
    _two_saves(content, tmp_path)
    living = saves.load_game(tmp_path, content)
    app = create_app(seed=7, save_dir=tmp_path, content=content)
    app.load_path = str(saves.save_path(tmp_path))
    async with app.run_test():
        assert isinstance(app.screen, GameScreen) and app.session.run_id == living.run_id
        assert "previous run was kept" not in _log(app)
    assert not list((tmp_path / saves.KEPT_DIR).glob("*.json"))


async def test_new_flag_keeps_the_living_run_too(content, tmp_path, run_app):
    _two_saves(content, tmp_path)
    async with run_app(seed=6) as (app, _pilot):
        assert "previous run was kept" in _log(app)
    assert (tmp_path / saves.KEPT_DIR / "run-a.json").is_file()


async def test_palette_under_the_size_notice_opens_once(run_app):
    """ctrl+p, shrink below 80x24 (the notice covers the palette), ctrl+p: was DuplicateIds."""
    async with run_app(seed=5) as (app, pilot):
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert sum(isinstance(s, CommandPalette) for s in app.screen_stack) == 1
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, GameScreen)
    assert app.return_code in (0, None)


@pytest.mark.parametrize("opened_by", ["ctrl+p", "theme command"])
async def test_page_keys_in_a_palette_with_no_laid_out_list(run_app, opened_by):
    """KeyError: 0 in OptionList._move_page: the list holds options but has no size yet (it was hidden
    and results just arrived), so it has no lines; a page key there crashed the app. Textual's own "Theme"
    command opens a second palette (App.search_themes), which the monkey reached in CI: it is guarded too."""
    from textual.command import CommandList

    async with run_app(seed=5) as (app, pilot):
        if opened_by == "ctrl+p":
            await pilot.press("ctrl+p")
        else:
            app.search_themes()
        await pilot.pause()
        palette = app.screen
        assert isinstance(palette, SafeCommandPalette)
        commands = palette.query_one(CommandList)
        commands.display = False  # hidden: laid out with no size
        await pilot.pause()
        commands.clear_options()
        commands.add_options(["x", "y"])  # results arrive before the next layout
        commands.highlighted = 0
        assert not commands.scrollable_content_region  # the state that crashed
        for key in ("pageup", "pagedown"):
            await pilot.press(key)
        assert app.is_running and app.screen is palette


async def test_palette_watchers_after_its_widgets_are_gone(run_app):
    """NoMatches 'LoadingIndicator' / CommandList: the search worker flips `_show_busy` / `_list_visible` after
    the closing palette's widgets were removed (the monkey found it through the Theme palette)."""
    async with run_app(seed=5) as (app, pilot):
        await pilot.press("ctrl+p")
        await pilot.pause()
        palette = app.screen
        assert isinstance(palette, SafeCommandPalette)
        await palette.query("*").remove()
        palette._show_busy = not palette._show_busy
        palette._list_visible = not palette._list_visible
        await pilot.pause()
        await pilot.pause()
        assert app.is_running and app.screen is palette


async def _double(app, key: str) -> None:
    for _ in range(2):  # both keys reach the screen before the first close lands
        event = events.Key(key, None)
        event.set_sender(app)
        app._driver.send_message(event)


async def test_help_and_inventory_closed_twice_keep_the_game(run_app):
    async with run_app(seed=5) as (app, pilot):
        for opener, kind in (("question_mark", HelpScreen), ("i", InventoryScreen)):
            await pilot.press(opener)
            assert isinstance(app.screen, kind)
            await _double(app, "escape")
            await pilot.pause()
            await pilot.pause()
            assert isinstance(app.screen, GameScreen), [type(s).__name__ for s in app.screen_stack]
        await pilot.press("ctrl+p")
        await pilot.pause()
        await _double(app, "escape")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, GameScreen)


async def test_a_crash_saves_and_sets_a_non_zero_return_code(content, tmp_path, monkeypatch):
    def boom(self):
        raise RuntimeError("injected")

    monkeypatch.setattr(GameScreen, "action_help", boom)
    app = create_app(seed=5, save_dir=tmp_path, new_game=True, content=content)
    try:
        async with app.run_test() as pilot:
            clear_monsters(app.session)
            await pilot.press("l", "question_mark")
            await pilot.pause()
    except RuntimeError:
        pass
    assert app.return_code == 1
    assert saves.load_game(tmp_path, content).turns == 1
