"""Inference: greedy decoding with a static KV cache, constrained by the answer grammar.

At each step only tokens that format.answer_grammar() allows can be chosen, so
every answer parses. When the grammar allows exactly one token the model is not
asked: forced tokens are appended and fed in one chunk with the next step
(forced-token fast-forward); batch 1 gains most from that. Batches decode in
lockstep with left-padded prompts and per-row positions.

ModelResolver plugs this into the game (game.resolve.Resolver); its answers
go through game.resolve.judge_answer, so a wrong-shaped or impossible answer
becomes an error and the game falls back to the rules.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from brain.checkpoint import ModelLoadError, load_model
from brain.fastpath import NumpyDecoder
from brain.model import GPT, KVCache
from brain.onnxform import ONNX_FILE, OrtDecoder, load_onnx_decoder
from brain.tokenizer import Roles, Tokenizer
from game.combat.format import END, SEPARATOR, answer_grammar, encode_input
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case
from game.combat.state import CHANNELS, SLOTS
from game.resolve import Resolution, judge_answer

__all__ = ["DEFAULT_MODEL", "Engine", "ModelLoadError", "ModelResolver"]

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default"
# The longest next-state block in tokens (turn, two sides with every status) plus END, plus
# the longest event: when fewer positions than this are left, the derivation must stop.
_STATUS_TOKENS = sum(2 if ch == "stun" else 5 for ch in CHANNELS)
RESERVE = 3 + 2 * (5 + len(SLOTS) + _STATUS_TOKENS) + 1 + 7
_STOP = frozenset({SEPARATOR, " " + SEPARATOR})


class TorchDecoder:
    """The model itself behind the batch-1 decoder interface (new_cache, forward): the GPU path."""

    name = "torch"

    def __init__(self, model: GPT) -> None:
        self.model = model
        self.device = next(model.parameters()).device

    def new_cache(self) -> KVCache:
        return KVCache(self.model.cfg, 1, self.model.cfg.block_size, self.device)

    @torch.inference_mode()
    def forward(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: KVCache) -> np.ndarray:
        """Logits (vocab,) after the last of `ids`; the cache advances by len(ids)."""
        p, n, dev = cache.pos, len(ids), self.device
        pos = torch.arange(p, p + n, device=dev).unsqueeze(0)
        mask = torch.ones(n, p + n, dtype=torch.bool, device=dev).tril(p).view(1, 1, n, p + n)
        logits = self.model(torch.tensor([ids], device=dev), torch.tensor([roles], device=dev), pos, mask, cache)
        return logits[0, -1].float().cpu().numpy()


Decoder = NumpyDecoder | OrtDecoder | TorchDecoder


class Engine:
    def __init__(self, model: GPT, tok: Tokenizer, decoder: OrtDecoder | None = None) -> None:
        self.model = model.eval()
        self.tok = tok
        self.roles = Roles(tok)
        self.device = next(model.parameters()).device
        self._masks: dict[frozenset[str], torch.Tensor] = {}
        self._ids: dict[frozenset[str], np.ndarray] = {}
        # batch-1 decoders by name, built now (numpy takes ~3 ms), so that load time includes them and the
        # first turn is not slower than the rest; onnx when ModelResolver.load found a usable graph
        self.decoders: dict[str, Decoder] = {"torch": TorchDecoder(model), "numpy": NumpyDecoder(model)}
        if decoder is not None:
            self.decoders[decoder.name] = decoder
        self.decoder = decoder.name if decoder is not None else "numpy" if self.device.type == "cpu" else "torch"

    def _room(self, allowed: frozenset[str], used: int) -> frozenset[str]:
        """Near the end of the context only the separator may follow: the answer always completes."""
        if self.model.cfg.block_size - used <= RESERVE and allowed & _STOP:
            return allowed & _STOP
        return allowed

    def _mask(self, allowed: frozenset[str]) -> torch.Tensor:
        m = self._masks.get(allowed)
        if m is None:
            m = torch.zeros(len(self.tok), dtype=torch.bool, device=self.device)
            m[[self.tok.id_of(p) for p in allowed]] = True
            self._masks[allowed] = m
        return m

    def max_new(self, prompt_len: int) -> int:
        return self.model.cfg.block_size - prompt_len

    def prompt(self, block: str) -> list[int]:
        return [self.tok.bos, *self.tok.encode(block), self.tok.sep]

    def _allowed_ids(self, allowed: frozenset[str]) -> np.ndarray:
        a = self._ids.get(allowed)
        if a is None:
            a = self._ids[allowed] = np.array(sorted(self.tok.id_of(p) for p in allowed))
        return a

    # ---------------------------------------------------------------- batch 1, streaming
    def generate_stream(self, block: str, backend: str | None = None) -> Iterator[tuple[str, float, bool]]:
        """(token, probability, forced) for each answer token; END comes last as "".

        probability is the model's softmax over the allowed tokens at that step;
        forced tokens (the grammar left one choice) were not asked of the model: 1.0.
        backend: "onnx" (brain/onnxform.py), "numpy" (brain/fastpath.py) or "torch";
        None takes self.decoder, the fastest one loaded.
        """
        return self._stream(block, self._batch1(backend or self.decoder))

    def _batch1(self, backend: str) -> Decoder:
        if backend not in self.decoders:
            raise ValueError(f"no {backend} decoder loaded (have: {', '.join(self.decoders)})")
        return self.decoders[backend]

    def _stream(self, block: str, dec: Decoder) -> Iterator[tuple[str, float, bool]]:
        ids = self.prompt(block)
        T = self.model.cfg.block_size
        if len(ids) + RESERVE >= T:
            raise ValueError(f"input block of {len(ids)} tokens does not fit the model's {T}")
        cache = dec.new_cache()
        grammar = answer_grammar()
        allowed = next(grammar)
        chunk, used = ids, 0
        state = self.roles.start()
        eos, pieces = self.tok.eos, self.tok.pieces
        while True:
            used += len(chunk)
            if used > T:
                return  # out of room: the partial answer will not parse, and is judged so
            logits = dec.forward(chunk, [self.roles.step(state, t) for t in chunk], cache)
            allowed = self._room(allowed, used)
            cand = self._allowed_ids(allowed)
            sub = logits[cand]
            e = np.exp(sub - sub.max())
            i = int(e.argmax())
            best = int(cand[i])
            piece = END if best == eos else pieces[best]
            yield piece, float(e[i] / e.sum()), False
            if piece == END:
                return
            chunk = [best]
            allowed = grammar.send(piece)
            while len(allowed) == 1:  # fast-forward: no model call for a forced token
                (piece,) = allowed
                yield piece, 1.0, True
                if piece == END:
                    return
                chunk.append(self.tok.id_of(piece))
                allowed = grammar.send(piece)

    def generate_raw(self, block: str, max_new: int = 160) -> str:
        """Ungated and unconstrained: the text fed as is, greedy over the whole vocabulary until <eos>.

        The production path never does this; the perturb suite does, to see what the bare model makes
        of a malformed block. Raises TokenizerError (a ValueError) for text the tokenizer cannot encode.
        """
        dec, ids = self._batch1(self.decoder), self.prompt(block)
        T = self.model.cfg.block_size
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
    @torch.inference_mode()
    def generate(self, blocks: Sequence[str], fast_forward: bool = True, backend: str | None = None) -> list[str]:
        """Greedy constrained answers for input blocks (lockstep over the batch; one block fast-forwards)."""
        if len(blocks) == 1 and fast_forward:
            return ["".join(piece for piece, _, _ in self.generate_stream(blocks[0], backend))]
        if not blocks:
            return []
        tok, dev, T = self.tok, self.device, self.model.cfg.block_size
        prompts = [self.prompt(b) for b in blocks]
        B, P = len(prompts), max(len(p) for p in prompts)
        if P + RESERVE >= T:
            raise ValueError(f"an input block of {P} tokens does not fit the model's {T}")
        pads = [P - len(p) for p in prompts]
        pad = torch.tensor(pads, device=dev)
        x = torch.tensor([[tok.pad] * (P - len(p)) + p for p in prompts], device=dev)
        states = [self.roles.start() for _ in prompts]
        roles = torch.tensor([[(0, 0, 0, 0)] * (P - len(p)) + [self.roles.step(s, t) for t in p]
                              for s, p in zip(states, prompts, strict=True)], device=dev)
        pos = (torch.arange(P, device=dev).unsqueeze(0) - pad.unsqueeze(1)).clamp(min=0)
        cache = KVCache(self.model.cfg, B, T, dev)
        cache.valid[:, :P] = torch.arange(P, device=dev).unsqueeze(0) >= pad.unsqueeze(1)  # pads are never seen
        causal = torch.ones(P, P, dtype=torch.bool, device=dev).tril()
        mask = (causal.unsqueeze(0) & cache.valid[:, None, :P]).unsqueeze(1)
        mask |= torch.eye(P, dtype=torch.bool, device=dev)  # a pad row attends to itself: no NaN
        logits = self.model(x, roles, pos, mask, cache)[:, -1]
        grammars = [answer_grammar() for _ in range(B)]
        allowed = [next(g) for g in grammars]
        out: list[list[str]] = [[] for _ in range(B)]
        done = [False] * B
        next_pos = pos[:, -1] + 1
        while cache.pos < T:
            allowed = [self._room(a, cache.pos - pads[i]) for i, a in enumerate(allowed)]
            masks = torch.stack([self._mask(a) for a in allowed])
            best = logits.masked_fill(~masks, float("-inf")).argmax(-1).tolist()
            step = []
            for i in range(B):
                if done[i]:
                    step.append(tok.pad)
                    continue
                piece = END if best[i] == tok.eos else tok.pieces[best[i]]
                if piece == END:
                    done[i] = True
                else:
                    out[i].append(piece)
                    allowed[i] = grammars[i].send(piece)
                step.append(best[i])
            if all(done) or cache.pos >= T:
                break
            cache.valid[:, cache.pos] = True
            mask = cache.valid[:, None, None, :cache.pos + 1]
            roles = torch.tensor([[self.roles.step(s, t)] for s, t in zip(states, step, strict=True)], device=dev)
            logits = self.model(torch.tensor(step, device=dev).unsqueeze(1), roles, next_pos.unsqueeze(1), mask,
                                cache)[:, -1]
            next_pos = (next_pos + 1).clamp(max=T - 1)
        return ["".join(o) for o in out]


class ModelResolver:
    """The game's resolver protocol over a trained model directory."""

    name = "model"

    def __init__(self, engine: Engine, rules: Ruleset, config: dict, model_dir: Path) -> None:
        self.engine, self.rules, self.config, self.model_dir = engine, rules, config, model_dir
        self.decoder_note = ""  # why a model.onnx beside the weights was not used, if it was not

    @classmethod
    def load(cls, model_dir: Path | None, rules: Ruleset, threads: int | None = None) -> ModelResolver:
        """Load a model directory (None: the shipped default); ModelLoadError says what is wrong."""
        model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL
        if threads:
            torch.set_num_threads(threads)
        model, tok, config = load_model(model_dir, rules.ruleset_id)
        decoder, note = None, ""
        if (model_dir / ONNX_FILE).is_file():
            try:
                decoder = load_onnx_decoder(model_dir)
            except ModelLoadError as exc:  # the numpy decoder does the same job, a little slower
                note = f"{ONNX_FILE} not used: {exc}"
        resolver = cls(Engine(model, tok, decoder), rules, config, model_dir)
        resolver.decoder_note = note
        return resolver

    @property
    def decoder(self) -> str:
        """The batch-1 decoder a turn goes through: onnx, numpy or torch."""
        return self.engine.decoder

    def resolve_batch(self, cases: Sequence[Case]) -> list[Resolution]:
        if not cases:
            return []
        blocks = [encode_input(*case) for case in cases]
        start = time.perf_counter()
        try:
            texts = self.engine.generate(blocks)
        except ValueError as exc:  # a block too long for the model: every case falls back to the rules
            return [Resolution(self.name, "", error=f"model cannot answer: {exc}") for _ in cases]
        ms = (time.perf_counter() - start) * 1000 / len(cases)
        return [judge_answer(self.name, state, action, text, ms)
                for (state, action, _), text in zip(cases, texts, strict=True)]
