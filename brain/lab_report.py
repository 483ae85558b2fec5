"""Report sections for the failure-first evaluation, capability per megabyte, model forms and the play loop.

The failure-first section is measured afresh by `rpg-brain report`. The sweep, the forms and the play
loop take minutes to hours of training, so their own commands write JSON under brain/reports/ and the
report renders what is there (and names the command when it is missing).
"""

from __future__ import annotations

import json
from pathlib import Path

from brain.failures import all_table, run_all
from brain.train import PRESETS
from game.combat.judge import Resolver
from game.combat.ruleset import Ruleset


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2%}"


def failure_section(resolver: Resolver, rules: Ruleset, n: int, ungated, raw) -> tuple[str, dict]:
    result = run_all(resolver, rules, n=n, ungated_answer=ungated, raw_answer=raw)
    text = "\n".join(["## Failure-first evaluation (`rpg-brain eval --suite all`)", "",
                      "Definitions in docs/evaluation.md.", "", all_table(result), "", failure_lesson(result), ""])
    return text, result


def failure_lesson(result: dict) -> str:
    """What `run_all`'s figures say about the format, in one paragraph."""
    iid, ood, probe, order = result["iid"], result["ood"], result["probe"], result["order"]
    p, c = result["perturb"], result["chain"]
    lc, td, bc = result["label_collapse"], result["token_drift"], result["boundary_confusion"]
    rates = {name: v["unguarded_exact"] for name, v in ood["models"].items() if v.get("unguarded_exact") is not None}
    unguarded = [f"{v:.1%}" + (f" ({name})" if len(rates) > 1 else "") for name, v in rates.items()]
    bare = (f" Without the guard the bare model would have been right on {', '.join(unguarded)} of those `ood` "
            "turns." if unguarded else "")
    return (
        f"What the failures teach about the format. Inside its envelope the model is an arithmetic engine "
        f"({iid['state_exact']:.1%} next-state exact on iid). Outside it a tiny model answers anyway and is "
        f"silently wrong: the digits a field never showed in training are unknown tokens in all but name. So the "
        f"envelope is part of the model (recorded in its config.json) and guarded at the door: a turn outside it "
        f"is declined and the rules resolve it. Silent answers outside the envelope: {ood['silent']} of "
        f"{ood['n']} `ood` turns (the whole format beyond it) and {probe['silent']} of {probe['n']} `probe` turns "
        f"(one field just past a bound).{bare} The grammar is the other half of the model: the training loss "
        f"skips grammar-forced tokens, so unconstrained the bare model writes a plausible state for "
        f"{_pct(p['raw_plausible_rate'])} of perturbed blocks; it never learned the labels, only what goes "
        f"between them. Without the strict parser in front, the constrained model would have passed "
        f"{_pct(p['ungated_plausible_rate'])} of the malformed blocks as plausible turns (right for "
        f"{_pct(p['ungated_right_rate'])}): a malformed label is silently read as some other turn, which is why "
        f"the gate exists (it rejects {p['gated_rejection_rate']:.1%}). Status channels written out of canonical "
        f"order cost {100 * (order['state_exact'] - order['status_reversed_exact']):.1f} points of exact match: the "
        f"model learned positions as well as labels. Label collapse is {lc['value']:.2f} (wrong fields falling back "
        f"on the commonest value), boundary confusion {bc['value']:.2f} (errors at 0/1 boundaries relative to "
        f"elsewhere), and token drift {td['value']:+.3f} along {c['runs']} chains of {c['turns']} turns "
        f"({c['on_track_share']:.1%} of turns on the rules chain).")


def converge_section(reports: Path) -> str:
    """The size curve: the sweep.md that `rpg-brain sweep --sizes` (or `--combine`) wrote, under its own title."""
    path = reports / "sweep" / "converge" / "sweep.md"
    command = "(`rpg-brain sweep --sizes`)"
    if not path.exists():
        return (f"## Size curve {command}\n\nNot measured yet: `rpg-brain sweep --data DIR --sizes 1x32,2x32,2x64 "
                "--budget-s S`.\n")
    title, body = path.read_text().split("\n", 1)
    return f"#{title.strip()} {command}\n\n{body.strip()}\n"


def sweep_section(reports: Path) -> str:
    from brain.sweep import plots, sweep_table

    path = reports / "sweep" / "sweep.json"
    head = ["## Capability per megabyte (`rpg-brain sweep`)", ""]
    if not path.exists():
        return "\n".join([*head, "Not measured yet: `rpg-brain sweep --depths 1,2,3,4,6 --minutes 2`.", ""])
    saved = json.loads(path.read_text())
    rows = saved["rows"]
    text, png = plots(rows, path.parent)
    best = max(rows, key=lambda r: r["iid"])
    knee = _knee(rows)
    out = [*head, f"Each depth trained for {saved['minutes']} minutes of wall clock with the default recipe "
           "(same data stream, learning rate and schedule shape; steps from the measured step time), then "
           "measured on every suite. `iid`..`order` are next-state exact match; chain is the share of turns on "
           "the rules chain.", "", sweep_table(rows), "", "```", text, "```", ""]
    if png is not None:
        out += [f"![capability per megabyte]({png.relative_to(reports)})", ""]
    out += [f"**Knee of the curve: depth {knee['depth']}** ({knee['params']:,} parameters, "
            f"{knee['weights_mb']:.2f} MB, {knee['iid']:.1%} iid): the smallest model within 2 points of the best "
            f"iid exact match in this budget (depth {best['depth']}, {best['iid']:.1%}, {best['weights_mb']:.2f} MB). "
            "Equal wall clock buys a larger model proportionally fewer examples, so this is capability per megabyte "
            "at equal training cost on this CPU, not at convergence.", ""]
    default = next((r for r in rows if r["depth"] == PRESETS["default"].depth), None)
    if default is not None:
        out += [_why_default(default, rows, knee), ""]
    return "\n".join(out)


def _why_default(row: dict, rows: list[dict], knee: dict) -> str:
    """The default depth against its neighbours in the sweep, in numbers."""
    step = lambda r: r["train_s"] / r["steps"]
    pts = lambda a, b: f"{100 * (a['iid'] - b['iid']):+.1f} points"
    text = (f"Why the default is depth {row['depth']} ({row['params']:,} parameters, {row['weights_mb']:.2f} MB): "
            f"here it reaches {row['iid']:.1%} iid at {row['batch1_p50_ms']:.1f} ms per turn (p50, numpy decoder).")
    smaller = [r for r in rows if r["depth"] < row["depth"]]
    bigger = [r for r in rows if r["depth"] > row["depth"]]
    if smaller:
        s = smaller[-1]
        text += (f" Depth {s['depth']} is {row['weights_mb'] / s['weights_mb']:.1f}x smaller and answers in "
                 f"{s['batch1_p50_ms']:.1f} ms, but the default is {pts(row, s)} ahead of it.")
    if bigger:
        b = bigger[0]
        text += (f" Depth {b['depth']} costs {b['weights_mb'] / row['weights_mb']:.1f}x the bytes, "
                 f"{step(b) / step(row):.1f}x the training step and {b['batch1_p50_ms']:.1f} ms per turn, and in "
                 f"the same budget lands {pts(b, row)} from the default.")
    if knee["depth"] == row["depth"]:
        return text + " So the default sits at the knee."
    if knee["depth"] < row["depth"]:
        return text + f" The knee is smaller than the default: depth {row['depth']} is kept for those extra points."
    return text + (f" The knee is larger than the default: depth {knee['depth']} holds more in this budget, and "
                   "the default trades that for latency and training time.")


def _knee(rows: list[dict]) -> dict:
    """The smallest depth whose iid exact match is within 2 points of the best."""
    best = max(r["iid"] for r in rows)
    return min((r for r in rows if r["iid"] >= best - 0.02), key=lambda r: r["params"])


def forms_section(reports: Path) -> str:
    from brain.export import forms_table

    path = reports / "forms.json"
    head = ["## Model forms (`rpg-brain export`)", ""]
    if not path.exists():
        return "\n".join([*head, "Not measured yet: `rpg-brain export`.", ""])
    return "\n".join([*head, forms_table(json.loads(path.read_text())), ""])


def _measured_on(d: dict) -> list[str]:
    """Which weights a loop round started from, and a warning when the model at that path has changed since."""
    config = Path(d["base"]) / "config.json"
    recorded = d["base_weights_sha256"]
    now = json.loads(config.read_text()).get("weights_sha256") if config.exists() else None
    line = f"Base model: `{d['base']}`, weights sha256 {recorded[:16]}..."
    if now != recorded:
        line += (f" **Stale:** the model at that path is now {str(now)[:16]}...; these figures are of the earlier "
                 "model. Rerun `bash scripts/close_the_loop.sh`.")
    return [line, ""]


def loop_section(reports: Path) -> str:
    path = reports / "loop.json"
    head = ["## Play logs back into training (`scripts/close_the_loop.sh`)", ""]
    if not path.exists():
        return "\n".join([*head, "Not measured yet: `bash scripts/close_the_loop.sh`.", ""])
    d = json.loads(path.read_text())
    head += _measured_on(d)
    arena = lambda a: (f"{a['combat_turns']} combat turns, {a['divergences']} divergences "
                       f"({a['divergences_per_1000']:.1f} per 1000), {a['fallbacks']} fallbacks, "
                       f"{a['games_lost_to_crash']} games lost to a crash")
    cmp = d["compare"]
    return "\n".join([
        *head,
        f"Arena logs for training: seeds {d['train_seeds']}, {d['ingest']['counts']['train']} play rows kept "
        f"({json.dumps(d['ingest']['ingest'])}).", "",
        "| model | play held-out | iid | edge | arena on fresh seed " + str(d["fresh_seed"]) + " |",
        "|---|---|---|---|---|",
        f"| before | {_pct(cmp['before']['play_heldout'])} | {_pct(cmp['before']['iid'])} | "
        f"{_pct(cmp['before']['edge'])} | {arena(d['fresh_before'])} |",
        f"| after | {_pct(cmp['after']['play_heldout'])} | {_pct(cmp['after']['iid'])} | "
        f"{_pct(cmp['after']['edge'])} | {arena(d['fresh_after'])} |", ""])


def experts_section(reports: Path) -> str:
    """Issue 25: the composed experts beside the single model (scripts/experts_compare.py writes experts.json),
    the one-constant changes each side absorbed, and the issue's three "wins" tests read off those figures."""
    path = reports / "experts.json"
    head = ["## Experts versus the single model (`scripts/experts_compare.py`)", ""]
    if not path.exists():
        return "\n".join([*head, "Not measured yet: `PYTHONPATH=. python scripts/experts_compare.py --model "
                          "brain/models/default --experts brain/models/experts`.", ""])
    d = json.loads(path.read_text())
    s, e = d["single"], d["composed"]
    phases = {p["dir"]: p for x in e["training"]["per_expert"].values() for p in x["phases"]}  # shared ones once
    composed_examples = sum(p["examples"] or 0 for p in phases.values())
    composed_seconds = sum(p["seconds"] or 0 for p in phases.values())
    routes = "; ".join(f"{k}: {', '.join(v)}" for k, v in d["routes"].items())
    row = lambda label, f: f"| {label} | {f(s)} | {f(e)} |"
    pct = lambda v: _pct(v)
    out = [*head, f"Router by action ({routes}). Same held-out blocks, failure-suite seed and arena game seeds "
           f"{d['single']['arena']['seeds']} for both sides (each side plays its own fights).", "",
           "| measure | single model | experts |", "|---|---|---|"]
    for suite in s["held_out"]:
        out.append(row(f"held-out {suite} exact (n {s['held_out'][suite]['n']})",
                       lambda x, suite=suite: pct(x["held_out"][suite]["exact"])))
    f = lambda key, fmt: (lambda x: fmt(x["failures"][key]) if key in x["failures"] else "not measured")
    out += [row("silent answers outside the envelope (ood, probe)",
                lambda x: f"{x['failures'].get('ood_silent', 'n/a')}, {x['failures'].get('probe_silent', 'n/a')}"),
            row("order: status order reversed, exact", f("order_reversed_exact", pct)),
            row("perturbed blocks rejected (gated)", f("perturb_rejected", pct)),
            row("chain: turns on the rules chain", f("chain_on_track", pct)),
            row("label collapse / token drift / boundary confusion",
                lambda x: f"{x['failures']['label_collapse']:.3f} / {x['failures']['token_drift']:+.3f} / "
                          f"{x['failures']['boundary_confusion']:.2f}"),
            row("arena divergences per 1,000 combat turns",
                lambda x: f"{x['arena']['per_1000']:.2f} ({x['arena']['divergences']} in "
                          f"{x['arena']['combat_turns']:,})"),
            row("parameters", lambda x: f"{x['size']['params']:,}"),
            row("bytes fp32 / int8", lambda x: f"{x['size']['fp32_bytes'] / 1e3:.0f} KB / "
                                               f"{x['size']['int8_bytes'] / 1e3:.0f} KB"),
            row("batch-1 p50 / p95 (game path)", lambda x: f"{x['latency']['batch1_p50_ms']:.2f} / "
                                                           f"{x['latency']['batch1_p95_ms']:.2f} ms"),
            f"| training behind the weights (every phase on this machine) | {_least(s['training'])}"
            f"{s['training']['examples']:,} examples, {s['training']['seconds'] / 60:.1f} min | "
            f"{_least(*e['training']['per_expert'].values())}{composed_examples:,} examples, "
            f"{composed_seconds / 60:.1f} min (phases shared with the single model counted once) |", ""]
    recs = d.get("recoveries") or ([d["recovery"]] if d.get("recovery") else [])
    for rec in recs:
        out += _recovery_rows(rec)
    out += _wins(d, recs)
    return "\n".join(out)


def _least(*training: dict) -> str:
    """"at least " where a phase's init is not on this machine (experts_compare.compute: `missing`)."""
    missing = sorted({t["missing"] for t in training if t.get("missing")})
    return f"at least (before {', '.join(missing)}: not here) " if missing else ""


def _recovery_rows(rec: dict) -> list[str]:
    pct = lambda v: "-" if v is None else _pct(v)
    goal = (f"back to within {rec['slack']:.1%} of its own pre-change accuracy" if rec.get("slack") is not None
            else f"{rec['target']:.1%} on iid, edge and wide")
    out = [f"After a one-constant change ({rec['constant']} {rec['from']} -> {rec['to']}; stale experts: "
           f"{', '.join(rec['stale_experts']) or 'none'}), each side trained from its own weights on the same "
           f"changed-rules shards, evaluated every {rec['sides']['single']['curve'][1]['steps']} steps "
           f"(held-out n {rec.get('eval_n', '?')}, seed {rec.get('eval_seed', '?')}), until {goal}:", "",
           "| side | before the change (iid / edge / wide) | reached | steps | examples | GFLOPs | train s | "
           "at the end (iid / edge / wide) |", "|---|---|---|---|---|---|---|---|"]
    for side, r in rec["sides"].items():
        last = r["curve"][-1]
        before = rec["before_change"][side]
        flops = f"{last['flops'] / 1e9:.1f}" if "flops" in last else "-"
        out.append(f"| {side} | {' / '.join(pct(before[k]) for k in ('iid', 'edge', 'wide'))} | {r['reached']} | "
                   f"{last['steps']} | {last['examples']:,} | {flops} | {last['seconds']:.0f} | "
                   f"{' / '.join(pct(last.get(k)) for k in ('iid', 'edge', 'wide'))} |")
    e_to, s_to = rec["sides"]["experts"]["to_target"], rec["sides"]["single"]["to_target"]
    if e_to and s_to and s_to["examples"]:
        ratio = lambda k: f"{e_to[k] / s_to[k]:.2f}" if s_to.get(k) else "-"
        out += ["", f"Experts over single to the goal: {ratio('examples')} of the examples, {ratio('flops')} of the "
                f"FLOPs, {ratio('seconds')} of the training time (at the granularity of one evaluation interval)."]
    out.append("")
    return out


def _wins(d: dict, recs: list[dict]) -> list[str]:
    """The issue's test: bytes <= 1/2 or p95 <= 2/3 of the single model's, and a rule change absorbed with <= 1/3 of
    its compute (FLOPs), both sides at the target. Read off the figures above, nothing else."""
    s, e = d["single"], d["composed"]
    byte_ratio = e["size"]["params"] / s["size"]["params"]
    p95_ratio = e["latency"]["batch1_p95_ms"] / s["latency"]["batch1_p95_ms"]
    lines = ["The issue's \"composition wins\" tests, from the rows above:", "",
             f"- bytes: experts {byte_ratio:.2f} of the single model's (wins at <= 0.50): "
             f"{'met' if byte_ratio <= 0.5 else 'not met'};",
             f"- p95 on the game path: {p95_ratio:.2f} of the single model's (wins at <= 0.67): "
             f"{'met' if p95_ratio <= 2 / 3 else 'not met'};"]
    changes_met = bool(recs)
    for rec in recs:
        e_to, s_to = rec["sides"]["experts"]["to_target"], rec["sides"]["single"]["to_target"]
        if e_to and s_to and s_to.get("flops"):
            r = e_to["flops"] / s_to["flops"]
            met = r <= 1 / 3
            verdict = f"{r:.2f} of the single model's FLOPs (wins at <= 0.33): {'met' if met else 'not met'}"
        else:  # "both sides ending at the target" is part of the test: a side that never got back decides nothing
            met = False
            verdict = ("the experts got back, the single model did not within its budget" if e_to
                       else "the experts did not get back" if s_to else "neither side got back")
        changes_met = changes_met and met
        lines.append(f"- rule change {rec['constant']} {rec['from']} -> {rec['to']}: {verdict};")
    wins = (byte_ratio <= 0.5 or p95_ratio <= 2 / 3) and changes_met
    lines.append(f"- so the composition {'wins' if wins else 'does not win'} on the issue's terms (bytes or p95, and "
                 "every rule change measured).")
    return [*lines, ""]
