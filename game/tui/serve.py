"""`rpg-tui --serve`: the game in a browser through textual-serve, one process and one save slot per tab.

textual-serve starts one app process per websocket. A page URL without a slot redirects to `/?slot=<new id>`,
so each new tab starts its own game and its address bar is the way back to it; the page's websocket is
`/ws/<slot>`, and that slot's process plays with `--save-dir <save dir>/web/<slot>`. `/slots` lists the slots
with a saved game. One slot is played by one process at a time, since two writing one save would lose one
player's turns: a tab that opens a slot already being played takes it over. The old game is asked to quit (it
saves on its way out; its tab shows "Session ended") and the new one starts once it has ended. A reload is the
same case: the new page's websocket arrives while the old page's game is still ending.

textual-serve is optional (`pip install 'rpg-tui[serve]'`); only `rpg-tui --serve` imports this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from game import saves

log = logging.getLogger("textual-serve")

SLOT = re.compile(r"[a-z0-9]{1,32}")


def new_slot() -> str:
    return secrets.token_hex(4)


def check_slot(slot: str) -> str:
    if not SLOT.fullmatch(slot):
        raise web.HTTPBadRequest(text=f"bad slot {slot!r}: expected 1-32 lowercase letters or digits")
    return slot


@dataclass
class Playing:
    """A slot's running game: its textual-serve AppService, and an event set once it has ended."""

    service: AppService | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class SlotServer(Server):
    """textual-serve's Server with the websocket (and so the game's save dir) chosen by the page's slot."""

    def __init__(self, game_args: list[str], web_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
        super().__init__("rpg-tui", host=host, port=port, title="rpg-tui")
        self.game_args = game_args  # passed through to each tab's process (--seed, --resolver, --model, ...)
        self.web_dir = Path(web_dir)
        self.open_slots: dict[str, Playing] = {}
        self.slot_wait_s = 10.0  # a game asked to quit saves and ends well within this

    async def take_over(self, slot: str) -> None:
        """Ask the game playing this slot (if any) to save and quit, and wait until it has ended."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.slot_wait_s
        while (playing := self.open_slots.get(slot)) is not None:
            if loop.time() >= deadline:
                raise web.HTTPConflict(text=f"the game in slot {slot} did not end in {self.slot_wait_s:g} s")
            if playing.service is not None:  # None while its process is still starting: ask again shortly
                await playing.service.send_meta({"type": "quit"})
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(playing.ended.wait(), 0.5)

    async def on_shutdown(self, app: web.Application) -> None:
        # Ctrl+C or SIGTERM: every game saves and quits now, rather than when aiohttp's shutdown timeout cancels it
        await asyncio.gather(*(self.take_over(slot) for slot in list(self.open_slots)), return_exceptions=True)

    def slot_command(self, slot: str) -> str:
        argv = [sys.executable, "-m", "game.tui.cli", *self.game_args, "--save-dir", str(self.web_dir / slot)]
        return shlex.join(argv)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.router.add_get("/ws/{slot}", self.handle_websocket)
        app.router.add_get("/slots", self.handle_slots)
        return app

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        slot = request.query.get("slot")
        if slot is None:
            raise web.HTTPFound(request.rel_url.update_query(slot=new_slot()))
        check_slot(slot)
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

    async def handle_slots(self, request: web.Request) -> web.Response:
        slots = sorted((p for p in self.web_dir.glob("*") if p.is_dir() and SLOT.fullmatch(p.name)
                        and saves.has_save(p)), key=lambda p: saves.save_path(p).stat().st_mtime, reverse=True)
        rows = "".join(f'<li><a href="/?slot={p.name}">{p.name}</a></li>' for p in slots) or "<li>none yet</li>"
        body = f'<!DOCTYPE html><title>rpg-tui slots</title><h1>Saved games</h1><ul>{rows}</ul><a href="/">new game</a>'

        return web.Response(text=body, content_type="text/html")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        slot = check_slot(request.match_info.get("slot", ""))
        await self.take_over(slot)
        playing = self.open_slots[slot] = Playing()
        try:
            return await self._play(request, slot, playing)
        finally:
            del self.open_slots[slot]
            playing.ended.set()

    async def _play(self, request: web.Request, slot: str, playing: Playing) -> web.WebSocketResponse:
        # textual-serve's own handle_websocket, with this slot's command
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        service: AppService | None = None
        try:
            await websocket.prepare(request)
            service = AppService(self.slot_command(slot), write_bytes=websocket.send_bytes,
                                 write_str=websocket.send_str, close=websocket.close,
                                 download_manager=self.download_manager, debug=self.debug)
            log.info("slot %s: %s", slot, service.command)
            await service.start(width, height)
            playing.service = service  # only now can it be asked to quit
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            if service is not None:
                await service.stop()  # sends quit: the game saves on its way out
        return websocket


def serve(game_args: list[str], save_dir: Path, host: str, port: int) -> None:
    SlotServer(game_args, Path(save_dir) / "web", host=host, port=port).serve()
