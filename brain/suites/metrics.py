"""The failure metrics, computed from judged records: label collapse, token drift, boundary confusion."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from brain.suites.records import Record
from game.combat.state import CombatState
from game.combat.validate import diff, flatten


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
    out: dict[str, float | int] = {"block_late_minus_early": block, "early_wrong": e, "late_wrong": late_n}
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
    answered = [r for r in records if not r.answer.declined]  # a turn outside the envelope was not asked
    at = [r for r in answered if at_boundary(r)]
    away = [r for r in answered if not at_boundary(r)]
    wrong_at, wrong_away = sum(not r.exact for r in at), sum(not r.exact for r in away)
    err_at = wrong_at / max(len(at), 1)
    err_away = wrong_away / max(len(away), 1)
    ratio = err_at / err_away if err_away else (float("inf") if err_at else 1.0)
    # near zero errors the ratio says little: the counts say how little
    return {"value": ratio, "error_at_boundary": err_at, "error_away": err_away, "wrong_at_boundary": wrong_at,
            "wrong_away": wrong_away, "n_at_boundary": len(at), "n_away": len(away)}
