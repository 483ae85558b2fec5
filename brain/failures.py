"""Failure-first suites and metrics: where, exactly, a model acting as a rules engine breaks.

Suites (each a function of a resolver; docs/evaluation.md defines them):
- perturb: malformed input blocks (labels misspelt, renamed, duplicated, dropped, fields reordered, extra
  whitespace, truncated, overloaded labels). The gated path (strict parser, then the model) must reject them.
- order: one state under every action, and the same turn with status channels listed in another order.
- ood: values beyond the training ranges (up to twice the maximum seen, within the format).
- chain: the model's own answer fed back for 50 turns against the rules chain.

Metrics (computed from per-case records): label collapse, token drift, boundary confusion.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from game.combat.format import CHANNEL_LABELS, FormatError, encode_input
from game.combat.rules import Event, resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, Ranges, sample_iid
from game.combat.state import ACTIONS, CombatState
from game.combat.validate import diff, flatten
from game.resolve import Resolution, Resolver, check_case

# ------------------------------------------------------------------ records


@dataclass(frozen=True)
class Record:
    """One judged case: the truth and what the resolver said."""

    case: Case
    truth: CombatState
    events: tuple[Event, ...]
    answer: Resolution
    tag: str = ""  # suite-specific label (variant, perturbation kind, chain step)

    @property
    def exact(self) -> bool:
        return self.answer.ok and self.answer.next_state == self.truth

    @property
    def wrong_fields(self) -> list[str]:
        if self.answer.next_state is None:
            return list(flatten(self.truth))
        return [d.field for d in diff(self.truth, self.answer.next_state)]


def judge(resolver: Resolver, cases: Sequence[Case], rules: Ruleset, tags: Sequence[str] | None = None) -> list[Record]:
    answers = resolver.resolve_batch(list(cases))
    out = []
    for i, (case, res) in enumerate(zip(cases, answers, strict=False)):
        o = resolve(*case, rules)
        out.append(Record(case, o.next_state, o.events, res, tags[i] if tags else ""))
    return out


def summary(records: Sequence[Record]) -> dict[str, float | int]:
    n = len(records)
    return {
        "n": n,
        "exact_match": sum(r.exact for r in records) / max(n, 1),
        "parse_failures": sum(1 for r in records if r.answer.error and r.answer.error.startswith("malformed")),
        "invariant_failures": sum(1 for r in records if r.answer.error and r.answer.error.startswith("invariant")),
    }


# ------------------------------------------------------------------ perturb

PERTURBATIONS = ("misspell", "rename", "duplicate", "drop", "whitespace", "reorder", "truncate", "overload")
_FIELDS = (" hp", " pw", " ar", " cd", " do ", " r")
_RENAMES = {" hp": " hl", " pw": " pow", " ar": " arm", " cd": " cool", " do ": " act ", " r": " roll"}


def perturb(block: str, kind: str, rng: random.Random) -> str:
    """One label perturbation of a valid input block."""
    # a field label followed by its value (" r3", not the " r" of " rg02:1")
    spots = {f: [m.start() for m in re.finditer(re.escape(f) + (r"" if f == " do " else r"(?=\d)"), block)]
             for f in _FIELDS}
    label = rng.choice([f for f, at in spots.items() if at])
    at = spots[label][-1 if kind == "duplicate" else 0]
    start = at + len(label)
    end = start
    while end < len(block) and block[end] != " ":
        end += 1
    value = block[start:end]
    if kind == "misspell":
        word = label.strip()
        bad = word[:-1] + ("x" if word[-1] != "x" else "y")
        return block[:at] + label.replace(word, bad) + block[start:]
    if kind == "rename":
        return block[:at] + _RENAMES[label] + block[start:]
    if kind == "duplicate":
        return block[:end] + label + value + block[end:]
    if kind == "drop":
        return block[:at] + block[end:]
    if kind == "whitespace":
        i = rng.choice([i for i, ch in enumerate(block) if ch == " "])
        return block[:i] + rng.choice(["  ", "\t", " \u00a0"]) + block[i + 1:]
    if kind == "reorder":  # swap two fixed-order fields of one side
        side = block.split(" B ")[0]
        pw, ar = side.index(" pw"), side.index(" ar")
        swapped = side[:pw] + side[ar:ar + 5] + side[pw:pw + 5] + side[ar + 5:]
        return swapped + block[len(side):]
    if kind == "truncate":
        return block[:rng.randrange(1, len(block) - 1)]
    if kind == "overload":  # one label carrying two values
        extra = "".join(rng.choice("0123456789") for _ in value[-2:] or "0")
        return block[:end] + "," + extra + block[end:]
    raise ValueError(f"unknown perturbation {kind!r}")


@dataclass(frozen=True)
class PerturbResult:
    kind: str
    block: str
    rejected: bool  # the gated path refused it with an error
    error: str | None
    # Ungated answers, judged against the turn the block was perturbed from (None: not measured).
    # "plausible": parses and passes every invariant, i.e. the game would have applied it silently.
    ungated_plausible: bool | None = None  # constrained decoding, no strict parser in front
    ungated_right: bool | None = None  # ... and it is even the rules' answer to the unperturbed turn
    raw_plausible: bool | None = None  # unconstrained decoding: the bare model writing the format itself


Answers = Callable[[list[str]], list[str | None]]


def perturb_suite(resolver: Resolver, n: int, seed: int, rules: Ruleset, ungated_answer: Answers | None = None,
                  raw_answer: Answers | None = None) -> list[PerturbResult]:
    """Gated: strict parse then the resolver. Ungated: the text given to the model as is."""
    from game.resolve import resolve_blocks

    rng = random.Random(f"perturb:{seed}")
    blocks, kinds, origins = [], [], []
    for i in range(n):
        kind = PERTURBATIONS[i % len(PERTURBATIONS)]
        case = sample_iid(rng, rules)
        blocks.append(perturb(encode_input(*case), kind, rng))
        kinds.append(kind)
        origins.append(case)
    gated = resolve_blocks(resolver, blocks, rules)
    ungated = ungated_answer(blocks) if ungated_answer else [None] * n
    raws = raw_answer(blocks) if raw_answer else [None] * n
    out = []
    for kind, block, case, res, ung, raw in zip(kinds, blocks, origins, gated, ungated, raws, strict=True):
        plausible = right = None
        if ung is not None:
            nxt = _applied_state(ung, case)
            plausible = nxt is not None
            right = plausible and nxt == resolve(*case, rules).next_state
        out.append(PerturbResult(kind, block, not res.ok, res.error, plausible, right,
                                 None if raw is None else _applied_state(raw, case) is not None))
    return out


def ungated_answers(resolver: Resolver, blocks: list[str]) -> list[str | None]:
    """The model's constrained answer to each block as written, no parser in front; None where the block
    cannot be tokenised."""
    out: list[str | None] = []
    for block in blocks:
        try:
            out.append(resolver.engine.generate([block])[0])  # type: ignore[attr-defined]
        except ValueError:
            out.append(None)
    return out


def raw_answers(resolver: Resolver, blocks: list[str], limit: int = 100) -> list[str | None]:
    """The bare model's unconstrained answer to the first `limit` blocks (batch 1, slow); None elsewhere."""
    out: list[str | None] = []
    for block in blocks[:limit]:
        try:
            out.append(resolver.engine.generate_raw(block))  # type: ignore[attr-defined]
        except ValueError:
            out.append(None)
    return out + [None] * (len(blocks) - len(out))


def _applied_state(answer: str, case: Case) -> CombatState | None:
    """The state the game would have applied for this answer to the turn the block came from: it parses and
    breaks no invariant (a plausible answer), else None."""
    from game.combat.format import parse_answer
    from game.combat.validate import check_transition

    try:
        nxt = parse_answer(answer, case[0])[1]
    except FormatError:
        return None
    return None if check_transition(case[0], case[1], nxt) else nxt


# ------------------------------------------------------------------ order, ood


def order_cases(n: int, seed: int, rules: Ruleset) -> tuple[list[Case], list[str]]:
    """n states under every action, plus each with its status channels written in reverse order."""
    rng = random.Random(f"order:{seed}")
    cases, tags = [], []
    for i in range(n):
        state, _, roll = sample_iid(rng, rules)
        for action in ACTIONS:
            cases.append((state, action, roll))
            tags.append(f"state{i}:action:{action}")
    return cases, tags


def reversed_status_block(case: Case) -> str:
    """The same input with each side's status channels in reverse canonical order (still valid input)."""
    block = encode_input(*case)
    head, _, tail = block.partition(" do ")
    sides = head.split(" B ")
    fixed = []
    for side in sides:
        parts = side.split(" ")
        statuses = [p for p in parts if p[:2] in CHANNEL_LABELS.values() and p[2:3].isdigit()]
        rest = [p for p in parts if p not in statuses]
        fixed.append(" ".join(rest + statuses[::-1]))
    return " B ".join(fixed) + " do " + tail


def ood_cases(n: int, seed: int, rules: Ruleset) -> list[Case]:
    """Cases with at least one value beyond the training ranges (and that the format can still write)."""
    base, wide = Ranges(), Ranges().doubled()
    rng = random.Random(f"ood:{seed}")
    out: list[Case] = []
    while len(out) < n:
        case = sample_iid(rng, rules, wide)
        state = case[0]
        beyond = (state.turn > base.turn
                  or any(c.max_hp > base.max_hp or c.power > base.power or c.armor > base.armor
                         or any(v > base.cooldown for v in c.cooldowns)
                         or any(s.turns > base.duration for _, s in c.active())
                         for c in (state.actor, state.target)))
        if beyond and check_case(*case, rules) is None:
            out.append(case)
    return out


# ------------------------------------------------------------------ chain

CHAIN_SCRIPT = ("attack", "guard", "attack", "poison_strike", "attack", "brace", "ignite", "attack",
                "heal", "attack", "cleanse", "wait")


def chain(resolver: Resolver, start: CombatState, turns: int, seed: int, rules: Ruleset) -> list[Record]:
    """Feed the resolver's own answers back for up to `turns` turns (a fight ends earlier when a side falls);
    each record compares it with the rules
    applied to the same (model-produced) state, and `tag` says whether the chain had already left the
    rules chain. The rules chain is followed separately for the divergence turn."""
    rng = random.Random(f"chain:{seed}")
    records = []
    model_state, rules_state = start, start
    for t in range(turns):
        if any(c.hp == 0 for st in (model_state, rules_state) for c in (st.actor, st.target)):
            break  # the fight is over: no turn is played against a downed side (docs/rules.md)
        action, roll = CHAIN_SCRIPT[t % len(CHAIN_SCRIPT)], rng.randint(1, rules.roll_max)
        res = resolver.resolve_batch([(model_state, action, roll)])[0]
        truth = resolve(rules_state, action, roll, rules)
        on_track = model_state == rules_state
        records.append(Record((model_state, action, roll), truth.next_state, truth.events, res,
                              f"step{t}:{'on' if on_track else 'off'}"))
        # a failed answer falls back to the rules, as in the game
        nxt = res.next_state if res.ok and res.next_state else resolve(model_state, action, roll, rules).next_state
        model_state, rules_state = nxt.swapped(), truth.next_state.swapped()
    return records


def chain_starts(n: int, seed: int, rules: Ruleset) -> list[CombatState]:
    """Fresh fights like the game's: full hp, no statuses, cooldowns ready, turn 0."""
    rng = random.Random(f"chain-start:{seed}")
    out = []
    for _ in range(n):
        state, _, _ = sample_iid(rng, rules)
        a, b = (replace(c, hp=c.max_hp, cooldowns=(0,) * 6, statuses=(None,) * 7) for c in (state.actor, state.target))
        out.append(CombatState(0, replace(a, max_hp=max(a.max_hp, 20), hp=max(a.max_hp, 20)),
                               replace(b, max_hp=max(b.max_hp, 20), hp=max(b.max_hp, 20))))
    return out


# ------------------------------------------------------------------ metrics


def label_collapse(records: Sequence[Record]) -> dict[str, float | int]:
    """Share of wrong field values that are the field's most frequent value in the truths (its mode)
    where the truth was something else: the model falling back on the commonest label."""
    modes: dict[str, int | None] = {}
    counts: dict[str, Counter] = {}
    for r in records:
        for k, v in flatten(r.truth).items():
            counts.setdefault(k, Counter())[v] += 1
    for k, c in counts.items():
        modes[k] = c.most_common(1)[0][0]
    wrong = collapsed = 0
    for r in records:
        if r.answer.next_state is None:
            continue
        pred = flatten(r.answer.next_state)
        for d in diff(r.truth, r.answer.next_state):
            wrong += 1
            if pred[d.field] == modes.get(d.field) and d.left != modes.get(d.field):
                collapsed += 1
    return {"value": collapsed / wrong if wrong else 0.0, "wrong_fields": wrong, "collapsed": collapsed}


def _field_order(state: CombatState) -> list[str]:
    return list(flatten(state))


def token_drift(records: Sequence[Record], chain_records: Sequence[Record] = ()) -> dict[str, float | int]:
    """Errors that grow with position. Within a block: the error rate of the last third of the state's
    fields minus the first third. Along chains: the share of off-track turns in the second half minus the
    first half. `value` is the chain figure when chains were run, else the block figure."""
    fields = _field_order(records[0].truth) if records else []
    third = max(len(fields) // 3, 1)
    early, late = set(fields[:third]), set(fields[-third:])
    e = late_n = 0
    for r in records:
        wrong = set(r.wrong_fields) if r.answer.next_state is not None else set()
        e += len(wrong & early)
        late_n += len(wrong & late)
    n = max(len(records), 1) * third
    block = late_n / n - e / n
    out: dict[str, float | int] = {"block_late_minus_early": block}
    if chain_records:
        by_run: dict[int, list[bool]] = {}
        run = -1
        for r in chain_records:
            if r.tag.startswith("step0:"):
                run += 1
            by_run.setdefault(run, []).append(not r.exact or r.tag.endswith(":off"))
        halves = []
        for steps in by_run.values():
            h = len(steps) // 2
            halves.append((sum(steps[:h]) / max(h, 1), sum(steps[h:]) / max(len(steps) - h, 1)))
        first = sum(a for a, _ in halves) / len(halves)
        second = sum(b for _, b in halves) / len(halves)
        out.update(chain_first_half=first, chain_second_half=second, value=second - first)
    else:
        out["value"] = block
    return out


def at_boundary(r: Record) -> bool:
    """A case whose truth sits on a value boundary: hp ends at 0 or 1, a duration runs 1 -> 0,
    a cooldown reaches 0."""
    t = r.truth
    if any(c.hp in (0, 1) for c in (t.actor, t.target)):
        return True
    return any(e.rule in ("status_expires", "cooldown_ready", "shield_breaks") for e in r.events)


def boundary_confusion(records: Sequence[Record]) -> dict[str, float | int]:
    """Error rate at value boundaries divided by the error rate away from them (1.0: no confusion)."""
    at = [r for r in records if at_boundary(r)]
    away = [r for r in records if not at_boundary(r)]
    err_at = sum(not r.exact for r in at) / max(len(at), 1)
    err_away = sum(not r.exact for r in away) / max(len(away), 1)
    ratio = err_at / err_away if err_away else (float("inf") if err_at else 1.0)
    return {"value": ratio, "error_at_boundary": err_at, "error_away": err_away,
            "n_at_boundary": len(at), "n_away": len(away)}


# ------------------------------------------------------------------ every suite at once


class CachingResolver:
    """Answers each case once, so the evaluation tables and the metrics share one decoding pass."""

    def __init__(self, inner: Resolver) -> None:
        self.inner, self.name = inner, inner.name
        self.cache: dict[Case, Resolution] = {}

    def resolve_batch(self, cases: Sequence[Case]) -> list[Resolution]:
        todo = list(dict.fromkeys(c for c in cases if c not in self.cache))
        for case, res in zip(todo, self.inner.resolve_batch(todo) if todo else [], strict=True):
            self.cache[case] = res
        return [self.cache[c] for c in cases]


def _text_answers(resolver: Resolver, blocks: list[str], cases: list[Case]) -> list[Resolution]:
    """Answers to input texts as written (non-canonical order included), judged like the game judges."""
    from game.resolve import judge_answer

    engine = getattr(resolver, "engine", None)
    if engine is None:  # a resolver that only takes parsed cases cannot see the order at all
        return resolver.resolve_batch(cases)
    texts = engine.generate(blocks)
    return [judge_answer(resolver.name, s, a, t, 0.0) for (s, a, _), t in zip(cases, texts, strict=True)]


def run_all(resolver: Resolver, rules: Ruleset, n: int = 1000, ungated_answer: Answers | None = None,
            raw_answer: Answers | None = None,
            chains: int = 10, chain_turns: int = 50, seed: int = 0) -> dict:
    """Every suite and the three metrics, as `rpg-brain eval --suite all` reports them."""
    from brain.evaluate import evaluate, held_out

    cached = CachingResolver(resolver)
    out: dict = {}
    records: dict[str, list[Record]] = {}
    for suite in ("iid", "edge"):
        cases = held_out(suite, n, rules)
        out[suite] = evaluate(cached, cases, rules)
        records[suite] = judge(cached, cases, rules)
    cases = ood_cases(n, seed, rules)
    out["ood"] = evaluate(cached, cases, rules)
    records["ood"] = judge(cached, cases, rules)

    cases, tags = order_cases(max(n // len(ACTIONS), 1), seed, rules)
    out["order"] = evaluate(cached, cases, rules)
    records["order"] = judge(cached, cases, tags=tags, rules=rules)
    reordered = [reversed_status_block(c) for c in cases]
    again = _text_answers(resolver, reordered, cases)
    same = sum(a.raw == cached.cache[c].raw for a, c in zip(again, cases, strict=True))
    truth = [r.truth for r in records["order"]]
    right = sum(a.ok and a.next_state == t for a, t in zip(again, truth, strict=True))
    out["order"]["status_reversed_exact"] = right / len(cases)
    out["order"]["status_reversed_agreement"] = same / len(cases)
    per_state: dict[str, bool] = {}
    for r in records["order"]:
        key = r.tag.split(":")[0]
        per_state[key] = per_state.get(key, True) and r.exact
    out["order"]["all_actions_right_share"] = sum(per_state.values()) / max(len(per_state), 1)

    perturbed = perturb_suite(resolver, max(n // 2, len(PERTURBATIONS)), seed, rules, ungated_answer, raw_answer)
    by_kind: dict[str, dict] = {}
    for p in perturbed:
        k = by_kind.setdefault(p.kind, Counter())
        k["n"] += 1
        k["rejected"] += p.rejected
        for name in ("ungated_plausible", "ungated_right", "raw_plausible"):
            value = getattr(p, name)
            if value is not None:
                k[name + "_measured"] += 1
                k[name] += value

    def rate(name: str) -> float | None:
        measured = sum(k[name + "_measured"] for k in by_kind.values())
        return sum(k[name] for k in by_kind.values()) / measured if measured else None

    out["perturb"] = {
        "n": len(perturbed),
        "gated_rejection_rate": sum(p.rejected for p in perturbed) / len(perturbed),
        "ungated_plausible_rate": rate("ungated_plausible"), "ungated_right_rate": rate("ungated_right"),
        "raw_plausible_rate": rate("raw_plausible"),
        "by_kind": {kind: dict(c) for kind, c in by_kind.items()},
    }

    chain_records = []
    first_off = []
    for i, start in enumerate(chain_starts(chains, seed, rules)):
        run = chain(cached, start, chain_turns, seed + i, rules)
        chain_records.extend(run)
        first_off.append(next((t for t, r in enumerate(run) if not r.exact), None))
    on_track = [not r.tag.endswith(":off") and r.exact for r in chain_records]
    out["chain"] = {
        "runs": chains, "turns": chain_turns,
        "on_track_share": sum(on_track) / max(len(on_track), 1),
        "runs_never_diverged": sum(f is None for f in first_off),
        "mean_turns": len(chain_records) / max(chains, 1),
        # over the runs that diverged at all (None when none did)
        "mean_first_divergence_turn": (sum(f for f in first_off if f is not None)
                                       / max(1, sum(f is not None for f in first_off))
                                       if any(f is not None for f in first_off) else None),
    }
    judged = records["iid"] + records["edge"] + records["ood"] + records["order"]
    out["label_collapse"] = label_collapse(judged)
    out["token_drift"] = token_drift(records["iid"] + records["edge"], chain_records)
    out["boundary_confusion"] = boundary_confusion(records["iid"] + records["edge"])
    return out


def all_table(result: dict) -> str:
    """The failure-first table of the report."""
    rows = ["| suite | n | next-state exact | notes |", "|---|---|---|---|"]
    for s in ("iid", "edge", "ood", "order"):
        r = result[s]
        note = ""
        if s == "order":
            note = (f"status order reversed: {r['status_reversed_exact']:.2%} exact, "
                    f"{r['status_reversed_agreement']:.2%} same answer; all 8 actions right for "
                    f"{r['all_actions_right_share']:.2%} of states")
        else:
            note = f"parse fail {r['parse_failures']}, invariant fail {r['invariant_failures']}"
        rows.append(f"| {s} | {r['n']} | {r['state_exact']:.2%} | {note} |")
    p = result["perturb"]
    pct = lambda v: "not measured" if v is None else f"{v:.2%}"
    rows.append(f"| perturb | {p['n']} | - | gated path rejects {p['gated_rejection_rate']:.2%}; ungated, the model's "
                f"answer would pass as plausible for {pct(p['ungated_plausible_rate'])} (and be the right answer to "
                f"the unperturbed turn for {pct(p['ungated_right_rate'])}); unconstrained, it writes a plausible "
                f"state for {pct(p['raw_plausible_rate'])} |")
    c = result["chain"]
    first = c["mean_first_divergence_turn"]
    mean_turns = c.get("mean_turns", c["turns"])
    rows.append(f"| chain | {c['runs']} fights of up to {c['turns']} turns (mean {mean_turns:.1f}) "
                f"| {c['on_track_share']:.2%} of turns on the rules chain | {c['runs_never_diverged']}/{c['runs']} "
                f"runs never diverged" + ("" if first is None else f"; mean first divergence at turn {first:.1f}")
                + " |")
    lc, td, bc = result["label_collapse"], result["token_drift"], result["boundary_confusion"]
    rows += ["", "| metric | value | detail |", "|---|---|---|",
             f"| label collapse | {lc['value']:.3f} | {lc['collapsed']} of {lc['wrong_fields']} wrong fields hold "
             "the field's commonest value |",
             f"| token drift | {td['value']:+.3f} | chain off-track share {td.get('chain_first_half', 0):.3f} (turns "
             f"1-25) -> {td.get('chain_second_half', 0):.3f} (26-50); within a block late-minus-early field error "
             f"{td['block_late_minus_early']:+.4f} |",
             f"| boundary confusion | {bc['value']:.2f} | error {bc['error_at_boundary']:.2%} at boundaries "
             f"(n {bc['n_at_boundary']}) vs {bc['error_away']:.2%} away (n {bc['n_away']}) |"]
    return "\n".join(rows)
