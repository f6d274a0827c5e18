"""The onnxruntime session: loads `model.int8.onnx` (default) or `model.onnx`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime as ort

Precision = Literal["int8", "fp32"]
ONNX_FILES: dict[str, str] = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
# onnxruntime's fused residual-add + layer norm runs about 4x slower on CPU than the two
# plain nodes it replaces (training/exporters/onnx.py): keep them apart at load too.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]


# The pooled sentence vector the heads read, an extra output of graphs exported since
# `framing suggest` (which spreads its picks over it); older graphs lack it.
EMBEDDING_OUTPUT = "embedding"


def output_name(head: str) -> str:
    """Name of the ONNX output holding one head's probabilities."""
    return f"probs_{head}"


class OnnxSession:
    def __init__(
        self, model_dir: str | Path, precision: Precision = "int8", threads: int | None = None
    ) -> None:
        path = Path(model_dir) / ONNX_FILES[precision]
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; precision {precision!r} needs this file")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or min(os.cpu_count() or 1, 8)
        opts.inter_op_num_threads = 1
        self.path = path
        self.precision = precision
        self._session = ort.InferenceSession(
            str(path),
            sess_options=opts,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=DISABLED_OPTIMIZERS,
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.outputs = [o.name for o in self._session.get_outputs()]

    def feed(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        """The inputs this graph takes for a padded batch (token types all 0 if it has them)."""
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        return feed

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        values = self._session.run(self.outputs, self.feed(input_ids, attention_mask))
        return dict(zip(self.outputs, values, strict=True))
