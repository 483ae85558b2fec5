"""`rpg-tui --serve`: the slot routes (aiohttp test client), the missing-extra error, and a real headless Chromium
that plays a few keys, takes a screenshot, closes the tab and comes back to the same slot.

The browser is driven over the Chrome DevTools Protocol with aiohttp (a dependency of textual-serve), so the
test needs no driver package and downloads nothing; it skips only where Chromium is not installed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from game import saves
from game.content import load_content
from game.tui import cli
from game.tui.app import create_app
from game.tui.serve import Playing, SlotServer

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# ------------------------------------------------------------------ the server without a browser
def test_serve_without_textual_serve_exits_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "textual_serve", None)  # find_spec then reports it missing
    assert cli.main(["--serve"]) == 2
    assert "pip install 'rpg-tui[serve]'" in capsys.readouterr().err


def test_serve_refuses_new(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--serve", "--new"])
    assert exc.value.code == 2 and "--new does not go with --serve" in capsys.readouterr().err


def test_serve_bad_port(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--serve", "--port", "70000"])
    assert exc.value.code == 2 and "--port must be 1-65535" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "game.tui.cli", "--serve", "--port", str(port), "--save-dir",
                              str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and f"cannot serve on 127.0.0.1:{port}" in out.stderr, out.stderr


async def test_slot_routes(tmp_path):
    server = SlotServer(["--seed=3"], tmp_path / "web")
    assert server.slot_command("ab12").endswith(f"--seed=3 --save-dir {tmp_path / 'web' / 'ab12'}")
    async with TestClient(TestServer(await server._make_app())) as client:
        first = await client.get("/", allow_redirects=False)
        second = await client.get("/", allow_redirects=False)
        assert first.status == second.status == 302
        slot = first.headers["Location"].split("slot=")[1]
        assert slot != second.headers["Location"].split("slot=")[1]  # each new tab its own slot
        page = await client.get(f"/?slot={slot}")
        assert page.status == 200 and f"/ws/{slot}" in await page.text()
        assert page.headers["Cache-Control"] == "no-store"
        for bad in ("A", "../x", "a" * 33, ""):
            assert (await client.get("/", params={"slot": bad})).status == 400
        assert (await client.get("/ws/UP")).status == 400
        server.slot_wait_s = 0.2
        server.open_slots[slot] = Playing()  # a game that never ends
        assert (await client.get(f"/?slot={slot}")).status == 200  # the page always loads (a reload must)
        assert (await client.get(f"/ws/{slot}")).status == 409
        server.open_slots.clear()
        assert "none yet" in await (await client.get("/slots")).text()
        app = create_app(seed=4, save_dir=tmp_path / "web" / slot, new_game=True)
        async with app.run_test() as pilot:
            await pilot.press("ctrl+q")
        assert f'href="/?slot={slot}"' in await (await client.get("/slots")).text()


def test_ci_installs_chromium_then_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = readme.split("Test (what `.ci/run` runs from a clean clone):")[1].strip().splitlines()[0].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == command
    assert ci.index("apt-get install") < ci.index(command)


async def test_a_new_tab_takes_the_slot_over(tmp_path):
    server = SlotServer([], tmp_path)
    loop = asyncio.get_running_loop()
    ending = []

    def ends_when_asked(playing: Playing, after: float = 0.1) -> None:  # the old tab's game ends once asked to
        async def end() -> None:
            await playing.stop.wait()
            await asyncio.sleep(after)
            server.open_slots.pop("ab")
            playing.ended.set()
        ending.append(loop.create_task(end()))

    old = server.open_slots["ab"] = Playing()
    ends_when_asked(old)
    await server.take_over("ab")
    assert old.stop.is_set() and old.ended.is_set() and "ab" not in server.open_slots
    old = server.open_slots["ab"] = Playing()  # a slow end (its process still starting, or saving): waited for
    ends_when_asked(old, after=0.5)
    start = loop.time()
    await server.take_over("ab")
    assert loop.time() - start >= 0.45 and "ab" not in server.open_slots
    await server.take_over("cd")  # a free slot: nothing to wait for


# ------------------------------------------------------------------ a real browser
HOOK = """
// textual.js keeps its xterm.js Terminal in a closure; catch it as it is stored as `this.terminal`
Object.defineProperty(Object.prototype, "terminal", {configurable: true, set(v) {
  Object.defineProperty(this, "terminal", {value: v, writable: true, configurable: true, enumerable: true});
  if (v && v.buffer) window.__term = v;
}});
"""
SCREEN_TEXT = """(() => {
  const t = window.__term; if (!t) return "";
  const b = t.buffer.active, rows = [];
  for (let i = 0; i < t.rows; i++) {
    const l = b.getLine(b.viewportY + i); rows.push(l ? l.translateToString(true) : "");
  }
  return rows.join("\\n");
})()"""
# decode the screenshot in the page itself: how many colours, and what share of pixels are lit
PIXELS = """(async (src) => {
  const img = new Image(); img.src = src; await img.decode();
  const c = document.createElement("canvas"); c.width = img.width; c.height = img.height;
  const g = c.getContext("2d"); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data, colours = new Set(); let lit = 0;
  for (let i = 0; i < d.length; i += 4) { colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    if (d[i] + d[i + 1] + d[i + 2] > 300) lit++; }
  return [colours.size, lit / (d.length / 4)];
})"""
OPEN_WEBSOCKET = """new Promise((done) => {
  const ws = new WebSocket("%s");
  ws.onopen = () => { ws.close(); done("open"); };
  ws.onclose = () => done("refused");
})"""
KEYS = {".": ("Period", 190), "n": ("KeyN", 78), "c": ("KeyC", 67), "l": ("KeyL", 76), "j": ("KeyJ", 74),
        "h": ("KeyH", 72), "k": ("KeyK", 75)}


class Page:
    """Just enough of the DevTools protocol: commands with replies, events skipped."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.last_id = 0

    async def send(self, method: str, **params: object) -> dict:
        self.last_id += 1
        await self.ws.send_json({"id": self.last_id, "method": method, "params": params})
        data = await asyncio.wait_for(self._reply(self.last_id), 20)
        if "error" in data:
            raise RuntimeError(f"{method}: {data['error']}")
        return data["result"]

    async def _reply(self, wanted: int) -> dict:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if data.get("id") == wanted:
                return data
        raise RuntimeError("the DevTools socket closed")

    async def eval(self, expression: str) -> object:
        out = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression[:60]}: {out['exceptionDetails']}")
        return out["result"].get("value")

    async def key(self, ch: str) -> None:
        code, vk = KEYS[ch]
        await self.send("Input.dispatchKeyEvent", type="keyDown", key=ch, code=code, text=ch,
                        windowsVirtualKeyCode=vk)
        await self.send("Input.dispatchKeyEvent", type="keyUp", key=ch, code=code, windowsVirtualKeyCode=vk)

    async def wait_text(self, needle: str, timeout: float = 20) -> str:
        end = time.monotonic() + timeout
        text = ""
        while time.monotonic() < end:
            text = await self.eval(SCREEN_TEXT) or ""
            if needle in text:
                return text
            await asyncio.sleep(0.1)
        raise AssertionError(f"{needle!r} never showed in the browser's terminal; it shows:\n{text}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(what: str, probe, timeout: float = 20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            found = await probe()
        except (OSError, aiohttp.ClientError):
            found = None
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def tab(http: aiohttp.ClientSession, devtools: str, url: str):
    """A new browser tab on `url`, closed (as a player closes it) on the way out."""
    async with http.put(f"{devtools}/json/new?about:blank") as r:
        target = await r.json()
    try:
        async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            page = Page(ws)
            await page.send("Page.enable")  # else the hook below is not run on new documents
            await page.send("Page.addScriptToEvaluateOnNewDocument", source=HOOK)
            await page.send("Page.navigate", url=url)
            yield page
    finally:
        async with http.get(f"{devtools}/json/close/{target['id']}"):
            pass


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package chromium; .ci/run "
                    "installs it when it can)")
async def test_browser_plays_and_comes_back(tmp_path):
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "game.tui.cli", "--serve", "--port", str(port), "--seed", "7",
                               "--save-dir", str(tmp_path / "saves")], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    profile = tmp_path / "profile"
    browser = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                                "--disable-sync", f"--user-data-dir={profile}", "--remote-debugging-port=0",
                                "--window-size=1000,620", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def slot_dir(slot: str) -> Path:
        return tmp_path / "saves" / "web" / slot

    def saved_turns(path: Path, turns: int):
        async def probe() -> bool:
            return saves.has_save(path) and json.loads(saves.save_path(path).read_text())["turns"] == turns
        return probe

    try:
        async with aiohttp.ClientSession() as http:
            async def server_up():
                if server.poll() is not None:
                    raise AssertionError(f"rpg-tui --serve exited: {(tmp_path / 'serve.log').read_text()}")
                async with http.get(f"{base}/slots") as r:
                    return r.status == 200

            async def devtools_port():
                lines = (profile / "DevToolsActivePort").read_text().split()
                return int(lines[0]) if lines else None

            await wait_for("rpg-tui --serve", server_up)
            devtools = f"http://127.0.0.1:{await wait_for('the DevTools port', devtools_port)}"
            # a page of another site (another origin: here another port) cannot open a game on this server
            async def other_site(_: web.Request) -> web.Response:
                return web.Response(text="<title>elsewhere</title>", content_type="text/html")

            elsewhere = web.Application()
            elsewhere.router.add_get("/", other_site)
            runner = web.AppRunner(elsewhere)
            await runner.setup()
            other_port = free_port()
            await web.TCPSite(runner, "127.0.0.1", other_port).start()
            try:
                async with tab(http, devtools, f"http://127.0.0.1:{other_port}/") as page:
                    await wait_for("the other site's page", lambda: page.eval("document.title == 'elsewhere'"))
                    outcome = await page.eval(OPEN_WEBSOCKET % f"ws://127.0.0.1:{port}/ws/evil")
                    assert outcome == "refused" and not slot_dir("evil").exists(), outcome
            finally:
                await runner.cleanup()
            async with tab(http, devtools, f"{base}/") as page:
                await page.wait_text("new game")
                slot = (await page.eval("location.search")).split("slot=")[1]
                await page.eval("document.querySelector('.xterm-helper-textarea').focus()")
                await page.key("n")
                await page.wait_text("T0 ")
                for ch in ".lj.":
                    await page.key(ch)
                screen = await page.wait_text("T4 ")  # four turns played: the keys reached the game
                await asyncio.sleep(0.3)  # let the last frame paint
                shot = base64.b64decode((await page.send("Page.captureScreenshot", format="png"))["data"])
                (tmp_path / "web.png").write_bytes(shot)
                if os.environ.get("RPG_WEB_SCREENSHOT"):  # how docs/web.png is made
                    Path(os.environ["RPG_WEB_SCREENSHOT"]).write_bytes(shot)
                colours, lit = await page.eval(f"{PIXELS}('data:image/png;base64,{base64.b64encode(shot).decode()}')")
                hp = load_content().player.hp
                assert "@" in screen and "#" in screen and f"HP {hp}/{hp}" in screen, screen
                assert colours > 20 and 0.01 < lit < 0.9, (colours, lit)  # drawn text, not a blank page

                # leaving the page ends its game process, which saves into the tab's own slot
                await page.send("Page.navigate", url="about:blank")
                await wait_for("the save after leaving the page", saved_turns(slot_dir(slot), 4))
            # the same URL in a new tab comes back to the same game; a reload too
            async with tab(http, devtools, f"{base}/?slot={slot}") as page:
                for turns in (4, 5):
                    await page.wait_text("continue the saved game")
                    await page.eval("document.querySelector('.xterm-helper-textarea').focus()")
                    await page.key("c")
                    await page.wait_text(f"T{turns} ")
                    await page.wait_text("Welcome back")  # the log may be painted a frame after the status line
                    await page.key(".")
                    await page.wait_text(f"T{turns + 1} ")
                    if turns == 4:
                        await page.send("Page.reload")
                # a second tab on the same slot takes it over: the first one's game saves and ends
                async with tab(http, devtools, f"{base}/?slot={slot}") as other:
                    await other.wait_text("continue the saved game")
                    assert await saved_turns(slot_dir(slot), 6)()
                    assert await page.eval("document.body.classList.contains('-closed')")  # "Session ended"
                    await other.eval("document.querySelector('.xterm-helper-textarea').focus()")
                    await other.key("c")
                    await other.wait_text("T6 ")
                    await other.key(".")
                    await other.wait_text("T7 ")
                    # stopping the server (ctrl+c, SIGTERM) saves the games it serves, and soon
                    start = time.monotonic()
                    server.terminate()
                    await asyncio.get_running_loop().run_in_executor(None, server.wait, 20)
                    assert time.monotonic() - start < 10 and await saved_turns(slot_dir(slot), 7)()
    finally:
        browser.terminate()
        server.terminate()
        for proc in (browser, server):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
