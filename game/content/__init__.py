"""Game content (every number of the game) loaded from content/*.toml and validated."""

from game.content.loader import (
    Boon,
    Content,
    ContentError,
    DungeonSpec,
    Hunger,
    ItemSpec,
    MonsterSpec,
    PlayerSpec,
    default_content_dir,
    load_content,
    load_ruleset,
    validate_ruleset,
)

__all__ = [
    "Boon", "Content", "ContentError", "DungeonSpec", "Hunger", "ItemSpec", "MonsterSpec", "PlayerSpec",
    "default_content_dir", "load_content", "load_ruleset", "validate_ruleset",
]
