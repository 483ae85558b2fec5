"""The global rule constants (content/rules.toml) and the ruleset id that names them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Ruleset:
    roll_max: int = 6
    miss_roll: int = 1
    crit_roll: int = 6
    crit_bonus: int = 3
    heal_amount: int = 5
    heal_regen: int = 2
    heal_regen_turns: int = 2
    guard_shield: int = 5
    guard_turns: int = 2
    shield_cap: int = 12
    poison_magnitude: int = 2
    poison_turns: int = 3
    burn_magnitude: int = 2
    burn_turns: int = 3
    ignite_fragile: int = 2
    ignite_fragile_turns: int = 2
    thorns_magnitude: int = 3
    thorns_turns: int = 2
    shatter_stun_turns: int = 1
    wait_recover: int = 1
    fatigue_turn: int = 20
    fatigue_damage: int = 1
    cd_heal: int = 3
    cd_guard: int = 3
    cd_cleanse: int = 4
    cd_poison_strike: int = 3
    cd_ignite: int = 4
    cd_brace: int = 3

    def cooldown_of(self, slot: str) -> int:
        return getattr(self, f"cd_{slot}")

    @property
    def ruleset_id(self) -> str:
        """Hash of the canonical JSON of every constant: a model trained on
        one ruleset refuses to answer for another."""
        blob = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return "rs-" + hashlib.sha256(blob.encode()).hexdigest()[:12]

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
