"""`rpg-tui --serve`: the game in a browser through textual-serve, one process and one save slot per tab.

textual-serve starts one app process per websocket. A page URL without a slot redirects to `/?slot=<new id>`,
so each new tab starts its own game and its address bar is the way back to it; the page's websocket is
`/ws/<slot>`, and that slot's process plays with `--web --save-dir <save dir>/web/<slot>`. `/slots` lists the
slots with a saved game. One slot is played by one process at a time, since two writing one save would lose one
player's turns: a tab that opens a slot already being played takes it over. The old game is asked to quit (it
saves on its way out; its tab shows "Session ended") and the new one starts once its process has ended. A
reload is the same case: the new page's websocket arrives while the old page's game is still ending.

Safety on a shared machine (docs/game.md, "Play in a browser"):
- every request's `Host` must be an IP address, `localhost`, this machine's name, the `--host` name or an
  `--allow-host` name (else 403: a DNS-rebinding page has its own name there), and a websocket that carries an
  `Origin` must come from the page's own origin (else 403: another site's page); one without `Origin` (not a
  browser) is let in, since such a program can send any `Origin` it likes;
- terminal sizes are clamped to MAX_SIZE, whatever the page asks;
- a game ends in bounded time and its slot is free only once its process has exited: `quit` (it saves), then
  SIGTERM after `quit_wait_s` (it saves on that too), then SIGKILL after `term_wait_s`; its output is read into
  nowhere once the tab is gone, so it never blocks writing a frame nobody reads;
- at most `max_games` games run at once; a tab past that gets a page that says so (503);
- the game runs with `--web`: no palette command asks for a directory, and it saves and exits when this server
  is gone (even after SIGKILL).

textual-serve is optional (`pip install 'rpg-tui[serve]'`); only `rpg-tui --serve` imports this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
import json
import logging
import os
import re
import secrets
import shlex
import socket
import sys
from asyncio.subprocess import PIPE, Process
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp_jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int
from yarl import URL

from game import saves

log = logging.getLogger("textual-serve")

SLOT = re.compile(r"[a-z0-9]{1,32}")
HOST = re.compile(r"([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")  # a Host header: a name or address, a port
MAX_SIZE = (500, 200)  # columns, rows: the largest terminal a tab may ask for (a 20000x20000 one took 2.8 GB)
MAX_GAMES = 8  # games running at once, by default (each a process of about 45 MB with the rules resolver)


def new_slot() -> str:
    return secrets.token_hex(4)


def check_slot(slot: str) -> str:
    if not SLOT.fullmatch(slot):
        raise web.HTTPBadRequest(text=f"bad slot {slot!r}: expected 1-32 lowercase letters or digits")
    return slot


def clamp_size(width: object, height: object) -> tuple[int, int] | None:
    """A terminal size the page asked for, within 1..MAX_SIZE; None when it is not two integers."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (width, height)):
        return None
    return max(1, min(width, MAX_SIZE[0])), max(1, min(height, MAX_SIZE[1]))


@dataclass
class Playing:
    """A slot's game: its service once started; `stop` asks it to end, `ended` is set once its process has."""

    service: AppService | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class GameService(AppService):
    """textual-serve's AppService, with two changes. The game is started without a shell, so that its signals
    reach the game itself (and a tab is one process, not two). Once `detached` (the tab is gone, or the game is
    being ended) the game's output is still read, into nowhere: textual-serve stopped reading it when a write to
    a closed websocket failed, and the game then blocked writing a frame and never saved."""

    def __init__(self, argv: list[str], **kwargs) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.argv = argv
        self.detached = False
        self._closing: asyncio.Future | None = None

    @property
    def process(self) -> Process | None:
        return self._process

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        env = self._build_environment(width, height)
        env["RPG_TUI_SERVER_PID"] = str(os.getpid())  # --web: the game saves and exits once this pid is gone
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=env)
        self._stdin = process.stdin
        return process

    async def on_data(self, payload: bytes) -> None:
        if self.detached:
            return
        try:
            await self.remote_write_bytes(payload)
        except Exception:  # the websocket is closing or gone: keep reading the game, into nowhere
            self.detached = True

    async def on_meta(self, data: bytes) -> None:
        if self.detached:
            return
        try:
            if json.loads(data).get("type") == "exit":  # the game is ending: close the tab without waiting on it
                self.detached = True
                self._closing = asyncio.ensure_future(self.remote_close())
                return
            await super().on_meta(data)
        except Exception:
            self.detached = True

    async def closed(self) -> None:
        """Wait (a little) for the tab's close that the game's exit started."""
        if self._closing is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._closing, 2)


async def exited(process: Process, timeout: float) -> bool:
    """Whether the process has exited within `timeout` seconds. `returncode` rather than `wait()`: on Python
    3.11 `wait()` also waits for the pipes to be read to their end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while process.returncode is None and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return process.returncode is not None


class SlotServer(Server):
    """textual-serve's Server with the websocket (and so the game's save dir) chosen by the page's slot."""

    def __init__(self, game_args: list[str], web_dir: Path, host: str = "127.0.0.1", port: int = 8000,
                 max_games: int = MAX_GAMES, allow_hosts: Iterable[str] = (), time_limit_s: float = 2.0) -> None:
        super().__init__("rpg-tui", host=host, port=port, title="rpg-tui")
        self.game_args = game_args  # passed through to each tab's process (--seed, --resolver, --model, ...)
        self.web_dir = Path(web_dir)
        self.open_slots: dict[str, Playing] = {}  # a slot stays here until its game's process has exited
        self.max_games = max_games
        # a game asked to quit saves and ends well within quit_wait_s; on SIGTERM it saves within
        # 2 s + its model time limit and ends 3 s later (game/tui/app.py, SIGNAL_*)
        self.quit_wait_s = 10.0
        self.term_wait_s = 8.0 + time_limit_s
        self.slot_wait_s = self.quit_wait_s + self.term_wait_s + 5.0  # a taking-over tab waits this long, then 409
        names = {"localhost", socket.gethostname(), host, *allow_hosts}
        self.host_names = {n.lower().rstrip(".") for n in names if n}

    # ------------------------------------------------------------ who may connect
    def host_allowed(self, host: str | None) -> bool:
        """A request's Host: an IP address, localhost, this machine's name, or a name it was told to answer
        to. A page that rebinds its own domain name to this machine sends that name, and is refused."""
        if host is None:  # HTTP/1.0: not a browser
            return True
        if not HOST.fullmatch(host):
            return False
        try:
            name = (URL(f"http://{host}").host or "").lower().rstrip(".")
        except ValueError:
            return False
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(name)
            return True
        return name in self.host_names

    @staticmethod
    def origin_allowed(request: web.Request) -> bool:
        """A websocket's Origin is the page's own (same host and port as the request's Host). Browsers always
        send one; no Origin is a program, which could send any Origin it likes, so it is let in."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        try:
            page = URL(origin)
            served = URL(f"{page.scheme}://{request.headers.get('Host', '')}")
        except ValueError:
            return False
        return (page.scheme in ("http", "https") and page.host is not None and served.host is not None
                and (page.host.lower(), page.port) == (served.host.lower(), served.port))

    @web.middleware
    async def check_host(self, request: web.Request, handler) -> web.StreamResponse:
        if not self.host_allowed(request.headers.get("Host")):
            raise web.HTTPForbidden(text=f"rpg-tui does not answer to the host {request.headers.get('Host')!r} "
                                    "(rpg-tui --serve --allow-host NAME adds a name)")
        return await handler(request)

    def full(self, slot: str) -> bool:
        """No room for this slot's game: max_games run already (a slot being played does not need one more)."""
        return slot not in self.open_slots and len(self.open_slots) >= self.max_games

    def full_text(self) -> str:
        games = f"{self.max_games} game{'s' if self.max_games != 1 else ''}"
        return (f"This server runs at most {games} at a time (rpg-tui --serve --max-games N), and all are being "
                "played. Close another tab of this game, or try again in a moment.")

    # ------------------------------------------------------------ slots
    async def take_over(self, slot: str) -> None:
        """Ask the game playing this slot (if any) to save and quit, and wait until its process has ended."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.slot_wait_s
        while (playing := self.open_slots.get(slot)) is not None:
            left = deadline - loop.time()
            if left <= 0:
                raise web.HTTPConflict(text=f"the game in slot {slot} did not end in {self.slot_wait_s:g} s")
            playing.stop.set()  # its websocket's handler ends it (it may still be starting: it checks)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(playing.ended.wait(), left)

    async def on_shutdown(self, app: web.Application) -> None:
        # Ctrl+C or SIGTERM: every game saves and quits now, rather than when aiohttp's shutdown timeout cancels it
        await asyncio.gather(*(self.take_over(slot) for slot in list(self.open_slots)), return_exceptions=True)

    def slot_argv(self, slot: str) -> list[str]:
        return [sys.executable, "-m", "game.tui.cli", "--web", *self.game_args, "--save-dir", str(self.web_dir / slot)]

    def slot_command(self, slot: str) -> str:
        return shlex.join(self.slot_argv(slot))

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.check_host)
        app.router.add_get("/ws/{slot}", self.handle_websocket)
        app.router.add_get("/slots", self.handle_slots)
        return app

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        slot = request.query.get("slot")
        if slot is None:
            raise web.HTTPFound(request.rel_url.update_query(slot=new_slot()))
        check_slot(slot)
        if self.full(slot):
            body = (f'<!DOCTYPE html><title>rpg-tui: server full</title><h1>No room for another game</h1>'
                    f'<p>{html.escape(self.full_text())}</p><p><a href="/?slot={slot}">Try again</a> '
                    f'(this tab keeps its slot, {slot}) &middot; <a href="/slots">saved games</a></p>')
            return web.Response(status=503, text=body, content_type="text/html",
                                headers={"Retry-After": "10", "Cache-Control": "no-store"})
        # URLs from the request's own host (not the bind address), so --host 0.0.0.0 works from other machines
        scheme = "wss" if request.secure else "ws"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{scheme}://{request.host}/ws/{slot}",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": f"rpg-tui (slot {slot})"},
        }
        page = aiohttp_jinja2.render_template("app_index.html", request, context)
        # no-store keeps the page out of the back/forward cache, where its websocket (and so its game process,
        # unsaved) could stay open after the player navigated away
        page.headers["Cache-Control"] = "no-store"
        return page

    def saved_slots(self) -> list[tuple[str, float, bool]]:
        """(slot, when, intact) for each slot dir with something saved, newest first. Not intact: no readable
        save.json, only what a kill left (a temp file, a backup) or a dangling link; Continue tries those."""
        found = []
        try:
            dirs = [p for p in self.web_dir.iterdir() if SLOT.fullmatch(p.name) and p.is_dir()]
        except OSError:
            return []
        for path in dirs:
            files = saves.candidates(path)
            if not files:
                continue
            try:
                when, intact = saves.save_path(path).stat().st_mtime, True
            except OSError:
                when, intact = 0.0, False
                for f in files:
                    with contextlib.suppress(OSError):
                        when = max(when, f.lstat().st_mtime)
            found.append((path.name, when, intact))
        return sorted(found, key=lambda s: s[1], reverse=True)

    async def handle_slots(self, request: web.Request) -> web.Response:
        rows = "".join(f'<li><a href="/?slot={slot}">{slot}</a>'
                       f'{"" if intact else " (damaged or unfinished save: Continue tries to recover it)"}</li>'
                       for slot, _, intact in self.saved_slots()) or "<li>none yet</li>"
        body = f'<!DOCTYPE html><title>rpg-tui slots</title><h1>Saved games</h1><ul>{rows}</ul><a href="/">new game</a>'
        return web.Response(text=body, content_type="text/html")

    # ------------------------------------------------------------ a tab's game
    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        slot = check_slot(request.match_info.get("slot", ""))
        if not self.origin_allowed(request):
            raise web.HTTPForbidden(text=f"a page from {request.headers.get('Origin')!r} may not play here")
        if self.full(slot):
            raise web.HTTPServiceUnavailable(text=self.full_text())
        await self.take_over(slot)
        if self.full(slot):  # other tabs started games while this one waited
            raise web.HTTPServiceUnavailable(text=self.full_text())
        playing = self.open_slots[slot] = Playing()
        # its own task, which frees the slot once the game has ended, even if this handler is cancelled
        return await asyncio.shield(asyncio.ensure_future(self._play(request, slot, playing)))

    async def _play(self, request: web.Request, slot: str, playing: Playing) -> web.WebSocketResponse:
        # textual-serve's own handle_websocket, with this slot's command, clamped sizes, and a bounded end
        websocket = web.WebSocketResponse(heartbeat=15)
        size = clamp_size(to_int(request.query.get("width", "80"), 80), to_int(request.query.get("height", "24"), 24))
        service: GameService | None = None
        try:
            await websocket.prepare(request)
            if not playing.stop.is_set():  # taken over while the websocket opened: no game at all
                service = GameService(self.slot_argv(slot), write_bytes=websocket.send_bytes,
                                      write_str=websocket.send_str, close=websocket.close,
                                      download_manager=self.download_manager, debug=self.debug)
                log.info("slot %s: %s", slot, service.command)
                await service.start(*(size or (80, 24)))
                playing.service = service
                await self._until_done(websocket, service, playing)
        except Exception as error:
            log.exception(error)
        finally:
            try:
                if service is not None and service.process is not None:
                    await self.end_game(slot, service)
            finally:  # the game has ended: its slot is free (the tab's close handshake need not hold it up)
                if self.open_slots.get(slot) is playing:
                    del self.open_slots[slot]
                playing.ended.set()
            if service is not None:
                await service.closed()
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def _until_done(self, websocket: web.WebSocketResponse, service: GameService, playing: Playing) -> None:
        """Until the tab closes, the game ends by itself, or another tab takes the slot over."""
        reader = asyncio.ensure_future(self._process_messages(websocket, service))
        stop = asyncio.ensure_future(playing.stop.wait())
        try:
            await asyncio.wait([reader, stop, service._task], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, stop):
                task.cancel()
            await asyncio.gather(reader, stop, return_exceptions=True)

    async def end_game(self, slot: str, service: GameService) -> None:
        """Make the game save and end, in bounded time: quit, then SIGTERM, then SIGKILL. Returns once it has."""
        service.detached = True  # nothing more to the tab; the game's output is read into nowhere until it ends
        process = service.process
        assert process is not None
        with contextlib.suppress(Exception):
            await self.download_manager.cancel_app_downloads(app_service_id=service.app_service_id)
        if process.returncode is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(service.send_meta({"type": "quit"}), 1)
            if not await exited(process, self.quit_wait_s):
                log.warning("slot %s: the game did not end %g s after quit: SIGTERM (it saves on that)",
                            slot, self.quit_wait_s)
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                if not await exited(process, self.term_wait_s):
                    log.warning("slot %s: the game did not end %g s after SIGTERM: SIGKILL", slot, self.term_wait_s)
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await exited(process, float("inf"))
        if service._task is not None:  # the output's reader: the game's last bytes, then end of file
            with contextlib.suppress(Exception):
                await asyncio.wait_for(service._task, 2)

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService) -> None:
        """textual-serve's, with sizes clamped to MAX_SIZE and malformed messages ignored (not a crash)."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except ValueError:
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                size = clamp_size(data.get("width"), data.get("height"))
                if size is not None:
                    await app_service.set_terminal_size(*size)
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()


def serve(game_args: list[str], save_dir: Path, host: str, port: int, max_games: int = MAX_GAMES,
          allow_hosts: Iterable[str] = (), time_limit_s: float = 2.0) -> None:
    SlotServer(game_args, Path(save_dir) / "web", host=host, port=port, max_games=max_games,
               allow_hosts=allow_hosts, time_limit_s=time_limit_s).serve()
