"""Composition of tiny experts: a router by action family, one small model per route (docs/brain.md, "Experts").

The router is a pure function of the input block: its action. Each expert is an ordinary model directory
(same format, same tokenizer, same decoder), trained only on its route's examples. An experts directory
holds the experts and `experts.json`, the manifest: the router, the experts, and for each expert the rule
constants its answers depend on, measured (`dependencies`): a constant is a dependency of a route when
moving it by +1 or -1 changes what the rules write for some sampled block of that route.

An expert is stale when one of its own constants differs from the current content; a change to any other
constant leaves it valid although the global ruleset id changed. Loading checks each expert's constants
instead of the global id (the single model keeps the global check), and refuses a stale expert by name.

This module imports no torch; brain/train.py trains experts (`train_expert`, `train_stale`).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from brain.checkpoint import ModelLoadError
from brain.engine import ModelResolver
from game.atomic import write_atomic
from game.combat.envelope import Envelope, check_case
from game.combat.format import encode_answer
from game.combat.judge import Resolution
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, sample_edge, sample_iid
from game.combat.state import ACTIONS
from game.content import ContentError, validate_ruleset

MANIFEST = "experts.json"
EXPERTS_VERSION = 1
# The split by action family: what a strike does, what the actor does to itself, and ignite.
ROUTES: dict[str, tuple[str, ...]] = {
    "strikes": ("attack", "poison_strike"),
    "self": ("heal", "guard", "cleanse", "brace", "wait"),
    "ignite": ("ignite",),
}


class ExpertsError(ModelLoadError):
    """A bad or stale experts directory; the message names the file, the key or the expert, and the constant."""


# ---------------------------------------------------------------- router

@dataclass(frozen=True)
class Router:
    """Action -> expert name. Every action goes to exactly one expert."""

    routes: dict[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for name, actions in self.routes.items():
            for a in actions:
                if a not in ACTIONS:
                    raise ValueError(f"route {name}: unknown action {a!r}; expected one of {', '.join(ACTIONS)}")
                if a in seen:
                    raise ValueError(f"action {a} is routed to both {seen[a]} and {name}")
                seen[a] = name
        missing = [a for a in ACTIONS if a not in seen]
        if missing:
            raise ValueError(f"no route for {', '.join(missing)}")

    def route(self, action: str) -> str:
        for name, actions in self.routes.items():
            if action in actions:
                return name
        raise ValueError(f"no expert for action {action!r}")

    def route_block(self, block: str) -> str:
        """The expert for an input block (the action is the word after ' do ')."""
        try:
            action = block.split(" do ", 1)[1].split()[0]
        except IndexError:
            raise ValueError(f"no action in block {block!r}") from None
        return self.route(action)


DEFAULT_ROUTER = Router(ROUTES)


# ---------------------------------------------------------------- measured rule dependencies

def _answer(case: Case, rules: Ruleset) -> str:
    """What the rules write for a case (or why they refuse it): the thing an expert must reproduce."""
    problem = check_case(*case, rules)
    if problem:
        return "error: " + problem
    out = resolve(*case, rules)
    return encode_answer(out.events, out.next_state)


def route_cases(actions: Sequence[str], rules: Ruleset, n: int, seed: int = 0,
                keep: Callable[[Case], bool] | None = None) -> list[Case]:
    """n cases of a route: the training mix (80% iid, 20% edge), the action redrawn from the route; with `keep`
    (a route of another split: by phase, by how crowded the board is) only the draws it keeps."""
    rng = random.Random(f"route:{','.join(actions)}:{seed}")
    out: list[Case] = []
    while len(out) < n:
        state, action, roll = (sample_edge if rng.random() < 0.2 else sample_iid)(rng, rules)
        case = (state, action if action in actions else rng.choice(actions), roll)
        if keep is None or keep(case):
            out.append(case)
    return out


def perturbations(rules: Ruleset, name: str) -> list[Ruleset]:
    """The rulesets one step from `rules` on one constant (+1, and -1) that the content loader accepts."""
    out = []
    for delta in (1, -1):
        other = replace(rules, **{name: getattr(rules, name) + delta})
        try:
            validate_ruleset(other)
        except ContentError:
            continue
        out.append(other)
    return out


def dependencies(actions: Sequence[str], rules: Ruleset, n: int = 2000, seed: int = 0,
                 keep: Callable[[Case], bool] | None = None) -> list[str]:
    """The constants whose +-1 change changes the rules' answer on some of n sampled blocks of the route.

    The blocks come from both rulesets (the sampler reads roll_max, fatigue_turn, ...), so a constant that
    only widens what can be asked (roll_max + 1 allows r7) counts too.
    """
    base = route_cases(actions, rules, n, seed, keep)
    base_answers = [_answer(c, rules) for c in base]
    found = []
    for name in Ruleset.field_names():
        for other in perturbations(rules, name):
            if any(_answer(c, other) != a for c, a in zip(base, base_answers, strict=True)) or any(
                    _answer(c, other) != _answer(c, rules) for c in route_cases(actions, other, n, seed, keep)):
                found.append(name)
                break
    return found


def constants_of(rules: Ruleset, names: Sequence[str]) -> dict[str, int]:
    return {name: getattr(rules, name) for name in sorted(names)}


def constants_hash(constants: dict[str, int]) -> str:
    blob = json.dumps(constants, sort_keys=True, separators=(",", ":"))
    return "c-" + hashlib.sha256(blob.encode()).hexdigest()[:12]


# ---------------------------------------------------------------- manifest

@dataclass(frozen=True)
class Expert:
    name: str
    actions: tuple[str, ...]
    model_dir: str  # relative to the experts directory
    constants: dict[str, int]  # the rule constants it depends on, with the values it was trained on
    constants_hash: str
    ruleset_id: str  # the global id it was trained under (for the record; loading checks the constants)
    trained: dict  # steps, examples, tokens, seconds, val_exact of its last training

    def stale(self, rules: Ruleset) -> list[tuple[str, int, int]]:
        """(constant, trained value, current value) for each of its constants that changed."""
        return [(k, v, getattr(rules, k)) for k, v in self.constants.items() if getattr(rules, k) != v]


TARGET = 0.999  # held-out next-state exact on every suite of `ship`'s check before the game offers the experts
TARGET_SUITES = ("iid", "edge", "wide")


@dataclass(frozen=True)
class Manifest:
    router: Router
    experts: dict[str, Expert]
    measured: dict = field(default_factory=dict)  # `rpg-brain ship`'s held-out check: suite -> exact, n, target

    @property
    def meets_target(self) -> bool:
        """Every suite of the ship check at TARGET or above; never measured is not met."""
        exact = self.measured.get("exact", {})
        return bool(exact) and all(exact.get(s, 0.0) >= TARGET for s in TARGET_SUITES)

    def to_json(self) -> dict:
        return {"experts_version": EXPERTS_VERSION,
                "router": {"by": "action", "routes": {k: list(v) for k, v in self.router.routes.items()}},
                "experts": [{"name": e.name, "actions": list(e.actions), "model_dir": e.model_dir,
                             "constants": e.constants, "constants_hash": e.constants_hash,
                             "ruleset_id": e.ruleset_id, "trained": e.trained} for e in self.experts.values()],
                **({"measured": self.measured} if self.measured else {})}


def _need(cond: bool, path: Path, key: str, expected: str, got: object = ...) -> None:
    if not cond:
        tail = "" if got is ... else f", got {got!r}"
        raise ExpertsError(f"{path}: {key}: expected {expected}{tail}")


def read_manifest(directory: Path) -> Manifest:
    """The manifest of an experts directory, validated; ExpertsError names the file and the key."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise ExpertsError(f"{path}: missing (train experts with `rpg-brain train --expert NAME --experts "
                           f"{directory} --data SHARDS`)")
    try:
        d = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExpertsError(f"{path}: invalid JSON ({exc})") from exc
    _need(isinstance(d, dict), path, "(top level)", "an object")
    _need(d.get("experts_version") == EXPERTS_VERSION, path, "experts_version", str(EXPERTS_VERSION),
          d.get("experts_version"))
    r = d.get("router")
    _need(isinstance(r, dict) and r.get("by") == "action" and isinstance(r.get("routes"), dict), path, "router",
          '{"by": "action", "routes": {name: [actions]}}')
    routes = r["routes"]
    for name, acts in routes.items():
        _need(isinstance(acts, list) and all(isinstance(a, str) for a in acts), path, f"router.routes.{name}",
              "a list of action names", acts)
    try:
        router = Router({k: tuple(v) for k, v in routes.items()})
    except ValueError as exc:
        raise ExpertsError(f"{path}: router.routes: {exc}") from exc
    items = d.get("experts")
    _need(isinstance(items, list), path, "experts", "a list")
    experts: dict[str, Expert] = {}
    fields = set(Ruleset.field_names())
    for i, e in enumerate(items):
        where = f"experts[{i}]"
        _need(isinstance(e, dict), path, where, "an object")
        name = e.get("name")
        _need(name in router.routes, path, f"{where}.name", f"a route of the router ({', '.join(router.routes)})",
              name)
        where = f"experts[{i}] ({name})"
        _need(name not in experts, path, f"{where}.name", "one entry per expert", name)
        _need(e.get("actions") == list(router.routes[name]), path, f"{where}.actions",
              f"the router's actions {list(router.routes[name])}", e.get("actions"))
        md = e.get("model_dir")
        _need(isinstance(md, str) and md != "" and not Path(md).is_absolute() and ".." not in Path(md).parts,
              path, f"{where}.model_dir", "a directory name inside the experts directory", md)
        c = e.get("constants")
        _need(isinstance(c, dict), path, f"{where}.constants", "an object {constant: value}", c)
        for k, v in c.items():
            _need(k in fields, path, f"{where}.constants.{k}", "a field of content/rules.toml's [rules]", k)
            _need(isinstance(v, int) and not isinstance(v, bool), path, f"{where}.constants.{k}", "an integer", v)
        _need(e.get("constants_hash") == constants_hash(c), path, f"{where}.constants_hash",
              f"{constants_hash(c)} (the hash of its constants; the manifest was edited by hand?)",
              e.get("constants_hash"))
        experts[name] = Expert(name, tuple(e["actions"]), md, dict(sorted(c.items())), e["constants_hash"],
                               str(e.get("ruleset_id", "")), e.get("trained") if isinstance(e.get("trained"), dict)
                               else {})
    measured = d.get("measured", {})
    exact = measured.get("exact") if isinstance(measured, dict) else None
    _need(isinstance(measured, dict) and (exact is None or (isinstance(exact, dict) and all(
        isinstance(v, float) and 0.0 <= v <= 1.0 for v in exact.values()))), path, "measured",
        '{"exact": {suite: a rate in 0..1}, ...} (written by rpg-brain ship)', measured)
    return Manifest(router, experts, measured)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    write_atomic(Path(directory) / MANIFEST, json.dumps(manifest.to_json(), indent=1) + "\n")


def stale_experts(manifest: Manifest, rules: Ruleset) -> dict[str, list[tuple[str, int, int]]]:
    """Expert name -> its changed constants, for each expert that a content change made stale."""
    return {name: changed for name, e in manifest.experts.items() if (changed := e.stale(rules))}


def _stale_text(name: str, changed: list[tuple[str, int, int]]) -> str:
    what = ", ".join(f"{k} was {old}, content has {new}" for k, old, new in changed)
    return f"expert {name} is stale ({what})"


# ---------------------------------------------------------------- the resolver

class RoutedEngine:
    """The engine calls the failure suites and the lab make (brain/failures.py), each sent to its block's expert.

    A block with no readable action has no expert: ValueError, as for a block the tokenizer cannot encode.
    """

    def __init__(self, router: Router, experts: dict[str, ModelResolver]) -> None:
        self.router, self.experts = router, experts

    def _for(self, block: str):
        return self.experts[self.router.route_block(block)].engine

    def generate(self, blocks: Sequence[str], *args, **kwargs) -> list[str]:
        return [self._for(b).generate([b], *args, **kwargs)[0] for b in blocks]

    def generate_raw(self, block: str, *args, **kwargs) -> str:
        return self._for(block).generate_raw(block, *args, **kwargs)

    def generate_stream(self, block: str, *args, **kwargs):
        return self._for(block).generate_stream(block, *args, **kwargs)


class ExpertsResolver:
    """The resolver protocol over an experts directory: each case goes to its route's ModelResolver.

    `decode` of each Resolution starts with the expert that answered, so the debug pane shows it.
    """

    name = "experts"
    decoder_note = ""

    def __init__(self, directory: Path, manifest: Manifest, experts: dict[str, ModelResolver]) -> None:
        self.model_dir, self.manifest, self.experts = Path(directory), manifest, experts
        self.router = manifest.router
        self.engine = RoutedEngine(self.router, experts)

    @classmethod
    def load(cls, directory: Path, rules: Ruleset, draft: str = "rules", threads: int | None = None,
             allow_stale: bool = False, require_target: bool = False) -> ExpertsResolver:
        """The experts of `directory`; ExpertsError when one is missing or stale, and with `require_target` (the
        game's choice) when `rpg-brain ship`'s held-out check did not find them at TARGET on every suite."""
        directory = Path(directory)
        manifest = read_manifest(directory)
        if require_target and not manifest.meets_target:
            got = ", ".join(f"{s} {v:.2%}" for s, v in manifest.measured.get("exact", {}).items()) or "never measured"
            raise ExpertsError(f"{directory / MANIFEST}: below the accuracy target ({got}; every one of "
                               f"{', '.join(TARGET_SUITES)} must reach {TARGET:.1%}): not offered in play")
        missing = [n for n in manifest.router.routes if n not in manifest.experts]
        if missing:
            raise ExpertsError(f"{directory / MANIFEST}: no trained expert for route {', '.join(missing)} "
                               f"(rpg-brain train --expert {missing[0]} --experts {directory} --data SHARDS)")
        stale = stale_experts(manifest, rules)
        if stale and not allow_stale:
            name, changed = next(iter(stale.items()))
            raise ExpertsError(f"{directory / MANIFEST}: {_stale_text(name, changed)}; retrain with "
                               f"`rpg-brain train --stale --experts {directory} --data SHARDS`")
        experts = {}
        for name, e in manifest.experts.items():
            try:  # its constants were checked above: the global ruleset id may differ, by design
                experts[name] = ModelResolver.load(directory / e.model_dir, rules, threads=threads, draft=draft,
                                                   check_ruleset=False, allow_stale=allow_stale or name in stale)
            except ModelLoadError as exc:
                raise ExpertsError(f"expert {name}: {exc}") from exc
        return cls(directory, manifest, experts)

    @property
    def draft(self) -> str:
        return next(iter(self.experts.values())).draft

    @draft.setter
    def draft(self, value: str) -> None:
        for m in self.experts.values():
            m.draft = value

    @property
    def decoder(self) -> str:
        return "/".join(sorted({m.decoder for m in self.experts.values()}))

    def num_params(self) -> int:
        return sum(m.num_params() for m in self.experts.values())

    def envelopes(self) -> list[tuple[str, Envelope, ModelResolver]]:
        """Each expert's envelope (its route's share of the data) and the expert."""
        return [(f"expert {name}", m.envelope, m) for name, m in self.experts.items() if m.envelope is not None]

    def resolve_batch(self, cases: Sequence[Case]) -> list[Resolution]:
        out: list[Resolution | None] = [None] * len(cases)
        groups: dict[str, list[int]] = {}
        for i, (_, action, _) in enumerate(cases):
            try:
                groups.setdefault(self.router.route(action), []).append(i)
            except ValueError as exc:
                out[i] = Resolution(self.name, "", error=f"model cannot answer: {exc}")
        for name, idx in groups.items():
            answers = self.experts[name].resolve_batch([cases[i] for i in idx])
            for i, res in zip(idx, answers, strict=True):
                note = f"expert {name}" + (f", {res.decode}" if res.decode else "")
                out[i] = replace(res, resolver=self.name, decode=note)
        return [r for r in out if r is not None]


def load_learned(kind: str, path: Path | None, rules: Ruleset, *, draft: str = "rules", threads: int | None = None,
                 allow_stale: bool = False) -> ModelResolver | ExpertsResolver:
    """The single model (`kind` "model") or the experts ("experts") at `path` (None: the shipped one), as every
    stage loads them; ValueError saying which could not be loaded and why."""
    from brain.paths import shipped_experts_dir

    if kind not in ("model", "experts"):
        raise ValueError(f"unknown learned resolver {kind!r}; expected model or experts")
    try:
        if kind == "experts":
            return ExpertsResolver.load(path or shipped_experts_dir(), rules, draft=draft, threads=threads,
                                        allow_stale=allow_stale)
        return ModelResolver.load(path, rules, threads=threads, draft=draft, allow_stale=allow_stale)
    except ValueError as exc:
        raise ValueError(f"cannot load the {kind}: {exc}") from exc


def stale_models(directory: Path, manifest: Manifest) -> dict[str, str]:
    """Expert name -> why its model is stale (brain.checkpoint.stale_reason: no envelope, or data drawn by
    another version of its sampler); the constants are stale_experts' part."""
    from brain.checkpoint import model_envelope, read_config, stale_reason

    out = {}
    for name, e in manifest.experts.items():
        where = Path(directory) / e.model_dir
        try:
            reason = stale_reason(model_envelope(read_config(where), where / "config.json"))
        except ModelLoadError as exc:
            reason = str(exc)
        if reason:
            out[name] = reason
    return out


