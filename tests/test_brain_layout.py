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
           "brain.checkpoint", "brain.fastpath", "brain.onnxform", "brain.draft", "brain.lockstep", "brain.muon"}


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


def test_import_check_sees_imports():  # the check above can fail: a stage's imports are found
    assert "brain.train" in brain_imports("brain.sweep") and "brain.tokenizer" in brain_imports("brain.suites.long")


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
    (["eval", "--suite", "bogus"], "unknown suite 'bogus'; expected one of iid, edge, wide, crowded, long, ood, probe"),
    (["eval", "--model", "{tmp}/none"], "cannot load the model"),
    (["train", "--preset", "tiny", "--expert", "strikes"], "give --data DIR"),
    (["sweep", "--latency-only", "--out", "{tmp}/none"], "No such file or directory"),
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
