"""Dynamic int8 quantization to an agreement target: smooth first, fp32 as the fallback.

Per-tensor activation scales suit most of an encoder, but a few matrix products
(typically the feed-forward layers of the first blocks, whose inputs carry outlier
features) lose enough precision to flip labels. When quantizing everything misses the
agreement target on a probe set, each weight node's sensitivity is measured alone
(mean |Δ probability| when only it is int8). The inputs of the most sensitive nodes are
then smoothed (training/exporters/smooth.py), one more at a time, at the cost of one
elementwise Mul each; only if that falls short are the most sensitive nodes left in fp32,
one by one, until the target is met. Int8-aware tuning (training/int8_aware.py) makes
the weights robust enough that few need either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

from framing.model.scorer import Scorer, plan_batches
from framing.model.session import ONNX_FILES
from framing.training.exporters.ops import WEIGHT_INPUT
from framing.training.exporters.smooth import activation_maxima, smooth

log = logging.getLogger(__name__)


def weight_nodes(path: Path) -> list[str]:
    """Matrix products whose weight is a constant: the nodes quantization converts."""
    graph = onnx.load(str(path), load_external_data=False).graph
    constants = {i.name for i in graph.initializer}
    return [
        n.name
        for n in graph.node
        if n.op_type in WEIGHT_INPUT
        and len(n.input) > WEIGHT_INPUT[n.op_type]
        and n.input[WEIGHT_INPUT[n.op_type]] in constants
    ]


def quantize(src: Path, dst: Path, exclude: list[str]) -> None:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs every tensor on the root logger
    try:
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # Matrix products only. The quantizer would also store the embedding tables
            # (EmbedLayerNormalization, Gather) in 8 bits: that saves bytes, not time, and
            # costs agreement, since every token then starts from a rounded vector.
            op_types_to_quantize=sorted(WEIGHT_INPUT),
            nodes_to_exclude=exclude,
            # fused contrib ops defeat shape inference; their tensors are float
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)


def quantize_to_target(
    model_dir: Path,
    probe: list[str],
    target: float,
    probabilities: Any,
    agreement: Any,
    sensitivity_texts: int = 64,
    smooth_alpha: float = 0.85,
) -> dict[str, Any]:
    """Write model.int8.onnx meeting `target` label agreement with fp32 on `probe` if it can.

    In order of cost: every product int8; then the inputs of the most sensitive products
    smoothed (training/exporters/smooth.py), one more at a time; only if smoothing them all
    falls short, the most sensitive products kept in fp32, one more at a time.
    `probabilities(scorer, texts)` and `agreement(scorer, a, b)` come from the exporter.
    """
    src, dst = model_dir / ONNX_FILES["fp32"], model_dir / ONNX_FILES["int8"]
    smoothed = model_dir / "model.smoothed.onnx"
    fp32 = Scorer(model_dir, precision="fp32")
    ref = probabilities(fp32, probe)

    def measure(graph: Path, exclude: list[str], texts: list[str]) -> list[np.ndarray]:
        quantize(graph, dst, exclude)
        return probabilities(Scorer(model_dir, precision="int8"), texts)

    nodes = weight_nodes(src)
    found = agreement(fp32, ref, measure(src, [], probe))
    report: dict[str, Any] = {
        "weight_nodes": len(nodes),
        "excluded": [],
        "smoothed": [],
        "smooth_alpha": smooth_alpha,
        "probe_sentences": len(probe),
        "probe_agreement_all_int8": round(found, 5),
    }
    if found >= target or not probe:
        report["probe_agreement"] = round(found, 5)
        return report

    sample, ref_sample = probe[:sensitivity_texts], [r[:sensitivity_texts] for r in ref]
    sensitivity = {}
    for node in nodes:
        got = measure(src, [m for m in nodes if m != node], sample)
        sensitivity[node] = float(
            np.mean([np.abs(a - b).mean() for a, b in zip(ref_sample, got, strict=True)])
        )
    ranked = sorted(nodes, key=sensitivity.__getitem__, reverse=True)
    log.info("int8: %.2f%% agreement with every node int8; most sensitive: %s", 100 * found, ranked[:5])
    try:
        if smooth_alpha > 0:
            maxima = activation_maxima(src, calibration_feeds(fp32, probe))
            done = 0
            for k in range(1, len(ranked) + 1):
                n = smooth(src, smoothed, maxima, smooth_alpha, ranked[:k])
                if n == done:
                    continue  # nothing new smoothed (input shared or not smoothable): add the next
                done = n
                found = agreement(fp32, ref, measure(smoothed, [], probe))
                log.info("int8: inputs of %d node(s) smoothed -> %.2f%% agreement", k, 100 * found)
                if found >= target:
                    report["smoothed"] = ranked[:k]
                    report["probe_agreement"] = round(found, 5)
                    return report
        for k in range(1, len(ranked) + 1):
            found = agreement(fp32, ref, measure(src, ranked[:k], probe))
            log.info("int8: %d node(s) kept in fp32 -> %.2f%% agreement", k, 100 * found)
            if found >= target:
                report["excluded"] = ranked[:k]
                break
    finally:
        smoothed.unlink(missing_ok=True)
    report["probe_agreement"] = round(found, 5)
    return report


def calibration_feeds(scorer: Scorer, texts: list[str]) -> Iterator[dict[str, np.ndarray]]:
    """The onnxruntime feeds the scorer would run for `texts`, for measuring ranges."""
    rows = [w.ids[0] for w in scorer.tokenizer.encode(texts)]
    for idx in plan_batches([len(r) for r in rows], scorer.batch_size, scorer.max_batch_tokens):
        yield scorer.session.feed(*scorer.tokenizer.pad([rows[k] for k in idx]))
