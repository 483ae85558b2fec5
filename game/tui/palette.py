"""The command palette, guarded against two Textual 8.2 faults that random keys found.

- Page-up / page-down while the palette's list holds options but has not been laid out (hidden, or no
  size yet) makes `OptionList._move_page` look up line 0 of an empty line map: `KeyError: 0`. With no
  lines laid out there is no page to move, so the key does nothing.
- Escape while the search worker is about to post its results: the worker runs on after the palette's
  widgets are removed, and its `_list_visible` and `_show_busy` watchers' `query_one(CommandList)` /
  `query_one(LoadingIndicator)` raise NoMatches in the worker, which ends the app. A palette that is
  closing has no list to show or hide and nothing to show busy.
- Enter then Escape in quick succession: both reach the palette, both dismiss it, and the second
  `dismiss` pops the screen below (the game), leaving a blank app. A palette closes once.
"""

from __future__ import annotations

from textual.await_complete import AwaitComplete
from textual.command import CommandList, CommandPalette
from textual.widgets import LoadingIndicator


class SafeCommandPalette(CommandPalette):
    def dismiss(self, result: object = None) -> AwaitComplete:
        if self.app.screen is not self:  # already closed (or covered): never pop someone else's screen
            return AwaitComplete.nothing()
        return super().dismiss(result)

    def _action_command_list(self, action: str) -> None:
        try:
            super()._action_command_list(action)
        except KeyError:
            if action not in ("page_up", "page_down"):
                raise

    def _widgets_gone(self) -> bool:
        return not self.is_attached or not self.query(CommandList) or not self.query(LoadingIndicator)

    def _watch__list_visible(self) -> None:
        if not self._widgets_gone():
            super()._watch__list_visible()

    async def _watch__show_busy(self) -> None:
        if not self._widgets_gone():
            await super()._watch__show_busy()
