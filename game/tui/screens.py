"""Screens: title, the dungeon, inventory, look, message history, run history, help, the end of a run,
and a too-small notice."""

from __future__ import annotations

import textwrap
from functools import partial
from typing import ClassVar

from rich.cells import cell_len, chop_cells
from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.screen import ModalScreen, Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Input, Static

from game import actions as act
from game import activities
from game.content import Content
from game.items import words
from game.pack import LETTERS, at
from game.progression import describe_boon
from game.runs import RunsError, load_runs, ranked, resolver_summary
from game.saves import SEED_RANGE, seed_problem
from game.session import GameSession
from game.tui.widgets import (
    SPECIAL_KEY,
    MapView,
    debug_text,
    describe_cell,
    inventory_text,
    message_text,
    side_panel,
    special_help,
    special_when,
    status_line,
    tallies_text,
)

TITLE_ART = r"""
 ┏━┓┏━┓┏━╸   ╺┳╸╻ ╻╻
 ┣┳┛┣━┛┃╺┓╺━╸ ┃ ┃ ┃┃
 ╹┗╸╹  ┗━┛    ╹ ┗━┛╹
"""


# each direction: its vi key, arrow (or home/pageup/end/pagedown for diagonals) and numpad key
DIR_KEYS = {(-1, 0): ("h", "left", "4"), (1, 0): ("l", "right", "6"), (0, -1): ("k", "up", "8"),
            (0, 1): ("j", "down", "2"), (-1, -1): ("y", "home", "7"), (1, -1): ("u", "pageup", "9"),
            (-1, 1): ("b", "end", "1"), (1, 1): ("n", "pagedown", "3")}
DIR_WORDS = {(-1, 0): "west", (1, 0): "east", (0, -1): "north", (0, 1): "south", (-1, -1): "north-west",
             (1, -1): "north-east", (-1, 1): "south-west", (1, 1): "south-east"}


def help_text(content: Content) -> str:
    """Every key, what each special action does with its numbers, and the glyphs, from content/.

    Markup: every piece that comes from a content file (names, glyphs) is escaped, so a monster named
    `rat [/]` is shown as written instead of ending the help (MarkupError)."""
    helps, when = special_help(content.rules), special_when(content.rules)
    cds = {slot: content.rules.cooldown_of(slot) for slot in SPECIAL_KEY}
    specials = "\n".join(escape(f"  {key} {words(slot):<13} {helps[slot]} (cd {cds[slot]})") + "\n" +
                         escape(f"      [i]beats a bump[/i] {when[slot]}").replace("\\[i]", "[i]").replace(
                             "\\[/i]", "[/i]")
                         for slot, key in SPECIAL_KEY.items())
    nbsp = "\u00a0"  # a name is never cut across lines
    monsters = "\n  ".join(textwrap.wrap("  ".join(f"{m.glyph} {m.name}".replace(" ", nbsp) for m in content.monsters),
                                         74, break_long_words=False)).replace(nbsp, " ")
    monsters = escape(monsters)
    kinds = {"[": "armour", "!": "potion", "?": "scroll", "%": "food", ")": "thrown", "*": "shard"}
    items = "  ".join(sorted({escape(f"{i.glyph} {kinds.get(i.glyph, i.name)}") for i in content.items}))
    h = content.player.hunger
    boons = ", ".join(escape(b) for b in content.player.progression.boons) or "none"
    return f"""[b]Moving and fighting[/b]  (arrows scroll this help, Esc closes it)
  arrows, h j k l y u b n, numpad    move; bump a monster to attack it
  shift+direction, H J K L Y U B N   run until something interesting
  o explore   R rest until healed   . or 5 wait a turn
  > <  take the stairs, or walk to them (depth 1's < is the way out, sealed)
  i items (a-j use, Tab: drop)   d drop   g pick up   A auto-pickup on/off
  ; look   M message history   T level-up boon ({boons})
[b]Special actions[/b] at the adjacent foe (cd: turns until ready again)
{specials}
[b]Time[/b]  each turn eats a turn of food (Hungry at {h.hungry}); starving, rest heals
  nothing and hp drains. Poison and fire burn on out of fights too, and
  monsters wander in now and then: resting and walking away cost.
[b]Model and rules[/b]
  m resolver (rules, model, experts)   F2 debug pane   F3 the lab
  ( ) step through the run's divergences and fallbacks in the debug pane
  [ ] scroll the log   {{ }} scroll the debug pane   ctrl+p palette
  ctrl+q save and quit   ? this help
  \\[model] model applied  \\[rules] rules applied  \\[diverged] they disagree
  \\[fallback] the model failed, the rules applied
[b]Glyphs[/b]
  @ you   # wall   · floor (bright: in view; dim: remembered)   > < stairs
  {monsters}
  {items}"""


def close_once(screen: Screen, result: object = None) -> None:
    """Dismiss a modal screen only while it is the top one. Two quick keys can both reach it before the
    first pop lands; Screen.dismiss pops whatever is on top, so the second one took the game screen
    with it and left a blank app."""
    if screen.app.screen is screen:
        screen.dismiss(result)


class PassiveScroll(VerticalScroll, can_focus=False):
    """A scroll area that never takes focus, so arrows keep moving the player."""


class SizedScreen(Screen):
    """Every full screen checks the terminal size when it changes (the app shows a notice below 80x24)."""

    def on_resize(self) -> None:
        self.app.call_later(self.app.check_size)


class TitleScreen(SizedScreen):
    AUTO_FOCUS = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New game"),
        Binding("c", "continue", "Continue"),
        Binding("r", "runs", "Past runs"),
        Binding("ctrl+q", "app.quit", "Quit", priority=True),
    ]

    def __init__(self, notice: str = "") -> None:
        super().__init__()
        self.notice = notice

    def compose(self) -> ComposeResult:
        with Vertical(id="title-box"):
            yield Static(Text(TITLE_ART, "bold magenta"), id="title-art")
            yield Static("A roguelike whose combat is judged by rules, or by a tiny learned model.", id="tagline")
            yield Static(id="title-menu")
            yield Static("seed (Tab to edit, Enter to start):", id="seed-label")
            yield Input(str(self.app.seed), placeholder="seed", id="seed", type="integer")
            yield Static(Text(self.notice), id="title-notice")  # notices name files: never markup
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_menu()

    def refresh_menu(self) -> None:
        t = Text()
        t.append("n", "bold yellow")
        t.append("  new game\n")
        if self.app.has_save():
            t.append("c", "bold yellow")
            t.append("  continue the saved game\n")
        else:
            t.append("c  continue (no saved game)\n", "#606060")
        t.append("r", "bold yellow")
        t.append("  past runs\n")
        models = self.app.list_models()
        t.append("\nmodels: ", "#808080")
        t.append(", ".join(m.name for m in models) if models else "none found (rules only; see rpg-tui --help)",
                 "#a0a0a0")
        self.query_one("#title-menu", Static).update(t)

    def show_notice(self, text: str) -> None:
        self.notice = text
        self.query_one("#title-notice", Static).update(Text(text))
        self.refresh_menu()

    def _seed(self) -> int | None:
        raw = self.query_one("#seed", Input).value.strip()
        try:
            seed: int | None = int(raw) if raw else self.app.seed
        except ValueError:
            seed = None
        if seed is None or seed_problem(seed) is not None:  # the one seed range, the one --seed is checked against
            self.show_notice(f"Seed must be {SEED_RANGE}, got {raw[:40]!r}.")
            return None
        return seed

    def action_new(self) -> None:
        seed = self._seed()
        if seed is not None:
            self.app.start_new(seed)

    @on(Input.Submitted, "#seed")
    def seed_submitted(self) -> None:
        self.action_new()

    def action_continue(self) -> None:
        self.app.continue_game()

    def action_runs(self) -> None:
        self.app.push_screen(RunsScreen())


class GameScreen(SizedScreen):
    # every binding has a description: the palette's keys panel lists them all
    BINDINGS: ClassVar[list[BindingType]] = [
        # the footer shows these seven: with the palette's key they fit 80 columns (test_tui_screens checks)
        Binding("question_mark", "help", "Help"),
        Binding("i", "inventory", "Inv"),
        Binding("o", "do('explore')", "Explore"),
        Binding("R", "do('rest')", "Rest"),
        Binding("m", "toggle_resolver", "Resolver"),
        Binding("f2", "toggle_debug", "Debug"),
        Binding("ctrl+q", "app.quit", "Save+quit", priority=True),
        Binding("g", "do('pickup')", "Pick up", show=False),
        Binding("f3", "app.lab", "The lab", show=False),
        Binding("A", "auto_pickup", "Auto-pickup on/off", show=False),
        Binding("T", "train", "Choose a level-up boon", show=False),
        Binding("left_parenthesis", "browse(-1)", "Debug pane: an older divergence or fallback", show=False),
        Binding("right_parenthesis", "browse(1)", "Debug pane: a newer divergence or fallback", show=False),
        Binding("d", "drop", "Drop an item", show=False),
        Binding("semicolon", "look", "Look around", show=False),
        Binding("M", "history", "Message history", show=False),
        *(Binding(",".join(keys), f"move({dx}, {dy})", f"Move {DIR_WORDS[dx, dy]}", show=False)
          for (dx, dy), keys in DIR_KEYS.items()),
        *(Binding(f"{keys[0].upper()},shift+{keys[1]}", f"run({dx}, {dy})", f"Run {DIR_WORDS[dx, dy]}", show=False)
          for (dx, dy), keys in DIR_KEYS.items()),
        Binding("full_stop,5", "do('wait')", "Wait a turn", show=False),
        Binding("greater_than_sign", "stairs(True)", "Stairs down (or walk to them)", show=False),
        Binding("less_than_sign", "stairs(False)", "Stairs up (or walk to them)", show=False),
        Binding("left_square_bracket", "scroll_log(-3)", "Scroll the log up", show=False),
        Binding("right_square_bracket", "scroll_log(3)", "Scroll the log down", show=False),
        Binding("left_curly_bracket", "scroll_debug(-4)", "Scroll the debug pane up", show=False),
        Binding("right_curly_bracket", "scroll_debug(4)", "Scroll the debug pane down", show=False),
        Binding("escape", "app.hide_help_panel", "Close the keys panel", show=False),
        *(Binding(k, f"special('{a}')", words(a).capitalize(), show=False) for a, k in SPECIAL_KEY.items()),
    ]

    def __init__(self, session: GameSession) -> None:
        super().__init__()
        self.session = session
        self._log_version = -1
        self._pending: act.Action | None = None  # an action keyed while a turn was being resolved
        self.browse: int | None = None  # the divergence or fallback the debug pane shows, None: the latest turn
        self._unspent = session.player.unspent  # level-ups seen: a new one opens the boon screen

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal(id="main"):
            yield MapView(self.session, id="map")
            yield Static(id="side")
            with PassiveScroll(id="debug"):
                yield Static(id="debug-text")
        with PassiveScroll(id="log"):
            yield Static(id="log-text")
        yield Footer(compact=True)  # compact: the seven keys and the palette's fit 80 columns

    def on_mount(self) -> None:
        self.query_one("#debug").display = False
        self.query_one(MapView).focus()
        self.query_one("#log", VerticalScroll).anchor()  # Textual keeps an anchored log at its newest line
        # the app owns `busy`, the model status and the game's version: this screen only watches them
        self.watch(self.app, "busy", self._app_changed, init=False)
        self.watch(self.app, "game_version", self._app_changed, init=False)
        self.refresh_view()

    def _app_changed(self, _value) -> None:
        if self.is_mounted:
            self.refresh_view()

    # -------------------------------------------------------------- drawing
    def refresh_view(self) -> None:
        s = self.session
        self.query_one("#status", Static).update(status_line(s, self.app.busy))
        self.query_one("#side", Static).update(side_panel(s))
        self.query_one(MapView).refresh()
        if s.messages.version != self._log_version:
            self._log_version = s.messages.version
            self.query_one("#log-text", Static).update(message_text(s))
            self.follow_log()
        if self.query_one("#debug").display:
            self.query_one("#debug-text", Static).update(debug_text(s, self.browse))

    def follow_log(self) -> None:
        """Show the newest line once the log's new height is known (not before: it would stop short)."""
        log = self.query_one("#log", VerticalScroll)
        log.anchor()

    def on_resize(self) -> None:
        super().on_resize()
        self.follow_log()

    def on_screen_resume(self) -> None:
        # back from the palette, a modal or the lab: the log may have grown meanwhile
        self.refresh_view()
        self.follow_log()

    # -------------------------------------------------------------- actions
    def action_do(self, name: str) -> None:
        self.perform({"pickup": act.PickUp(), "wait": act.Wait(), "explore": activities.Explore(),
                      "rest": activities.Rest()}[name])

    def perform(self, action: act.Action) -> None:
        s, app = self.session, self.app
        if s.over:
            return
        if app.busy:  # keep the latest key only: at most one extra action after a key is released
            self._pending = action
            return
        if s.model is not None:  # the model may take a while: resolve off the UI thread
            app.busy = True
            self.run_worker(partial(self._work, action), thread=True, group="turn", exit_on_error=True)
        else:
            with app.turn_lock:  # an exit's save (the watchdog's thread) never sees half a turn
                s.perform(action)
            self.after_action()

    def _work(self, action: act.Action) -> None:
        try:
            with self.app.turn_lock:
                self.session.perform(action)
        finally:
            self.app.call_from_thread(self._work_done)

    def _work_done(self) -> None:
        self.app.busy = False
        self.after_action()
        pending, self._pending = self._pending, None
        if pending is not None and not self.session.over and self.app.screen is self:
            self.perform(pending)

    def after_action(self) -> None:
        s = self.session
        self.refresh_view()
        if s.over:
            self.app.end_run()
            return
        if s.autosave_due:
            s.autosave_due = False
            self.app.save_game()
        if s.player.unspent > self._unspent and self.app.screen is self:  # a new level: choose its boon now
            self.action_train()
        self._unspent = s.player.unspent

    def action_move(self, dx: int, dy: int) -> None:
        self.perform(act.Move(dx, dy))

    def action_run(self, dx: int, dy: int) -> None:
        self.perform(activities.Run(dx, dy))

    def action_stairs(self, down: bool) -> None:
        self.perform(activities.StairsOrTravel(down))

    def action_special(self, action: str) -> None:
        self.perform(act.Special(action))

    def action_toggle_resolver(self) -> None:
        self.app.toggle_resolver()

    def action_toggle_debug(self) -> None:
        debug = self.query_one("#debug", VerticalScroll)
        debug.display = not debug.display
        self.query_one("#side").display = not debug.display
        if debug.display:
            debug.scroll_home(animate=False)  # each opening starts at the top
        self.refresh_view()

    def action_scroll_log(self, lines: int) -> None:
        log = self.query_one("#log", VerticalScroll)
        log.scroll_relative(y=lines, animate=False)
        if lines < 0:
            log.release_anchor()  # reading back: stay there until the next new line

    def action_scroll_debug(self, lines: int) -> None:
        self.query_one("#debug", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_history(self) -> None:
        self.app.push_screen(HistoryScreen(self.session))

    def action_look(self) -> None:
        self.app.push_screen(LookScreen(self.session, self.query_one(MapView)))

    def _pick(self, drop: bool) -> None:
        if self.app.busy or self.session.over:
            return

        def chosen(action: act.Action | None) -> None:
            if action is not None:  # Use or Drop, whichever mode the inventory was in when the letter came
                self.perform(action)

        self.app.push_screen(InventoryScreen(self.session, drop), chosen)

    def action_auto_pickup(self) -> None:
        st = self.session.settings
        st.auto_pickup = not st.auto_pickup
        how = "on: walking onto items picks them up" if st.auto_pickup else "off: g picks up"
        self.session.messages.add(f"Auto-pickup {how}.", "info")
        self.refresh_view()

    def action_train(self) -> None:
        if self.app.busy or self.session.over:
            return
        if not self.session.player.unspent:
            self.session.messages.add("No level-up to spend: each new level brings a boon to choose.", "warn")
            self.refresh_view()
            return

        def chosen(boon: str | None) -> None:
            self._unspent = self.session.player.unspent
            if boon is not None:
                self.perform(act.Train(boon))

        self.app.push_screen(TrainScreen(self.session), chosen)

    def action_browse(self, step: int) -> None:
        """Step through the run's divergences and fallbacks in the debug pane (opening it if closed)."""
        notable = len(self.session.stats.notable)
        if not notable:
            self.session.messages.add("No divergence or fallback yet this run.", "info")
            self.refresh_view()
            return
        if not self.query_one("#debug").display:
            self.action_toggle_debug()
        if self.browse is None:
            self.browse = notable - 1 if step < 0 else None
        else:
            self.browse += step
            if self.browse >= notable:
                self.browse = None  # past the newest: back to the latest turn
            self.browse = None if self.browse is None else max(0, self.browse)
        self.refresh_view()

    def action_inventory(self) -> None:
        self._pick(drop=False)

    def action_drop(self) -> None:
        self._pick(drop=True)


class InventoryScreen(ModalScreen[act.Action | None]):
    """The pack by letter. A letter uses its item, or drops it in drop mode; Tab switches the mode. `d` switches
    too, but only while no item is under d: the title says which, and an item under d is used like any other
    (before, `d` always switched, and the item under d could not be used; nor did the switch reach the letter)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,i,q", "dismiss_none", "Close"),
                                             Binding("tab", "switch", "Use / drop", priority=True)]

    def __init__(self, session: GameSession, drop: bool = False) -> None:
        super().__init__()
        self.session, self.drop = session, drop

    def heading(self) -> str:
        switch = "Tab" if at(self.session.player, LETTERS.index("d")) is not None else "Tab or d"
        if self.drop:
            return f"Drop which? a-j drops · {switch}: use instead · Esc closes"
        return f"Inventory: a-j uses · {switch}: drop instead · Esc closes"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inventory"):
            yield Static(inventory_text(self.session, self.heading()), id="inventory-text")

    def show(self, notice: str = "") -> None:
        self.query_one("#inventory-text", Static).update(inventory_text(self.session, self.heading(), notice))

    def action_switch(self) -> None:
        self.drop = not self.drop
        self.show()

    def on_key(self, event) -> None:
        ch = event.character or ""
        if len(ch) != 1 or ch not in LETTERS:
            return
        event.stop()
        index = LETTERS.index(ch)
        if at(self.session.player, index) is not None:
            close_once(self, act.Drop(index) if self.drop else act.Use(index))
        elif ch == "d":
            self.action_switch()
        else:
            self.show(f"There is nothing under {ch}.")

    def action_dismiss_none(self) -> None:
        close_once(self, None)


class TrainScreen(ModalScreen[str | None]):
    """A level-up: choose its boon (content/player.toml). Esc chooses later (T)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Later")]

    def __init__(self, session: GameSession) -> None:
        super().__init__()
        self.session = session
        self.boons = list(session.content.player.progression.boons)

    def compose(self) -> ComposeResult:
        s = self.session
        t = Text(f"Level {s.player.level}: choose a boon ({s.player.unspent} to choose; Esc: later, T)\n\n", "bold")
        for i, boon in enumerate(self.boons):
            t.append(f"{chr(97 + i)}) ", "bold yellow")
            t.append(f"{boon}: ", "bold")
            t.append(f"{describe_boon(s, boon)} (chosen {s.player.training.get(boon, 0)} times)\n", "#a0a0a0")
        with VerticalScroll(id="inventory"):
            yield Static(t, id="train-text")

    def on_key(self, event) -> None:
        ch = event.character or ""
        if len(ch) == 1 and "a" <= ch < chr(97 + len(self.boons)):
            event.stop()
            close_once(self, self.boons[ord(ch) - 97])

    def action_dismiss_none(self) -> None:
        close_once(self, None)


class LookScreen(ModalScreen[None]):
    """`;`: a cursor over the map; what is under it is described at the bottom."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,semicolon,q", "close", "Close"),
        Binding("tab", "next_monster", "Next monster"),
        *(Binding(",".join(keys), f"cursor({dx}, {dy})", f"Cursor {DIR_WORDS[dx, dy]}", show=False)
          for (dx, dy), keys in DIR_KEYS.items()),
    ]

    def __init__(self, session: GameSession, map_view: MapView) -> None:
        super().__init__()
        self.session, self.map_view = session, map_view
        seen = sorted(session.visible_monsters(),
                      key=lambda m: max(abs(m.x - session.player.x), abs(m.y - session.player.y)))
        self.targets = [(m.x, m.y) for m in seen]
        self.cursor = self.targets[0] if self.targets else (session.player.x, session.player.y)

    def compose(self) -> ComposeResult:
        yield Static(id="look")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        self.map_view.cursor = self.cursor
        self.map_view.refresh()
        x, y = self.cursor
        self.query_one("#look", Static).update(describe_cell(self.session, x, y))

    def action_cursor(self, dx: int, dy: int) -> None:
        lvl = self.session.level
        x, y = self.cursor
        self.cursor = (min(max(0, x + dx), lvl.width - 1), min(max(0, y + dy), lvl.height - 1))
        self.show()

    def action_next_monster(self) -> None:
        if self.targets:
            i = (self.targets.index(self.cursor) + 1) % len(self.targets) if self.cursor in self.targets else 0
            self.cursor = self.targets[i]
            self.show()

    def action_close(self) -> None:
        self.map_view.cursor = None
        self.map_view.refresh()
        self.dismiss(None)


class HistoryLog(ScrollView, can_focus=False):
    """The message history's rows, drawn line by line (Line API): opening it and each search key cost the rows
    in view and one pass over the text to find matches, not the whole run laid out again (a Static holding
    every message took seconds per key with a long log). A message longer than the width wraps onto more rows."""

    DEFAULT_CSS = "HistoryLog { scrollbar-gutter: stable; }"
    HIT = Style.parse("bold black on #ffd060")

    def __init__(self, lines: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines = lines
        self.lowered = [line.lower() for line in lines]
        self.query = ""
        self.rows: list[tuple[int, str]] = []  # (message index, the part of it on this row)
        self.first_row: list[int] = []  # message index -> its first row
        self._width = -1

    def on_mount(self) -> None:
        self.anchor()  # opens on the newest messages, and stays there as the rows are laid out, until scrolled

    def layout_rows(self) -> None:
        width = self.scrollable_content_region.width
        if width == self._width or width <= 0:
            return
        self._width = width
        rows: list[tuple[int, str]] = []
        first: list[int] = []
        for i, line in enumerate(self.lines):
            first.append(len(rows))
            if len(line) <= width // 2 or cell_len(line) <= width:
                rows.append((i, line))
            else:
                rows.extend((i, part) for part in chop_cells(line, width))
        self.rows, self.first_row = rows, first
        self.virtual_size = Size(width, len(rows))

    def on_resize(self) -> None:
        self.layout_rows()

    def search(self, query: str) -> int:
        """Highlight the messages holding `query` (lower case); how many do."""
        self.query = query
        self.refresh()
        return sum(query in line for line in self.lowered) if query else 0

    def matching_rows(self) -> list[int]:
        return [self.first_row[i] for i, line in enumerate(self.lowered) if self.query and self.query in line]

    def render_line(self, y: int) -> Strip:
        self.layout_rows()
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = scroll_y + y
        if row >= len(self.rows):
            return Strip.blank(width, base)
        i, text = self.rows[row]
        style = base + self.HIT if self.query and self.query in self.lowered[i] else base
        return Strip([Segment(text, style)], cell_len(text)).crop_extend(scroll_x, scroll_x + width, base)


class HistoryScreen(ModalScreen[None]):
    """`M`: every message of the run, scrollable, with a search box (Enter jumps to the next match)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("up", "line(-1)", "Line up", show=False),
        Binding("down", "line(1)", "Line down", show=False),
    ]

    def __init__(self, session: GameSession) -> None:
        super().__init__()
        self.session = session
        self.query_text = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box"):
            yield Static(id="history-title")
            yield Input(placeholder="search", id="history-search")
            yield HistoryLog(self.lines(), id="history-scroll")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    def lines(self) -> list[str]:
        return [m.render() for m in self.session.messages.items]

    def show(self) -> None:
        q = self.query_text.lower()
        matches = self.query_one(HistoryLog).search(q)
        title = "History: arrows, PgUp/PgDn scroll · type to search · Enter: next match · Esc"
        if q:
            title = f"{matches} lines match {self.query_text!r} (Enter: next match, Esc closes)"
        self.query_one("#history-title", Static).update(Text(title))  # the search text is the player's: not markup

    @on(Input.Changed, "#history-search")
    def search_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value.strip()
        self.show()

    @on(Input.Submitted, "#history-search")
    def next_match(self) -> None:
        log = self.query_one(HistoryLog)
        rows = log.matching_rows()
        after = [i for i in rows if i > log.scroll_y]
        if rows:
            log.release_anchor()
            log.scroll_to(y=(after or rows)[0], animate=False)

    def action_line(self, direction: int) -> None:
        log = self.query_one(HistoryLog)
        log.release_anchor()
        log.scroll_relative(y=direction, animate=False)

    def action_page(self, direction: int) -> None:
        log = self.query_one(HistoryLog)
        log.release_anchor()
        log.scroll_relative(y=direction * max(1, log.size.height - 1), animate=False)


class RunsScreen(ModalScreen[None]):
    """The run history from the title: the best runs first."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,r", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        t = Text("Past runs (best first; Esc closes)\n\n", "bold")
        try:
            runs = ranked(load_runs(self.app.save_dir))
        except RunsError as exc:
            runs = []
            t.append(f"{exc}\n", "#ff8080")
        if not runs:
            t.append("No finished run yet.", "#808080")
        else:
            t.append(f"{'seed':>7} {'depth':>5} {'turns':>6}  cause\n", "underline")
            for r in runs[:15]:
                t.append(f"{r['seed']:>7} {r['depth']:>5} {r['turns']:>6}  ", "bold green" if r["won"] else "")
                t.append(f"{r['cause']}\n", "bold green" if r["won"] else "#c0c0c0")
                t.append(f"{'':>22}combat turns: {resolver_summary(r)}\n", "#808080")
        with VerticalScroll(id="runs-box"):
            yield Static(t, id="runs")


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "Close")]

    def action_close(self) -> None:
        close_once(self)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_text(self.app.content), id="help")


class EndScreen(SizedScreen):
    # not n or any other move key: a death is acknowledged on purpose (DCSS's --more--), not by the
    # diagonal step that was still being pressed when it came
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "title", "New game"),
        Binding("q,ctrl+q", "app.quit", "Quit", priority=True),
    ]

    def __init__(self, session: GameSession, morgue: str) -> None:
        super().__init__()
        self.session, self.morgue = session, morgue

    def compose(self) -> ComposeResult:
        s = self.session
        st = s.stats
        lat = st.latency()
        t = Text()
        t.append("VICTORY\n\n" if s.won else "YOU DIED\n\n", "bold green" if s.won else "bold red")
        t.append(f"{s.content.player.name} {s.cause}.\n\n")
        t.append(f"depth {s.depth} (deepest {s.max_depth})   turns {s.turns}   kills {st.kills}   "
                 f"level {s.player.level}\n")
        t.append(f"combat turns {st.combat_turns}   divergences {st.divergences}   "
                 f"fallbacks {sum(st.fallbacks.values())}\n")
        t.append(f"resolver at the end {s.active}   {s.resolvers.learned} {s.model_status}\n")
        t.append_text(tallies_text(s))
        t.append(f"model latency mean {lat[0]:.1f} ms, p95 {lat[1]:.1f} ms\n" if lat else "no model answers\n")
        t.append(f"\nmorgue: {self.morgue}\n", "#808080")
        t.append("\n--more--  Enter: new game     q: quit", "bold")
        yield Static(t, id="end")
        yield Footer()

    def action_title(self) -> None:
        self.app.back_to_title()


class TooSmallScreen(ModalScreen[None]):
    def compose(self) -> ComposeResult:
        yield Static(id="too-small")

    def on_mount(self) -> None:
        self.update_text()

    def on_resize(self) -> None:
        self.update_text()
        self.app.call_later(self.app.check_size)

    def update_text(self) -> None:
        w, h = self.app.size
        self.query_one("#too-small", Static).update(
            f"The terminal is {w}x{h}; rpg-tui needs at least 80x24.\nEnlarge the window to continue.")
