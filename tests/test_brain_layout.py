"""brain/ as a library plus stages (docs/brain.md, "Layout"): the library never imports a stage, every
subcommand is a stage module owning its flags, and cli.py only dispatches, with one error handler."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from brain.cli import STAGES, build_parser, main

ROOT = Path(__file__).resolve().parents[1]
BRAIN = ROOT / "brain"
# the library: what a model is, how text becomes tokens and back, how data is drawn and stored, how a model
# decodes and is saved; stages (train, eval, the suites, sweep, report, the loop...) build on it
LIBRARY = {"brain.model", "brain.config", "brain.tokenizer", "brain.data", "brain.shards", "brain.engine",
           "brain.checkpoint", "brain.fastpath", "brain.onnxform", "brain.draft", "brain.lockstep", "brain.muon",
           "brain.paths"}
# What brain may import from the game: the combat core (format, rules, the legal state, the judge...), content
# loading, atomic writes, measurements and play logs; the arena alone plays whole games. Never the door back
# into brain (game.resolve), the TUI, saves or anything else of the game.
FROM_GAME = {"game.atomic", "game.content", "game.measure", "game.playlog"}
ARENA_FROM_GAME = {"game.session", "game.autoplay"}


def module_imports(path: Path) -> set[str]:
    """Every module `path` imports at run time: top level or inside a function, not under TYPE_CHECKING."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in tree.body if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(
        node.test) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def import_graph(packages: tuple[str, ...] = ("game", "brain")) -> dict[str, set[str]]:
    """Module -> the project modules it imports (brain.suites.long, game.resolve ...)."""
    paths = {}
    for pkg in packages:
        for path in (ROOT / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            paths[name] = path
    return {m: {d for d in module_imports(p) if d in paths and d != m} for m, p in paths.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_two_modules_import_each_other_through_any_path():
    assert circles(import_graph()) == []


def test_the_circle_check_can_fail():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles(import_graph() | {"game.resolve": {"brain.engine"}, "brain.engine": {"game.resolve"}})


def test_brain_imports_from_the_game_only_its_core():
    graph = import_graph()
    bad = {}
    for module, deps in graph.items():
        if not module.startswith("brain"):
            continue
        allowed = FROM_GAME | (ARENA_FROM_GAME if module == "brain.arena" else set())
        wrong = sorted(d for d in deps if d.startswith("game") and not d.startswith("game.combat")
                       and d not in allowed)
        if wrong:
            bad[module] = wrong
    assert bad == {}


def brain_imports(module: str) -> set[str]:
    """Every brain module `module` imports anywhere in its file (top level or inside a function)."""
    path = BRAIN / (module.removeprefix("brain.").replace(".", "/") + ".py")
    if not path.exists():
        path = path.with_suffix("") / "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("brain.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("brain"):
            if node.module == "brain":
                found |= {f"brain.{a.name}" for a in node.names}
            else:
                found.add(node.module)
    return found


def test_library_imports_no_stage():
    bad = {m: sorted(brain_imports(m) - LIBRARY) for m in LIBRARY}
    assert {m: b for m, b in bad.items() if b} == {}


def test_import_check_sees_imports():  # the check above can fail: top-level and in-function imports are found
    assert "brain.train" in brain_imports("brain.sweep")
    assert "brain.suites.score" in brain_imports("brain.suites.order")  # imported inside a function


def test_every_stage_owns_its_flags():
    p = build_parser()
    sub = next(a for a in p._actions if a.dest == "command")
    assert list(sub.choices) == list(STAGES)
    for name, parser in sub.choices.items():
        assert any(a.option_strings or a.dest != "help" for a in parser._actions[1:]), name
    import importlib

    for module, _ in STAGES.values():
        m = importlib.import_module(module)
        assert callable(m.add_arguments) and callable(m.run), module


def test_cli_holds_no_stage_code():
    tree = ast.parse((BRAIN / "cli.py").read_text())
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert functions == {"build_parser", "_command_of", "_error", "main"}


def test_global_flag_before_the_subcommand(tmp_path, capsys):
    assert main(["--content", str(tmp_path / "nowhere"), "sample", "--n", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rpg-brain: bad content: ") and "nowhere" in err


@pytest.mark.parametrize("argv, words", [
    (["eval", "--suite", "bogus"], "unknown suite 'bogus'; expected one of iid, edge, wide, crowded, long, boundary"),
    (["eval", "--model", "{tmp}/none"], "cannot load the model"),
    (["eval", "--suite", "probe", "--record", "{tmp}/r.json"], "--record: one model (--resolver model) on held-out"),
    # `rpg-brain train` and `sweep` import torch; marked here, not by id in conftest, so a new case can't shift them
    pytest.param(["train", "--preset", "tiny", "--expert", "strikes"], "give --data DIR", marks=pytest.mark.torch),
    pytest.param(["sweep", "--latency-only", "--out", "{tmp}/none"], "No such file or directory",
                 marks=pytest.mark.torch),
])
def test_one_handler_no_traceback(tmp_path, argv, words):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = subprocess.run([sys.executable, "-m", "brain.cli", *argv], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("rpg-brain: ") and words in out.stderr and "Traceback" not in out.stderr


def test_torch_free_stages_never_import_torch():
    code = ("import sys\nfrom brain.cli import main\n"
            "assert main(['sample', '--n', '1']) == 0\n"
            "assert main(['eval', '--suite', 'nope']) == 2\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "False"


def test_every_brain_package_is_in_the_wheel():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the tomli dependency
        import tomli as tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in BRAIN.rglob("__init__.py")}
    assert found - listed == set()


def test_a_training_stage_without_torch_is_one_line_not_a_traceback():
    """A play install has no torch: `rpg-brain train` says what to install (the import is refused here)."""
    code = ("import sys\nsys.modules['torch'] = None\nfrom brain.cli import main\n"
            "raise SystemExit(main(['train', '--preset', 'tiny']))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == "rpg-brain: train needs torch (pip install 'rpg-tui[train]')"
