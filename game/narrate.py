"""Combat turns in words: one message-log line per turn from the applied answer's events."""

from __future__ import annotations

from game.combat_turn import TurnReport


def the(name: str) -> str:
    return f"the {name}"


def a_an(name: str) -> str:
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def describe(report: TurnReport, actor: str, target: str) -> str:
    """One line for the message log from the applied answer's events ('You' or 'the orc')."""
    you_act, you_hit = actor == "You", target == "You"
    a_name = "you" if you_act else actor
    t_name = "you" if you_hit else target

    def v(you_form: str, it_form: str) -> str:
        return you_form if you_act else it_form

    def cap(s: str) -> str:
        return s[0].upper() + s[1:]

    out: list[str] = []
    crit = False
    for e in report.applied.events or ():
        r = e.rule
        if r == "attack_misses":
            out.append(f"{a_name} {v('miss', 'misses')} {t_name}")
        elif r == "critical_hit":
            crit = True
        elif r == "damage_dealt":
            how = " critically" if crit else ""
            verb = "poison-strike" if report.action == "poison_strike" else "hit"
            out.append(f"{a_name}{how} {v(verb, verb + 's')} {t_name} for {e.amount}")
        elif r == "shield_absorbs":
            out.append(f"{'your' if you_hit else t_name + chr(39) + 's'} shield absorbs {e.amount}")
        elif r == "shield_breaks":
            out.append("the shield breaks")
        elif r == "shatter_stuns":
            out.append(f"{t_name} {'are' if you_hit else 'is'} stunned")
        elif r == "thorns_reflect":
            out.append(f"thorns prick {'you' if you_act else a_name} for {e.amount}")
        elif r == "heal_restores":
            out.append(f"{a_name} {v('heal', 'heals')} {e.amount}")
        elif r == "shield_gained":
            out.append(f"{a_name} {v('raise', 'raises')} a shield (+{e.amount})")
        elif r == "poison_applied":
            out.append(f"{t_name} {'are' if you_hit else 'is'} poisoned")
        elif r == "burn_applied":
            out.append(f"{t_name} {'catch' if you_hit else 'catches'} fire")
        elif r == "fragile_applied":
            out.append(f"{t_name} {'turn' if you_hit else 'turns'} fragile")
        elif r == "thorns_gained":
            out.append(f"{a_name} {v('bristle', 'bristles')} with thorns")
        elif r == "cleanse_removes":
            out.append(f"{a_name} {v('cleanse', 'cleanses')} {e.arg}")
        elif r == "wait_recovers" and e.amount:  # at max hp (+0) it says nothing
            out.append(f"{a_name} {v('catch', 'catches')} a breath (+{e.amount})")
        elif r == "stunned_action_lost":
            out.append(f"{a_name} {v('are', 'is')} stunned and {v('lose', 'loses')} the turn")
        elif r == "cooldown_blocks":
            out.append(f"{a_name} cannot {e.arg} yet")
        elif r in ("poison_tick", "burn_tick", "fatigue") and e.amount:
            what = {"poison_tick": "poison", "burn_tick": "fire", "fatigue": "fatigue"}[r]
            out.append(f"{what} {'hurts' if r != 'burn_tick' else 'burns'} {a_name} for {e.amount}")
        elif r == "regen_tick" and e.amount:
            out.append(f"{a_name} {v('regenerate', 'regenerates')} {e.amount}")
    rules = {e.rule for e in report.applied.events or ()}
    if "hit" in rules and "damage_dealt" not in rules:
        out.insert(0, f"{a_name} {v('strike', 'strikes')} {t_name} but {v('deal', 'deals')} no damage")
    if report.action == "ignite" and "burn_applied" in rules:
        out.insert(0, f"{a_name} {v('ignite', 'ignites')} {t_name}")
    if report.action == "guard" and not out:
        out.append(f"{a_name} {v('guard', 'guards')}")
    if report.action == "wait" and not out:
        out.append(f"{a_name} {v('wait', 'waits')}")
    if report.action == "cleanse" and not any("cleanse" in s for s in out):
        out.insert(0, f"{a_name} {v('cleanse', 'cleanses')} (nothing to remove)")
    return cap("; ".join(out) or f"{a_name} {report.action}") + "."
