"""Screens: title, the dungeon, inventory, help, the end of a run, and a too-small notice."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static

from game.session import GameSession
from game.tui.widgets import MapView, debug_text, message_text, side_panel, status_line

TITLE_ART = r"""
 ┏━┓┏━┓┏━╸   ╺┳╸╻ ╻╻
 ┣┳┛┣━┛┃╺┓╺━╸ ┃ ┃ ┃┃
 ╹┗╸╹  ┗━┛    ╹ ┗━┛╹
"""

SPECIAL_KEYS = {"e": "heal", "s": "guard", "x": "brace", "c": "cleanse", "p": "poison_strike", "t": "ignite"}

HELP = """[b]Moving and fighting[/b]
  arrows, h j k l y u b n, numpad 1-9   move; walk into a monster to attack
  . or 5                                wait (rest when no foe is near)
  > <                                   take the stairs down / up
  g                                     pick up     i   inventory (a-j use)
[b]Special actions[/b] (aimed at the adjacent foe; cooldowns in the side panel)
  e heal   s guard   x brace   c cleanse   p poison strike   t ignite
[b]Model and rules[/b]
  m        toggle the combat resolver (model / rules)
  F2       debug pane: input block, both answers, differing fields
  F3       the lab: the model token by token, nudge a field, watch it break
  [ ]      scroll the message log     { }   scroll the debug pane
  ctrl+p   command palette     ctrl+q   save and quit     ? this help
[b]Tags in the log[/b]
  \\[model] model answer applied   \\[rules] rules answer applied
  \\[diverged] model and rules disagree   \\[fallback] model failed, rules applied"""


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
            yield Static(self.notice, id="title-notice")
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
        models = self.app.list_models()
        t.append("\nmodels: ", "#808080")
        t.append(", ".join(m.name for m in models) if models else "none found (rules only; see rpg-tui --help)",
                 "#a0a0a0")
        self.query_one("#title-menu", Static).update(t)

    def show_notice(self, text: str) -> None:
        self.notice = text
        self.query_one("#title-notice", Static).update(text)
        self.refresh_menu()

    def _seed(self) -> int | None:
        raw = self.query_one("#seed", Input).value.strip()
        try:
            seed = int(raw) if raw else self.app.seed
        except ValueError:
            seed = None
        if seed is None or not -(2**63) <= seed <= 2**63:  # the range a save holds (game.saves.MAX_SEED)
            self.show_notice(f"Seed must be a whole number between -2**63 and 2**63, got {raw[:40]!r}.")
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


class GameScreen(SizedScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("i", "inventory", "Inv"),
        Binding("g", "do('pickup')", "Get"),
        Binding("m", "toggle_resolver", "Resolver"),
        Binding("f2", "toggle_debug", "Debug"),
        Binding("f3", "app.lab", "Lab"),
        Binding("ctrl+q", "app.quit", "Save+quit", priority=True),
        Binding("left,h,4", "move(-1, 0)", show=False),
        Binding("right,l,6", "move(1, 0)", show=False),
        Binding("up,k,8", "move(0, -1)", show=False),
        Binding("down,j,2", "move(0, 1)", show=False),
        Binding("y,7,home", "move(-1, -1)", show=False),
        Binding("u,9,pageup", "move(1, -1)", show=False),
        Binding("b,1,end", "move(-1, 1)", show=False),
        Binding("n,3,pagedown", "move(1, 1)", show=False),
        Binding("full_stop,5", "do('wait')", show=False),
        Binding("greater_than_sign", "do('descend')", show=False),
        Binding("less_than_sign", "do('ascend')", show=False),
        Binding("left_square_bracket", "scroll_log(-3)", show=False),
        Binding("right_square_bracket", "scroll_log(3)", show=False),
        Binding("left_curly_bracket", "scroll_debug(-4)", show=False),
        Binding("right_curly_bracket", "scroll_debug(4)", show=False),
        *(Binding(k, f"special('{a}')", show=False) for k, a in SPECIAL_KEYS.items()),
    ]

    def __init__(self, session: GameSession) -> None:
        super().__init__()
        self.session = session
        self._log_version = -1
        self._pending: tuple[str, tuple] | None = None  # a command keyed while a turn was being resolved

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal(id="main"):
            yield MapView(self.session, id="map")
            yield Static(id="side")
            with PassiveScroll(id="debug"):
                yield Static(id="debug-text")
        with PassiveScroll(id="log"):
            yield Static(id="log-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#debug").display = False
        self.query_one(MapView).focus()
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
            self.query_one("#log", VerticalScroll).scroll_end(animate=False)
        if self.query_one("#debug").display:
            self.query_one("#debug-text", Static).update(debug_text(s))

    # -------------------------------------------------------------- commands
    def action_do(self, name: str, *args) -> None:
        s, app = self.session, self.app
        if s.over:
            return
        if app.busy:  # keep the latest key only: at most one extra turn after a key is released
            self._pending = (name, args)
            return
        if s.model is not None:  # the model may take a while: resolve off the UI thread
            app.busy = True
            self.refresh_view()
            self.run_worker(partial(self._work, name, args), thread=True, group="turn", exit_on_error=True)
        else:
            s.command(name, *args)
            self.after_command()

    def _work(self, name: str, args: tuple) -> None:
        try:
            self.session.command(name, *args)
        finally:
            self.app.call_from_thread(self._work_done)

    def _work_done(self) -> None:
        self.app.busy = False
        self.after_command()
        pending, self._pending = self._pending, None
        if pending is not None and not self.session.over and self.app.screen is self:
            self.action_do(pending[0], *pending[1])

    def after_command(self) -> None:
        s = self.session
        self.refresh_view()
        if s.over:
            self.app.end_run()
        elif s.autosave_due:
            s.autosave_due = False
            self.app.save_game()

    def action_move(self, dx: int, dy: int) -> None:
        self.action_do("move", dx, dy)

    def action_special(self, action: str) -> None:
        self.action_do("special", action)

    def action_toggle_resolver(self) -> None:
        self.app.toggle_resolver()

    def action_toggle_debug(self) -> None:
        debug = self.query_one("#debug")
        debug.display = not debug.display
        self.query_one("#side").display = not debug.display
        self.refresh_view()

    def action_scroll_log(self, lines: int) -> None:
        self.query_one("#log", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_scroll_debug(self, lines: int) -> None:
        self.query_one("#debug", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_inventory(self) -> None:
        if self.app.busy or self.session.over:
            return

        def use(index: int | None) -> None:
            if index is not None:
                self.action_do("use", index)

        self.app.push_screen(InventoryScreen(self.session), use)


class InventoryScreen(ModalScreen[int | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,i,q", "dismiss_none", "Close")]

    def __init__(self, session: GameSession) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        t = Text("Inventory (a-j to use, Esc to close)\n\n", "bold")
        inv = self.session.player.inventory
        for i, name in enumerate(inv):
            spec = self.session.item_spec(name)
            t.append(f"{chr(97 + i)}) ", "bold yellow")
            t.append(spec.glyph + " ", spec.color)
            t.append(f"{name}  ")
            t.append(f"({spec.effect}{'' if spec.value is None else ' ' + str(spec.value)})\n", "#808080")
        if not inv:
            t.append("Your pack is empty.", "#808080")
        yield Static(t, id="inventory")

    def on_key(self, event) -> None:
        ch = event.character or ""
        if len(ch) == 1 and "a" <= ch <= "j":
            index = ord(ch) - 97
            if index < len(self.session.player.inventory):
                event.stop()
                close_once(self, index)

    def action_dismiss_none(self) -> None:
        close_once(self, None)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "Close")]

    def action_close(self) -> None:
        close_once(self)

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help")


class EndScreen(SizedScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "title", "New game"),
        Binding("q,ctrl+q", "app.exit", "Quit", priority=True),
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
        t.append(f"depth {s.depth} (deepest {s.max_depth})   turns {s.turns}   kills {st.kills}\n")
        t.append(f"combat turns {st.combat_turns}   divergences {st.divergences}   "
                 f"fallbacks {sum(st.fallbacks.values())}\n")
        t.append(f"resolver {s.active}   model {s.model_status}\n")
        t.append(f"model latency mean {lat[0]:.1f} ms, p95 {lat[1]:.1f} ms\n" if lat else "no model answers\n")
        t.append(f"\nmorgue: {self.morgue}\n", "#808080")
        t.append("\nn  new game     q  quit", "bold")
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
