"""The Textual app: wires a GameSession to screens, loads the model in a worker, saves.

`create_app` is the factory tests use: it takes a seed, a resolver ("rules",
"model", or a Resolver object to inject a fake model) and a save directory.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.reactive import reactive
from textual.screen import Screen

from game import runs, saves
from game.combat.format import encode_input
from game.combat.sampler import sample_iid
from game.combat.state import CombatState
from game.content import Content, load_content
from game.paths import available_models, default_save_dir, shipped_model_dir
from game.playlog import PlayLogWriter
from game.resolve import Resolver, load_model_resolver
from game.session import GameSession
from game.tui.lab import LabScreen
from game.tui.screens import EndScreen, GameScreen, HelpScreen, TitleScreen, TooSmallScreen

MIN_SIZE = (80, 24)


class RpgApp(App):
    CSS_PATH = Path(__file__).parent / "rpg.tcss"  # absolute: subclasses elsewhere still find it
    TITLE = "rpg-tui"
    # state the screens watch (GameScreen redraws on a change) instead of the app walking the screen stack
    busy: reactive[bool] = reactive(False)  # a turn is being resolved off the UI thread
    model_status: reactive[str] = reactive("off (m loads it)")
    game_version: reactive[int] = reactive(0)  # bumped when the session changed outside a turn

    def __init__(self, content: Content, seed: int, save_dir: Path, resolver: str = "rules",
                 model_loader: Callable[[], Resolver] | None = None, new_game: bool = False,
                 time_limit_s: float = 2.0) -> None:
        super().__init__()
        self.content = content
        self.seed = seed
        self.save_dir = Path(save_dir)
        self.start_resolver = resolver
        self.model_loader = model_loader
        self.new_game = new_game
        self.time_limit_s = time_limit_s
        self.session: GameSession | None = None
        self.model: Resolver | None = None
        self.model_loading = False
        self._signals: list[int] = []
        self.last_morgue: Path | None = None
        self.list_models: Callable[[], list[Path]] = available_models  # tests pin it for snapshots

    # ------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        self._install_signals()
        if self.start_resolver == "model":
            self.load_model()
        if self.new_game:
            self.start_new(self.seed)
        else:
            self.push_screen(TitleScreen())
        self.check_size()

    def _install_signals(self) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)):
            if sig is None:
                continue
            try:
                loop.add_signal_handler(sig, self._on_signal)
                self._signals.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or a platform without signals

    def _on_signal(self) -> None:
        # through action_quit: a turn being resolved in a worker finishes before the save
        self.call_later(self.action_quit)

    def on_unmount(self) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)
        # every way out saves here: ctrl+q, a signal, and a browser tab closing (textual-serve then sends
        # "quit", which exits without action_quit); a turn still being resolved leaves the last autosave
        self.save_game()
        if self.session is not None and self.session.playlog is not None:
            self.session.playlog.close()

    def on_resize(self) -> None:
        self.check_size()

    def check_size(self) -> None:
        small = self.size.width < MIN_SIZE[0] or self.size.height < MIN_SIZE[1]
        showing = isinstance(self.screen, TooSmallScreen)
        if small and not showing:
            self.push_screen(TooSmallScreen())
        elif not small and showing:
            self.pop_screen()

    # ------------------------------------------------------------ games
    def has_save(self) -> bool:
        return saves.has_save(self.save_dir)

    def _attach(self, session: GameSession) -> None:
        if self.session is not None and self.session.playlog is not None:
            self.session.playlog.close()
        session.model = self.model
        session.model_status = self.model_status
        session.time_limit_s = self.time_limit_s
        session.playlog = PlayLogWriter(self.save_dir / "playlogs" / f"{session.run_id}.jsonl")
        self.session = session

    def _show_game(self) -> None:
        screen = GameScreen(self.session)
        if isinstance(self.screen, TitleScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def start_new(self, seed: int) -> None:
        self.seed = seed
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-s{seed}"
        session = GameSession.new(self.content, seed, run_id)
        self._attach(session)
        session.set_active("model" if self.start_resolver == "model" else "rules")
        self._show_game()

    def continue_game(self) -> None:
        if not self.has_save():
            if isinstance(self.screen, TitleScreen):
                self.screen.show_notice("No saved game. Press n for a new game.")
            return
        try:
            session = saves.load_game(self.save_dir, self.content)
        except saves.SaveError as exc:
            aside = saves.quarantine(self.save_dir)
            note = f"The saved game cannot be used: {exc}"
            if aside is not None:
                note += f"\nIt was moved aside, untouched, to {aside}. Press n for a new game."
            if isinstance(self.screen, TitleScreen):
                self.screen.show_notice(note)
            else:
                self.push_screen(TitleScreen(note))
            return
        self._attach(session)
        session.messages.add("Welcome back.", "info")
        if session.active == "model":  # the saved game was played with the model: load it again
            self.start_resolver = "model"
            self.load_model()
        self._show_game()

    def save_game(self) -> Path | None:
        s = self.session
        if s is None or s.over or self.busy:
            return None
        return saves.save_game(s, self.save_dir)

    def end_run(self) -> None:
        s = self.session
        saves.delete_save(self.save_dir)
        self.last_morgue = saves.write_morgue(s, self.save_dir)
        runs.record_run(s, self.save_dir)
        self.push_screen(EndScreen(s, str(self.last_morgue)))

    def back_to_title(self) -> None:
        self.session = None
        self.seed = random.randrange(1_000_000)  # a fresh dungeon unless the player types a seed
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(TitleScreen())

    async def action_quit(self) -> None:
        """ctrl+q: let a turn being resolved finish, then leave (on_unmount saves)."""
        if self.busy:
            await self.workers.wait_for_complete()
            self.busy = False
        self.exit()

    # ------------------------------------------------------------ model
    def load_model(self) -> None:
        if self.model is not None or self.model_loading:
            return
        self.model_loading = True
        self._set_model_status("loading…")
        self.run_worker(self._load_model_work, thread=True, group="model", exit_on_error=False)

    def _load_model_work(self) -> None:
        try:
            model = self.model_loader() if self.model_loader is not None else None
            if model is None:
                raise ValueError("no model loader")
            where = getattr(model, "model_dir", None)
            label = getattr(model, "name", "model") if where is None else Path(where).name
            decoder = getattr(model, "decoder", None)
            status = f"loaded ({label}, {decoder} decoder)" if decoder else f"loaded ({label})"
            status += f"; {model.decoder_note}" if getattr(model, "decoder_note", "") else ""  # why not onnx
        except Exception as exc:  # missing, corrupt, wrong ruleset, brain not built yet
            model, status = None, f"unavailable ({exc})"
        self.call_from_thread(self._model_ready, model, status)

    def _model_ready(self, model: Resolver | None, status: str) -> None:
        self.model_loading = False
        self.model = model
        self._set_model_status(status)
        if self.session is not None:
            self.session.model = model
            self.session.messages.add(f"Model {status}.", "info" if model is not None else "warn")
        self.refresh_game()

    def _set_model_status(self, status: str) -> None:
        self.model_status = status
        if self.session is not None:
            self.session.model_status = status

    def switch_model(self, model_dir: Path) -> None:
        """Drop the loaded model (if any) and load another one; the model becomes the active resolver."""
        if self.busy or self.model_loading:
            return
        self.model_loader = model_loader_for(model_dir, self.content)
        self.model = None
        if self.session is not None:
            self.session.model = None
            self.session.set_active("model")
        self.start_resolver = "model"
        self.load_model()

    def toggle_resolver(self) -> None:
        if self.session is None or self.busy:
            return
        self.start_resolver = self.session.toggle_resolver()
        if self.session.active == "model" and self.model is None:
            self.load_model()
        self.refresh_game()

    def refresh_game(self) -> None:
        self.game_version += 1

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's Screenshot: into the save dir (~/Downloads may not exist), and say where."""
        where = Path(path) if path else self.save_dir / "screenshots"
        where.mkdir(parents=True, exist_ok=True)
        saved = self.save_screenshot(filename, str(where), time_format)
        self.notify(f"Screenshot saved to {saved}", timeout=6)
        if self.session is not None:
            self.session.messages.add(f"Screenshot saved to {saved}.", "info")
            self.refresh_game()
        return saved

    # ------------------------------------------------------------ the lab
    def action_lab(self) -> None:
        """Open the lab on the current fight (the player about to attack), or on a sampled turn."""
        rules = self.content.rules

        def sampled(rng: random.Random) -> str:
            return encode_input(*sample_iid(rng, rules))

        s = self.session
        foe = s.foe() if s is not None else None
        if foe is not None:
            block = encode_input(CombatState(foe.fight_turn, s.player.body, foe.body), "attack", 3)
        else:
            block = sampled(random.Random(self.seed))
        engine = getattr(self.model, "engine", None)
        stream = engine.generate_stream if engine is not None else None
        self.push_screen(LabScreen(block, rules, stream, self.model_status, sampled))

    # ------------------------------------------------------------ palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, GameScreen):
            yield SystemCommand("Toggle resolver", "Switch combat between the model and the rules (m)",
                                self.toggle_resolver)
            yield SystemCommand("Toggle debug pane", "Input block, both answers, differing fields (F2)",
                                screen.action_toggle_debug)
            yield SystemCommand("Open the lab", "The model token by token beside the rules (F3)", self.action_lab)
            yield SystemCommand("Help", "Every key (?)", lambda: self.push_screen(HelpScreen()))
            yield SystemCommand("Message history", "The whole log of the run, searchable (M)", screen.action_history)
            yield SystemCommand("Save game", "Write the save now", self._palette_save)
            yield SystemCommand("Inventory", "Use an item (i)", screen.action_inventory)
            yield SystemCommand("Save and quit", "ctrl+q", self.action_quit)
            for path in self.list_models():
                yield SystemCommand(f"Use model {path.name}", f"Load {path} and resolve with it",
                                    partial(self.switch_model, path))
        if isinstance(screen, TitleScreen):
            yield SystemCommand("New game", "Start a new run (n)", screen.action_new)
            yield SystemCommand("Continue", "Load the saved game (c)", screen.action_continue)

    def _palette_save(self) -> None:
        path = self.save_game()
        if path is not None and self.session is not None:
            self.session.messages.add(f"Saved to {path}.", "info")
            self.refresh_game()


def model_loader_for(model_dir: Path | None, content: Content) -> Callable[[], Resolver]:
    """Load lazily (in the worker): torch is only imported when the model is asked for."""

    def load() -> Resolver:
        directory = Path(model_dir) if model_dir is not None else shipped_model_dir()
        if not directory.exists():
            raise ValueError(f"no model at {directory}")
        return load_model_resolver(directory, content.rules)

    return load


def create_app(seed: int | None = None, resolver: str | Resolver = "rules", save_dir: Path | str | None = None,
               new_game: bool = False, model_dir: Path | str | None = None, content: Content | None = None,
               time_limit_s: float = 2.0, model_loader: Callable[[], Resolver] | None = None) -> RpgApp:
    """The app. `resolver` may be a Resolver object: it becomes the loaded model (tests inject fakes)."""
    content = content or load_content()
    seed = seed if seed is not None else random.randrange(1_000_000)
    save_dir = Path(save_dir) if save_dir is not None else default_save_dir()
    if isinstance(resolver, str):
        if resolver not in ("rules", "model"):
            raise ValueError(f"resolver must be rules or model, got {resolver!r}")
        loader = model_loader or model_loader_for(Path(model_dir) if model_dir else None, content)
        return RpgApp(content, seed, save_dir, resolver, loader, new_game, time_limit_s)
    fake = resolver
    return RpgApp(content, seed, save_dir, "model", lambda: fake, new_game, time_limit_s)
