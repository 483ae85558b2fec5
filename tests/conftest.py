from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import fakes
import pytest
from hypothesis import settings

from game.combat import Ruleset
from game.content import Content, load_content

# Torch is only in the `train` extra (pyproject.toml): the play install (`pip install -e '.[test-play]'`, which
# .ci/run tests on Python 3.10 and 3.13) has none. Where torch is missing, the tests that need it skip, each with a
# reason, by one mechanism:
# - TORCH_MODULES: test files that import torch when imported (directly, or through brain.train, brain.model...):
#   each is reported as one skipped file instead of being imported;
# - TORCH_TESTS, and any test marked @pytest.mark.torch: tests that need torch only when they run.
# A torch import anywhere else fails as usual: the play code must never need torch. A new test file that imports
# torch at import time goes into TORCH_MODULES, a test that needs it only at run time gets the `torch` mark (or,
# where its file is not to be touched, an entry in TORCH_TESTS).
# Hypothesis' 200 ms deadline fails a property test whose first example lands on a loaded machine (a CI box
# running two suites, a training beside the tests); the properties are what these tests check, not the time.
settings.register_profile("rpg", deadline=None)
settings.load_profile("rpg")

HAS_TORCH = importlib.util.find_spec("torch") is not None
NO_TORCH = "needs torch (the `train` extra); this is a play install without it"
TORCH_MODULES = {
    "test_brain_carried_run.py",
    "test_brain_draft.py",
    "test_brain_engine.py",
    "test_brain_experts.py",
    "test_brain_export.py",
    "test_brain_lab_report.py",
    "test_brain_muon.py",
    "test_brain_onnx.py",
    "test_brain_shards.py",
    "test_brain_sweep.py",
    "test_brain_train.py",
    "test_envelope.py",
    "test_model_files.py",
}
# "FILE" (every test in it), "FILE::TEST" (every parameter set) or "FILE::TEST[ID]" (one of them)
TORCH_TESTS = {
    # its `resolver` fixture sets torch's thread count
    "test_brain_default.py::test_default_model_beats_the_floor_on_held_out_blocks",
    # build_parser() of every stage imports brain.train; `rpg-brain train` and `sweep` import torch
    "test_brain_layout.py::test_every_stage_owns_its_flags",
    # brain.finetune trains
    "test_brain_loop.py::test_tiny_finetune_end_to_end",
    "test_brain_loop.py::test_finetune_scales_the_muon_lr_with_the_adamw_lr",
    # its `run` fixture trains a tiny model
    "test_brain_ship.py",
}


class _NeedsTorch(pytest.File):
    """Stands in for a test file in TORCH_MODULES where torch is missing: reported as skipped, never imported."""

    def collect(self):
        pytest.skip(f"{self.path.name}: {NO_TORCH}")


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent):
    if not HAS_TORCH and module_path.name in TORCH_MODULES and module_path.parent == Path(__file__).parent:
        return _NeedsTorch.from_parent(parent, path=module_path)
    return None


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        names = {item.path.name, f"{item.path.name}::{item.originalname}", f"{item.path.name}::{item.name}"}
        if names & TORCH_TESTS:
            item.add_marker(pytest.mark.torch)
        if not HAS_TORCH and item.get_closest_marker("torch"):
            item.add_marker(pytest.mark.skip(reason=NO_TORCH))


# ---------------------------------------------------------------- shared fixtures
# A test file that needs other content (a modified copy, another envelope) loads it itself, in its own fixture.


@pytest.fixture(scope="session")
def content() -> Content:
    """The default content (content/, or RPG_CONTENT_DIR when set), loaded once for the run. Its dataclasses are
    frozen: a test that wants different content builds a copy (dataclasses.replace) or loads its own."""
    return load_content()


@pytest.fixture(scope="session")
def rules(content: Content) -> Ruleset:
    """The default content's combat rules."""
    return content.rules


RunApp = Callable[..., AbstractAsyncContextManager]


@pytest.fixture
def run_app(tmp_path: Path, content: Content) -> RunApp:
    """The common Pilot setup, as a factory: `async with run_app(seed=3) as (app, pilot):` builds the app with
    create_app (a new game, saves under tmp_path, the `content` fixture), runs it headless (`size`: the
    terminal, 80x24 by default) and settles it (its workers done, the screen refreshed) before the test goes on.
    Any other keyword goes to create_app (resolver=, model_loader=, save_dir=, new_game=False...); settle=False
    for a test that looks at the app while a worker still runs (a model loading)."""
    from game.tui.app import create_app

    @asynccontextmanager
    async def start(*, seed: int, size: tuple[int, int] = (80, 24), settle: bool = True,
                    **kwargs) -> AsyncIterator:
        kwargs = {"save_dir": tmp_path, "new_game": True, "content": content, **kwargs}
        app = create_app(seed=seed, **kwargs)
        async with app.run_test(size=size) as pilot:
            if settle:
                await fakes.settle(pilot)
            yield app, pilot

    return start
