"""The message log: newest last, repeats collapsed into one line with a count.

What a log may hold is bounded, so that drawing it stays cheap whatever a save file carried: at most `limit`
messages in memory, `SAVED` of them in a save, and each text, tag and style cut to `MAX_TEXT` / `MAX_TAG`
characters with control characters replaced (a save is a file anyone can edit; an ESC in the log would reach
the terminal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LIMIT = 2000  # messages kept in memory: the message history (M) shows all of them
SAVED = 500  # messages a save keeps (and the most a loaded save brings back)
MAX_TEXT = 500  # characters of one message; the game's own are under 200 (a long path in a notice aside)
MAX_TAG = 40  # characters of a tag or a style name
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """`text` as the log keeps it: control characters shown as '?', cut to `limit` characters."""
    text = _CONTROL.sub("?", text[: limit + 1])
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Message:
    text: str
    tag: str = ""  # "[model]", "[rules]", "[diverged]", "[fallback]" for combat lines
    style: str = ""  # a semantic class the TUI maps to a color: hit, hurt, info, item, warn, death
    count: int = 1

    def render(self) -> str:
        head = f"{self.tag} " if self.tag else ""
        tail = f" (x{self.count})" if self.count > 1 else ""
        return f"{head}{self.text}{tail}"


class MessageLog:
    def __init__(self, limit: int = LIMIT) -> None:
        self.items: list[Message] = []
        self.limit = limit
        self.version = 0  # bumped on every change so views know when to redraw

    def add(self, text: str, style: str = "", tag: str = "") -> None:
        text, style, tag = clean(text), clean(style, MAX_TAG), clean(tag, MAX_TAG)
        last = self.items[-1] if self.items else None
        if last is not None and last.text == text and last.tag == tag:
            last.count += 1
        else:
            self.items.append(Message(text, tag, style))
            del self.items[:-self.limit]
        self.version += 1

    def to_json(self) -> list[list]:
        return [[m.text, m.tag, m.style, m.count] for m in self.items[-SAVED:]]

    @classmethod
    def from_json(cls, data: list) -> MessageLog:
        """The log a save holds (entries already checked for type): its last SAVED messages, each cleaned."""
        log = cls()
        for text, tag, style, count in data[-SAVED:]:
            log.items.append(Message(clean(str(text)), clean(str(tag), MAX_TAG), clean(str(style), MAX_TAG),
                                     int(count)))
        return log
