"""Ask for another directory for saves and play logs (when the usual one refuses writes)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class SaveDirScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    SaveDirScreen { align: center middle; }
    SaveDirScreen > Vertical { width: 72; height: auto; border: round $warning; padding: 0 1; background: $panel; }
    """

    def __init__(self, current: str, problem: str | None = None) -> None:
        super().__init__()
        self.current, self.problem = current, problem

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.problem:
                yield Static(Text(f"The last save failed: {self.problem}"), id="savedir-problem")  # a path: not markup
            yield Static("Save to another directory (Enter saves there, Esc cancels):")
            yield Input(self.current, placeholder="directory", id="savedir")

    @on(Input.Submitted, "#savedir")
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
