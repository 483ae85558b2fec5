"""Signals and shutdown in a real terminal: the game runs in a subprocess on a pseudo-terminal.

SIGTERM, SIGINT and SIGHUP save and exit with 128 + the signal's number within a few seconds. For SIGHUP
the terminal goes away first (nobody reads it any more, then it is closed): Textual's shutdown used to
block for ever there in 2 of 20 tries, so the case runs twenty times with 1 to 30 moves before it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import random
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from game import saves

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


class Game:
    """rpg-tui on a pty of 80x24; a thread drains the terminal until `hang_up` stops it."""

    def __init__(self, save_dir: Path, seed: int, prelude: str = "") -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
        code = prelude + "import sys\nfrom game.tui.cli import main\nsys.exit(main(sys.argv[1:]))\n"
        self.proc = subprocess.Popen([sys.executable, "-c", code, "--new", "--seed", str(seed),
                                      "--save-dir", str(save_dir)], stdin=slave, stdout=slave, stderr=slave,
                                     cwd=ROOT, env=env, start_new_session=True)
        os.close(slave)
        self.out = bytearray()
        self.reading = True
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while self.reading:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                self.out += chunk

    def wait_for(self, needle: bytes, timeout: float = 30) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in self.out:
                return True
            time.sleep(0.05)
        return False

    def keys(self, text: str) -> None:
        for ch in text:
            os.write(self.master, ch.encode())
            time.sleep(0.02)

    def hang_up(self) -> None:
        """The terminal goes away: nobody reads it any more, then it is closed."""
        self.reading = False
        self.reader.join()
        os.close(self.master)
        self.master = -1

    def finish(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self.master >= 0:
                self.reading = False
                self.reader.join()
                os.close(self.master)


def _play_and_signal(content, tmp_path: Path, seed: int, sig: int, moves: int) -> None:
    save_dir = tmp_path / "saves"
    game = Game(save_dir, seed)
    try:
        assert game.wait_for(b"resolver", 30), game.out[-2000:]
        rng = random.Random(seed)
        game.keys("".join(rng.choice("hjklyubn.") for _ in range(moves)))
        time.sleep(0.2)
        if sig == signal.SIGHUP:
            game.hang_up()
        game.proc.send_signal(sig)
    finally:
        start = time.monotonic()
        rc = game.finish(timeout=10)
    took = time.monotonic() - start
    assert rc is not None, f"rpg-tui still running {took:.1f} s after {signal.Signals(sig).name}"
    assert rc == 128 + sig, (rc, game.out[-1500:].decode(errors="replace"))
    assert took < 8
    s = saves.load_game(save_dir, content)  # the save loads, and it is this run
    assert s.seed == seed


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_term_and_int_save_and_exit(content, tmp_path, sig):
    _play_and_signal(content, tmp_path, 40 + sig, sig, moves=8)


@pytest.mark.parametrize("attempt", range(20))
def test_hangup_with_the_terminal_gone_never_hangs(content, tmp_path, attempt):
    _play_and_signal(content, tmp_path, 1000 + attempt, signal.SIGHUP, moves=random.Random(attempt).randint(1, 30))


# Textual's writer thread stops writing (a write to a terminal that is gone never returns): its queue of
# 30 frames fills, and then the event loop itself blocks in queue.put. This is the cause of the SIGHUP hang,
# made certain instead of 2-in-20.
STUCK_WRITER = """
import os, time
from textual.drivers import _writer_thread as w
def run(self):
    while True:
        text = self._queue.get()
        if text is None:
            break
        if os.path.exists(os.environ["RPG_TEST_STUCK"]):
            time.sleep(3600)
        self._file.write(text)
        self._file.flush()
w.WriterThread.run = run
"""


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_a_stuck_terminal_writer_cannot_hang_the_exit(content, tmp_path, monkeypatch, sig):
    flag = tmp_path / "stuck"
    monkeypatch.setenv("RPG_TEST_STUCK", str(flag))
    save_dir = tmp_path / "saves"
    game = Game(save_dir, 77, prelude=STUCK_WRITER)
    try:
        assert game.wait_for(b"resolver", 30), game.out[-2000:]
        game.keys("l.")
        time.sleep(0.3)
        flag.touch()
        game.keys("hjklhjklhjkl.........." * 3)  # frames pile up until the loop blocks on the full queue
        time.sleep(0.5)
        game.proc.send_signal(sig)
    finally:
        start = time.monotonic()
        rc = game.finish(timeout=12)
    assert rc == 128 + sig, f"exit code {rc} after {time.monotonic() - start:.1f} s"
    assert saves.load_game(save_dir, content).seed == 77


def test_a_crash_exits_non_zero_and_keeps_the_save(content, tmp_path):
    """An exception inside the app (here: a broken help screen) ends rpg-tui with a non-zero code."""
    save_dir = tmp_path / "saves"
    code = ("import sys\nfrom game.tui import screens\n"
            "def boom(self):\n    raise RuntimeError('injected crash')\n"
            "screens.GameScreen.action_help = boom\n"
            "from game.tui.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-c", code, "--new", "--seed", "5", "--save-dir", str(save_dir)],
                            stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"})
    os.close(slave)
    out = bytearray()
    try:
        end = time.monotonic() + 30
        while b"resolver" not in out and time.monotonic() < end:
            if select.select([master], [], [], 0.1)[0]:
                out += os.read(master, 65536)
        os.write(master, b"l")
        time.sleep(0.3)
        os.write(master, b"?")
        end = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < end:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
        rc = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert rc not in (0, None), out[-1500:]
    assert saves.load_game(save_dir, content).seed == 5  # the crash handler saved first


# The save on the way out takes a second here, so that a second signal can land in the middle of it.
SLOW_SAVE = """
import time
from game import saves
_real_save = saves.save_game
def _slow_save(*args, **kwargs):
    time.sleep(1.0)
    return _real_save(*args, **kwargs)
saves.save_game = _slow_save
"""


def test_a_repeated_hangup_never_skips_the_save(content, tmp_path):
    """Closing a terminal can deliver SIGHUP twice (the kernel's hang-up and the terminal emulator's own kill):
    the second one ended the process at once, before the first one's save was written (1 in 391 closes)."""
    save_dir = tmp_path / "saves"
    game = Game(save_dir, 91, prelude=SLOW_SAVE)
    try:
        assert game.wait_for(b"resolver", 30), game.out[-2000:]
        game.keys("hl")  # fewer turns than an autosave: only the exit saves
        time.sleep(0.3)
        game.proc.send_signal(signal.SIGHUP)
        time.sleep(0.4)  # the first one's save is under way
        game.proc.send_signal(signal.SIGHUP)
    finally:
        rc = game.finish(timeout=12)
    assert rc == 128 + signal.SIGHUP
    assert saves.load_game(save_dir, content).seed == 91


def test_the_terminal_going_away_before_its_hangup_still_saves(content, tmp_path):
    """The terminal closes: Textual's input thread reads EIO and ends the app on its own; its on_unmount restored
    the default SIGHUP action before saving, so the hang-up arriving during that save killed the process unsaved."""
    save_dir = tmp_path / "saves"
    game = Game(save_dir, 92, prelude=SLOW_SAVE)
    try:
        assert game.wait_for(b"resolver", 30), game.out[-2000:]
        game.keys("hl")
        time.sleep(0.3)
        game.hang_up()
        time.sleep(0.5)  # the app is ending on its own and saving
        game.proc.send_signal(signal.SIGHUP)
    finally:
        rc = game.finish(timeout=12)
    assert rc == 128 + signal.SIGHUP
    assert saves.load_game(save_dir, content).seed == 92


@pytest.mark.parametrize("stop", [signal.SIGTSTP, signal.SIGCONT])
def test_job_control_signals_while_leaving_cannot_stop_the_save(content, tmp_path, stop):
    """A stop (or Textual's resume on SIGCONT, which a hang-up brings along) while the exit's save is pending:
    Textual's handlers send the process SIGSTOP, and it stayed alive and unsaved, its watchdog stopped too."""
    save_dir = tmp_path / "saves"
    game = Game(save_dir, 93, prelude=SLOW_SAVE)
    try:
        assert game.wait_for(b"resolver", 30), game.out[-2000:]
        game.keys("hl")
        time.sleep(0.3)
        game.proc.send_signal(signal.SIGHUP)
        time.sleep(0.4)
        game.proc.send_signal(stop)
    finally:
        rc = game.finish(timeout=12)
    assert rc == 128 + signal.SIGHUP
    assert saves.load_game(save_dir, content).seed == 93


def test_a_terminal_gone_without_any_hangup_signal_still_saves_and_ends(content, tmp_path):
    """The terminal closes and no SIGHUP reaches the game (here: a game in its own session, as under setsid or a
    shell that does not pass the hang-up on): it stayed alive, unsaved, for ever."""
    save_dir = tmp_path / "saves"
    game = Game(save_dir, 94)
    try:
        assert game.wait_for(b"resolver", 30), game.out[-2000:]
        game.keys("hl")
        time.sleep(0.3)
        game.hang_up()
    finally:
        rc = game.finish(timeout=12)
    assert rc == 128 + signal.SIGHUP
    assert saves.load_game(save_dir, content).seed == 94
