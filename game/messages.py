"""The message log: newest last, repeats collapsed into one line with a count."""

from __future__ import annotations

from dataclasses import dataclass


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
    def __init__(self, limit: int = 2000) -> None:  # the message history (M) shows all of them
        self.items: list[Message] = []
        self.limit = limit
        self.version = 0  # bumped on every change so views know when to redraw

    def add(self, text: str, style: str = "", tag: str = "") -> None:
        last = self.items[-1] if self.items else None
        if last is not None and last.text == text and last.tag == tag:
            last.count += 1
        else:
            self.items.append(Message(text, tag, style))
            del self.items[:-self.limit]
        self.version += 1

    def to_json(self) -> list[list]:
        return [[m.text, m.tag, m.style, m.count] for m in self.items[-500:]]  # a save keeps the last 500

    @classmethod
    def from_json(cls, data: list) -> MessageLog:
        log = cls()
        for text, tag, style, count in data:
            log.items.append(Message(str(text), str(tag), str(style), int(count)))
        return log
