"""The token data engine: `rpg-brain gen` writes pre-tokenized shards, training samples batches from them.

Generating an example costs the rules engine, the tokenizer and the answer grammar (~0.3 ms on one core);
reading one back from a shard is a slice of a memory map. A data directory (layout version 1):

    shard-0003.json   the record of finished shard 3: its files' sha256 and sizes, counts (resume reads it)
    train-0003.ids    uint8 token ids of shard 3's train examples back to back, each
                      `<bos> input <sep> answer <eos>` (the vocabulary has 133 tokens)
    train-0003.off    little-endian uint32 offsets, examples + 1 of them: example k is ids[off[k]:off[k+1]]
    train-0003.loss   the loss mask over ids as packed bits (np.packbits, big-endian bit order): 1 on an answer
                      token (or <eos>) the grammar leaves open. Forced tokens carry no loss, and finding them
                      takes the grammar automaton, so the mask is stored rather than derived (1/8 byte a token).
    manifest.json     written last: format version, ruleset id, tokenizer hash, seed, mix, counts, tokens,
                      actions and rule events per split, and every shard file with its sha256.

A split is its shards in order (nanoGPT's train.bin, cut where a worker's job ends). Roles are derived at
batch time (`roles_batch`, vectorized, equal to tokenizer.Roles). Shard i is drawn by its own generator
(`gen:{seed}:{i}`, the draws `brain.data` always made) and deduplicated against shards 0..i-1, so an
interrupted gen resumes by keeping the verified prefix of finished shards and the result is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from brain.data import SPLITS, Mix, draw, forced_mask, split_of
from brain.tokenizer import Roles, Tokenizer
from game.atomic import write_atomic
from game.combat.envelope import Bounds, Envelope, extent, merge, widen
from game.combat.format import FORMAT_VERSION
from game.combat.ruleset import Ruleset
from game.combat.sampler import SAMPLERS
from game.playlog import PLAYLOG_VERSION

LAYOUT_VERSION = 1
MANIFEST = "manifest.json"
PARTS = ("ids", "off", "loss")


class ShardError(ValueError):
    """A data directory that cannot be used: names the file and what was expected."""


PLAY = "play"  # what "draws" ingested play data (brain/ingest.py): the play-log format that recorded it


def sampler_id(name: str) -> dict:
    """What drew the examples: the named sampler and its version (game/combat/sampler.py), or play logs."""
    return {"name": name, "version": PLAYLOG_VERSION if name == PLAY else SAMPLERS[name].version}


def tokenizer_sha256(tok: Tokenizer) -> str:
    return hashlib.sha256(json.dumps(tok.pieces).encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- gen: workers

_W: dict = {}


def _init_worker(counter) -> None:
    _W.update(counter=counter, tok=Tokenizer.from_format())


def _job(job: tuple[int, int, int, dict, dict]) -> tuple[list[tuple], dict]:
    """Shard `index`: n draws as (split, key, ids, loss, action, rules), which the parent deduplicates, and the
    extents of each split's draws by action (duplicates add nothing to an extent)."""
    index, n, seed, rules_d, mix_d = job
    rules, mix, tok = Ruleset(**rules_d), Mix(**mix_d), _W["tok"]
    rng = random.Random(f"gen:{seed}:{index}")
    out = []
    extents: dict = {s: {} for s in SPLITS}
    for k in range(n):
        ex = draw(rng, rules, mix)
        block = tok.encode(ex.block)
        prompt = bytes([tok.bos, *block, tok.sep])
        ans = tok.encode(ex.answer)
        open_ = bytes(not f for f in forced_mask([tok.pieces[i] for i in ans]))
        split = split_of(ex.block)
        out.append((split, block_key(prompt), prompt + bytes([*ans, tok.eos]),
                    bytes(len(prompt)) + open_, ex.action, ex.rules))
        extend_extent(extents[split], ex.action, extent(ex.case), len(block), len(prompt) + len(ans) + 1)
        if k % 500 == 499:
            with _W["counter"].get_lock():
                _W["counter"].value += 500
    with _W["counter"].get_lock():
        _W["counter"].value += n % 500
    return out, extents


def extend_extent(by_action: dict, action: str, values: dict[str, int], input_tokens: int, tokens: int) -> None:
    """Grow one split's extent of `action` by one example (its fields, its input block and whole length)."""
    e = by_action.setdefault(action, {"examples": 0, "input_tokens": 0, "tokens": 0, "bounds": {}})
    e["examples"] += 1
    e["input_tokens"] = max(e["input_tokens"], input_tokens)
    e["tokens"] = max(e["tokens"], tokens)
    widen(e["bounds"], values)


def merge_extents(into: dict, other: dict) -> dict:
    """Two extents by action in one (`into` grown in place and returned)."""
    for action, e in other.items():
        mine = into.setdefault(action, {"examples": 0, "input_tokens": 0, "tokens": 0, "bounds": {}})
        mine["examples"] += e["examples"]
        mine["input_tokens"] = max(mine["input_tokens"], e["input_tokens"])
        mine["tokens"] = max(mine["tokens"], e["tokens"])
        merge(mine["bounds"], e["bounds"])
    return into


def block_key(prompt: bytes) -> int:
    """Dedup key of an input block: 64 bits of its token ids' hash (ids and block are a bijection)."""
    return int.from_bytes(hashlib.blake2b(prompt, digest_size=8).digest(), "little")


# ---------------------------------------------------------------- gen: the parent

def _plan(seed: int, rules: Ruleset, mix: Mix, shard_size: int, tok: Tokenizer) -> dict:
    return {"layout_version": LAYOUT_VERSION, "format_version": FORMAT_VERSION, "ruleset_id": rules.ruleset_id,
            "tokenizer_sha256": tokenizer_sha256(tok), "sampler": sampler_id(mix.sampler), "seed": seed,
            "mix": mix.recorded(), "shard_size": shard_size}


def write_shard(out_dir: Path, index: int, draws: int, plan: dict, rows: dict[str, list[tuple]],
                 duplicates: int, extents: dict) -> dict:
    """Write one shard's files (each atomically), then its record: the record means "finished"."""
    record = {"plan": plan, "index": index, "draws": draws, "duplicates": duplicates, "splits": {}}
    for split in SPLITS:
        items = rows[split]
        ids = b"".join(r[2] for r in items)
        off = np.zeros(len(items) + 1, dtype="<u4")
        np.cumsum([len(r[2]) for r in items], out=off[1:])
        loss = np.packbits(np.frombuffer(b"".join(r[3] for r in items), dtype=np.uint8)).tobytes()
        files = {}
        for part, blob in zip(PARTS, (ids, off.tobytes(), loss), strict=True):
            name = f"{split}-{index:04d}.{part}"
            write_atomic(out_dir / name, blob)
            files[part] = {"name": name, "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
        record["splits"][split] = {
            "examples": len(items), "tokens": len(ids), "files": files,
            "actions": dict(Counter(r[4] for r in items)), "rule_events": dict(Counter(e for r in items for e in r[5])),
            "extent": extents[split],
        }
    write_atomic(out_dir / f"shard-{index:04d}.json", json.dumps(record, indent=1) + "\n")
    return record


def _verified(out_dir: Path, index: int, draws: int, plan: dict) -> tuple[dict | None, str]:
    """The record of a finished shard whose files all match their sha256, else (None, why)."""
    path = out_dir / f"shard-{index:04d}.json"
    if not path.exists():
        return None, ""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return None, f"{path}: unreadable record ({exc})"
    if record.get("plan") != plan:
        return None, f"{path}: the record of another gen"
    if record.get("draws") != draws:
        return None, f"{path}: {record.get('draws')} draws, this gen needs {draws}"
    for split in SPLITS:
        for f in record["splits"][split]["files"].values():
            p = out_dir / f["name"]
            if not p.exists() or p.stat().st_size != f["bytes"] or _sha256(p) != f["sha256"]:
                return None, f"{p}: missing, truncated or sha256 differs from {path.name}"
    return record, ""


def _refuse_another_gen(out_dir: Path, plan: dict) -> None:
    """A directory holding any shard of another gen (other seed, mix, ruleset...) is never written over."""
    for path in sorted(out_dir.glob("shard-*.json")):
        try:
            theirs = json.loads(path.read_text()).get("plan") or {}
        except (OSError, ValueError, AttributeError):
            continue  # unreadable: that shard is simply drawn again
        if theirs != plan:
            diff = {k: (theirs.get(k), v) for k, v in plan.items() if theirs.get(k) != v}
            what = ", ".join(f"{k} {a!r} here, {b!r} asked" for k, (a, b) in diff.items())
            raise ShardError(f"{path}: this directory holds another gen ({what}); "
                             "use another --out or the same arguments")


def _seen_from(out_dir: Path, record: dict, sep: int, seen: set[int]) -> None:
    """Add the dedup keys of a finished shard's examples (resume rebuilds what the parent knew)."""
    for split in SPLITS:
        files = record["splits"][split]["files"]
        ids = (out_dir / files["ids"]["name"]).read_bytes()
        off = np.frombuffer((out_dir / files["off"]["name"]).read_bytes(), dtype="<u4")
        seps = np.flatnonzero(np.frombuffer(ids, dtype=np.uint8) == sep)
        for a, s in zip(off[:-1].tolist(), seps.tolist(), strict=True):
            seen.add(block_key(ids[a:s + 1]))


def generate(out_dir: Path, n: int, seed: int, rules: Ruleset, mix: Mix, shard_size: int = 50_000,
             workers: int | None = None, progress: bool = False) -> dict:
    """Write n draws (deduplicated, tokenized) as shards per split plus manifest.json; returns the manifest.

    Resumes: finished shards whose files match their sha256 are kept (the longest such prefix, since
    deduplication depends on every earlier shard); the rest is drawn again, with the same bytes.
    """
    if n < 1 or shard_size < 1 or (workers is not None and workers < 0):
        raise ShardError(f"gen: --n {n}, --shard-size {shard_size}, --workers {workers}: expected n and shard size "
                         ">= 1 and workers >= 0 (0: every core)")
    tok = Tokenizer.from_format()
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(".*.tmp"):  # a killed gen's half-written files (game.atomic's temp names)
        if stale.name.startswith((".shard-", ".manifest.json.", *(f".{s}-" for s in SPLITS))):
            stale.unlink()
    old = out_dir / MANIFEST
    if old.exists():
        try:
            layout = json.loads(old.read_text()).get("layout_version")
        except ValueError:
            layout = None
        if layout != LAYOUT_VERSION:
            raise ShardError(f"{old}: not a layout-{LAYOUT_VERSION} token data directory (an older JSONL gen?); "
                             "use another --out")
    plan = _plan(seed, rules, mix, shard_size, tok)
    _refuse_another_gen(out_dir, plan)
    jobs = [(i, min(shard_size, n - i * shard_size), seed, asdict(rules), mix.recorded())
            for i in range((n + shard_size - 1) // shard_size)]
    records: list[dict] = []
    seen: set[int] = set()
    say = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    for job in jobs:
        record, why = _verified(out_dir, job[0], job[1], plan)
        if record is None:
            if why:
                say(f"gen: {why}; drawing shard {job[0]} and after again")
            break
        records.append(record)
        _seen_from(out_dir, record, tok.sep, seen)
    if records:
        say(f"gen: kept {len(records)} finished shards (verified), {len(jobs) - len(records)} to draw")
    todo = jobs[len(records):]
    if old.exists():  # same plan (checked above): the directory is being written, no manifest until complete
        old.unlink()
    t0 = time.time()
    workers = min(workers or mp.cpu_count(), max(1, len(todo)))
    if todo:
        counter = mp.Value("q", 0)
        bar = _Bar(sum(j[1] for j in todo), progress)
        with mp.Pool(workers, initializer=_init_worker, initargs=(counter,)) as pool:
            it = pool.imap(_job, todo)
            for job in todo:
                while True:
                    try:
                        rows, extents = it.next(timeout=0.5)
                        break
                    except mp.TimeoutError:
                        bar.show(counter.value, len(records))
                by_split: dict[str, list[tuple]] = {s: [] for s in SPLITS}
                dupes = 0
                for row in rows:
                    if row[1] in seen:
                        dupes += 1
                        continue
                    seen.add(row[1])
                    by_split[row[0]].append(row)
                records.append(write_shard(out_dir, job[0], job[1], plan, by_split, dupes, extents))
                bar.show(counter.value, len(records))
        bar.done()
    manifest = manifest_of(plan, n, records)
    manifest["gen"] = {"workers": workers, "seconds": round(time.time() - t0, 2),
                       "draws_this_run": sum(j[1] for j in todo), "shards_kept": len(jobs) - len(todo)}
    write_atomic(out_dir / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return manifest


class _Bar:
    """One line on stderr, redrawn in place: draws done, rate, time left."""

    def __init__(self, total: int, on: bool) -> None:
        self.total, self.on, self.t0, self.last = total, on, time.time(), 0.0

    def show(self, done: int, shards: int) -> None:
        now = time.time()
        if not self.on or (now - self.last < 0.5 and done < self.total):
            return
        self.last = now
        rate = done / max(1e-9, now - self.t0)
        left = (self.total - done) / rate if rate else 0
        filled = int(30 * done / max(1, self.total))
        sys.stderr.write(f"\rgen [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{self.total:,} draws, "
                 f"{shards} shards, {rate:,.0f}/s, {int(left) // 60}m{int(left) % 60:02d}s left\x1b[K")
        sys.stderr.flush()

    def done(self) -> None:
        if self.on:
            sys.stderr.write("\n")


def manifest_of(plan: dict, n: int, records: list[dict]) -> dict:
    counts = {s: sum(r["splits"][s]["examples"] for r in records) for s in SPLITS}
    tokens = {s: sum(r["splits"][s]["tokens"] for r in records) for s in SPLITS}
    actions = {s: Counter() for s in SPLITS}
    events = {s: Counter() for s in SPLITS}
    extents: dict = {s: {} for s in SPLITS}
    for r in records:
        for s in SPLITS:
            actions[s].update(r["splits"][s]["actions"])
            events[s].update(r["splits"][s]["rule_events"])
            merge_extents(extents[s], r["splits"][s]["extent"])
    return {
        **plan, "vocab_size": len(Tokenizer.from_format()), "draws": n,
        "duplicates_removed": sum(r["duplicates"] for r in records), "counts": counts, "tokens": tokens,
        "actions": {s: dict(sorted(c.items())) for s, c in actions.items()},
        "rule_events": {s: dict(sorted(c.items())) for s, c in events.items()},
        "extent": extents,
        "shards": {s: [{"examples": r["splits"][s]["examples"], "tokens": r["splits"][s]["tokens"],
                        **r["splits"][s]["files"]} for r in records] for s in SPLITS},
        "split": "sha1(input block) % 100: <90 train, <95 val, else test (brain.data.split_of)",
        "loss_mask": "packed bits (np.packbits), 1 on an answer token the grammar leaves open",
    }


# ---------------------------------------------------------------- reading

def load_manifest(data_dir: Path, rules: Ruleset) -> dict:
    """The manifest of a token data directory, refused unless it matches this format, ruleset and tokenizer."""
    path = Path(data_dir) / MANIFEST
    if not path.exists():
        raise ShardError(f"{path}: missing (an unfinished or absent gen; run `rpg-brain gen --out {data_dir}`)")
    try:
        m = json.loads(path.read_text())
    except ValueError as exc:
        raise ShardError(f"{path}: invalid JSON ({exc})") from exc
    if not isinstance(m, dict) or not isinstance(m.get("shards"), dict) \
            or not all(isinstance(m["shards"].get(s), list) for s in SPLITS):
        raise ShardError(f"{path}: expected an object with \"shards\": {{train, val, test: [...]}}")
    name = m.get("sampler", {}).get("name") if isinstance(m.get("sampler"), dict) else None
    if name not in SAMPLERS and name != PLAY:
        raise ShardError(f"{path}: sampler is {m.get('sampler')!r}, expected one of the named samplers "
                         f"{', '.join(SAMPLERS)} (data of an older gen: regenerate it)")
    expected = {"layout_version": LAYOUT_VERSION, "format_version": FORMAT_VERSION, "ruleset_id": rules.ruleset_id,
                "tokenizer_sha256": tokenizer_sha256(Tokenizer.from_format()), "sampler": sampler_id(name)}
    for key, want in expected.items():
        if m.get(key) != want:
            raise ShardError(f"{path}: {key} is {m.get(key)!r}, this run needs {want!r} (regenerate the data)")
    if not isinstance(m.get("extent"), dict) or not isinstance(m["extent"].get("train"), dict):
        raise ShardError(f"{path}: no extent (the envelope of the data); regenerate the data")
    return m


def envelope_of(manifest: dict, actions: Sequence[str] = ()) -> Envelope:
    """The envelope of a data directory's train split (only `actions`' examples when given: an expert's
    route): what a model trained on it was trained on, measured by gen."""
    by_action = manifest["extent"]["train"]
    chosen = [a for a in by_action if not actions or a in actions]
    bounds: Bounds = {}
    for a in chosen:
        merge(bounds, by_action[a]["bounds"])
    top = lambda key: max((by_action[a][key] for a in chosen), default=0)
    sampler = manifest["sampler"]
    return Envelope.measured(bounds, chosen, top("input_tokens"), sampler["name"], sampler["version"],
                             manifest["ruleset_id"], sum(by_action[a]["examples"] for a in chosen),
                             tokens=top("tokens"))


class Split:
    """One split of a data directory as one indexable set of examples over memory-mapped shards."""

    def __init__(self, data_dir: Path, split: str, manifest: dict, verify: bool = True) -> None:
        self.dir = Path(data_dir)
        self.tok = Tokenizer.from_format()
        self.ids: list[np.ndarray] = []
        self.off: list[np.ndarray] = []
        self.loss: list[np.ndarray] = []
        for shard in manifest["shards"][split]:
            try:
                files = [dict(name=str(shard[p]["name"]), bytes=int(shard[p]["bytes"]), sha256=str(shard[p]["sha256"]))
                         for p in PARTS]
                examples = int(shard["examples"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ShardError(f"{self.dir / MANIFEST}: a {split} shard entry is malformed ({exc!r}; expected "
                                 "examples and ids/off/loss with name, bytes, sha256)") from exc
            parts = {p: self._open(f, verify) for p, f in zip(PARTS, files, strict=True)}
            ids, off, loss = parts["ids"], parts["off"].view("<u4").astype(np.int64), parts["loss"]
            where = self.dir / shard["off"]["name"]
            if len(off) != examples + 1 or off[0] != 0 or off[-1] != len(ids) or np.any(np.diff(off) <= 0):
                raise ShardError(f"{where}: offsets do not index {examples} examples of "
                                 f"{shard['ids']['name']} ({len(ids)} tokens)")
            if len(loss) != (len(ids) + 7) // 8:
                raise ShardError(f"{self.dir / shard['loss']['name']}: {len(loss)} bytes of loss bits for "
                                 f"{len(ids)} tokens, expected {(len(ids) + 7) // 8}")
            self.ids.append(ids)
            self.off.append(off)
            self.loss.append(loss)
        self.starts = np.cumsum([0, *(len(o) - 1 for o in self.off)])
        self.roles = RolesBatch(self.tok)

    def _open(self, f: dict, verify: bool) -> np.ndarray:
        path = self.dir / f["name"]
        if not path.exists():
            raise ShardError(f"{path}: missing shard file")
        size = path.stat().st_size
        if size != f["bytes"]:
            raise ShardError(f"{path}: {size} bytes, the manifest says {f['bytes']} (truncated or overwritten)")
        if verify and _sha256(path) != f["sha256"]:
            raise ShardError(f"{path}: sha256 differs from the manifest (corrupt shard; regenerate it with gen)")
        if size == 0:
            return np.zeros(0, dtype=np.uint8)
        return np.asarray(np.memmap(path, dtype=np.uint8, mode="r"))  # a plain view: cheaper to index

    def __len__(self) -> int:
        return int(self.starts[-1])

    def lengths(self) -> np.ndarray:
        """Tokens of every example, in index order."""
        return np.concatenate([np.diff(o) for o in self.off]) if self.off else np.zeros(0, dtype=np.int64)

    def example(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and loss mask (bool) of example k."""
        s = int(np.searchsorted(self.starts, k, side="right")) - 1
        a, b = int(self.off[s][k - self.starts[s]]), int(self.off[s][k - self.starts[s] + 1])
        bits = np.unpackbits(self.loss[s][a // 8:(b + 7) // 8])[a % 8:a % 8 + b - a]
        return np.asarray(self.ids[s][a:b]), bits.astype(bool)

    def row(self, k: int) -> tuple[list[int], list[int]]:
        """Token ids and targets of example k as brain.train.collate takes them (-1: no loss)."""
        ids, open_ = self.example(k)
        ids = ids.astype(np.int64)  # uint8 on disk: -1 must stay -1
        targets = [*np.where(open_[1:], ids[1:], -1).tolist(), -1]
        return ids.tolist(), targets

    def text(self, k: int) -> tuple[str, str]:
        """(input block, answer) of example k."""
        ids, _ = self.example(k)
        sep = int(np.flatnonzero(ids == self.tok.sep)[0])
        return self.tok.decode(ids[1:sep].tolist()), self.tok.decode(ids[sep + 1:].tolist())

    def batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Right-padded ids, targets (-1: no loss) and roles (B, T, 4), as train.collate builds them.

        Gathered with one fancy index per shard (no Python loop over examples): ~30 us per example.
        """
        indices = np.asarray(indices, dtype=np.int64)
        shard = np.searchsorted(self.starts, indices, side="right") - 1
        a = np.empty_like(indices)
        b = np.empty_like(indices)
        for s in np.unique(shard):
            sel = shard == s
            local = indices[sel] - self.starts[s]
            a[sel], b[sel] = self.off[s][local], self.off[s][local + 1]
        T = int((b - a).max())
        j = a[:, None] + np.arange(T)  # (B, T) token positions inside each row's shard
        inside = j < b[:, None]
        x = np.full(j.shape, self.tok.pad, dtype=np.int64)
        open_ = np.zeros(j.shape, dtype=bool)
        for s in np.unique(shard):
            sel = shard == s
            js = np.where(inside[sel], j[sel], 0)
            x[sel] = np.where(inside[sel], self.ids[s][js], self.tok.pad)
            open_[sel] = inside[sel] & ((self.loss[s][js >> 3] >> (7 - (js & 7))) & 1).astype(bool)
        y = np.full_like(x, -1)
        y[:, :-1] = np.where(open_[:, 1:], x[:, 1:], -1)  # position t predicts token t+1 where that one is open
        return x, y, self.roles(x)


class Subset:
    """The examples of a split whose input block's action is one of `actions`: an expert's route (brain/experts.py)."""

    def __init__(self, split: Split, actions: Sequence[str]) -> None:
        self.split, self.tok = split, split.tok
        do = split.tok.id_of(" do")
        found = []
        for s, (ids, off) in enumerate(zip(split.ids, split.off, strict=True)):
            pos = np.flatnonzero(ids == do)  # one " do" per example, in its input block, just before the action
            if len(pos) != len(off) - 1:
                raise ShardError(f"{split.dir}: shard {s} has {len(pos)} ' do' tokens for {len(off) - 1} examples")
            found.append(np.asarray(ids[pos + 1], dtype=np.int64))
        action_ids = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        self.index = np.flatnonzero(np.isin(action_ids, [split.tok.id_of(" " + a) for a in actions]))

    def __len__(self) -> int:
        return len(self.index)

    def lengths(self) -> np.ndarray:
        return self.split.lengths()[self.index]

    def text(self, k: int) -> tuple[str, str]:
        return self.split.text(int(self.index[k]))

    def batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.split.batch(self.index[np.asarray(indices, dtype=np.int64)])


def routed(split: Split, actions: Sequence[str]) -> Split | Subset:
    """The whole split, or only the examples of these actions."""
    return Subset(split, actions) if actions else split


class RolesBatch:
    """tokenizer.Roles for a padded batch at once: each role is a forward fill from the last token that sets it."""

    def __init__(self, tok: Tokenizer) -> None:
        roles = Roles(tok)
        V = len(tok)
        self.pad = tok.pad
        word = np.array(roles.word)
        self.anchor = (word >= 0) | np.isin(np.arange(V), [tok.bos, tok.sep, tok.eos])
        self.word = np.where(word >= 0, word, np.arange(V))
        self.sep = np.arange(V) == tok.sep
        self.bar = np.isin(np.arange(V), list(roles.bar))
        self.side_set = self.sep | self.bar | np.isin(np.arange(V), list(roles.side))
        self.side = np.zeros(V, dtype=np.int64)
        for t, v in roles.side.items():
            self.side[t] = v

    def __call__(self, x: np.ndarray) -> np.ndarray:
        B, T = x.shape
        pos = np.broadcast_to(np.arange(T), (B, T))
        seg = np.where(np.cumsum(self.bar[x], 1) > 0, 2, (np.cumsum(self.sep[x], 1) > 0).astype(np.int64))
        last_side = np.maximum.accumulate(np.where(self.side_set[x], pos, -1), axis=1)
        side = np.where(last_side >= 0, self.side[np.take_along_axis(x, np.maximum(last_side, 0), 1)], 0)
        last_word = np.maximum.accumulate(np.where(self.anchor[x], pos, -1), axis=1)
        word = np.where(last_word >= 0, self.word[np.take_along_axis(x, np.maximum(last_word, 0), 1)], 0)
        offset = np.minimum(np.where(last_word >= 0, pos - last_word, pos + 1), Roles.MAX_OFFSET)
        r = np.stack([seg, side, word, offset], axis=-1)
        r[x == self.pad] = 0
        return r


# ---------------------------------------------------------------- batches

class Sampler:
    """Example indices of batch i of rank r: a function of (seed, world, rank, i), never of what ran before.

    The ranks' batches interleave over one sequence of epochs, each a seeded permutation of the split, so
    every example is seen once per epoch and a resumed run (any start) draws exactly the same batches.

    `bucket` K > 0 (with the examples' token `lengths`): each window of K consecutive batches of that sequence
    is sorted by length, cut into K batches and those batches shuffled (seeded by the window). A batch pads to
    its longest example, so random batches of 128 spend 31% of their tokens on padding; bucketed ones spend
    about 1%. Every example of the window is still seen exactly once, but a batch of like lengths is a batch of
    like states, and that costs more examples than the padding saves: no preset uses it (docs/history.md "What a
    CPU step costs").
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1,
                 lengths: np.ndarray | None = None, bucket: int = 0) -> None:
        if n == 0:
            raise ShardError("the train split has no examples (gen a larger --n)")
        if bucket < 0 or (bucket and (lengths is None or len(lengths) != n)):
            raise ValueError(f"Sampler: bucket {bucket} needs a length per example ({n}), expected bucket >= 0")
        self.n, self.b, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.lengths, self.bucket = lengths, bucket
        self._perms: dict[int, np.ndarray] = {}
        self._window: tuple[int, np.ndarray] | None = None

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            if len(self._perms) >= 2:
                self._perms.pop(min(self._perms))
            self._perms[epoch] = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return self._perms[epoch]

    def _run(self, first: int, count: int) -> np.ndarray:
        """Examples at positions first .. first+count of the sequence of epochs."""
        pos = np.arange(first, first + count)
        out = np.empty(count, dtype=np.int64)
        for epoch in np.unique(pos // self.n):
            sel = pos // self.n == epoch
            out[sel] = self._perm(int(epoch))[pos[sel] % self.n]
        return out

    def indices(self, i: int) -> np.ndarray:
        g = i * self.world + self.rank  # the batch's place in the one sequence all ranks share
        if not self.bucket:
            return self._run(g * self.b, self.b)
        w, k = divmod(g, self.bucket)
        if self._window is None or self._window[0] != w:
            run = self._run(w * self.bucket * self.b, self.bucket * self.b)
            run = run[np.argsort(self.lengths[run], kind="stable")].reshape(self.bucket, self.b)
            # a third seed word keeps the batch order's stream apart from the epochs' ([seed, epoch])
            self._window = (w, run[np.random.default_rng([self.seed, w, 1]).permutation(self.bucket)])
        return self._window[1][k]


def shard_batches(split: Split | Subset, batch_size: int, seed: int, start: int, stop: int, rank: int = 0,
                  world: int = 1, bucket: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    sampler = Sampler(len(split), batch_size, seed, rank, world, split.lengths() if bucket else None, bucket)
    for i in range(start, stop):
        yield split.batch(sampler.indices(i))
