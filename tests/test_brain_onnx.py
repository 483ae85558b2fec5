"""The ONNX form: the exported step graph computes what the model computes, and a bad graph is never used."""

from __future__ import annotations

import shutil
import sys
import time

import numpy as np
import pytest
import torch
from fakes import measured_envelope

from brain.bench import bench
from brain.checkpoint import save_model
from brain.data import Mix
from brain.engine import ModelResolver
from brain.export import export_forms
from brain.fastpath import NumpyDecoder
from brain.model import GPT, GPTConfig
from brain.onnxexport import refresh_onnx
from brain.onnxform import ONNX_FILE
from brain.report import data_stats, render
from brain.tokenizer import Tokenizer
from game.combat.format import encode_input
from game.combat.sampler import sample

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
pytestmark = pytest.mark.slow


def _model(tok: Tokenizer, seed: int) -> GPT:
    torch.manual_seed(seed)
    model = GPT(GPTConfig.from_depth(1, len(tok)))
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(4.0)  # long, varied answers from random weights
    return model.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, rules):
    """A depth-1 model directory with its graph (the export takes seconds: once per module)."""
    tok = Tokenizer.from_format()
    where = tmp_path_factory.mktemp("onnx") / "m"
    save_model(where, _model(tok, 0), tok, rules.ruleset_id, measured_envelope(rules))
    assert refresh_onnx(where).startswith("wrote")
    return where


@pytest.fixture()
def copy(exported, tmp_path):
    shutil.copytree(exported, tmp_path / "m")
    return tmp_path / "m"


def test_graph_logits_match_the_numpy_decoder_chunk_by_chunk(exported, rules):
    resolver = ModelResolver.load(exported, rules)
    engine = resolver.engine
    ort_dec, np_dec = engine.decoders["onnx"], NumpyDecoder(engine.cfg, engine.arrays)
    ids = engine.prompt(encode_input(*sample("iid", 1, 3, rules)[0]))
    state = engine.roles.start()
    roles = [engine.roles.step(state, t) for t in ids]
    a, b = ort_dec.new_cache(), np_dec.new_cache()
    # a prompt, then single tokens, then a fast-forwarded run of several: every shape the engine feeds
    for chunk in (slice(0, len(ids) - 6), slice(len(ids) - 6, len(ids) - 5), slice(len(ids) - 5, len(ids))):
        got = ort_dec.forward(ids[chunk], roles[chunk], a)
        want = np_dec.forward(ids[chunk], roles[chunk], b)
        assert a[2] == b[2] == chunk.stop
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_resolver_decodes_with_the_graph_and_answers_like_numpy(exported, rules):
    resolver = ModelResolver.load(exported, rules)
    assert resolver.engine.decoder == "onnx" and resolver.decoder_note == ""
    blocks = [encode_input(*c) for c in sample("edge", 6, 2, rules)]
    onnx = [resolver.engine.generate([b])[0] for b in blocks]
    assert onnx == [resolver.engine.generate([b], backend="numpy")[0] for b in blocks]
    assert onnx == resolver.engine.generate(blocks)  # the batched torch path too
    assert len(set(onnx)) > 1


def test_drafted_decoding_on_the_graph_gives_the_undrafted_answer(exported, rules):
    """forward_all and truncate on ONNX Runtime: every drafter, random weights, the same tokens as plain decoding."""
    import random

    from brain.draft import copy_drafter, rules_drafter

    resolver = ModelResolver.load(exported, rules)
    engine, rng = resolver.engine, random.Random(0)
    vocab = [*engine.tok.pieces[4:], ""]
    for case in sample("edge", 6, 5, rules):
        block = encode_input(*case)
        plain = [p for p, _, _ in engine.generate_stream(block, "onnx")]
        drafters = (rules_drafter(case, rules, engine.pieces), copy_drafter(engine.pieces(block)),
                    lambda answer: [rng.choice(vocab) for _ in range(rng.randint(0, 20))])
        for drafter in drafters:
            assert [p for p, _, _ in engine.generate_stream(block, "onnx", drafter)] == plain


def test_graph_from_other_weights_is_not_used(copy, rules, tmp_path):
    tok = Tokenizer.from_format()
    save_model(tmp_path / "other", _model(tok, 1), tok, rules.ruleset_id, measured_envelope(rules))
    for name in ("model.safetensors", "config.json"):  # retrained weights beside the old graph
        shutil.copyfile(tmp_path / "other" / name, copy / name)
    resolver = ModelResolver.load(copy, rules)
    assert resolver.engine.decoder == "numpy"
    assert "exported from other weights" in resolver.decoder_note
    assert refresh_onnx(copy).startswith("wrote")
    assert ModelResolver.load(copy, rules).engine.decoder == "onnx"


def test_damaged_graph_falls_back_to_numpy_with_a_reason(copy, rules):
    (copy / ONNX_FILE).write_bytes(b"\x08\x07 not a protobuf")
    resolver = ModelResolver.load(copy, rules)
    assert resolver.engine.decoder == "numpy"
    assert ONNX_FILE in resolver.decoder_note and "not a usable ONNX graph" in resolver.decoder_note
    assert resolver.resolve_batch(sample("iid", 1, 0, rules))[0].raw


def test_without_onnxruntime_the_game_decodes_with_numpy(copy, rules, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    resolver = ModelResolver.load(copy, rules)
    assert resolver.engine.decoder == "numpy"
    assert "onnxruntime is not installed" in resolver.decoder_note


def test_export_measures_every_form_on_the_game_path(exported, rules, tmp_path):
    rows = {r["form"]: r for r in export_forms(exported, tmp_path / "forms", rules, n=3, latency_n=3)}
    assert set(rows) == {"fp32", "fp16", "int8", "onnx"}
    assert rows["onnx"]["decoder"] == "onnx" and rows["fp32"]["decoder"] == "numpy"
    assert not (tmp_path / "forms" / "fp32" / ONNX_FILE).exists()
    assert all(r["batch1_p50_ms"] > 0 for r in rows.values())


def test_bench_times_every_decoder_and_the_report_names_the_game_path(exported, rules):
    result = bench(exported, rules, n=3, big_batch=4)
    assert result["decoder"] == "onnx"
    assert set(result["batch1_threads1_ms"]) == {"fast_forward", "fast_forward_numpy", "fast_forward_torch",
                                                 "lockstep"}
    text = render(exported, rules, {}, result, data_stats(rules, Mix(), n=50))
    assert "fast-forward, onnx (game path)" in text and "numpy fast-forward (decoder only)" in text


# ---------------------------------------------------------------- hostile graphs (issue 13, item 11)

def _edit_graph(path, change) -> None:
    """Rewrite model.onnx through the onnx package, keeping its metadata (the weights' hash)."""
    import onnx

    proto = onnx.load(str(path))
    change(proto)
    path.write_bytes(proto.SerializeToString())


def _rename_op(op: str, domain: str = ""):
    def change(proto):
        proto.graph.node[0].op_type = op
        proto.graph.node[0].domain = domain
    return change


def _wrong_logits_dim(proto):
    """The graph really returns twice the vocabulary (an allowed op, so only the shape checks can tell)."""
    import onnx

    for node in proto.graph.node:
        node.output[:] = ["logits_raw" if o == "logits" else o for o in node.output]
    proto.graph.node.append(onnx.helper.make_node("Concat", ["logits_raw", "logits_raw"], ["logits"], axis=0))
    proto.graph.output[0].type.tensor_type.shape.dim[0].dim_value *= 2


def _scale_weights(proto):
    from onnx import numpy_helper

    init = max(proto.graph.initializer, key=lambda t: numpy_helper.to_array(t).size)
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1.5, init.name))


def _drop_output(proto):
    del proto.graph.output[2]


HOSTILE = [  # (id, damage of model.onnx, what decoder_note says)
    ("loop", lambda p: _edit_graph(p, _rename_op("Loop")), "operators the exporter never emits: Loop"),
    ("scan", lambda p: _edit_graph(p, _rename_op("Scan")), "Scan"),
    ("if", lambda p: _edit_graph(p, _rename_op("If")), "If"),
    ("other-domain", lambda p: _edit_graph(p, _rename_op("Gather", "com.evil")), "com.evil:Gather"),
    ("wrong-output-shape", lambda p: _edit_graph(p, _wrong_logits_dim), "output logits: dim 0 is"),
    ("missing-output", lambda p: _edit_graph(p, _drop_output), "outputs ['logits', 'k']"),
    ("other-numbers", lambda p: _edit_graph(p, _scale_weights), "the probe's logits differ"),
    ("truncated", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "not a usable ONNX graph"),
    ("huge", lambda p: p.write_bytes(b"\0" * (64 << 20)), "more than a graph of these weights needs"),
    ("a-directory", lambda p: (p.unlink(), p.mkdir()), "no ONNX graph"),
]


@pytest.mark.parametrize("damage, note", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_graph_is_not_used_and_the_note_says_why(copy, rules, damage, note):
    damage(copy / ONNX_FILE)
    start = time.perf_counter()
    resolver = ModelResolver.load(copy, rules)
    assert time.perf_counter() - start < 10  # never hangs: Loop and friends are refused before a session exists
    assert resolver.engine.decoder == "numpy"
    assert resolver.decoder_note.startswith(f"{ONNX_FILE} not used: ") and note in resolver.decoder_note, \
        resolver.decoder_note
    assert resolver.resolve_batch(sample("iid", 1, 0, rules))[0].raw  # the numpy decoder answers


def test_graph_ops_reader_sees_what_onnx_sees(exported):
    import onnx

    from brain.onnxform import ALLOWED_OPS, graph_ops

    proto = onnx.load(str(exported / ONNX_FILE))
    ops, domains, unusual = graph_ops((exported / ONNX_FILE).read_bytes())
    assert ops == {(n.domain, n.op_type) for n in proto.graph.node} and not unusual
    assert domains == {o.domain for o in proto.opset_import}
    assert {op for _, op in ops} <= ALLOWED_OPS
