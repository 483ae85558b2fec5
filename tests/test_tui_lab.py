"""The lab screen: streamed tokens, the rules beside them, the diff, field nudges and perturbations."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fakes import PerfectModel, clear_monsters, spawn_adjacent
from textual.app import App

from game.combat import resolve
from game.combat.format import encode_answer, encode_input, parse_input
from game.combat.sampler import sample
from game.tui.lab import LabScreen, nudge


@pytest.fixture(scope="module")
def block(rules) -> str:
    """An attack that can hit: the block the lab opens on."""
    return encode_input(*next(c for c in sample("iid", 50, 4, rules)
                              if c[1] == "attack" and c[0].actor.hp > 0 and c[2] > 1))


def rules_stream(rules):
    """A fake model that answers like the rules, one character-token at a time."""
    def stream(block: str):
        out = resolve(*parse_input(block), rules)
        for ch in encode_answer(out.events, out.next_state):
            yield ch, 0.95, ch in " |>"
        yield "", 1.0, True

    return stream


def wrong_stream(rules):
    """A fake model that gets the target's hp wrong."""
    def stream(block: str):
        out = resolve(*parse_input(block), rules)
        text = encode_answer(out.events, out.next_state)
        head, _, state = text.rpartition(" B hp")
        hp = int(state[:2])
        yield from ((ch, 0.3, False) for ch in f"{head} B hp{(hp + 1) % 100:02d}{state[2:]}")
        yield "", 1.0, True

    return stream


class LabApp(App):
    def __init__(self, block, rules, stream) -> None:
        super().__init__()
        self.block, self.rules, self.stream = block, rules, stream

    def on_mount(self) -> None:
        self.push_screen(LabScreen(self.block, self.rules, self.stream, "fake"))


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_lab_streams_and_agrees(block, rules):
    app = LabApp(block, rules, rules_stream(rules))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "agree on every field" in text_of(app, "#lab-diff")
        assert "rules" in text_of(app, "#lab-rules") and "parses" in text_of(app, "#lab-check")


async def test_lab_shows_the_diff_and_involved_rules(block, rules):
    app = LabApp(block, rules, wrong_stream(rules))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        diff = text_of(app, "#lab-diff")
        assert "B.hp: model" in diff and "damage_dealt" in diff


async def test_lab_nudges_and_perturbs(block, rules):
    app = LabApp(block, rules, rules_stream(rules))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("f6", "f8")  # second number (A's hp) + 1
        screen = app.screen
        assert screen.block == nudge(block, 1, 1) != block
        await pilot.press("f9")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "rejected" in text_of(app, "#lab-check")


async def test_lab_without_a_model_still_shows_the_rules(block, rules):
    app = LabApp(block, rules, None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "fake" in text_of(app, "#lab-model") and "rules" in text_of(app, "#lab-rules")


def test_nudge_keeps_width_and_wraps():
    assert nudge("t99 A hp05", 0, 1) == "t00 A hp05"
    assert nudge("t99 A hp05", 1, -6) == "t99 A hp99"


class StreamingModel(PerfectModel):
    """A fake loaded model whose engine streams the rules' answer."""

    name = "fake-streaming"

    def __init__(self, rules) -> None:
        super().__init__(rules)
        self.engine = SimpleNamespace(generate_stream=rules_stream(rules))


async def test_f3_opens_the_lab_on_the_current_fight(rules, run_app):
    async with run_app(seed=3, resolver=StreamingModel(rules)) as (app, pilot):
        s = app.session
        clear_monsters(s)
        foe, _ = spawn_adjacent(s, "orc")
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, LabScreen)
        state, action, _ = parse_input(app.screen.block)
        assert action == "attack" and state.actor == s.player.body and state.target == foe.body
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "agree on every field" in text_of(app, "#lab-diff")
        await pilot.press("escape")
        assert not isinstance(app.screen, LabScreen)
