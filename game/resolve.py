"""The one door from the game into brain/: the learned resolvers, and what brain knows about its models.

The rules resolver and the judge every answer goes through live in the core (game/combat/judge.py). The model
and the experts live in brain/ and are reached only through these functions, imported lazily, so rules-only
play imports neither numpy nor torch.
"""

from __future__ import annotations

from pathlib import Path

from game.combat.envelope import Envelope
from game.combat.judge import Resolver
from game.combat.ruleset import Ruleset

# The resolvers a game can play with, in the order the m key cycles them.
RESOLVERS: tuple[str, ...] = ("rules", "model", "experts")


def available_models() -> list[Path]:
    """The model directories a player can pick: the shipped model, its int8 form, the user's own (brain owns where)."""
    from brain.paths import available_models as found  # lazy, and light: no numpy, no torch

    return found()


def shipped_model_dir() -> Path:
    """Where the model that ships with the game lives (brain owns where)."""
    from brain.paths import shipped_model_dir as where  # lazy, and light: no numpy, no torch

    return where()


def shipped_envelope() -> Envelope:
    """The envelope of the model that ships with the game: content must stay inside it (game.content.loader).

    ValueError naming the file when the shipped model records none."""
    from brain.paths import read_envelope, shipped_model_dir  # lazy, and light: a JSON read

    return read_envelope(shipped_model_dir())


def load_model_resolver(model_dir: Path | None, rules: Ruleset, allow_stale: bool = False) -> Resolver:
    """The one door from the game into brain/: imported only when the model is asked for.

    Raises ModelLoadError (a ValueError) with a clear message when the model is missing, corrupt, or stale
    (trained on another ruleset, or on data another version of its sampler drew), unless `allow_stale`:
    then every answer is marked stale.
    """
    from brain.engine import ModelResolver  # lazy: keeps torch out of rules-only play

    return ModelResolver.load(model_dir, rules, allow_stale=allow_stale)


def load_experts_resolver(experts_dir: Path | None, rules: Ruleset, allow_stale: bool = False) -> Resolver:
    """The same door for the composed resolver (brain/experts.py): a router and one small model per route.

    Raises ModelLoadError when the directory is bad, an expert is stale (the message names it and the constant or
    sampler that changed; unless `allow_stale`), or the experts are below the accuracy target `rpg-brain ship`
    measured: the game offers only experts that meet it.
    """
    from brain.experts import ExpertsResolver  # lazy, as above
    from brain.paths import shipped_experts_dir

    return ExpertsResolver.load(experts_dir or shipped_experts_dir(), rules, allow_stale=allow_stale,
                                require_target=True)
