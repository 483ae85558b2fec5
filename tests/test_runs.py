"""The run history (game/runs.py): every finished run is kept, a broken table is set aside, and each resolver's
turns and divergences are counted under its own name."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakes import OffByOneModel, clear_monsters, spawn_adjacent

from game.actions import Move
from game.runs import RunsError, load_runs, record_run, resolver_summary
from game.session import GameSession


def test_run_history_is_kept_and_a_broken_table_is_set_aside(content, tmp_path):
    s = GameSession.new(content, 7)
    s.dead, s.cause = True, "killed by a rat"
    path = record_run(s, tmp_path)
    assert load_runs(tmp_path)[0]["cause"] == "killed by a rat" and path.parent.name == "morgue"
    path.write_text("{not json")
    with pytest.raises(RunsError, match=r"runs\.json"):
        load_runs(tmp_path)
    record_run(s, tmp_path)
    assert len(load_runs(tmp_path)) == 1 and list(path.parent.glob("runs.broken-*.json"))


def test_run_history_keeps_turns_and_divergences_per_resolver(content, tmp_path):
    """Run history filed the experts' disagreements under "model" and named only the last resolver."""
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.player.body = replace(s.player.body, armor=60)
    _m, d = spawn_adjacent(s, "bog troll")
    s.resolvers.use(OffByOneModel(content.rules), kind="experts")
    s.resolvers.set_active("experts")
    for _ in range(2):
        s.perform(Move(*d))
    s.resolvers.set_active("rules")  # the experts answer on in the shadow
    s.perform(Move(*d))
    s.dead, s.cause = True, "killed by a test"
    record_run(s, tmp_path)
    run = load_runs(tmp_path)[0]
    experts = run["resolvers"]["experts"]
    assert "model" not in run["resolvers"] and experts["divergences"] >= 1 and experts["answered"] >= 3
    assert run["resolvers"]["rules"]["turns"] >= 1 and experts["turns"] >= 2
    assert run["resolver"] == "rules" and "experts" in resolver_summary(run)
