"""Drafters for exact speculative decoding: cheap guesses of the answer that one model pass verifies.

A drafter sees the answer so far (a list of grammar pieces, brain.engine's tokens) and proposes how it
goes on. The engine feeds the proposal through the model in the same forward as the tokens already
known, keeps the longest prefix the model itself would have chosen (greedy, grammar-masked) and decodes
normally from the first disagreement, so the answer is token for token the plain greedy answer whatever
the drafter proposes: a good drafter saves model calls, a bad one only costs a slightly longer chunk.

- `rules`: the rules engine's answer to the same turn (the game computes it every turn anyway, as the
  control or the shadow). Right on ~98% of turns, so most turns take one model call.
- `copy`: needs no rules. Prompt lookup (as in prompt-lookup decoding): the next-state block repeats
  much of the input (hp, cooldowns, statuses of each side), so after a label the drafter proposes what
  followed the same label on the same side of the input block.
"""

from __future__ import annotations

from collections.abc import Callable

from game.combat.format import END, SEPARATOR, encode_answer
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case

Drafter = Callable[[list[str]], list[str]]  # answer pieces so far -> proposed continuation
DRAFTS = ("rules", "copy", "none")
MAX_COPY = 24  # pieces proposed by one prompt lookup


def rules_drafter(case: Case, rules: Ruleset, pieces: Callable[[str], list[str]]) -> Drafter:
    """Propose the rest of the rules' answer while the answer so far still agrees with it."""
    out = resolve(*case, rules)
    target = [*pieces(encode_answer(out.events, out.next_state)), END]

    def draft(answer: list[str]) -> list[str]:
        n = len(answer)
        return target[n:] if target[:n] == answer else resync(target, answer)

    return draft


def _is_label(piece: str) -> bool:
    return bool(piece.strip()) and not piece.isdigit() and piece not in ("/", ":", ">")


def resync(target: list[str], answer: list[str]) -> list[str]:
    """After the answer left the target (a different digit, an extra event), line the two up again on the
    answer's last label: its k-th occurrence in the answer is taken as the target's k-th (else the last),
    and the target goes on from as many pieces after it as the answer has written since."""
    last = next((i for i in range(len(answer) - 1, -1, -1) if _is_label(answer[i])), None)
    if last is None:
        return []
    label, written = answer[last], len(answer) - last - 1
    ordinal = sum(p == label for p in answer[:last])
    spots = [i for i, p in enumerate(target) if p == label]
    if not spots:
        return []
    at = spots[ordinal] if ordinal < len(spots) else spots[-1]
    return target[at + 1 + written:]


def copy_drafter(prompt_pieces: list[str]) -> Drafter:
    """Prompt lookup by side: after a piece of the next-state block, propose what followed that piece on the
    same side of the input block (up to the side's end), digits matched on the two last pieces."""
    sides: dict[str, list[str]] = {"A": [], "B": []}
    side = None
    for p in prompt_pieces:
        if p.strip() in sides:
            side = p.strip()
        elif p == " do":
            side = None
        if side is not None:
            sides[side].append(p)

    def draft(answer: list[str]) -> list[str]:
        if not answer or SEPARATOR not in (p.strip() for p in answer):
            return []  # the derivation is not in the input: nothing to look up
        state = answer[[p.strip() for p in answer].index(SEPARATOR) + 1:]
        current = next((p.strip() for p in reversed(state) if p.strip() in sides), None)
        if current is None:
            return []
        seq = sides[current]
        key = answer[-2:] if answer[-1].isdigit() else answer[-1:]
        for i in range(len(seq) - len(key), -1, -1):
            if seq[i:i + len(key)] == key:
                return seq[i + len(key):i + len(key) + MAX_COPY]
        return []

    return draft
