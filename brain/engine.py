"""Inference: greedy decoding with a static KV cache, constrained by the answer grammar.

At each step only tokens that format.answer_grammar() allows can be chosen, so
every answer parses. When the grammar allows exactly one token the model is not
asked: forced tokens are appended and fed in one chunk with the next step
(forced-token fast-forward); batch 1 gains most from that. Batches decode in
lockstep with left-padded prompts and per-row positions.

ModelResolver plugs this into the game (game.resolve.Resolver); its answers
go through game.combat.judge.judge_answer, so a wrong-shaped or impossible answer
becomes an error and the game falls back to the rules.

This module imports no torch: play decodes with ONNX Runtime or numpy from the
checked arrays of brain/checkpoint.load_weights. The torch model, the torch
decoder and lockstep batches (brain/lockstep.py) are built on first use, where
torch is installed; without it a batch is decoded one block at a time.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from brain.checkpoint import ModelLoadError, load_weights, model_envelope, stale_reason
from brain.config import RESERVE, GPTConfig
from brain.draft import DRAFTS, Drafter, copy_drafter, rules_drafter
from brain.fastpath import NumpyDecoder
from brain.onnxform import ONNX_FILE, OrtDecoder, load_onnx_decoder
from brain.paths import shipped_model_dir
from brain.tokenizer import Roles, Tokenizer
from game.combat.envelope import OUTSIDE, Envelope
from game.combat.format import END, SEPARATOR, answer_grammar, encode_input
from game.combat.judge import Resolution, judge_answer
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case

if TYPE_CHECKING:
    from brain.model import GPT

__all__ = ["DecodeStats", "Engine", "ModelLoadError", "ModelResolver", "has_torch"]

_STOP = frozenset({SEPARATOR, " " + SEPARATOR})


def has_torch() -> bool:
    """torch is installed (the `train` extra); play never needs it."""
    if "torch" in sys.modules:  # None there means "import torch" is blocked
        return sys.modules["torch"] is not None
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # an import hook refusing it
        return False


class Decoder(Protocol):
    """A batch-1 decoder: NumpyDecoder (brain/fastpath.py), OrtDecoder (brain/onnxform.py), TorchDecoder."""

    name: str

    def new_cache(self) -> Any: ...

    def forward(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: Any) -> np.ndarray: ...

    def forward_all(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: Any) -> np.ndarray: ...

    def truncate(self, cache: Any, length: int) -> None: ...


@dataclass
class DecodeStats:
    """What drafting did for one or more answers: model calls, drafted and accepted tokens."""

    calls: int = 0
    drafted: int = 0  # tokens proposed by the drafter
    accepted: int = 0  # ... of which the model agreed with (each saved a call)
    rejected: int = 0  # positions where the model left a draft before its end

    def note(self, draft: str) -> str:
        calls = f"{self.calls} model call{'s' if self.calls != 1 else ''}"
        if draft == "none":
            return f"{calls}, no draft"
        return f"{calls}, draft {draft}: {self.accepted}/{self.drafted} tokens accepted"


class Engine:
    """Constrained greedy decoding over a model given as a torch GPT (training, GPU) or as numpy arrays (play)."""

    def __init__(self, model: GPT | None, tok: Tokenizer, decoder: OrtDecoder | None = None, *,
                 cfg: GPTConfig | None = None, arrays: dict[str, np.ndarray] | None = None) -> None:
        if model is not None:
            model.eval()
            cfg = model.cfg
            arrays = {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
        if cfg is None or arrays is None:
            raise ValueError("Engine needs a torch model or cfg and arrays")
        self.cfg, self.tok, self.roles = cfg, tok, Roles(tok)
        self._model = model
        self.arrays = arrays
        self.threads: int | None = None  # torch threads for the torch model, when one is built
        self._ids: dict[frozenset[str], np.ndarray] = {}
        on_gpu = model is not None and next(model.parameters()).device.type != "cpu"
        # batch-1 decoders by name, built now (numpy takes ~3 ms), so that load time includes them and the
        # first turn is not slower than the rest; onnx when ModelResolver.load found a usable graph
        self.decoders: dict[str, Decoder] = {"numpy": NumpyDecoder(cfg, arrays)}
        if decoder is not None:
            self.decoders[decoder.name] = decoder
        if on_gpu:
            self._batch1("torch")
        self.decoder = decoder.name if decoder is not None else "torch" if on_gpu else "numpy"

    @classmethod
    def from_arrays(cls, cfg: GPTConfig, arrays: dict[str, np.ndarray], tok: Tokenizer,
                    decoder: OrtDecoder | None = None) -> Engine:
        return cls(None, tok, decoder, cfg=cfg, arrays=arrays)

    @property
    def model(self) -> GPT:
        """The torch model (built from the arrays on first use: training, lockstep batches, the torch decoder)."""
        if self._model is None:
            import torch

            from brain.model import from_arrays

            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = from_arrays(self.cfg, self.arrays)
        return self._model

    def backends(self) -> list[str]:
        """The batch-1 decoders this engine can use: those loaded, and torch where it is installed."""
        return [*self.decoders, *(["torch"] if "torch" not in self.decoders and has_torch() else [])]

    def _room(self, allowed: frozenset[str], used: int) -> frozenset[str]:
        """Near the end of the context only the separator may follow: the answer always completes."""
        if self.cfg.block_size - used <= RESERVE and allowed & _STOP:
            return allowed & _STOP
        return allowed

    def max_new(self, prompt_len: int) -> int:
        return self.cfg.block_size - prompt_len

    def prompt(self, block: str) -> list[int]:
        return [self.tok.bos, *self.tok.encode(block), self.tok.sep]

    def pieces(self, text: str) -> list[str]:
        """The grammar pieces of a text (the drafters speak in pieces)."""
        return [self.tok.pieces[i] for i in self.tok.encode(text)]

    def _allowed_ids(self, allowed: frozenset[str]) -> np.ndarray:
        a = self._ids.get(allowed)
        if a is None:
            a = self._ids[allowed] = np.array(sorted(self.tok.id_of(p) for p in allowed))
        return a

    # ---------------------------------------------------------------- batch 1, streaming
    def generate_stream(self, block: str, backend: str | None = None, drafter: Drafter | None = None,
                        stats: DecodeStats | None = None) -> Iterator[tuple[str, float, bool]]:
        """(token, probability, forced) for each answer token; END comes last as "".

        probability is the model's softmax over the allowed tokens at that step;
        forced tokens (the grammar left one choice) were not asked of the model: 1.0.
        backend: "onnx" (brain/onnxform.py), "numpy" (brain/fastpath.py) or "torch";
        None takes self.decoder, the fastest one loaded. drafter (brain/draft.py): a guess of the
        answer verified in the same model call; the tokens are the same with or without it.
        """
        return self._stream(block, self._batch1(backend or self.decoder), drafter, stats)

    def _batch1(self, backend: str) -> Decoder:
        if backend == "torch" and backend not in self.decoders and has_torch():
            from brain.lockstep import TorchDecoder

            self.decoders["torch"] = TorchDecoder(self.model)
        if backend not in self.decoders:
            raise ValueError(f"no {backend} decoder loaded (have: {', '.join(self.backends())})")
        return self.decoders[backend]

    def _choose(self, logits: np.ndarray, allowed: frozenset[str]) -> tuple[str, float]:
        """The grammar-masked greedy token and its probability among the allowed ones."""
        cand = self._allowed_ids(allowed)
        sub = logits[cand]
        e = np.exp(sub - sub.max())
        i = int(e.argmax())
        best = int(cand[i])
        return (END if best == self.tok.eos else self.tok.pieces[best]), float(e[i] / e.sum())

    def _stream(self, block: str, dec: Decoder, drafter: Drafter | None = None,
                stats: DecodeStats | None = None) -> Iterator[tuple[str, float, bool]]:
        """Greedy constrained decoding, each model call verifying a draft (exact speculative decoding).

        Each call feeds the known tokens not yet in the cache (`pending`: the prompt, or the last chosen
        token and the forced tokens after it) followed by the drafter's guess, and returns logits after
        every fed token. Walking the guess, each position takes the grammar-masked greedy token from its
        own logits (or the forced token); while that equals the drafted token the draft is accepted (its
        key/values are already cached); at the first difference the model's own token is taken, the
        cache is cut back to the accepted prefix, and the next call starts from there. Every token is thus
        the one plain greedy decoding picks, and a turn whose draft is right takes one call.
        """
        ids = self.prompt(block)
        T = self.cfg.block_size
        if len(ids) + RESERVE >= T:
            raise ValueError(f"input block of {len(ids)} tokens does not fit the model's {T}")
        cache = dec.new_cache()
        grammar = answer_grammar()
        allowed = next(grammar)
        state = self.roles.start()  # roles after the tokens in the cache
        pending, fed = ids, 0
        answer: list[str] = []  # the answer's pieces so far
        while True:
            room = T - fed - len(pending)
            if room < 0:
                return  # out of room: the partial answer will not parse, and is judged so
            draft = drafter(answer)[:room] if drafter is not None else []
            chunk = pending + [self.tok.id_of(p) for p in draft]
            scratch = list(state)
            roles = [self.roles.step(scratch, t) for t in chunk]
            if draft:
                rows = dec.forward_all(chunk, roles, cache)[len(pending) - 1:]
            else:
                rows = dec.forward(chunk, roles, cache)[None]
            base = fed + len(pending)
            if stats is not None:
                stats.calls += 1
                stats.drafted += len(draft)
            k = 0
            left = False  # the model (or the grammar) left the draft: what follows is fed to the next call
            while True:
                allowed = self._room(allowed, base + k)
                forced = len(allowed) == 1  # no model call for a forced token, drafted or not
                if forced:
                    (piece,), prob = allowed, 1.0
                elif left:
                    break  # a choice: the next call answers it
                else:
                    piece, prob = self._choose(rows[k], allowed)
                drafted = not left and k < len(draft) and piece == draft[k]
                if stats is not None and not left:
                    stats.accepted += drafted
                    stats.rejected += k < len(draft) and not drafted
                yield piece, prob, forced
                if piece == END:
                    return
                answer.append(piece)
                allowed = grammar.send(piece)
                if left:
                    pending.append(self.tok.id_of(piece))
                elif drafted:
                    k += 1
                else:  # keep what was accepted, go on from this token
                    dec.truncate(cache, base + k)
                    for t in chunk[:len(pending) + k]:
                        self.roles.step(state, t)
                    fed, pending, left = base + k, [self.tok.id_of(piece)], True

    def generate_raw(self, block: str, max_new: int = 160) -> str:
        """Ungated and unconstrained: the text fed as is, greedy over the whole vocabulary until <eos>.

        The production path never does this; the perturb suite does, to see what the bare model makes
        of a malformed block. Raises TokenizerError (a ValueError) for text the tokenizer cannot encode.
        """
        dec, ids = self._batch1(self.decoder), self.prompt(block)
        T = self.cfg.block_size
        if len(ids) >= T:
            raise ValueError(f"input block of {len(ids)} tokens does not fit the model's {T}")
        cache, state, chunk, out = dec.new_cache(), self.roles.start(), ids, []
        for _ in range(min(max_new, T - len(ids))):
            logits = dec.forward(chunk, [self.roles.step(state, t) for t in chunk], cache)
            best = int(np.argmax(logits))
            if best == self.tok.eos:
                break
            out.append(best)
            chunk = [best]
        return "".join(self.tok.pieces[i] for i in out)

    # ---------------------------------------------------------------- batches
    def generate(self, blocks: Sequence[str], fast_forward: bool = True, backend: str | None = None) -> list[str]:
        """Greedy constrained answers for input blocks.

        One block fast-forwards through a batch-1 decoder; several decode in lockstep with torch
        (brain/lockstep.py), or one at a time where torch is not installed (play).
        """
        if (len(blocks) == 1 and fast_forward) or (blocks and not has_torch()):
            return ["".join(piece for piece, _, _ in self.generate_stream(b, backend)) for b in blocks]
        if not blocks:
            return []
        from brain.lockstep import generate_lockstep

        return generate_lockstep(self, blocks)


class ModelResolver:
    """The game's resolver protocol over a trained model directory.

    `draft` (brain/draft.py) picks what each model call verifies: "rules" (the default: the fastest, and the
    answer is the same whatever the drafter), "copy" (prompt lookup, no rules needed) or "none".
    A turn outside the model's envelope (game/combat/envelope.py, recorded in config.json) is not asked of
    the model: its Resolution is an error naming the field, and the game resolves it with the rules.
    """

    name = "model"

    def __init__(self, engine: Engine, rules: Ruleset, config: dict, model_dir: Path, draft: str = "rules",
                 envelope: Envelope | None = None, stale: str | None = None) -> None:
        self.engine, self.rules, self.config, self.model_dir = engine, rules, config, model_dir
        self.decoder_note = ""  # why a model.onnx beside the weights was not used, if it was not
        self.draft = draft
        self.envelope = envelope  # None: a stale model that records none, asked about everything
        self.stale = stale  # why this model is stale, when it was loaded anyway (allow_stale)

    @classmethod
    def load(cls, model_dir: Path | None, rules: Ruleset, threads: int | None = None,
             draft: str = "rules", check_ruleset: bool = True, allow_stale: bool = False) -> ModelResolver:
        """Load a model directory (None: the shipped default); ModelLoadError says what is wrong.

        A stale model (brain.checkpoint.stale_reason: its data drawn by another sampler version, or under
        another ruleset) is refused with the reason, unless `allow_stale`: then every answer is marked stale.
        check_ruleset=False skips the global ruleset id: brain/experts.py checks an expert's own constants.
        """
        model_dir = Path(model_dir) if model_dir is not None else shipped_model_dir()
        if draft not in DRAFTS:
            raise ValueError(f"unknown draft {draft!r}; expected one of {', '.join(DRAFTS)}")
        ruleset = rules.ruleset_id if check_ruleset else None
        cfg, tok, config, arrays = load_weights(model_dir, None if allow_stale else ruleset)
        envelope = model_envelope(config, model_dir / "config.json")
        stale = stale_reason(envelope, ruleset)
        if stale and not allow_stale:
            raise ModelLoadError(f"{model_dir}: stale model: {stale}; retrain it (rpg-brain train), or load it "
                                 "anyway with --allow-stale, which marks every answer as from a stale model")
        engine = Engine.from_arrays(cfg, arrays, tok)
        engine.threads = threads
        if threads and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
        note = ""
        if (model_dir / ONNX_FILE).exists():
            try:  # checked against the weights and probed once against the numpy decoder
                decoder = load_onnx_decoder(model_dir, config["weights_sha256"], engine.decoders["numpy"], tok)
                engine.decoders[decoder.name] = decoder
                engine.decoder = decoder.name
            except ModelLoadError as exc:  # the numpy decoder does the same job, a little slower
                note = f"{ONNX_FILE} not used: {exc}"
        resolver = cls(engine, rules, config, model_dir, draft, envelope, stale)
        resolver.decoder_note = note
        return resolver

    def envelopes(self) -> list[tuple[str, Envelope, ModelResolver]]:
        """(name, envelope, the resolver that answers inside it): the probe and ood suites push past each."""
        return [] if self.envelope is None else [(self.name, self.envelope, self)]

    def outside(self, case: Case, block: str | None = None) -> str | None:
        """Why this turn lies outside the model's envelope (the field and its bound), or None."""
        if self.envelope is None:
            return None
        block = encode_input(*case) if block is None else block
        why = self.envelope.outside(case, len(self.engine.tok.encode(block)))
        return None if why is None else f"{OUTSIDE}: {why}"

    @property
    def decoder(self) -> str:
        """The batch-1 decoder a turn goes through: onnx, numpy or torch."""
        return self.engine.decoder

    def num_params(self) -> int:
        return sum(int(a.size) for a in self.engine.arrays.values())

    def drafter(self, case: Case, block: str, draft: str | None = None) -> Drafter | None:
        """The drafter `draft` (default: this resolver's) for one turn."""
        draft = draft or self.draft
        if draft == "rules":
            try:
                return rules_drafter(case, self.rules, self.engine.pieces)
            except ValueError:  # a case the rules refuse has no draft; the model still answers
                return None
        if draft == "copy":
            return copy_drafter(self.engine.pieces(block))
        return None

    def resolve_batch(self, cases: Sequence[Case], draft: str | None = None) -> list[Resolution]:
        """Each case at batch 1 with the drafter `draft` (default: this resolver's); undrafted ("none") batches
        decode in lockstep (torch) instead."""
        if not cases:
            return []
        if (draft or self.draft) == "none" and len(cases) > 1:
            out: list[Resolution | None] = [self._declined(c) for c in cases]
            inside = [i for i, r in enumerate(out) if r is None]
            for i, res in zip(inside, self._lockstep([cases[i] for i in inside]), strict=True):
                out[i] = res
            return [r for r in out if r is not None]
        return [self.resolve_one(case, draft) for case in cases]

    def _declined(self, case: Case, block: str | None = None) -> Resolution | None:
        why = self.outside(case, block)
        return None if why is None else Resolution(self.name, "", error=why, stale=self.stale is not None)

    def answer(self, case: Case, stats: DecodeStats | None = None, draft: str | None = None) -> str:
        """The model's answer text to one turn, decoded at batch 1 with the drafter `draft` (default: this
        resolver's); the text is the same whichever drafter (brain/draft.py), only the calls differ."""
        block = encode_input(*case)
        return "".join(p for p, _, _ in self.engine.generate_stream(block, drafter=self.drafter(case, block, draft),
                                                                    stats=stats))

    def resolve_one(self, case: Case, draft: str | None = None) -> Resolution:
        """One turn at batch 1, drafted: the game's path."""
        start = time.perf_counter()
        declined = self._declined(case)
        if declined is not None:
            return declined
        stats = DecodeStats()
        try:
            text = self.answer(case, stats, draft)
        except ValueError as exc:  # a block too long for the model: the case falls back to the rules
            return Resolution(self.name, "", error=f"model cannot answer: {exc}", stale=self.stale is not None)
        ms = (time.perf_counter() - start) * 1000
        res = judge_answer(self.name, case[0], case[1], text, ms)
        return replace(res, decode=stats.note(draft or self.draft), stale=self.stale is not None)

    def _lockstep(self, cases: Sequence[Case]) -> list[Resolution]:
        blocks = [encode_input(*case) for case in cases]
        start = time.perf_counter()
        try:
            texts = self.engine.generate(blocks)
        except ValueError as exc:  # a block too long for the model: every case falls back to the rules
            return [Resolution(self.name, "", error=f"model cannot answer: {exc}") for _ in cases]
        ms = (time.perf_counter() - start) * 1000 / len(cases)
        return [replace(judge_answer(self.name, state, action, text, ms), stale=self.stale is not None)
                for (state, action, _), text in zip(cases, texts, strict=True)]
