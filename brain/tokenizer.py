"""The domain tokenizer: every atomic string of the format is one token.

Pieces come from game.combat.format.vocabulary() (digits, punctuation, every
label and rule name with and without its leading space) plus four specials.
Encoding is greedy longest match, decoding is concatenation, so the round trip
is exact; a character no piece covers raises TokenizerError naming the column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from game.combat.format import END, vocabulary

PAD, BOS, SEP, EOS = "<pad>", "<bos>", "<sep>", "<eos>"
SPECIALS = (PAD, BOS, SEP, EOS)


class TokenizerError(ValueError):
    """Text the tokenizer cannot encode (column is 1-based), or a bad vocabulary."""


class Tokenizer:
    def __init__(self, pieces: Sequence[str]) -> None:
        pieces = list(pieces)
        if pieces[:len(SPECIALS)] != list(SPECIALS):
            raise TokenizerError(f"vocabulary must start with {', '.join(SPECIALS)}")
        if len(set(pieces)) != len(pieces) or any(not p for p in pieces):
            raise TokenizerError("vocabulary has empty or repeated pieces")
        self.pieces = pieces
        self.ids = {p: i for i, p in enumerate(pieces)}
        self.pad, self.bos, self.sep, self.eos = (self.ids[s] for s in SPECIALS)
        # an alternation tried longest first is greedy longest match, at C speed
        text = sorted(pieces[len(SPECIALS):], key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(p) for p in text))

    @classmethod
    def from_format(cls) -> Tokenizer:
        return cls([*SPECIALS, *vocabulary()])

    def __len__(self) -> int:
        return len(self.pieces)

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        ids, pos = self.ids, 0
        for m in self._re.finditer(text):
            if m.start() != pos:
                break
            out.append(ids[m.group()])
            pos = m.end()
        if pos != len(text):
            raise TokenizerError(f"column {pos + 1}: cannot encode {text[pos]!r} in {text[max(0, pos - 8):pos + 8]!r}")
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Concatenate the pieces; specials are dropped (EOS ends the text)."""
        out = []
        for i in ids:
            if i == self.eos:
                break
            if i >= len(SPECIALS):
                out.append(self.pieces[i])
        return "".join(out)

    def id_of(self, piece: str) -> int:
        """The id of a grammar token string (format.END is the EOS token)."""
        return self.eos if piece == END else self.ids[piece]

    def to_json(self) -> dict:
        return {"pieces": self.pieces}

    @classmethod
    def from_json(cls, obj: dict) -> Tokenizer:
        if not isinstance(obj, dict) or not isinstance(obj.get("pieces"), list) \
                or not all(isinstance(p, str) for p in obj["pieces"]):
            raise TokenizerError("tokenizer JSON must be {\"pieces\": [str, ...]}")
        return cls(obj["pieces"])

    def save(self, path) -> None:
        with open(path, "w") as f:
            json.dump(self.to_json(), f)


class Roles:
    """Where each token stands in the block, computed from the token prefix alone (causal).

    For token i: segment (0 input, 1 derivation, 2 next-state block), side (0 none,
    1 A, 2 B), the last word token (its id without the leading space) and the offset
    from it (0 on the word itself, capped). The model adds an embedding of each, so
    "digit 3 of A's cooldowns" is the same feature in the input and in the answer and
    copying a field is one attention lookup instead of a circuit learned from scratch.
    """

    MAX_OFFSET = 7

    def __init__(self, tok: Tokenizer) -> None:
        self.tok = tok
        self.word = [-1] * len(tok)  # canonical word id, or -1 for digits/punctuation/specials
        for i, p in enumerate(tok.pieces):
            if p not in SPECIALS and not p.isdigit() and p not in ("/", ":", ">"):
                self.word[i] = tok.ids[p.strip()] if p.strip() in tok.ids else i
        self.side = {tok.ids[" A"]: 1, tok.ids[" B"]: 2}
        self.bar = {tok.ids["|"], tok.ids[" |"]}

    def start(self) -> list[int]:
        return [0, 0, 0, 0]  # segment, side, word, offset

    def step(self, state: list[int], t: int) -> tuple[int, int, int, int]:
        """The role of token t following `state`; updates state in place."""
        if t == self.tok.sep:
            state[:] = [1, 0, t, -1]
        elif t in self.bar:
            state[0], state[1] = 2, 0
        if t in self.side:
            state[1] = self.side[t]
        w = self.word[t]
        if w >= 0 or t in (self.tok.bos, self.tok.sep, self.tok.eos):
            state[2], state[3] = (w if w >= 0 else t), 0
        else:
            state[3] = min(state[3] + 1, self.MAX_OFFSET)
        return state[0], state[1], state[2], state[3]

    def of(self, ids: list[int]) -> list[tuple[int, int, int, int]]:
        state = self.start()
        return [self.step(state, t) for t in ids]
