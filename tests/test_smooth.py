"""Activation smoothing before int8 (training/exporters/smooth.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

pytest.importorskip("torch", reason="needs the train extra")

from framing.model.scorer import Scorer  # noqa: E402
from framing.training.exporters.onnx import label_agreement, onnx_probabilities  # noqa: E402
from framing.training.exporters.quantize import calibration_feeds, quantize, quantize_to_target  # noqa: E402
from framing.training.exporters.smooth import activation_maxima, smooth  # noqa: E402


def run(path: Path, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feed.items() if k in names})


def outlier_product(path: Path, rng: np.random.Generator) -> None:
    """y = x W with W [16, 8]: the shape of a layer fed by a few outlier channels."""
    w = rng.normal(0, 0.1, (16, 8)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="product")],
        "outlier",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 8])],
        [numpy_helper.from_array(w, "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def outlier_inputs(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(0, 1, (n, 16)).astype(np.float32)
    x[:, :2] *= 60  # two channels far wider than the rest, as after GELU in an encoder
    return x


def test_smoothing_keeps_fp32_outputs_and_cuts_int8_error(tmp_path):
    rng = np.random.default_rng(0)
    plain, smoothed = tmp_path / "plain.onnx", tmp_path / "smoothed.onnx"
    outlier_product(plain, rng)
    maxima = activation_maxima(plain, [{"x": outlier_inputs(rng, 256)}])
    assert smooth(plain, smoothed, maxima, alpha=0.85) == 1

    x = outlier_inputs(rng, 512)  # fresh rows, not the calibration ones
    (ref,) = run(plain, {"x": x})
    (same,) = run(smoothed, {"x": x})
    assert np.abs(same - ref).max() <= 1e-4 * np.abs(ref).max()

    errors = {}
    for name, graph in (("plain", plain), ("smoothed", smoothed)):
        quantize(graph, tmp_path / f"{name}.int8.onnx", [])
        (got,) = run(tmp_path / f"{name}.int8.onnx", {"x": x})
        errors[name] = float(np.abs(got - ref).mean())
    assert errors["smoothed"] < 0.6 * errors["plain"], errors


def test_smoothing_the_trained_encoder_keeps_its_probabilities(trained_model_dir, tmp_path):
    src = trained_model_dir / "model.onnx"
    scorer = Scorer(trained_model_dir, precision="fp32")
    texts = ["Talks resumed in Geneva.", "Drones hit the port overnight, the governor said."]
    maxima = activation_maxima(src, calibration_feeds(scorer, texts * 4))
    n = smooth(src, tmp_path / "smoothed.onnx", maxima, alpha=0.85)
    assert n >= 4  # every block's products read an activation of their own

    ops = [node.op_type for node in onnx.load(str(tmp_path / "smoothed.onnx")).graph.node]
    assert ops.count("Mul") >= n
    feed = next(calibration_feeds(scorer, ["Sanctions were extended for a year.", "x"]))
    for ref, got in zip(run(src, feed), run(tmp_path / "smoothed.onnx", feed), strict=True):
        assert np.abs(ref - got).max() <= 1e-5


def test_smoothing_only_named_products(trained_model_dir, tmp_path):
    src = trained_model_dir / "model.onnx"
    scorer = Scorer(trained_model_dir, precision="fp32")
    maxima = activation_maxima(src, calibration_feeds(scorer, ["Talks resumed in Geneva."]))
    first = next(n.name for n in onnx.load(str(src)).graph.node if n.op_type == "MatMul")
    assert smooth(src, tmp_path / "one.onnx", maxima, 0.85, [first]) == 1
    assert smooth(src, tmp_path / "none.onnx", maxima, 0.85, []) == 0


def test_quantizer_smooths_before_keeping_anything_in_fp32(trained_model_dir, tmp_path, monkeypatch):
    """With all-int8 short of the target, the sensitive products' inputs are smoothed one
    more at a time; keeping products in fp32 is the fallback, not reached here."""
    for name in ("schema.json", "tokenizer.json", "model.onnx"):
        shutil.copy(trained_model_dir / name, tmp_path / name)
    # Scripted agreement: every product int8 and then one smoothed input fall short of
    # the target, two smoothed inputs meet it. The graphs themselves are real.
    answers = iter([0.5, 0.5])
    probe = ["Talks resumed in Geneva.", "Drones hit the port overnight.", "Sanctions were extended."]
    report = quantize_to_target(
        tmp_path, probe, 0.9, onnx_probabilities, lambda scorer, a, b: next(answers, 1.0)
    )
    assert report["smoothed"] and report["excluded"] == []
    assert report["probe_agreement_all_int8"] == 0.5 and report["probe_agreement"] == 1.0
    assert not (tmp_path / "model.smoothed.onnx").exists()
    nodes = onnx.load(str(tmp_path / "model.int8.onnx")).graph.node
    assert sum(n.op_type == "Mul" and n.name.endswith("_smooth") for n in nodes) == 2
    assert {n.op_type for n in nodes} & {"DynamicQuantizeMatMul", "MatMulInteger", "QAttention"}
    # The smoothed int8 graph still scores like the fp32 one it came from.
    fp32, int8 = Scorer(tmp_path, precision="fp32"), Scorer(tmp_path, precision="int8")
    ref = onnx_probabilities(fp32, probe)
    assert label_agreement(fp32, ref, onnx_probabilities(int8, probe)) >= 0.75
