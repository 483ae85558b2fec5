"""The rpg-brain sample/resolve contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from game.combat import resolve
from game.combat.format import encode_output, parse_input

ROOT = Path(__file__).resolve().parents[1]


def rpg_brain(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "brain.cli", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_sample_is_seeded_and_parses():
    a = rpg_brain("sample", "--suite", "edge", "--n", "50", "--seed", "3")
    b = rpg_brain("sample", "--suite", "edge", "--n", "50", "--seed", "3")
    assert a.returncode == 0 and a.stdout == b.stdout
    lines = a.stdout.splitlines()
    assert len(lines) == 50
    for line in lines:
        parse_input(line)


def test_edge_suite_covers_every_action():
    out = rpg_brain("sample", "--suite", "edge", "--n", "400", "--seed", "0").stdout
    actions = {parse_input(line)[1] for line in out.splitlines()}
    assert len(actions) == 8


def test_resolve_one_line_per_input_errors_inline(rules):
    good = rpg_brain("sample", "--n", "20", "--seed", "1").stdout.splitlines()
    bad = ["", "garbage", good[0][:-3], good[1].replace("hp", "hq", 1),
           "t00 A hp10/10 pw05 ar00 cd000000 B hp10/10 pw03 ar00 cd000000 do attack r9"]
    lines = good[:10] + bad + good[10:]
    out = rpg_brain("resolve", "--resolver", "rules", stdin="\n".join(lines) + "\n")
    assert out.returncode == 0 and "Traceback" not in out.stderr
    answers = out.stdout.splitlines()
    assert len(answers) == len(lines)
    for line, answer in zip(lines, answers, strict=False):
        if line in bad:
            assert answer.startswith("error: "), answer
        else:
            state, action, roll = parse_input(line)
            assert answer == encode_output(resolve(state, action, roll, rules).next_state)
    assert answers[14].startswith("error: unresolvable input: column ")
    assert "field roll: expected a value in 1..6" in answers[14]
