"""Fault injection for play logs, `rpg-brain ingest` and `rpg-brain resolve`: hostile lines, missing inputs,
an --out that is a file, a dataset replaced only by a complete one, non-UTF-8 stdin, memory flat in log size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brain import ingest as ingest_mod
from brain.ingest import IngestError, ingest
from game.autoplay import play
from game.playlog import PlayLogWriter, read_playlog_lines
from game.session import GameSession

ROOT = Path(__file__).resolve().parents[1]


def _good_lines(content, tmp_path: Path) -> list[str]:
    path = tmp_path / "seed.jsonl"
    s = GameSession.new(content, 4, "a", PlayLogWriter(path))
    play(s, 300, seed=0)
    s.playlog.close()
    lines = path.read_text().splitlines()
    path.unlink()
    assert len(lines) > 10
    return lines


def brain(*args: str, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brain.cli", *args], cwd=ROOT, input=stdin, capture_output=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


@pytest.fixture(scope="module")
def good_lines(content, tmp_path_factory) -> list[str]:
    """Ten records of a real play log."""
    return _good_lines(content, tmp_path_factory.mktemp("good"))[:10]


HOSTILE_LINES = ['{"turn": ' + "9" * 5000 + "}", "[" * 100_000, '{"a": ' * 50_000, "x" * (2 << 20)]


def test_hostile_lines_are_reported_with_file_and_line(content, rules, tmp_path):
    good = _good_lines(content, tmp_path)
    log = tmp_path / "p.jsonl"
    log.write_text("\n".join([good[0], *HOSTILE_LINES, good[1]]) + "\n", encoding="utf-8")
    bad = []
    got = [n for n, _ in read_playlog_lines(log, bad)]
    assert got == [1, len(HOSTILE_LINES) + 2]
    assert [b.line for b in bad] == list(range(2, len(HOSTILE_LINES) + 2))
    assert all(str(b).startswith(f"{log}:{b.line}: ") for b in bad)
    m = ingest([log], tmp_path / "out", rules)
    assert m["ingest"]["bad_lines"] == len(HOSTILE_LINES)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.integers(0, 9), st.binary(max_size=60),
                          st.recursive(st.none() | st.integers() | st.text(max_size=4),
                                       lambda x: st.lists(x, max_size=3) | st.dictionaries(st.text(max_size=4), x,
                                                                                          max_size=3),
                                       max_leaves=8).map(lambda v: json.dumps(v).encode())),
                max_size=25))
def test_any_play_log_reads_without_raising(good_lines, tmp_path, parts):
    """Good records (ints pick one) mixed with random bytes and random JSON: every good one comes back,
    every other non-blank line is reported with its number."""
    good = good_lines
    lines = [good[p].encode() if isinstance(p, int) else p.replace(b"\n", b" ") for p in parts]
    log = tmp_path / "h.jsonl"
    log.write_bytes(b"\n".join(lines))
    bad = []
    got = dict(read_playlog_lines(log, bad))
    for n, line in enumerate(lines, start=1):
        if line.strip() and n not in got:
            assert n in {b.line for b in bad}
    assert all(got[n] == json.loads(lines[n - 1]) for n in got)
    assert {n for n, p in enumerate(parts, start=1) if isinstance(p, int)} <= set(got)


def test_missing_input_is_an_error_and_keeps_the_dataset(rules, tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "manifest.json").write_text('{"kind": "playlog"}')
    with pytest.raises(IngestError, match="nonexistent"):
        ingest([tmp_path / "nonexistent"], out, rules)
    res = brain("ingest", str(tmp_path / "nonexistent"), "--out", str(out))
    assert res.returncode == 2 and b"nonexistent" in res.stderr and b"Traceback" not in res.stderr
    assert (out / "manifest.json").read_text() == '{"kind": "playlog"}'
    (tmp_path / "empty").mkdir()
    res = brain("ingest", str(tmp_path / "empty"), "--out", str(out))
    assert res.returncode == 2 and b"no play logs" in res.stderr


def test_out_naming_a_file_is_a_clear_error(good_lines, tmp_path):
    log = tmp_path / "p.jsonl"
    log.write_text("\n".join(good_lines) + "\n")
    (tmp_path / "file").write_text("mine")
    res = brain("ingest", str(log), "--out", str(tmp_path / "file"))
    assert res.returncode == 2 and b"is a file" in res.stderr and b"Traceback" not in res.stderr
    assert (tmp_path / "file").read_text() == "mine"


def test_dataset_replaced_only_by_a_complete_one(rules, good_lines, tmp_path, monkeypatch):
    log = tmp_path / "p.jsonl"
    log.write_text("\n".join(good_lines) + "\n")
    out = tmp_path / "data"
    first = ingest([log], out, rules)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = {"n": 0}
    real = ingest_mod.resolve

    def dies_midway(*a):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt  # a kill half-way through
        return real(*a)

    monkeypatch.setattr(ingest_mod, "resolve", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        ingest([log], out, rules)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "p.jsonl"]  # no temp dir left
    monkeypatch.setattr(ingest_mod, "resolve", real)
    second = ingest([log], out, rules)
    assert second["counts"] == first["counts"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "p.jsonl"]


def test_resolve_answers_a_non_utf8_line_and_goes_on(rules):
    from game.combat.format import encode_input
    from game.combat.sampler import sample

    blocks = [encode_input(*c) for c in sample("iid", 3, 1, rules)]
    stdin = b"\n".join([blocks[0].encode(), b"t00 A hp\xff10", blocks[1].encode(), b"x" * 10_000,
                        "t\u00e900".encode(), blocks[2].encode()]) + b"\n"
    res = brain("resolve", "--resolver", "rules", stdin=stdin, env={"PYTHONIOENCODING": "utf-8"})
    assert res.returncode == 0 and b"Traceback" not in res.stderr
    answers = res.stdout.decode().splitlines()
    assert len(answers) == 6
    assert [a.startswith("error:") for a in answers] == [False, True, False, True, True, False]
    assert "not UTF-8 at column 9" in answers[1] and "longer than" in answers[3]


def _peak_rss_kb(args: list[str]) -> int:
    code = ("import resource, sys\nfrom brain.cli import main\nrc = main(sys.argv[1:])\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\nsys.exit(rc)")
    res = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr
    return int(res.stderr.strip().splitlines()[-1])


@pytest.mark.slow
def test_ingest_memory_is_flat_in_the_log_size(good_lines, tmp_path):
    """The same records repeated: 8 MB and 48 MB logs peak at about the same RSS (streamed, not read whole)."""
    line = "\n".join(good_lines) + "\n"
    peaks = []
    for mb in (8, 48):
        log = tmp_path / f"{mb}.jsonl"
        with log.open("w") as fh:
            for _ in range(mb * 1024 * 1024 // len(line)):
                fh.write(line)
        peaks.append(_peak_rss_kb(["ingest", str(log), "--out", str(tmp_path / f"out{mb}")]))
        log.unlink()
    assert peaks[1] - peaks[0] < 16 * 1024, peaks  # 40 MB more log, well under 16 MB more memory


# ------------------------------------------------------------------ what ingest may destroy (nothing it did not write)

def _save_dir(good_lines, tmp_path: Path) -> Path:
    """A save directory as a player has it: a save, its backup and the play logs."""
    d = tmp_path / "saves"
    (d / "playlogs").mkdir(parents=True)
    (d / "save.json").write_text('{"a living run": 1}')
    (d / "save.json.bak").write_text('{"the run before": 1}')
    (d / "playlogs" / "r.jsonl").write_text("\n".join(good_lines) + "\n")
    return d


def _tree(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_out_that_is_not_a_dataset_or_holds_an_input_is_refused_and_untouched(good_lines, tmp_path):
    saves = _save_dir(good_lines, tmp_path)
    before = _tree(saves)
    res = brain("ingest", str(saves / "playlogs"), "--out", str(saves))  # the reproduction
    assert res.returncode == 2 and b"holds the input" in res.stderr and b"Traceback" not in res.stderr
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    res = brain("ingest", str(saves / "playlogs"), "--out", str(other))
    assert res.returncode == 2 and b"not a dataset `rpg-brain ingest` wrote" in res.stderr
    assert _tree(saves) == before and (other / "notes.txt").read_text() == "keep"


@pytest.mark.parametrize("garbage", ["{not json\n", "", "RULESET"])
def test_an_input_with_no_usable_record_never_replaces_a_dataset(rules, good_lines, tmp_path, garbage):
    log = tmp_path / "p.jsonl"
    log.write_text("\n".join(good_lines) + "\n")
    out = tmp_path / "data"
    ingest([log], out, rules)
    before = _tree(out)
    bad = tmp_path / "bad.jsonl"
    if garbage == "RULESET":  # logs recorded under another rules.toml
        bad.write_text("\n".join(line.replace(rules.ruleset_id, "rs-000000000000") for line in good_lines))
    else:
        bad.write_text(garbage)
    res = brain("ingest", str(bad), "--out", str(out))
    assert res.returncode == 2 and b"no usable record" in res.stderr and b"nothing written" in res.stderr
    assert _tree(out) == before


def test_special_files_are_refused_without_reading_them(tmp_path):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        res = brain("ingest", str(path), "--out", str(tmp_path / "data"))
        assert res.returncode == 2 and b"not a regular file" in res.stderr, res.stderr
    logs = tmp_path / "logs"
    logs.mkdir()
    os.mkfifo(logs / "x.jsonl")  # inside a directory too
    res = brain("ingest", str(logs), "--out", str(tmp_path / "data"))
    assert res.returncode == 2 and b"not a regular file" in res.stderr
    assert not (tmp_path / "data").exists()


def test_what_a_killed_ingest_left_is_swept_by_the_next(rules, good_lines, tmp_path):
    log = tmp_path / "p.jsonl"
    log.write_text("\n".join(good_lines) + "\n")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has ended
    for name in (f".data.{pid}.tmp", f".data.old-{pid}"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train-0000.ids").write_bytes(b"half")
    ingest([log], tmp_path / "data", rules)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "p.jsonl"]
