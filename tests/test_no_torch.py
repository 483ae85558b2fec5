"""Play needs no torch: the shipped model loads and answers with torch unimportable (issue 14).

A subprocess blocks `import torch` (and, in one case, onnxruntime) with an import hook, then plays model
turns through the game's one door (game.resolve.load_model_resolver) and through `rpg-brain resolve`.
tests/test_wheel.py does the same in a fresh venv where torch was never installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from brain.bench import cold_load
from brain.paths import shipped_model_dir

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not (shipped_model_dir() / "model.safetensors").exists(), reason="no shipped model")

_BLOCK = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ImportError(f'{{name}} is blocked for this test')
        return None
sys.meta_path.insert(0, Block())
"""

_PLAY = """
import io, json
from game.combat.format import encode_input
from game.combat.sampler import sample
from game.content import load_ruleset
from game.combat.judge import RulesResolver, resolve_blocks
from game.resolve import load_model_resolver
rules = load_ruleset()
model = load_model_resolver(None, rules)
blocks = [encode_input(*c) for c in sample('iid', 8, 0, rules)]
got = resolve_blocks(model, blocks, rules)  # a batch of 8: the batch-1 decoder in a loop
want = resolve_blocks(RulesResolver(rules), blocks, rules)
from brain.cli import main
sys.stdin, out = io.StringIO('\\n'.join(blocks) + '\\n'), io.StringIO()
real, sys.stdout = sys.stdout, out
code = main(['resolve', '--resolver', 'model'])
sys.stdout = real
print(json.dumps({"decoder": model.decoder, "note": model.decoder_note, "ok": [r.ok for r in got],
                  "same": [a.raw == b.raw for a, b in zip(got, want)], "cli": out.getvalue().splitlines(),
                  "rules": [r.raw.split(' | ')[-1] for r in want], "code": code,
                  "torch": sorted(m for m in sys.modules if m.split('.')[0] == 'torch')}))
"""


@pytest.mark.parametrize("blocked, decoder", [(("torch",), "onnx"), (("torch", "onnxruntime"), "numpy")])
def test_model_turns_without_torch(blocked, decoder):
    if decoder == "onnx":
        pytest.importorskip("onnxruntime")
    code = _BLOCK.format(blocked=set(blocked)) + _PLAY
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.splitlines()[-1])
    assert r["torch"] == [] and r["code"] == 0
    assert r["decoder"] == decoder
    assert all(r["ok"]) and all(r["same"])  # the shipped model answers these eight like the rules
    assert r["cli"] == r["rules"]


def test_bench_cold_load_is_torch_free():
    cold = cold_load(None)
    assert cold["torch_imported"] is False and cold["rss_mb"] > 0 and cold["load_s"] > 0
    print(f"\ncold load: model imports {cold['import_s'] * 1000:.0f} ms, load {cold['load_s'] * 1000:.0f} ms, "
          f"peak RSS {cold['rss_mb']:.0f} MB, decoder {cold['decoder']}")


# sys.modules["torch"] = None makes `import torch` fail and importlib.util.find_spec("torch") answer None, as in a
# play install (the import hook above would make find_spec raise instead)
_IMPORT_ALL = """
import importlib, json, sys
sys.modules["torch"] = None
sys.path[:0] = [{tests!r}, {root!r}]
failed = {{}}
for name in {names!r}:
    try:
        importlib.import_module(name)
    except ImportError as e:
        failed[name] = str(e)
print(json.dumps(failed))
"""


def test_every_test_file_outside_torch_modules_imports_without_torch():
    """The play install's CI (.ci/run, no torch) imports every test file that conftest does not skip whole: one that
    imports torch at import time and is missing from TORCH_MODULES breaks that whole run at collection."""
    from conftest import TORCH_MODULES

    tests = Path(__file__).parent
    names = [*sorted(p.stem for p in tests.glob("test_*.py") if p.name not in TORCH_MODULES), "conftest"]
    code = _IMPORT_ALL.format(tests=str(tests), root=str(ROOT), names=names)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == {}, "add these to TORCH_MODULES in tests/conftest.py"
