"""The canonical text format: the single source of truth for every block.

Three blocks, each one line (grammar and examples in docs/format.md):

    input   t07 A hp23/30 pw05 ar01 cd030000 sh04:2 B hp18/24 pw04 ar00 cd000000 fr02:1 do attack r3
    output  t08 A hp23 cd020000 sh04:1 B hp13 cd000000 fr02:1
    answer  hit03 fragile_amplifies02>05 armor_reduces00>05 ... | t08 A hp23 ...

The input carries every number the rules use. The output (the next-state
block) carries only what a turn can change: turn, hp, cooldowns, statuses;
max hp, power and armor never change, so they are taken from the input.
The answer is what the model writes: the derivation (the rules' events with
their amounts) as a scratchpad, then ` | `, then the output block.

Numbers are fixed width: two digits for hp, stats and magnitudes, one digit
for durations, cooldowns and the roll. Status channels appear only when
active, in canonical order when encoded; the input parser accepts them in
any order (each at most once). The tokenizer, data generator, validator,
debug pane and play logs all go through this module.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import replace

from game.combat.rules import EVENT_SHAPES, Event
from game.combat.state import (
    ACTIONS,
    CHANNELS,
    MAGNITUDE_CHANNELS,
    MAX_VALUE,
    SLOTS,
    Combatant,
    CombatState,
    Status,
)

FORMAT_VERSION = 2

CHANNEL_LABELS: dict[str, str] = {
    "shield": "sh", "poison": "po", "burn": "bu", "regen": "rg",
    "thorns": "th", "stun": "st", "fragile": "fr",
}
LABEL_CHANNELS = {v: k for k, v in CHANNEL_LABELS.items()}
SIDES = ("A", "B")  # A is the actor, B the target
SEPARATOR = "|"
DIGITS = tuple("0123456789")
PUNCTUATION = ("/", ":", ">")

# Every word is one token, with and without the single space that precedes it.
WORDS: tuple[str, ...] = (
    "t", "A", "B", "hp", "pw", "ar", "cd", "do", "r", SEPARATOR,
    *CHANNEL_LABELS.values(), *ACTIONS, *EVENT_SHAPES,
)


def vocabulary() -> list[str]:
    """Every atomic string of the format, in a stable order (the tokenizer's pieces)."""
    seen: dict[str, None] = {}
    for piece in (*DIGITS, *PUNCTUATION, *WORDS, *(" " + w for w in WORDS)):
        seen.setdefault(piece, None)
    return list(seen)


class FormatError(ValueError):
    """A block that does not follow the grammar: where, which field, what was expected."""

    def __init__(self, text: str, column: int, field: str, expected: str) -> None:
        self.text, self.column, self.field, self.expected = text, column, field, expected
        got = text[column - 1:column + 7] or "end of block"
        super().__init__(f"column {column}, field {field}: expected {expected}, got {got!r}")


# ---------------------------------------------------------------- encoding

def _n(value: int, width: int) -> str:
    """A fixed-width number; a value that does not fit is a bug upstream, never silently widened."""
    if not 0 <= value < 10**width:
        raise ValueError(f"{value} does not fit the format's {width}-digit field")
    return f"{value:0{width}d}"


def _status_text(channel: str, s: Status) -> str:
    label = CHANNEL_LABELS[channel]
    if channel == "stun":
        return f" {label}{_n(s.turns, 1)}"
    return f" {label}{_n(s.magnitude, 2)}:{_n(s.turns, 1)}"


def _mutable_text(c: Combatant) -> str:
    cds = "".join(_n(v, 1) for v in c.cooldowns)
    return f" cd{cds}" + "".join(_status_text(ch, s) for ch, s in c.active())


def encode_input(state: CombatState, action: str, roll: int) -> str:
    parts = [f"t{_n(state.turn, 2)}"]
    for side, c in zip(SIDES, (state.actor, state.target), strict=False):
        parts.append(f" {side} hp{_n(c.hp, 2)}/{_n(c.max_hp, 2)} pw{_n(c.power, 2)} ar{_n(c.armor, 2)}")
        parts.append(_mutable_text(c))
    parts.append(f" do {action} r{_n(roll, 1)}")
    return "".join(parts)


def encode_output(state: CombatState) -> str:
    parts = [f"t{_n(state.turn, 2)}"]
    for side, c in zip(SIDES, (state.actor, state.target), strict=False):
        parts.append(f" {side} hp{_n(c.hp, 2)}{_mutable_text(c)}")
    return "".join(parts)


def encode_event(e: Event) -> str:
    text = e.rule
    if e.arg is not None:
        text += " " + (CHANNEL_LABELS[e.arg] if e.arg in CHANNEL_LABELS else e.arg)
    if e.amount is not None:
        text += _n(e.amount, 2)
    if e.result is not None:
        text += ">" + _n(e.result, 2)
    return text


def encode_derivation(events: Iterable[Event]) -> str:
    return " ".join(encode_event(e) for e in events)


def encode_answer(events: Iterable[Event], next_state: CombatState) -> str:
    derivation = encode_derivation(events)
    head = f"{derivation} {SEPARATOR}" if derivation else SEPARATOR
    return f"{head} {encode_output(next_state)}"


# ---------------------------------------------------------------- parsing

class _Cursor:
    def __init__(self, text: str, columns: dict[str, int] | None = None) -> None:
        self.text = text
        self.pos = 0
        self.columns = columns  # field -> 1-based column, when the caller wants to point at a field later

    def fail(self, field: str, expected: str) -> FormatError:
        return FormatError(self.text, self.pos + 1, field, expected)

    def literal(self, lit: str, field: str) -> None:
        if not self.text.startswith(lit, self.pos):
            raise self.fail(field, repr(lit))
        self.pos += len(lit)

    def peek(self, lit: str) -> bool:
        return self.text.startswith(lit, self.pos)

    def number(self, width: int, field: str, lo: int = 0, hi: int | None = None) -> int:
        chunk = self.text[self.pos:self.pos + width]
        if len(chunk) != width or not all(ch in "0123456789" for ch in chunk):
            raise self.fail(field, f"{width} digit{'s' if width > 1 else ''}")
        value = int(chunk)
        if self.columns is not None:
            self.columns[field] = self.pos + 1
        hi = MAX_VALUE if hi is None else hi
        if not lo <= value <= hi:
            raise self.fail(field, f"a value in {lo}..{hi}")
        self.pos += width
        return value

    def word(self, choices: Iterable[str], field: str) -> str:
        # longest first, so "poison_strike" wins over a shorter prefix
        for w in sorted(choices, key=len, reverse=True):
            end = self.pos + len(w)
            if self.text.startswith(w, self.pos) and (end == len(self.text) or self.text[end] in " >0123456789"):
                self.pos = end
                return w
        raise self.fail(field, "one of " + ", ".join(choices))

    def end(self, field: str) -> None:
        if self.pos != len(self.text):
            raise self.fail(field, "end of block")


def _statuses(cur: _Cursor, side: str, stop: tuple[str, ...], canonical: bool) -> tuple[Status | None, ...]:
    found: dict[str, Status] = {}
    last = -1
    while not any(cur.peek(s) for s in stop) and cur.pos < len(cur.text):
        cur.literal(" ", f"{side}.statuses")
        label = cur.word(LABEL_CHANNELS, f"{side}.statuses")
        channel = LABEL_CHANNELS[label]
        field = f"{side}.{channel}"
        if channel in found:
            cur.pos -= len(label)
            raise cur.fail(field, f"each status at most once ({label} repeated)")
        index = CHANNELS.index(channel)
        if canonical and index < last:
            cur.pos -= len(label)
            raise cur.fail(field, "statuses in canonical order " + " ".join(CHANNEL_LABELS.values()))
        last = index
        magnitude = 0
        if channel in MAGNITUDE_CHANNELS:
            magnitude = cur.number(2, f"{field}.magnitude", lo=1)
            cur.literal(":", f"{field}.turns")
        turns = cur.number(1, f"{field}.turns", lo=1, hi=9)
        found[channel] = Status(magnitude, turns)
    return tuple(found.get(ch) for ch in CHANNELS)


def _cooldowns(cur: _Cursor, side: str) -> tuple[int, ...]:
    cur.literal(" cd", f"{side}.cooldowns")
    return tuple(cur.number(1, f"{side}.cd.{slot}", hi=9) for slot in SLOTS)


def parse_input(text: str, columns: dict[str, int] | None = None) -> tuple[CombatState, str, int]:
    """Parse an input block into (state, action, roll); FormatError on anything else.

    `columns`, when given, receives the 1-based column of every number field (`roll`, `B.hp`, ...), so that
    a block which parses but cannot be resolved (game.combat.envelope.check_case) is answered with its column too.
    """
    if not isinstance(text, str):
        raise FormatError(str(text), 1, "block", "a line of text")
    cur = _Cursor(text, columns)
    cur.literal("t", "turn")
    turn = cur.number(2, "turn")
    sides = []
    for side, stop in (("A", (" B",)), ("B", (" do",))):
        cur.literal(f" {side} hp", f"{side}.hp")
        hp = cur.number(2, f"{side}.hp")
        cur.literal("/", f"{side}.max_hp")
        max_hp = cur.number(2, f"{side}.max_hp", lo=1)
        if hp > max_hp:
            cur.pos -= 5
            raise cur.fail(f"{side}.hp", f"hp at most max hp {max_hp}")
        cur.literal(" pw", f"{side}.power")
        power = cur.number(2, f"{side}.power")
        cur.literal(" ar", f"{side}.armor")
        armor = cur.number(2, f"{side}.armor")
        cds = _cooldowns(cur, side)
        statuses = _statuses(cur, side, stop, canonical=False)
        sides.append(Combatant(hp, max_hp, power, armor, cds, statuses))
    cur.literal(" do ", "action")
    action = cur.word(ACTIONS, "action")
    cur.literal(" r", "roll")
    roll = cur.number(1, "roll", lo=1, hi=9)
    cur.end("roll")
    return CombatState(turn, sides[0], sides[1]), action, roll


def _parse_output_at(cur: _Cursor, prev: CombatState) -> CombatState:
    cur.literal("t", "turn")
    turn = cur.number(2, "turn")
    sides = []
    for side, before, stop in (("A", prev.actor, (" B",)), ("B", prev.target, ())):
        cur.literal(f" {side} hp", f"{side}.hp")
        hp = cur.number(2, f"{side}.hp")
        cds = _cooldowns(cur, side)
        statuses = _statuses(cur, side, stop, canonical=True)
        sides.append(replace(before, hp=hp, cooldowns=cds, statuses=statuses))
    cur.end("output")
    return CombatState(turn, sides[0], sides[1])


def parse_output(text: str, prev: CombatState) -> CombatState:
    """Parse a next-state block; max hp, power and armor come from `prev`."""
    return _parse_output_at(_Cursor(text), prev)


def parse_answer(text: str, prev: CombatState) -> tuple[tuple[Event, ...], CombatState]:
    """Parse the model's answer: the derivation, ` | `, the next-state block."""
    cur = _Cursor(text)
    events: list[Event] = []
    while not cur.peek(SEPARATOR):
        if events:
            cur.literal(" ", "derivation")
            if cur.peek(SEPARATOR):
                break
        field = f"derivation[{len(events)}]"
        rule = cur.word(EVENT_SHAPES, field)
        arg_kind, has_amount, has_result = EVENT_SHAPES[rule]
        arg = amount = result = None
        if arg_kind == "channel":
            cur.literal(" ", field)
            arg = LABEL_CHANNELS[cur.word(LABEL_CHANNELS, f"{field}.channel")]
        elif arg_kind == "slot":
            cur.literal(" ", field)
            arg = cur.word(SLOTS, f"{field}.slot")
        if has_amount:
            amount = cur.number(2, f"{field}.amount")
        if has_result:
            cur.literal(">", f"{field}.result")
            result = cur.number(2, f"{field}.result")
        events.append(Event(rule, arg, amount, result))
    cur.literal(SEPARATOR + " ", "separator")
    return tuple(events), _parse_output_at(cur, prev)


# ---------------------------------------------------------------- grammar

END = ""  # the grammar's end-of-answer marker (the tokenizer maps it to EOS)
_DIGITS = frozenset(DIGITS)
_NONZERO = frozenset(DIGITS[1:])


def answer_grammar() -> Generator[frozenset[str], str, None]:
    """The answer grammar as a token-level automaton for constrained decoding.

    Yields the set of tokens allowed next and receives the token chosen. Every
    path through it spells a block that parse_answer accepts (tested), so a
    decoder that only picks allowed tokens cannot produce a malformed answer.
    """
    first_rules = frozenset(EVENT_SHAPES) | {SEPARATOR}
    later_rules = frozenset(" " + r for r in EVENT_SHAPES) | {" " + SEPARATOR}
    tok = yield first_rules
    while tok.strip() != SEPARATOR:
        arg_kind, has_amount, has_result = EVENT_SHAPES[tok.strip()]
        if arg_kind == "channel":
            yield frozenset(" " + lab for lab in CHANNEL_LABELS.values())
        elif arg_kind == "slot":
            yield frozenset(" " + s for s in SLOTS)
        if has_amount:
            yield _DIGITS
            yield _DIGITS
        if has_result:
            yield frozenset({">"})
            yield _DIGITS
            yield _DIGITS
        tok = yield later_rules
    yield frozenset({" t"})
    yield _DIGITS
    yield _DIGITS
    yield frozenset({" A"})
    for after in (" B", END):  # the status loop consumes " B" on its way out of A
        yield frozenset({" hp"})
        yield _DIGITS
        yield _DIGITS
        yield frozenset({" cd"})
        for _ in SLOTS:
            yield _DIGITS
        remaining = list(CHANNELS)
        while True:
            tok = yield frozenset(" " + CHANNEL_LABELS[ch] for ch in remaining) | {after}
            if tok == after:
                break
            channel = LABEL_CHANNELS[tok.strip()]
            remaining = remaining[remaining.index(channel) + 1:]
            if channel in MAGNITUDE_CHANNELS:  # magnitude 01..99
                tens = yield _DIGITS
                yield _NONZERO if tens == "0" else _DIGITS
                yield frozenset({":"})
            yield _NONZERO
    while True:  # after END nothing else is allowed; keep answering END
        yield frozenset({END})
