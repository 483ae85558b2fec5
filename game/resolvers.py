"""Who resolves combat turns: the one owner of the active resolver and of the learned resolver loaded.

The game plays with the rules, the single model or the experts (`RESOLVERS`, the order `m` cycles them). One
learned resolver is loaded at a time (`learned` says which); under the rules it answers in the shadow.
Loading is slow (seconds), so it is split in three: `start_load` says whether a load is needed and marks it
under way, the caller runs `load` wherever it likes (the TUI in a thread worker, the arena inline), and
`finish_load` records the result on the caller's thread. Nothing else keeps a copy of this state: the
session reads it through its `resolvers`, the TUI shares the same object with every session it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from game.combat.judge import Resolver
from game.resolve import RESOLVERS

LEARNED: tuple[str, ...] = ("model", "experts")
Loader = Callable[[], Resolver]


@dataclass
class Loaded:
    """What one load gave: the resolver (None when it failed), the status line's words, a note to say once."""

    resolver: Resolver | None
    status: str
    note: str = ""


def describe(model: Resolver) -> Loaded:
    """The status of a freshly loaded resolver: its directory's name, its decoder, and whether it is stale.
    Why a model.onnx beside it was not used is a note for the log, said once, not a status."""
    where = getattr(model, "model_dir", None)
    label = getattr(model, "name", "model") if where is None else Path(where).name
    parts = [label]
    decoder = getattr(model, "decoder", None)
    if decoder:
        parts.append(f"{decoder} decoder")
    if getattr(model, "stale", None):
        parts.append(f"stale: {model.stale}")
    return Loaded(model, f"loaded ({', '.join(parts)})", getattr(model, "decoder_note", "") or "")


@dataclass
class Resolvers:
    active: str = "rules"
    loaders: dict[str, Loader] = field(default_factory=dict)  # "model" / "experts" -> how to load it
    model: Resolver | None = None  # the learned resolver loaded (the single model or the experts)
    learned: str = "model"  # which one `model` is, or is being loaded
    status: str = "off (m loads it)"
    loading: bool = False
    unavailable: dict[str, str] = field(default_factory=dict)  # learned resolvers that failed to load, and why
    said: set[str] = field(default_factory=set)  # notes already written to a log: each is said once
    # what a load replaced (resolver, which, status): back in place when the load fails, so the model still
    # answers in the shadow under the rules after the experts were tried and could not load
    replaced: tuple[Resolver, str, str] | None = None

    def __post_init__(self) -> None:
        self.set_active(self.active)
        if self.active in LEARNED:
            self.learned = self.active

    @property
    def answering(self) -> Resolver | None:
        """The learned resolver that answers this turn: the loaded one under the rules (in the shadow), else the
        active one once it is loaded."""
        return self.model if self.active == "rules" or self.learned == self.active else None

    @property
    def stale(self) -> bool:
        return bool(getattr(self.model, "stale", None))

    def set_active(self, name: str) -> None:
        if name not in RESOLVERS:
            raise ValueError(f"resolver must be one of {', '.join(RESOLVERS)}, got {name!r}")
        self.active = name

    def use(self, model: Resolver | None, status: str = "", kind: str = "model") -> None:
        """A resolver loaded elsewhere (the arena, a test): it becomes the learned one."""
        self.model, self.learned, self.loading, self.replaced = model, kind, False, None
        self.status = status or (describe(model).status if model is not None else "off")

    def cycle(self) -> tuple[str, list[str]]:
        """The next resolver of the cycle, skipping those that could not load: (its name, what to tell)."""
        said = []
        i = RESOLVERS.index(self.active)
        for step in range(1, len(RESOLVERS)):
            name = RESOLVERS[(i + step) % len(RESOLVERS)]
            if name not in self.unavailable:
                break
            said.append(f"Skipped {name}: {self.unavailable[name]}")
        else:
            name = "rules"
        self.set_active(name)
        ready = name == "rules" or (self.model is not None and self.learned == name)
        said.append(f"Combat resolver: {name}{'' if ready else '; until it is loaded the rules answer'}.")
        return name, said

    def wanted(self) -> str | None:
        """The learned resolver the active one needs loaded and that is not (nor being loaded), or None."""
        kind = self.active
        if kind not in LEARNED or self.loading or kind in self.unavailable:
            return None
        return None if self.model is not None and self.learned == kind else kind

    def start_load(self, kind: str) -> Loader | None:
        """Mark a load of `kind` under way (the loaded one steps aside, back if the load fails) and return its loader;
        None when one is already under way or `kind` is loaded."""
        if self.loading or (self.model is not None and self.learned == kind):
            return None
        self.replaced = (self.model, self.learned, self.status) if self.model is not None else None
        self.learned, self.model, self.loading = kind, None, True
        self.status = f"{kind} loading…"
        loader = self.loaders.get(kind)

        def missing() -> Resolver:
            raise ValueError(f"no {kind} loader")

        return loader or missing

    @staticmethod
    def load(loader: Loader) -> Loaded:
        """Run a loader (anywhere: a worker thread): never raises, a failure is a Loaded without resolver."""
        try:
            return describe(loader())
        except Exception as exc:  # missing, corrupt, wrong ruleset, a stale expert, brain not built yet
            return Loaded(None, f"unavailable ({exc})")

    def finish_load(self, kind: str, result: Loaded) -> list[tuple[str, str]]:
        """Record a load's result: the lines for the message log (text, style), the decoder note only the
        first time it is met."""
        self.loading = False
        self.model = result.resolver
        self.status = result.status
        if result.resolver is None:
            self.unavailable[kind] = result.status
            if self.replaced is not None:
                self.model, self.learned, self.status = self.replaced
        else:
            self.unavailable.pop(kind, None)
        self.replaced = None
        lines = [(f"{kind.capitalize()} {result.status}.", "info" if result.resolver is not None else "warn")]
        if result.note and result.note not in self.said:
            self.said.add(result.note)
            lines.append((f"{result.note} The numpy decoder answers instead (pip install 'rpg-tui[onnx]' adds "
                          "ONNX Runtime, the faster one).", "info"))
        return lines
