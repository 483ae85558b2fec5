"""`rpg-tui --serve` on a shared machine: who may connect, what a tab may ask for, and how a tab's game ends.

No browser: aiohttp's test client against a SlotServer whose tabs run a fake game (FAKE_GAME below, a few lines
that speak textual-serve's protocol and note what happens to them in their save dir), and one real server and
game for the server killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from game import saves
from game.tui import cli
from game.tui.app import RpgApp, create_app
from game.tui.savedir import SaveDirScreen
from game.tui.screens import GameScreen
from game.tui.serve import MAX_SIZE, SlotServer

ROOT = Path(__file__).resolve().parents[1]

# A tab's game: notes its terminal sizes and its end in its save dir, and notes "overlap" when it starts while
# another live process plays its save dir. Asked to quit (or on SIGTERM) it writes its last frames, 2 MB (more
# than a pipe holds, as a big terminal's frame is), then notes "saved" and exits. FAKE_GAME=stubborn ignores
# quit; FAKE_GAME=deaf ignores quit and SIGTERM.
FAKE_GAME = r"""
import json, os, signal, sys
save_dir = sys.argv[sys.argv.index("--save-dir") + 1]
mode = os.environ.get("FAKE_GAME", "")
os.makedirs(save_dir, exist_ok=True)
def note(name, text):
    with open(os.path.join(save_dir, name), "a") as f:
        f.write(text + "\n")
lock = os.path.join(save_dir, "playing")
try:
    other = int(open(lock).read())
    os.kill(other, 0)
    note("overlap", f"{os.getpid()} started while {other} played")
except (OSError, ValueError):
    pass
with open(lock, "w") as f:
    f.write(str(os.getpid()))
note("size", f"{os.environ['COLUMNS']}x{os.environ['ROWS']}")
out, inp = sys.stdout.buffer, sys.stdin.buffer
def packet(kind, payload):
    out.write(kind + len(payload).to_bytes(4, "big") + payload)
    out.flush()
def save_and_exit(*_):
    for _ in range(32):
        packet(b"D", b"x" * 65536)
    packet(b"M", b'{"type": "exit"}')
    note("saved", str(os.getpid()))
    os._exit(0)
signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "deaf" else save_and_exit)
out.write(b"__GANGLION__\n")
packet(b"D", b"ready")
while True:
    head = inp.read(5)
    if len(head) < 5:
        note("eof", str(os.getpid()))
        os._exit(0)
    body = inp.read(int.from_bytes(head[1:], "big"))
    if head[:1] == b"M":
        meta = json.loads(body)
        if meta["type"] == "resize":
            note("size", f"{meta['width']}x{meta['height']}")
        elif meta["type"] == "quit" and not mode:
            save_and_exit()
"""


class FakeSlots(SlotServer):
    def slot_argv(self, slot: str) -> list[str]:
        return [sys.executable, "-c", FAKE_GAME, "--save-dir", str(self.web_dir / slot)]


async def wait_for(what: str, probe, timeout: float = 20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if found := probe():
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def notes(slot_dir: Path, name: str) -> list[str]:
    path = slot_dir / name
    return path.read_text().split("\n")[:-1] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


async def game_pid(server: SlotServer, slot: str) -> int:
    def started():
        playing = server.open_slots.get(slot)
        if playing is not None and playing.service is not None and (server.web_dir / slot / "playing").exists():
            return playing.service.process.pid
        return None
    return await wait_for(f"the game of slot {slot}", started)


@pytest.fixture
async def fake(tmp_path):
    server = FakeSlots([], tmp_path / "web")
    async with TestClient(TestServer(await server._make_app())) as client:
        yield server, client


# ------------------------------------------------------------------ 1. other sites' pages, and paths
async def test_other_origins_and_hosts_are_refused(fake):
    server, client = fake
    own = f"http://{client.host}:{client.port}"
    for origin in ("http://evil.example", "null", f"{own}0", f"https://{client.host}:1", "x"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/ws/ab", headers={"Origin": origin})
        assert refused.value.status == 403, origin
    assert not server.open_slots and not (server.web_dir / "ab").exists()  # no game was started
    # a page whose own name was rebound to this machine: its Origin matches its Host, the Host is refused
    rebound = {"Host": f"evil.example:{client.port}", "Origin": f"http://evil.example:{client.port}"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws/ab", headers=rebound)
    assert refused.value.status == 403
    for path in ("/?slot=ab", "/slots", "/"):
        assert (await client.get(path, headers={"Host": "evil.example"}, allow_redirects=False)).status == 403
    for host in ("localhost:9000", "LOCALHOST", "[::1]:80", "10.1.2.3:8000", socket.gethostname()):
        assert (await client.get("/?slot=ab", headers={"Host": host})).status == 200, host
    named = SlotServer([], Path("."), allow_hosts=["box.lan"])
    assert named.host_allowed("Box.Lan.:8000") and not named.host_allowed("evil.example@127.0.0.1")
    # the page's own origin, and a program without one (it could send any Origin it likes), may play
    for headers in ({"Origin": own}, {}):
        ws = await client.ws_connect("/ws/ab", headers=headers)
        await game_pid(server, "ab")
        await ws.close()
        await wait_for("the game to end", lambda: not server.open_slots)


async def test_the_web_game_offers_no_directory_prompt(tmp_path, monkeypatch):
    assert "--web" in SlotServer([], tmp_path).slot_argv("ab")
    for web in (False, True):
        app = create_app(seed=3, save_dir=tmp_path, new_game=True)
        app.web = web
        async with app.run_test() as pilot:
            await pilot.pause()
            assert isinstance(app.screen, GameScreen)
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert "Save game" in titles and ("Save to another directory…" in titles) is not web
            app._ask_save_dir()  # what the command did: refused on the web
            await pilot.pause()
            assert isinstance(app.screen, SaveDirScreen) is not web
            if not web:
                app.pop_screen()

            def full(*_a, **_k):
                raise saves.SaveWriteError(f"{tmp_path}/save.json: no space left on device")

            with monkeypatch.context() as m:  # a failed save: the web game names no path and no prompt
                m.setattr(saves, "save_game", full)
                assert app.save_game() is None
            said = app.session.messages.items[-1].text
            assert "no space left" in said
            assert (str(tmp_path) in said) is not web and ("Save to another directory" in said) is not web
    # rpg-tui --web is how the server starts its games: it sets app.web and watches for the server's end
    ran, watched = [], []
    monkeypatch.setattr(RpgApp, "run", lambda self: ran.append(self.web))
    monkeypatch.setattr(cli, "leave_when_orphaned", lambda: watched.append(True))
    assert cli.main(["--web", "--save-dir", str(tmp_path)]) == 0 and ran == [True] and watched == [True]
    assert cli.main(["--save-dir", str(tmp_path)]) == 0 and ran == [True, False] and watched == [True]


# ------------------------------------------------------------------ 2. sizes, and how a game ends
async def test_terminal_sizes_are_clamped(fake):
    server, client = fake
    ws = await client.ws_connect("/ws/ab?width=20000&height=20000")
    await game_pid(server, "ab")
    for bad in ("garbage", "[]", '["resize", "x"]', '["resize", {"width": "1", "height": 2}]', '{"a": 1}'):
        await ws.send_str(bad)  # ignored, not the end of the session
    await ws.send_json(["resize", {"width": 20000, "height": 20000}])
    await ws.send_json(["resize", {"width": -5, "height": 30}])
    await ws.send_json(["resize", {"width": 100, "height": 40}])
    slot_dir = server.web_dir / "ab"
    big = f"{MAX_SIZE[0]}x{MAX_SIZE[1]}"
    assert await wait_for("the resizes", lambda: notes(slot_dir, "size")[-1:] == ["100x40"])
    assert notes(slot_dir, "size") == [big, big, "1x30", "100x40"] and MAX_SIZE == (500, 200)
    await ws.close()


async def test_a_slot_is_free_only_once_its_game_has_saved_and_ended(fake):
    server, client = fake
    slot_dir = server.web_dir / "ab"
    first = await client.ws_connect("/ws/ab")
    pid = await game_pid(server, "ab")
    await first.close()  # the tab closes; its game then writes 2 MB of last frames before it saves
    second = await client.ws_connect("/ws/ab")  # a new tab on the slot at once: waits for the first game
    assert not alive(pid) and notes(slot_dir, "saved") == [str(pid)]
    other = await game_pid(server, "ab")
    assert other != pid and not notes(slot_dir, "overlap")
    # a takeover while the first tab is still open: the same, and the old tab is closed
    third = await client.ws_connect("/ws/ab")
    await game_pid(server, "ab")
    assert not alive(other) and notes(slot_dir, "saved") == [str(pid), str(other)]
    while (await second.receive(timeout=5)).type == aiohttp.WSMsgType.BINARY:  # what its game had drawn
        pass
    assert second.closed
    await third.close()
    await wait_for("the last game to end", lambda: not server.open_slots)
    assert len(notes(slot_dir, "saved")) == 3 and not notes(slot_dir, "overlap")


@pytest.mark.parametrize("mode", ["stubborn", "deaf"])
async def test_a_game_that_does_not_quit_is_terminated_then_killed(fake, monkeypatch, mode):
    server, client = fake
    monkeypatch.setenv("FAKE_GAME", mode)
    server.quit_wait_s = server.term_wait_s = 0.3
    ws = await client.ws_connect("/ws/ab")
    pid = await game_pid(server, "ab")
    playing = server.open_slots["ab"]
    start = time.monotonic()
    await ws.close()
    await asyncio.wait_for(playing.ended.wait(), 10)
    assert not alive(pid) and "ab" not in server.open_slots and time.monotonic() - start < 5
    # stubborn: SIGTERM made it save; deaf: SIGKILL, after it had quit and SIGTERM to save on
    assert notes(server.web_dir / "ab", "saved") == ([str(pid)] if mode == "stubborn" else [])
    assert playing.service.process.returncode == (0 if mode == "stubborn" else -signal.SIGKILL)


# ------------------------------------------------------------------ 4. /slots with a broken slot
async def test_slots_lists_broken_slots(tmp_path):
    web = tmp_path / "web"
    for slot in ("aa", "bb", "cc", "dd"):
        (web / slot).mkdir(parents=True)
    (web / "aa" / ".save.json.1234.tmp").write_text("{")  # a kill during the first save
    (web / "bb" / saves.SAVE_NAME).symlink_to(tmp_path / "gone.json")  # a dangling link
    (web / "cc" / saves.SAVE_NAME).write_text("{}")
    (web / "zz.txt").write_text("not a slot")
    server = SlotServer([], web)
    async with TestClient(TestServer(await server._make_app())) as client:
        page = await client.get("/slots")
        text = await page.text()
    assert page.status == 200
    listed = dict(re.findall(r'href="/\?slot=(\w+)">\w+</a>([^<]*)</li>', text))
    assert set(listed) == {"aa", "bb", "cc"} and listed["cc"] == ""
    assert "damaged or unfinished" in listed["aa"] and "damaged or unfinished" in listed["bb"]


# ------------------------------------------------------------------ 5. a cap on games
async def test_games_are_capped(fake):
    server, client = fake
    server.max_games = 1
    ws = await client.ws_connect("/ws/aa")
    await game_pid(server, "aa")
    page = await client.get("/?slot=bb")
    text = await page.text()
    assert page.status == 503 and "at most 1 game at a time" in text and 'href="/?slot=bb"' in text
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws/bb")
    assert refused.value.status == 503 and not (server.web_dir / "bb").exists()
    assert (await client.get("/?slot=aa")).status == 200  # a reload of the game being played is no new game
    again = await client.ws_connect("/ws/aa")  # nor is a takeover
    await game_pid(server, "aa")
    await again.close()
    await ws.close()
    await wait_for("the game to end", lambda: not server.open_slots)
    other = await client.ws_connect("/ws/bb")  # room again
    await game_pid(server, "bb")
    await other.close()


def test_max_games_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--serve", "--max-games", "0"])
    assert exc.value.code == 2 and "--max-games must be at least 1" in capsys.readouterr().err
    assert cli.build_parser().parse_args(["--serve"]).max_games == 8


# ------------------------------------------------------------------ 3. the server killed
def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the game's process in /proc")
async def test_a_game_saves_and_ends_when_its_server_is_killed(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "game.tui.cli", "--serve", "--port", str(port), "--seed", "7",
                               "--save-dir", str(tmp_path)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    games: list[int] = []
    try:
        async with aiohttp.ClientSession() as http:
            async def up():
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                try:
                    async with http.get(f"http://127.0.0.1:{port}/slots") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            end = time.monotonic() + 30
            while not await up():
                assert time.monotonic() < end, "rpg-tui --serve did not start"
                await asyncio.sleep(0.1)
            async with http.ws_connect(f"ws://127.0.0.1:{port}/ws/ab?width=100&height=30") as ws:
                screen = bytearray()

                async def shows(text: bytes) -> None:
                    while text not in re.sub(rb"\x1b\[[0-9;?]*[a-zA-Z]", b"", bytes(screen)):
                        msg = await asyncio.wait_for(ws.receive(), 30)
                        assert msg.type == aiohttp.WSMsgType.BINARY, msg
                        screen.extend(msg.data)

                await shows(b"new game")
                await ws.send_json(["stdin", "n"])
                await shows(b"T0 ")
                await ws.send_json(["stdin", "."])
                await shows(b"T1 ")
                games = children(server.pid)
                assert len(games) == 1  # the game itself, no shell between
                server.kill()
                server.wait()
                await wait_for("the game to end", lambda: not alive(games[0]), timeout=20)
        saved = saves.save_path(tmp_path / "web" / "ab")
        assert json.loads(saved.read_text())["turns"] == 1
    finally:
        server.kill()
        server.wait()
        for pid in games:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()
