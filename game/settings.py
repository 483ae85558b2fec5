"""The player's settings that travel with a run (saved in it): what the game does on its own."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    auto_pickup: bool = True  # walking onto items picks them up (when the pack has room), as part of the step

    def to_json(self) -> dict[str, bool]:
        return {"auto_pickup": self.auto_pickup}
