"""Train the tiny model end to end: model directory contents, parity, metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the train extra")


def test_model_directory_describes_itself(trained_model_dir):
    names = {p.name for p in trained_model_dir.iterdir()}
    for expected in ("model.onnx", "model.int8.onnx", "tokenizer.json", "schema.json",
                     "metrics.json", "README.md", "metrics_dev.png", "metrics_test.png"):
        assert expected in names, expected
    schema = json.loads((trained_model_dir / "schema.json").read_text())
    assert [h["name"] for h in schema["heads"]] == ["frames", "stance"]
    assert schema["max_length"] == 32
    frames = schema["heads"][0]
    assert set(frames["thresholds"]) == set(frames["labels"])
    assert all(0 < t < 1 for t in frames["thresholds"].values())


def test_export_parity_within_limits(trained_model_dir):
    metrics = json.loads((trained_model_dir / "metrics.json").read_text())
    parity = metrics["parity"]
    assert parity["sentences"] == 30
    assert parity["fp32_vs_torch_max_abs_prob_delta"] <= 1e-4
    assert parity["int8_vs_fp32_label_agreement"] >= 0.99
    assert parity["int8_bytes"] < parity["fp32_bytes"]
    assert set(metrics["eval"]) == {"dev", "test"}
    stance = metrics["eval"]["test"]["heads"]["stance"]
    assert np.array(stance["confusion"]["matrix"]).sum() == 6


def test_onnx_matches_torch_on_new_text(trained_model_dir, tiny_base):
    """Independent of the export's own check: rebuild torch from nothing but ONNX inputs."""
    import onnx

    graph = onnx.load(str(trained_model_dir / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.output] == ["probs_frames", "probs_stance"]


def test_card_lists_metrics_and_hashes(trained_model_dir):
    card = (trained_model_dir / "README.md").read_text()
    assert "Export parity" in card and "sha256" in card
    assert "| security_threat |" in card


def test_train_refuses_wrong_base_hash(tiny_config_path, tmp_path):
    from training.base import BaseModelError
    from training.config import load_config
    from training.trainer import train

    cfg = load_config(tiny_config_path, {"model.base_sha256": "0" * 64})
    with pytest.raises(BaseModelError, match="does not match"):
        train(cfg, tmp_path / "out")


def test_train_rejects_bad_data_with_line_numbers(tiny_config_path, tmp_path):
    from training.config import load_config
    from training.data import DataError
    from training.trainer import train

    bad = tmp_path / "bad.csv"
    bad.write_text("text,frames,stance\nA fine sentence about talks.,diplomatic_opening,neutral\n"
                   "Another sentence here.,invasion,pro_russia\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.csv:3 \[frames\].*unknown label"):
        train(load_config(tiny_config_path), tmp_path / "out", data=[str(bad)])
