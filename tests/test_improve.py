"""Improving a model on new labels: `framing train --init` (warm start, weighted files) and the
calibration fitted after the thresholds (training/calibration.py)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from framing.cli.main import app
from framing.model.schema import HeadSpec
from tests.conftest import write_csv

pytest.importorskip("torch", reason="needs the train extra")
runner = CliRunner()


# -- warm start ------------------------------------------------------------------
def test_init_with_a_mismatched_schema_fails_naming_the_difference(
    trained_model_dir, tiny_config_path, tmp_path
):
    from framing.training.config import load_config
    from framing.training.trainer import InitError, train

    cfg = load_config(
        tiny_config_path,
        {
            "heads": "[{name: frames, type: multi_label, labels: [security_threat, legitimacy_challenge, "
            "diplomatic_opening, economic_pressure]}, {name: stance, type: single_label, "
            "labels: [pro_ukraine, pro_russia, neutral]}]",
            "model.max_length": "48",
        },
    )
    with pytest.raises(InitError) as err:
        train(cfg, tmp_path / "out", init=trained_model_dir)
    message = str(err.value)
    assert (
        "head 'frames' labels: model ['security_threat', 'legitimacy_challenge', 'diplomatic_opening'], "
        "config ['security_threat', 'legitimacy_challenge', 'diplomatic_opening', 'economic_pressure']"
    ) in message
    assert "head 'stance' label order: model ['pro_russia', 'pro_ukraine', 'neutral']" in message
    assert "model.max_length: model 32, config 48" in message
    assert not (tmp_path / "out").exists()

    # The command line says the same and exits 1.
    result = runner.invoke(
        app,
        ["train", "--config", str(tiny_config_path), "--init", str(trained_model_dir), "--out",
         str(tmp_path / "out"), "--model.context_tokens", "8"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "model.context_tokens: model 0, config 8" in result.output


def test_init_without_a_checkpoint_fails(trained_model_dir, tiny_config_path, tmp_path):
    import shutil

    from framing.training.config import load_config
    from framing.training.trainer import InitError, train

    bare = tmp_path / "served"
    shutil.copytree(trained_model_dir, bare, ignore=shutil.ignore_patterns("torch"))
    with pytest.raises(InitError, match="no torch checkpoint"):
        train(load_config(tiny_config_path), tmp_path / "out", init=bare)


def test_init_run_records_its_parent_and_weighted_files(
    trained_model_dir, tiny_config_path, tiny_data, tmp_path
):
    from framing.model.model_metrics import ModelMetrics
    from framing.model.scorer import model_version
    from framing.training.config import load_config
    from framing.training.trainer import train

    mine = write_csv(tmp_path / "mine.csv")
    cfg = load_config(tiny_config_path, {"train.epochs": "2", "export.min_int8_agreement": "0"})
    out = train(cfg, tmp_path / "child", data=[str(mine), f"{tiny_data}:0.5"], init=trained_model_dir)

    metrics = ModelMetrics.load(out)
    assert metrics is not None and metrics.parent is not None
    assert metrics.parent.version == model_version(trained_model_dir)
    assert metrics.parent.path == str(trained_model_dir)
    assert [(f.path, f.weight) for f in metrics.data.files] == [(str(mine), 1.0), (str(tiny_data), 0.5)]
    assert all(re.fullmatch(r"[0-9a-f]{64}", f.sha256) for f in metrics.data.files)
    assert metrics.training["init"] == str(trained_model_dir)
    assert metrics.training["history"][0]["epoch"] == 0  # the parent as it was, on dev
    card = (out / "README.md").read_text()
    assert f"trained further from model `{metrics.parent.version}`" in card
    assert "sampling weight 0.5" in card
    assert (
        json.loads((out / "schema.json").read_text())["base_model"]
        == json.loads((trained_model_dir / "schema.json").read_text())["base_model"]
    )


def test_data_spec_and_epoch_rows():
    from framing.training.data import DataError, epoch_rows, parse_data_spec

    assert parse_data_spec("data/corpus.csv:0.5") == ("data/corpus.csv", 0.5)
    assert parse_data_spec("data/corpus.csv") == ("data/corpus.csv", 1.0)
    assert parse_data_spec("odd:name.csv") == ("odd:name.csv", 1.0)
    with pytest.raises(DataError, match="positive"):
        parse_data_spec("data/corpus.csv:-1")

    assert epoch_rows([1.0] * 5, 0) is None  # no weights: every row once, as before
    weights = [1.0] * 4 + [0.5] * 10 + [2.0] * 3
    rows = epoch_rows(weights, 1)
    counts = np.bincount(rows, minlength=len(weights))
    assert list(counts[:4]) == [1] * 4
    assert counts[4:14].sum() == 5 and counts[4:14].max() == 1
    assert list(counts[14:]) == [2] * 3
    assert rows != epoch_rows(weights, 2) and rows == epoch_rows(weights, 1)


# -- calibration -----------------------------------------------------------------
MULTI = HeadSpec(name="frames", type="multi_label", labels=["a", "b", "c"])
SINGLE = HeadSpec(name="stance", type="single_label", labels=["x", "y", "z"])


def test_temperature_leaves_single_label_decisions_unchanged():
    from framing.training.calibration import apply_temperature, fit_temperature, nll

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    logits = rng.normal(size=(400, 3)) * 4 + 3 * np.eye(3)[y]  # informative, overconfident
    (t,) = fit_temperature(SINGLE, logits, y)
    assert t > 1  # overconfident logits get softened
    raw, cal = apply_temperature(SINGLE, logits, None), apply_temperature(SINGLE, logits, [t])
    assert np.array_equal(raw.argmax(1), cal.argmax(1))
    assert nll(SINGLE, cal, y) < nll(SINGLE, raw, y)


def test_thresholds_carried_to_the_calibrated_scale_keep_multi_label_decisions():
    from framing.training.calibration import apply_temperature, calibrated_thresholds, fit_temperature

    rng = np.random.default_rng(1)
    y = (rng.random((300, 3)) < [0.2, 0.5, 0.1]).astype(float)
    logits = rng.normal(size=(300, 3)) * [0.3, 3.0, 1.0] + (2 * y - 1) * [0.4, 2.0, 1.5]
    t = fit_temperature(MULTI, logits, y)
    assert t[0] < 1 < t[1]  # underconfident label sharpened, overconfident one softened
    thresholds = {"a": 0.3, "b": 0.62, "c": 0.17}
    moved = calibrated_thresholds(thresholds, MULTI, t)
    before = MULTI.decide(apply_temperature(MULTI, logits, None), thresholds)
    after = MULTI.decide(apply_temperature(MULTI, logits, t), moved)
    assert np.array_equal(before, after)


def test_ece_and_reliability_bins():
    from framing.training.calibration import reliability

    # Confidence 0.9, right 9 times in 10: calibrated. Always right at 0.6: ECE 0.4 on those.
    probs = np.array([[0.9, 0.1, 0.0]] * 10 + [[0.6, 0.4, 0.0]] * 10)
    y = np.array([0] * 9 + [1] + [0] * 10)
    rel = reliability(SINGLE, probs, y)
    assert rel["ece"] == pytest.approx(0.5 * 0.0 + 0.5 * 0.4, abs=1e-5)
    filled = [b for b in rel["bins"] if b["count"]]
    assert [b["count"] for b in filled] == [10, 10] and len(rel["bins"]) == 15
    multi = reliability(MULTI, np.full((4, 3), 0.25), np.array([[1, 0, 0]] * 4))
    assert multi["ece"] == pytest.approx(abs(0.25 - 1 / 3), abs=1e-5)


def test_trained_model_is_calibrated_with_decisions_unchanged(trained_model_dir):
    """The shipped schema's thresholds on calibrated probabilities decide as the tuned
    thresholds did on the raw ones; argmax is untouched."""
    import torch

    from framing.model.schema import ModelSchema
    from framing.model.scorer import Scorer
    from framing.training.calibration import apply_temperature
    from framing.training.modeling import load_checkpoint
    from tests.conftest import ROWS

    cal = json.loads((trained_model_dir / "calibration.json").read_text())
    assert cal["method"] == "temperature" and set(cal["heads"]) == {"frames", "stance"}
    metrics = json.loads((trained_model_dir / "metrics.json").read_text())
    assert metrics["calibration"] == cal
    assert all(m["ece"] is not None for m in metrics["eval"]["dev"]["heads"].values())

    schema = ModelSchema.load(trained_model_dir)
    model = load_checkpoint(trained_model_dir / "torch")
    assert model.temperatures is not None
    scorer = Scorer(trained_model_dir, precision="fp32")
    texts = [r[0] for r in ROWS] + ["Talks resumed in Geneva.", "Drones hit Odesa port overnight."]
    ids, mask = scorer.tokenizer.pad([w.ids[0] for w in scorer.tokenizer.encode(texts)])
    with torch.inference_mode():
        logits = {k: v.numpy() for k, v in model(torch.from_numpy(ids), torch.from_numpy(mask)).items()}
    for h in schema.heads:
        entry = cal["heads"][h.name]
        t = list(entry["temperature"].values()) if h.multi else [entry["temperature"]]
        raw, calibrated = apply_temperature(h, logits[h.name], None), apply_temperature(h, logits[h.name], t)
        before = HeadSpec.decide(h, raw, entry.get("thresholds_uncalibrated"))
        assert np.array_equal(before, h.decide(calibrated))  # h.decide: the shipped thresholds


def test_calibrated_probabilities_round_trip_through_onnx(tiny_base, tmp_path):
    """Temperatures baked into the graph: onnxruntime matches torch within 1e-4 with the
    calibration applied, and the probabilities differ from the uncalibrated ones."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from framing.model.schema import ModelSchema, TrainedHead
    from framing.model.scorer import Scorer
    from framing.model.tokenize import TOKENIZER_FILE
    from framing.training.exporters.onnx import export_fp32, onnx_probabilities, torch_probabilities
    from framing.training.modeling import MultiHeadClassifier, load_checkpoint, save_checkpoint

    heads = [
        TrainedHead(name="frames", type="multi_label", labels=["a", "b"]),
        TrainedHead(name="side", type="single_label", labels=["x", "y", "z"]),
    ]
    torch.manual_seed(5)
    model = MultiHeadClassifier(AutoModel.from_pretrained(tiny_base), heads).eval()
    with torch.no_grad():
        for layer in model.heads.values():  # logits large enough for temperature to matter
            layer.weight.mul_(40)
    ModelSchema(name="t", schema_version="1", heads=heads, max_length=24).save(tmp_path)
    tok = AutoTokenizer.from_pretrained(tiny_base)
    tok.backend_tokenizer.save(str(tmp_path / TOKENIZER_FILE))
    texts = ["Talks resumed in Geneva.", "Drones hit Odesa port overnight, the governor said.", "x"]

    export_fp32(model, tmp_path / "model.onnx", tok.vocab_size)
    plain = onnx_probabilities(Scorer(tmp_path, precision="fp32"), texts)
    model.temperatures = {"frames": [0.5, 3.0], "side": [2.5]}
    export_fp32(model, tmp_path / "model.onnx", tok.vocab_size)
    scorer = Scorer(tmp_path, precision="fp32")
    calibrated = onnx_probabilities(scorer, texts)
    for ref, got, raw in zip(torch_probabilities(model, scorer, texts), calibrated, plain, strict=True):
        assert np.abs(ref - got).max() <= 1e-4
        assert np.abs(got - raw).max() > 1e-2
    assert np.array_equal(calibrated[1].argmax(1), plain[1].argmax(1))
    # The checkpoint keeps the temperatures: reloaded, torch gives the calibrated probabilities.
    save_checkpoint(model, tmp_path / "torch")
    again = load_checkpoint(tmp_path / "torch")
    for ref, got in zip(torch_probabilities(again, scorer, texts), calibrated, strict=True):
        assert np.abs(ref - got).max() <= 1e-4
