"""The model's shape, without torch: GPTConfig, its sane bounds, and the tensors it implies.

Play loads a model with numpy alone (brain/fastpath.py), so everything that decides whether a
model directory is usable lives here and in brain/checkpoint.py, neither of which imports torch.
`GPTConfig.from_json` checks a config.json's `model` object before anything is allocated: every
field present, of its type, inside bounds far above any model this project trains; then
`tensor_shapes` says exactly which tensors of which shapes the weights file must hold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from game.combat.state import CHANNELS, SLOTS

# (low, high): far above anything trained here (at most 3 layers, width 96, context 384), far below
# an allocation that hurts (the numpy KV cache at the bounds is n_layer * block_size * n_embd * 8 bytes = 256 MB);
# a context under 64 tokens cannot hold one input block.
BOUNDS = {"vocab_size": (1, 1024), "block_size": (64, 1024), "n_layer": (1, 32), "n_head": (1, 32),
          "n_embd": (1, 1024)}
MAX_PARAMS = 50_000_000  # 200 MB of fp32
MAX_HEAD_DIM = 128
HEAD_WIDTH = 32  # the dials (GPTConfig.from_depth) keep every head this wide unless told another width
# The longest next-state block in tokens (turn, two sides with every status) plus END, plus the longest event:
# when fewer positions than this are left in the context, the derivation must stop (the decoders' rule).
_STATUS_TOKENS = sum(2 if ch == "stun" else 5 for ch in CHANNELS)
RESERVE = 3 + 2 * (5 + len(SLOTS) + _STATUS_TOKENS) + 1 + 7


class ConfigError(ValueError):
    """A model config that cannot describe a usable model; the message names the key."""


@dataclass
class GPTConfig:
    vocab_size: int = 133
    block_size: int = 384  # longest sequence: prompt <= 113 tokens, answer observed <= 112, room to spare
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    rope: bool = True  # rotary positions (relative offsets); False: learned absolute positions
    roles: bool = True  # add embeddings of each token's role (tokenizer.Roles): segment, side, field, offset

    @classmethod
    def from_depth(cls, depth: int, vocab_size: int, block_size: int = 384, rope: bool = True,
                   roles: bool = True, width: int | None = None, head_width: int = HEAD_WIDTH) -> GPTConfig:
        """The size dials: depth (layers) and width (None: 32 x depth); heads head_width wide (32, the
        shipped models'; 16 gives a narrow model more than one head)."""
        width = 32 * depth if width is None else width
        if head_width < 2 or head_width % 2:
            raise ConfigError(f"head width {head_width}: expected an even number >= 2 (rotary pairs dimensions)")
        if width < head_width or width % head_width:
            raise ConfigError(f"width {width}: expected a positive multiple of {head_width} (heads are "
                              f"{head_width} wide)")
        return cls(vocab_size=vocab_size, block_size=block_size, n_layer=depth, n_head=width // head_width,
                   n_embd=width, rope=rope, roles=roles)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: object) -> GPTConfig:
        """A checked config; ConfigError names the first key that is missing, mistyped or out of bounds."""
        if not isinstance(obj, dict):
            raise ConfigError(f"model: expected an object, got {type(obj).__name__}")
        names = [f.name for f in fields(cls)]
        for key in names:
            if key not in obj:
                raise ConfigError(f"model.{key}: missing")
        extra = sorted(set(obj) - set(names))
        if extra:
            raise ConfigError(f"model.{extra[0]}: unknown key")
        for key in names:
            value, want = obj[key], type(getattr(cls, key))
            if type(value) is not want:  # exact: True is not a size, 2.0 is not a layer count
                raise ConfigError(f"model.{key}: expected {want.__name__}, got {value!r}")
            low, high = BOUNDS.get(key, (0, 1))
            if key in BOUNDS and not low <= value <= high:
                raise ConfigError(f"model.{key}: {value} outside {low}..{high}")
        cfg = cls(**obj)
        if cfg.n_embd % cfg.n_head:
            raise ConfigError(f"model.n_head: n_embd {cfg.n_embd} is not a multiple of n_head {cfg.n_head}")
        if cfg.n_embd // cfg.n_head > MAX_HEAD_DIM:  # the numpy decoder keeps a (block, head, head) rotary table
            raise ConfigError(f"model.n_head: heads of {cfg.n_embd // cfg.n_head} dims, more than {MAX_HEAD_DIM}")
        if cfg.rope and (cfg.n_embd // cfg.n_head) % 2:
            raise ConfigError(f"model.n_head: rotary positions need an even head size, got {cfg.n_embd // cfg.n_head}")
        params = sum(_numel(s) for s in tensor_shapes(cfg).values())
        if params > MAX_PARAMS:
            raise ConfigError(f"model: {params:,} parameters, more than the {MAX_PARAMS:,} a game model may have")
        return cfg


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def tensor_shapes(cfg: GPTConfig) -> dict[str, tuple[int, ...]]:
    """The state dict brain/model.py's GPT(cfg) has, name -> shape (a test keeps the two in step)."""
    V, T, C = cfg.vocab_size, cfg.block_size, cfg.n_embd
    shapes: dict[str, tuple[int, ...]] = {"wte.weight": (V, C), "ln_f.weight": (C,), "ln_f.bias": (C,)}
    if not cfg.rope:
        shapes["wpe.weight"] = (T, C)
    if cfg.roles:
        for i, n in enumerate((3, 3, V, 8)):
            shapes[f"role_emb.{i}.weight"] = (n, C)
    for i in range(cfg.n_layer):
        p = f"blocks.{i}."
        shapes |= {p + "ln1.weight": (C,), p + "ln1.bias": (C,), p + "attn.qkv.weight": (3 * C, C),
                   p + "attn.proj.weight": (C, C), p + "ln2.weight": (C,), p + "ln2.bias": (C,),
                   p + "fc.weight": (4 * C, C), p + "out.weight": (C, 4 * C)}
    return shapes
