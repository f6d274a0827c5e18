"""Activation smoothing before int8: move outlier channels from activations into weights.

Dynamic int8 gives each matrix product's input one scale per call. A few channels of
an encoder's activations (after GELU, after attention) run 10-100x larger than the rest,
so that one scale rounds every other channel coarsely, and those products flip labels.
For y = x W, dividing channel j of x by s_j and multiplying row j of W by s_j leaves y
unchanged in exact arithmetic, but narrows x's range where int8 needs it narrow; the
weights, quantized per output column, absorb the wider rows well. With
s_j = max|x_j|^alpha / max|W_j|^(1 - alpha) (the SmoothQuant rule) both sides end up
equally hard to round. The division is one elementwise Mul per product's input, which
costs far less than keeping that product in fp32.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from framing.training.exporters.ops import SMOOTHABLE

log = logging.getLogger(__name__)
MIN_SCALE, MAX_SCALE = 1e-3, 1e3


def smoothable(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    """Activation name -> the matrix products reading it with a constant 2-D weight."""
    weights = {i.name: i for i in graph.initializer}
    groups: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        k = SMOOTHABLE.get(node.op_type)
        if k is None or len(node.input) <= k or node.input[k] not in weights:
            continue
        if len(weights[node.input[k]].dims) != 2:
            continue
        groups.setdefault(node.input[0], []).append(node)
    return groups


def channel_maxima(
    model: onnx.ModelProto, names: list[str], batches: Iterable[dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Largest |value| per channel (last axis) of each named tensor over the batches."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    for name in names:
        if name not in known:
            probe.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    inputs = {i.name for i in session.get_inputs()}
    maxima: dict[str, np.ndarray] = {}
    for feed in batches:
        values = session.run(names, {k: v for k, v in feed.items() if k in inputs})
        for name, value in zip(names, values, strict=True):
            m = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
            maxima[name] = np.maximum(maxima[name], m) if name in maxima else m
    return maxima


def activation_maxima(src: Path, batches: Iterable[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-channel range of every smoothable activation of `src` over `batches`, feeds
    (input_ids, attention_mask, ...) of typical text."""
    model = onnx.load(str(src))
    return channel_maxima(model, sorted(smoothable(model.graph)), batches)


def smooth(
    src: Path,
    dst: Path,
    maxima: dict[str, np.ndarray],
    alpha: float,
    nodes: Iterable[str] | None = None,
) -> int:
    """Write `src` to `dst` with the inputs of its matrix products smoothed (only those of
    `nodes`, by name, when given); returns how many activations were smoothed."""
    model = onnx.load(str(src))
    graph = model.graph
    groups = smoothable(graph)
    if nodes is not None:
        wanted = set(nodes)
        groups = {act: ns for act, ns in groups.items() if any(n.name in wanted for n in ns)}
    weights = {i.name: i for i in graph.initializer}
    mul_before: dict[str, onnx.NodeProto] = {}  # first consumer's output -> its Mul
    for act, readers in groups.items():
        arrays = [numpy_helper.to_array(weights[n.input[SMOOTHABLE[n.op_type]]]) for n in readers]
        w_max = np.max([np.abs(w).max(axis=1) for w in arrays], axis=0)
        x_max = maxima.get(act)
        if x_max is None or x_max.shape != w_max.shape:
            continue  # not a plain [.., in] x [in, out] product
        ok = (x_max > 0) & (w_max > 0)
        scale = np.ones_like(w_max)
        scale[ok] = x_max[ok] ** alpha / w_max[ok] ** (1 - alpha)
        scale = np.clip(scale, MIN_SCALE, MAX_SCALE).astype(np.float32)
        smoothed = f"{act}_smoothed"
        inverse = numpy_helper.from_array((1.0 / scale).astype(np.float32), f"{smoothed}_inv_scale")
        graph.initializer.append(inverse)
        for node, w in zip(readers, arrays, strict=True):
            k = SMOOTHABLE[node.op_type]
            # A weight of its own: another node may share the original.
            name = f"{node.input[k]}_smoothed_{len(graph.initializer)}"
            graph.initializer.append(numpy_helper.from_array((w * scale[:, None]).astype(w.dtype), name))
            node.input[k] = name
            node.input[0] = smoothed
        mul_before[readers[0].output[0]] = helper.make_node(
            "Mul", [act, inverse.name], [smoothed], name=f"{act}_smooth"
        )
    order = []
    for node in graph.node:
        if node.output and node.output[0] in mul_before:
            order.append(mul_before[node.output[0]])  # right before its first reader: still sorted
        order.append(node)
    del graph.node[:]
    graph.node.extend(order)
    # Weights nobody reads any more would only bloat the file.
    used = {i for n in graph.node for i in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.save(model, str(dst))
    log.info("smoothed the inputs of %d activation(s) (alpha %.2f)", len(mul_before), alpha)
    return len(mul_before)
