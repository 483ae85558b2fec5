"""scripts/regen_cap_errors.py: the regen tick judged against the rules, capped and uncapped apart."""

from pathlib import Path

from script_loader import load_script

from game.combat import Ruleset
from game.combat.format import encode_answer, parse_input
from game.combat.rules import resolve

CAPPED = "t07 A hp23/25 pw05 ar01 cd000000 rg09:3 B hp18/24 pw04 ar00 cd000000 do wait r6"
UNCAPPED = "t07 A hp10/40 pw05 ar01 cd000000 rg03:3 B hp18/24 pw04 ar00 cd000000 do wait r6"
NO_TICK = "t07 A hp10/40 pw05 ar01 cd000000 B hp18/24 pw04 ar00 cd000000 do attack r6"


def _script():
    return load_script("regen_cap_errors")


def _run(tmp_path: Path, rows: list[tuple[str, str, str]]) -> str:
    for i, name in enumerate(("in", "rules", "model")):
        (tmp_path / name).write_text("".join(row[i] + "\n" for row in rows), encoding="utf-8")
    return str(tmp_path)


def _answer(block: str, rules: Ruleset) -> str:
    out = resolve(*parse_input(block), rules)
    return encode_answer(out.events, out.next_state)


def test_counts_capped_and_uncapped_ticks_apart(tmp_path, rules: Ruleset, capsys):
    capped, uncapped = _answer(CAPPED, rules), _answer(UNCAPPED, rules)
    assert "regen_tick01>25" in capped and "regen_tick03>14" in uncapped
    rows = [(CAPPED, capped, capped),  # right
            (CAPPED, capped, "error: invariant broken: A.hp"),  # not answered: wrong, no tick
            (UNCAPPED, uncapped, uncapped.replace("regen_tick03>14", "regen_tick03>40")),  # filled to max hp
            (NO_TICK, _answer(NO_TICK, rules), "anything")]  # no tick: not counted
    d = _run(tmp_path, rows)
    _script().main(f"{d}/in", f"{d}/rules", f"{d}/model")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["capped", "ticks", "2", "wrong", "1"] and "none: 1" in lines[0]
    assert lines[1].split()[:5] == ["uncapped", "ticks", "1", "wrong", "1"] and "off by 0: 1" in lines[1]
    assert "wrong after a right headroom: 1" in lines[1]  # the rules' answer writes the headroom (format 2)
    assert lines[2] == "headroom steps wrong: 1"  # the unanswered line wrote none


def test_a_tick_wrong_after_a_right_headroom_is_counted(tmp_path, rules: Ruleset, capsys):
    want = _answer(CAPPED, rules).replace("regen_tick", "headroom25>01 regen_tick")  # format 2b's step
    rows = [(CAPPED, want, want.replace("regen_tick01>25", "regen_tick02>26")),
            (CAPPED, want, want.replace("headroom25>01", "headroom25>02"))]  # headroom wrong, tick right
    d = _run(tmp_path, rows)
    _script().main(f"{d}/in", f"{d}/rules", f"{d}/model")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["capped", "ticks", "2", "wrong", "1"]
    assert lines[0].endswith("wrong after a right headroom: 1") and "off by 1: 1" in lines[0]
    assert lines[-1] == "headroom steps wrong: 1"
