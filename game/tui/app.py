"""The Textual app: wires a GameSession to screens, loads the model in a worker, saves.

`create_app` is the factory tests use: it takes a seed, a resolver ("rules",
"model", or a Resolver object to inject a fake model) and a save directory.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

from textual.app import App, SystemCommand
from textual.command import CommandListItem, CommandPalette, SimpleProvider
from textual.markup import escape
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import ThemeProvider
from textual.widget import AwaitMount

from game import runs, saves
from game.combat.format import encode_input
from game.combat.judge import Resolver
from game.combat.sampler import sample_iid
from game.combat.state import CombatState
from game.content import Content
from game.paths import default_save_dir, run_file
from game.playlog import PlayLogWriter
from game.resolve import available_models, load_experts_resolver, load_model_resolver
from game.resolvers import Loaded, Resolvers
from game.session import GameSession
from game.shipped import load_game_content
from game.tui.lab import LabScreen
from game.tui.palette import SafeCommandPalette
from game.tui.savedir import SaveDirScreen
from game.tui.screens import EndScreen, GameScreen, HelpScreen, TitleScreen, TooSmallScreen

MIN_SIZE = (80, 24)
SIGNAL_SAVE_WAIT_S = 2.0  # after a signal, how long the event loop has to save before the watchdog does it
SIGNAL_GRACE_S = 3.0  # after the save, how long Textual's shutdown may take before the process just ends


class RpgApp(App):
    CSS_PATH = Path(__file__).parent / "rpg.tcss"  # absolute: subclasses elsewhere still find it
    TITLE = "rpg-tui"
    # state the screens watch (GameScreen redraws on a change) instead of the app walking the screen stack
    busy: reactive[bool] = reactive(False)  # a turn is being resolved off the UI thread
    game_version: reactive[int] = reactive(0)  # bumped when the session or the resolvers changed outside a turn
    web = False  # rpg-tui --web (a tab of --serve): no prompt may name a path on the server
    allow_stale = False  # rpg-tui --allow-stale: a stale model loads anyway, its answers marked

    def __init__(self, content: Content, seed: int, save_dir: Path, resolver: str = "rules",
                 model_loader: Callable[[], Resolver] | None = None, new_game: bool = False,
                 time_limit_s: float = 2.0, experts_loader: Callable[[], Resolver] | None = None) -> None:
        super().__init__()
        self.content = content
        self.seed = seed
        self.save_dir = Path(save_dir)
        self.new_game = new_game
        self.time_limit_s = time_limit_s
        self.session: GameSession | None = None
        # who resolves combat turns, and the learned resolver loaded: one owner, shared with every session shown
        loaders = {k: v for k, v in (("model", model_loader), ("experts", experts_loader)) if v is not None}
        self.resolvers = Resolvers(resolver, loaders)
        self._signals: dict[int, object] = {}  # signal -> the handler it had before the game
        self._loop = None
        self._exit_code: int | None = None  # 128 + signal once a signal asked the game to leave
        self._saved_for_exit = False  # the exit's save is done (or was declined): the watchdog only ends the process
        # held while a turn changes the session and while a save is written: the exit watchdog saves from its own
        # thread, so a save never sees half a turn and two saves never interleave
        self.turn_lock = threading.RLock()
        self._unmounting = False  # on_unmount has begun: the terminal watch stops
        self.save_error: str | None = None  # why the last save failed (file and reason), None after a good one
        self._quit_unsaved = False
        self._size_notice: TooSmallScreen | None = None
        self.load_path: str | None = None  # rpg-tui --load FILE
        self.last_morgue: Path | None = None
        self.list_models: Callable[[], list[Path]] = available_models  # tests pin it for snapshots

    # ------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        self._install_signals()
        self.load_wanted()
        if self.load_path:
            problem = self.load_file(Path(self.load_path))
            if problem:
                self.push_screen(TitleScreen(problem))
        elif self.new_game:
            self.start_new(self.seed)
        else:
            self.push_screen(TitleScreen())
        self.check_size()

    def _install_signals(self) -> None:
        """Plain signal handlers, not the event loop's: when the terminal is gone the loop itself can be
        stuck writing a frame (Textual's output queue is full and its writer thread is blocked), and a loop
        callback would then never run. A Python handler still runs (the blocked lock wait is interrupted)."""
        import asyncio

        self._loop = asyncio.get_running_loop()
        for name in ("SIGTERM", "SIGHUP", "SIGINT"):
            sig = getattr(signal, name, None)
            if sig is None:
                continue
            try:
                self._signals[sig] = signal.signal(sig, self._on_signal)
            except (ValueError, OSError):
                pass  # not the main thread, or a platform without this signal
        if signal.SIGHUP in self._signals:
            threading.Thread(target=self._watch_terminal, name="rpg-terminal-watch", daemon=True).start()

    def _watch_terminal(self, fd: int = 0) -> None:
        """The terminal went away (its other side closed: POLLHUP on stdin) but no SIGHUP came, or none reached
        this process (a shell that does not pass it on, a game started in its own session): act as if it had.
        Without this the game stayed alive, unsaved, on a dead terminal (Textual's input thread just reads EOF)."""
        import select

        try:
            if not os.isatty(fd) or not hasattr(select, "poll"):
                return
            poller = select.poll()
            poller.register(fd, 0)  # no input events: only POLLHUP / POLLERR / POLLNVAL, which are always reported
            while not self._unmounting:
                if poller.poll(500):
                    if not self._unmounting and self._exit_code is None:
                        os.kill(os.getpid(), signal.SIGHUP)
                    return
        except (OSError, ValueError):
            return

    def _on_signal(self, signum: int, frame: object = None) -> None:
        """SIGTERM, SIGHUP, SIGINT: save, then leave with 128 + the signal's number, whatever the terminal does.

        The save runs on the event loop (between turns); a watchdog thread saves itself if the loop does not
        get to it, and ends the process SIGNAL_GRACE_S after the save if Textual's shutdown blocks (its
        writer thread waits on a terminal nobody reads: the hang seen with SIGHUP).

        A repeated signal never skips the save: closing a terminal often delivers SIGHUP twice (the kernel's
        hang-up and the terminal emulator's own kill), and the second one used to end the process at once,
        before the first one's save was written. It leaves at once only when the save is done."""
        if self._exit_code is not None:
            if self._saved_for_exit:
                os._exit(self._exit_code)
            return  # the save is under way (the watchdog ends the process after it)
        self._exit_code = 128 + signum
        self._hold_still()
        threading.Thread(target=self._watchdog, name="rpg-exit-watchdog", daemon=True).start()
        with contextlib.suppress(RuntimeError):  # the loop is closed: the watchdog does it all
            self._loop.call_soon_threadsafe(lambda: self.call_later(self._leave_on_signal))

    @staticmethod
    def _hold_still() -> None:
        """Leaving on a signal: from now on no job-control signal may stop the process before its save. When a
        terminal goes away the hang-up comes with SIGCONT (and a shell or the kernel may send the stop signals
        of a background job, SIGTTIN / SIGTTOU): Textual's SIGCONT handler restarts application mode on the dead
        terminal (tcsetattr, a new writer thread) and its SIGTSTP / SIGTTOU handlers send SIGSTOP, and a
        stopped process stays alive, unsaved, for ever, its watchdog stopped with it."""
        for name in ("SIGTSTP", "SIGTTIN", "SIGTTOU"):
            sig = getattr(signal, name, None)
            if sig is not None:
                with contextlib.suppress(ValueError, OSError):
                    signal.signal(sig, signal.SIG_IGN)
        sigcont = getattr(signal, "SIGCONT", None)
        if sigcont is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sigcont, signal.SIG_DFL)  # continue, and nothing else

    @property
    def signal_exit_code(self) -> int | None:
        """128 + the number of the signal that asked the game to leave, or None."""
        return self._exit_code

    def _watchdog(self) -> None:
        start = time.monotonic()
        while not self._saved_for_exit and time.monotonic() - start < SIGNAL_SAVE_WAIT_S + self.time_limit_s:
            time.sleep(0.05)
        # The loop is stuck: save from here, once no turn is changing the session. Not `busy`: a turn worker
        # that finished sets it back through the (stuck) loop, so it stays True, and the run went unsaved.
        if not self._saved_for_exit and self.turn_lock.acquire(timeout=self.time_limit_s + 1.0):
            try:
                if not self._saved_for_exit:
                    with contextlib.suppress(Exception):
                        self._write_save()
                    with contextlib.suppress(Exception):
                        if self.session is not None and self.session.playlog is not None:
                            self.session.playlog.close()
                    self._saved_for_exit = True
            finally:
                self.turn_lock.release()
        time.sleep(SIGNAL_GRACE_S)
        os._exit(self._exit_code or 1)

    async def _leave_on_signal(self) -> None:
        if self.busy:  # a turn being resolved in a worker finishes before the save (bounded by the time limit)
            await self.workers.wait_for_complete()
            self.busy = False
        if not self._saved_for_exit:  # the watchdog may have saved already
            with self.turn_lock:
                self.save_game()
                self._saved_for_exit = True
        if self.session is not None and self.session.playlog is not None:
            self.session.playlog.close()
        self.exit(return_code=self._exit_code or 0)

    def _handle_exception(self, error: Exception) -> None:
        """A crash: keep the player's progress if the session can still be written, then let Textual
        report it (it sets a non-zero return code, which rpg-tui exits with)."""
        with contextlib.suppress(Exception):
            if not self.busy:
                self.save_game()
        super()._handle_exception(error)

    def on_unmount(self) -> None:
        self._unmounting = True
        # Every exit that did not save yet saves here: a browser tab closing (textual-serve sends "quit", which
        # exits without action_quit), and a terminal that went away (Textual's input thread reads EIO and
        # ends the app before, or without, any SIGHUP). ctrl+q and the signals have saved already (or chose not
        # to). A turn still being resolved is waited for (at most the model's time limit).
        # The signal handlers stay ours until this save is written: restored first (as before), a SIGHUP landing
        # during the save took the default action and killed the process with the run unsaved.
        if not self._saved_for_exit and self.turn_lock.acquire(timeout=self.time_limit_s + 1.0):
            try:
                if not self._saved_for_exit:
                    self._write_save()
                    self._saved_for_exit = True
            finally:
                self.turn_lock.release()
        if self.session is not None and self.session.playlog is not None:
            self.session.playlog.close()
        for sig, previous in self._signals.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, previous)

    def on_resize(self) -> None:
        self.check_size()

    def check_size(self) -> None:
        """Show or hide the size notice. Several resize handlers queue this call and a pop lands later,
        so popping whenever the top screen was a notice popped twice and took the game screen with it
        (a blank app): only the notice this method pushed is ever popped, and only while on top."""
        small = self.size.width < MIN_SIZE[0] or self.size.height < MIN_SIZE[1]
        if small and not isinstance(self.screen, TooSmallScreen):
            self._size_notice = TooSmallScreen()
            self.push_screen(self._size_notice)
        elif not small and self._size_notice is not None and self.screen is self._size_notice:
            self._size_notice = None
            self.pop_screen()

    # ------------------------------------------------------------ games
    def has_save(self) -> bool:
        return saves.has_save(self.save_dir)

    def _attach(self, session: GameSession) -> None:
        if self.session is not None and self.session.playlog is not None:
            self.session.playlog.close()
        session.resolvers = self.resolvers
        session.time_limit_s = self.time_limit_s
        self.session = session
        self._open_playlog()

    def _open_playlog(self) -> None:
        s = self.session
        if s.playlog is not None:
            s.playlog.close()
        s.playlog = None
        try:  # the run id came from a save file: checked there, and again here, before it names a file
            path = run_file(self.save_dir / "playlogs", s.run_id, ".jsonl")
        except ValueError as exc:
            s.messages.add(f"This run has no play log ({exc}).", "warn")
            return
        s.playlog = PlayLogWriter(path, on_error=self._playlog_failed)

    def _playlog_failed(self, reason: str) -> None:
        # may run in a turn worker: only touch the message log, which the next refresh draws
        if self.session is not None:
            self.session.messages.add(f"The play log cannot be written ({self._shown(reason)}); play goes on "
                                      f"without it. {self._elsewhere()}", "warn")

    def _elsewhere(self) -> str:
        """Where to turn when saving fails. A web game offers no prompt naming a path on the server."""
        return "Whoever runs the server can free the disk." if self.web else \
            "ctrl+p, Save to another directory, moves saves and play logs."

    def _shown(self, reason: str) -> str:
        """A write failure as the player may read it: a web game never shows the server's paths."""
        return re.sub(r"(?:[A-Za-z]:)?[/\\]\S*", "(a file on the server)", reason) if self.web else reason

    def _show_game(self) -> None:
        screen = GameScreen(self.session)
        if isinstance(self.screen, TitleScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def _keep_living_run(self) -> str | None:
        """A new game never silently replaces a living run: the newest save of every run that loads is copied
        to <save_dir>/kept/ first (docs/game.md). The message for the log, or None when there was none."""
        try:
            kept = saves.keep_runs(self.save_dir, self.content)
        except OSError as exc:
            return f"The previous run could not be kept ({exc.filename}: {exc.strerror or exc}); it stays in " \
                   f"{saves.save_path(self.save_dir)}, and this run is not saved over it."
        if not kept:
            return None
        return " ".join(f"Your previous run was kept in {k}; rpg-tui --load {k} continues it." for k in kept)

    def start_new(self, seed: int) -> None:
        self.seed = seed
        kept = self._keep_living_run()
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-s{seed}"
        session = GameSession.new(self.content, seed, run_id)
        self._attach(session)  # the resolver chosen so far plays the new run too
        if kept:
            session.messages.add(kept, "info")
        self._show_game()

    def continue_game(self) -> None:
        if not self.has_save():
            if isinstance(self.screen, TitleScreen):
                self.screen.show_notice("No saved game. Press n for a new game.")
            return
        try:
            loaded = saves.load_newest(self.save_dir, self.content)
        except saves.SaveError as exc:
            note = f"The saved game cannot be used: {exc}"
            asides = self._set_aside([(p, "") for p in saves.candidates(self.save_dir)])
            note += "".join(f"\n{line}" for line in asides) + "\nPress n for a new game."
            if isinstance(self.screen, TitleScreen):
                self.screen.show_notice(note)
            else:
                self.push_screen(TitleScreen(note))
            return
        self._continue(loaded)

    def load_file(self, path: Path) -> str | None:
        """`rpg-tui --load FILE`: continue a kept run (the living one in save.json is kept first).
        Why it cannot, or None."""
        try:
            session = saves.load_file(Path(path), self.content)
        except saves.SaveError as exc:
            return f"That save cannot be used: {exc}"
        # --load of the save dir's own save.json continues the living run: there is nothing to keep aside
        living = Path(path).resolve() == saves.save_path(self.save_dir).resolve()
        kept = self._keep_living_run() if saves.has_save(self.save_dir) and not living else None
        self._continue(saves.Loaded(session, Path(path)))
        if kept:
            session.messages.add(kept, "info")
        return None

    def _continue(self, loaded: saves.Loaded) -> None:
        session = loaded.session
        self.resolvers.set_active(session.active)  # the saved game was played with this resolver: play on with it
        self._attach(session)
        session.messages.add("Welcome back.", "info")
        if loaded.path.name != saves.SAVE_NAME:
            session.messages.add(self._shown(f"Continued from {loaded.path} (the newest save that loads)."), "warn")
        for line in self._set_aside(loaded.broken):
            session.messages.add(line, "warn")
        self.load_wanted()
        self._show_game()

    def _set_aside(self, broken: list[tuple[Path, str]]) -> list[str]:
        """Rename unusable save files aside (untouched) and say where each went."""
        lines = []
        for path, reason in broken:
            if not os.path.lexists(path):
                continue
            why = f" ({reason.removeprefix(str(path) + ': ')})" if reason else ""
            if not (path.is_symlink() or path.is_file()):  # a directory, a pipe: not a file the game made
                lines.append(f"{path} cannot be used{why}; it is not a file and was left where it is.")
                continue
            try:
                aside = saves.quarantine_file(path)
            except OSError as exc:
                lines.append(f"{path} cannot be used and could not be moved aside ({exc.strerror or exc}).")
                continue
            lines.append(f"{path.name} cannot be used{why}; it was moved aside, untouched, to {aside}.")
        return lines

    def save_game(self) -> Path | None:
        """Write the save; a refusal (file and reason) goes to the log and `save_error`, never a crash.
        Between turns only (None while a turn is being resolved)."""
        if self.session is None or self.busy:
            return None
        return self._write_save()

    def _write_save(self) -> Path | None:
        """The save itself, from the event loop or the exit watchdog: one at a time, never during a turn
        (`turn_lock`). Another run's save that this one would replace is kept first (saves.save_game)."""
        s = self.session
        if s is None or s.over:
            return None
        kept: list[Path] = []
        with self.turn_lock:
            try:
                path = saves.save_game(s, self.save_dir, kept)
            except saves.SaveWriteError as exc:
                self.save_error = str(exc)
                s.messages.add(f"Could not save: {self._shown(str(exc))}. Play goes on. {self._elsewhere()}",
                               "warn")
                self._refresh_soon()
                return None
        for k in kept:
            s.messages.add(self._shown(f"Another run's save was in {self.save_dir}; it was kept in {k} before this "
                                       f"run was saved there (rpg-tui --load {k} continues it)."), "info")
        self.save_error = None
        return path

    def _refresh_soon(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self.refresh_game()

    def save_elsewhere(self, directory: Path) -> None:
        """Point saves and play logs at another directory and save there now."""
        self.save_dir = Path(directory).expanduser()
        if self.session is None:
            return
        self._open_playlog()
        path = self.save_game()
        if path is not None:
            self.session.messages.add(f"Saved to {path}; saves and play logs now go to {self.save_dir}.", "info")
        self.refresh_game()

    def end_run(self) -> None:
        """Permadeath: this run's saves go (never another run's), the morgue file and the run history are
        written; each step is tried on its own, and none of them can crash the end screen."""
        s = self.session
        with contextlib.suppress(OSError):
            saves.delete_save(self.save_dir, self.content, s.run_id)
        try:
            self.last_morgue = saves.write_morgue(s, self.save_dir)
            where = str(self.last_morgue)
        except (OSError, ValueError) as exc:
            where = f"not written ({getattr(exc, 'filename', None) or ''}: {getattr(exc, 'strerror', None) or exc})"
        with contextlib.suppress(OSError):
            runs.record_run(s, self.save_dir)
        self.push_screen(EndScreen(s, where))

    def back_to_title(self) -> None:
        self.session = None
        self.seed = random.randrange(1_000_000)  # a fresh dungeon unless the player types a seed
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(TitleScreen())

    async def action_quit(self) -> None:
        """ctrl+q: save the game in progress, then leave. When the save fails the game stays open (the
        log says why); a second ctrl+q leaves without saving."""
        if self.busy:
            await self.workers.wait_for_complete()
            self.busy = False
        self.save_game()
        if self.save_error is not None and not self._quit_unsaved:
            self._quit_unsaved = True
            self.notify(f"Not saved: {self._shown(self.save_error)}\n{self._elsewhere()} "
                        "ctrl+q again quits without saving.", severity="error", timeout=10, markup=False)
            return
        self._saved_for_exit = True  # saved, or the player chose to leave unsaved: on_unmount leaves it be
        self.exit()

    # ------------------------------------------------------------ model
    def load_wanted(self) -> None:
        """Load the learned resolver the active one needs, if it is not loaded (nor loading, nor failed)."""
        kind = self.resolvers.wanted()
        if kind is not None:
            self.load_model(kind)

    def load_model(self, kind: str = "model") -> None:
        """Load the single model or the experts (in a worker), replacing the other one."""
        loader = self.resolvers.start_load(kind)
        if loader is None:
            return
        self.refresh_game()
        self.run_worker(partial(self._load_model_work, kind, loader), thread=True, group="model",
                        exit_on_error=False)

    def _load_model_work(self, kind: str, loader: Callable[[], Resolver]) -> None:
        self.call_from_thread(self._model_ready, kind, Resolvers.load(loader))

    def _model_ready(self, kind: str, result: Loaded) -> None:
        lines = self.resolvers.finish_load(kind, result)
        beyond = self.content.beyond_model
        if result.resolver is not None and beyond and beyond not in self.resolvers.said:
            self.resolvers.said.add(beyond)  # said once a run: the content reaches past the shipped model
            bound = re.search(r"envelope of [^:]*: ([^)]*)\)", beyond)  # e.g. "A.max_hp 1..48"
            lines.append((f"This dungeon outgrows the fights the shipped model was trained on "
                          f"({bound.group(1) if bound else beyond}, and more): it sits those turns out and the "
                          "rules resolve them (F2 names the field).", "info"))
        if self.session is not None:
            for text, style in lines:
                self.session.messages.add(text, style)
        self.load_wanted()  # m moved on while this one loaded: load that one
        self.refresh_game()

    def switch_model(self, model_dir: Path) -> None:
        """Drop the loaded model (if any) and load another one; the model becomes the active resolver."""
        r = self.resolvers
        if self.busy or r.loading:
            return
        r.loaders["model"] = model_loader_for(model_dir, self.content, self.allow_stale)
        r.unavailable.pop("model", None)
        r.model = None
        r.set_active("model")
        self.load_model("model")

    def toggle_resolver(self) -> None:
        if self.session is None or self.busy:
            return
        self.session.toggle_resolver()
        self.load_wanted()
        self.refresh_game()

    def refresh_game(self) -> None:
        self.game_version += 1

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's Screenshot: into the save dir (~/Downloads may not exist), and say where."""
        where = Path(path) if path else self.save_dir / "screenshots"
        where.mkdir(parents=True, exist_ok=True)
        saved = self.save_screenshot(filename, str(where), time_format)
        self.notify(self._shown(f"Screenshot saved to {saved}"), timeout=6, markup=False)
        if self.session is not None:
            self.session.messages.add(self._shown(f"Screenshot saved to {saved}."), "info")
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
        engine = getattr(self.resolvers.model, "engine", None)
        stream = engine.generate_stream if engine is not None else None
        self.push_screen(LabScreen(block, rules, stream, self.resolvers.status, sampled))

    # ------------------------------------------------------------ palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, GameScreen):
            yield SystemCommand("Toggle resolver", "Cycle combat through the rules, the model and the experts (m)",
                                self.toggle_resolver)
            yield SystemCommand("Toggle debug pane", "Input block, both answers, differing fields (F2)",
                                screen.action_toggle_debug)
            yield SystemCommand("Open the lab", "The model token by token beside the rules (F3)", self.action_lab)
            yield SystemCommand("Help", "Every key (?)", lambda: self.push_screen(HelpScreen()))
            yield SystemCommand("Message history", "The whole log of the run, searchable (M)", screen.action_history)
            yield SystemCommand("Save game", "Write the save now", self._palette_save)
            if not self.web:
                yield SystemCommand("Save to another directory…", "Saves and play logs go to a directory you type",
                                    self._ask_save_dir)
            yield SystemCommand("Inventory", "Use an item (i)", screen.action_inventory)
            yield SystemCommand("Save and quit", "ctrl+q", self.action_quit)
            for path in self.list_models():  # directory names: the palette reads titles and help as markup
                yield SystemCommand(f"Use model {escape(path.name)}", f"Load {escape(str(path))} and resolve with it",
                                    partial(self.switch_model, path))
        if isinstance(screen, TitleScreen):
            yield SystemCommand("New game", "Start a new run (n)", screen.action_new)
            yield SystemCommand("Continue", "Load the saved game (c)", screen.action_continue)

    def _ask_save_dir(self) -> None:
        if self.web:
            return
        def chosen(directory: str | None) -> None:
            if directory:
                self.save_elsewhere(Path(directory))

        self.push_screen(SaveDirScreen(str(self.save_dir), self.save_error), chosen)

    def action_command_palette(self) -> None:
        """One palette at a time: the size notice can cover an open palette, and Textual only looks at the
        top screen to decide whether one is open (DuplicateIds '--command-palette')."""
        if any(isinstance(s, CommandPalette) for s in self.screen_stack) or isinstance(self.screen, TooSmallScreen):
            return
        self.push_screen(SafeCommandPalette(id="--command-palette"))

    def search_themes(self) -> None:
        """Textual's "Theme" command opens a second palette of its own: it needs the same guards."""
        self.push_screen(SafeCommandPalette(providers=[ThemeProvider], placeholder="Search for themes…"))

    def search_commands(self, commands: Sequence[CommandListItem],
                        placeholder: str = "Search for commands…") -> AwaitMount:
        return self.push_screen(SafeCommandPalette(providers=[SimpleProvider(self.screen, commands)],
                                                   placeholder=placeholder))

    def _palette_save(self) -> None:
        path = self.save_game()
        if path is not None and self.session is not None:
            self.session.messages.add(self._shown(f"Saved to {path}."), "info")
            self.refresh_game()


def model_loader_for(model_dir: Path | None, content: Content, allow_stale: bool = False) -> Callable[[], Resolver]:
    """Load lazily (in the worker): brain and numpy are imported only when the model is asked for (play never
    imports torch). `allow_stale`: a stale model loads anyway (rpg-tui --allow-stale), every answer of it
    marked stale."""

    def load() -> Resolver:
        if model_dir is not None and not Path(model_dir).exists():
            raise ValueError(f"no model at {model_dir}")
        return load_model_resolver(Path(model_dir) if model_dir is not None else None, content.rules, allow_stale)

    return load


def experts_loader_for(experts_dir: Path | None, content: Content, allow_stale: bool = False) -> Callable[[], Resolver]:
    def load() -> Resolver:
        return load_experts_resolver(Path(experts_dir) if experts_dir is not None else None, content.rules,
                                     allow_stale)

    return load


def create_app(seed: int | None = None, resolver: str | Resolver = "rules", save_dir: Path | str | None = None,
               new_game: bool = False, model_dir: Path | str | None = None, content: Content | None = None,
               time_limit_s: float = 2.0, model_loader: Callable[[], Resolver] | None = None,
               experts_dir: Path | str | None = None,
               experts_loader: Callable[[], Resolver] | None = None, allow_stale: bool = False) -> RpgApp:
    """The app. `resolver` may be a Resolver object: it becomes the loaded model (tests inject fakes).
    Without `content`, the game's content (game.shipped.load_game_content: the shipped content is checked
    against the shipped model's envelope)."""
    content = content or load_game_content()
    seed = seed if seed is not None else random.randrange(1_000_000)
    save_dir = Path(save_dir) if save_dir is not None else default_save_dir()
    if isinstance(resolver, str):
        if resolver not in ("rules", "model", "experts"):
            raise ValueError(f"resolver must be rules, model or experts, got {resolver!r}")
        loader = model_loader or model_loader_for(Path(model_dir) if model_dir else None, content, allow_stale)
        experts = experts_loader or experts_loader_for(Path(experts_dir) if experts_dir else None, content,
                                                       allow_stale)
        app = RpgApp(content, seed, save_dir, resolver, loader, new_game, time_limit_s, experts)
    else:
        fake = resolver
        app = RpgApp(content, seed, save_dir, "model", lambda: fake, new_game, time_limit_s, experts_loader)
    app.allow_stale = allow_stale
    return app
