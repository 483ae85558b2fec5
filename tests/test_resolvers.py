"""The engine as the tcod tutorial keeps it: actions own their logic, one owner of the resolver state,
--allow-stale, and a session of at most 300 lines."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fakes import KEY_OF, PerfectModel, clear_monsters, settle, spawn_adjacent

from game import saves
from game.resolvers import Loaded, Resolvers
from game.session import GameSession
from game.tui.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def test_the_session_holds_no_action_bodies_and_stays_short():
    """Move, pick up, use, drop and the stairs hold their bodies (game/actions.py); progression and death have
    their own modules; the session keeps what every action shares, in at most 300 lines."""
    for gone in ("move_or_attack", "wait", "special", "pick_up", "use", "drop", "take_stairs", "kill", "_gain_xp",
                 "recompute_body", "_die", "_change_depth"):
        assert not hasattr(GameSession, gone), gone
    assert len((ROOT / "game" / "session.py").read_text().splitlines()) <= 300


class StaleModel(PerfectModel):
    name = "fake-stale"
    stale = "trained on narrow sampler version 1, the code's is version 2"

    def resolve_batch(self, cases):
        return [replace(r, stale=True) for r in super().resolve_batch(cases)]


async def test_one_owner_of_the_resolver_state_shared_by_the_app_and_its_sessions(content, tmp_path, run_app):
    async with run_app(seed=3, model_loader=lambda: PerfectModel(content.rules)) as (app, pilot):
        s = app.session
        assert isinstance(app.resolvers, Resolvers) and s.resolvers is app.resolvers
        for mirror in ("model", "learned", "unavailable", "model_loading", "start_resolver", "model_status"):
            assert not hasattr(app, mirror), mirror
        await pilot.press("m")
        await settle(pilot)
        assert app.resolvers.active == "model" and s.model is app.resolvers.model is not None
        saves.save_game(s, tmp_path)
        app.continue_game()  # the saved run: the same owner, its resolver (model) still loaded
        await settle(pilot)
        assert app.session is not s and app.session.resolvers is app.resolvers and app.session.active == "model"


def test_rpg_tui_has_allow_stale():
    assert build_parser().parse_args(["--allow-stale"]).allow_stale
    assert not build_parser().parse_args([]).allow_stale


async def test_allow_stale_reaches_the_loader_and_stale_answers_are_marked(run_app, monkeypatch):
    seen = {}

    def load(model_dir, rules, allow_stale=False):
        seen["allow_stale"] = allow_stale
        return StaleModel(rules)

    monkeypatch.setattr("game.tui.app.load_model_resolver", load)
    async with run_app(seed=3, size=(100, 40), resolver="model", allow_stale=True) as (app, pilot):
        s = app.session
        assert seen == {"allow_stale": True}
        assert "stale: trained on narrow sampler version 1" in s.model_status
        assert "stale" in str(app.screen.query_one("#status").content)
        clear_monsters(s)
        _, d = spawn_adjacent(s, "rat")
        await pilot.press(KEY_OF[d], "f2")
        await settle(pilot)
        assert s.recent[-1].model.stale and "stale model" in str(app.screen.query_one("#debug-text").content)


async def test_the_game_says_once_that_its_content_outgrows_the_shipped_model(content, run_app):
    """Content past the shipped model's envelope (game/shipped.py) is said once a run, when a model loads, with
    the model's bound; content the model covers says nothing."""
    beyond = ("content/player.toml: player.progression.max_hp: expected a value in 40..48 (the envelope of the "
              "shipped model (default): A.max_hp 1..48), got 99")
    for grown, says in ((replace(content, beyond_model=beyond), 1), (content, 0)):
        async with run_app(seed=3, content=grown, resolver="model",
                           model_loader=lambda: PerfectModel(content.rules)) as (app, pilot):
            app._model_ready("model", Loaded(PerfectModel(content.rules), "loaded (again)"))  # said once a run
            await settle(pilot)
            said = [m.text for m in app.session.messages.items if "outgrows" in m.text]
            assert len(said) == says
            assert all("(A.max_hp 1..48, and more)" in t and "rules resolve them" in t for t in said)


def test_a_failed_load_puts_back_the_resolver_it_replaced(content):
    """The experts tried and unavailable: the single model loaded before stays loaded and keeps answering in the
    shadow under the rules (it was dropped, and nothing shadowed until m reached the model again)."""
    model = PerfectModel(content.rules)
    r = Resolvers(active="model")
    r.use(model, "loaded (fake-perfect)")
    r.cycle()  # -> experts
    loader = r.start_load(r.wanted())
    assert r.model is None and r.loading and r.learned == "experts"
    lines = r.finish_load("experts", Resolvers.load(loader))
    assert "Experts unavailable (no experts loader)" in lines[0][0]
    assert r.model is model and r.learned == "model" and r.status == "loaded (fake-perfect)"
    assert r.answering is None  # experts active and unavailable: the rules answer
    r.cycle()  # -> rules: the model shadows
    assert r.active == "rules" and r.answering is model
    # nothing loaded before: the failure is what the status says, about the experts
    bare = Resolvers(active="experts")
    bare.finish_load("experts", Resolvers.load(bare.start_load("experts")))
    assert bare.model is None and bare.learned == "experts" and bare.status.startswith("unavailable (")
