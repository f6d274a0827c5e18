"""A user with other labels retrains: one multi-label head `topics`, nothing else changed.

The model directory must carry that head, and only it, to the scorer and the API.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ROWS, split_of

pytest.importorskip("torch", reason="needs the train extra")

LABELS = ["military", "politics"]
ARTICLE = "Drones hit the port overnight.\nLavrov said Moscow was ready to negotiate on security guarantees."

CONFIG = """
name: topics-only
schema_version: "custom-1"
heads:
  - {{name: topics, type: multi_label, column: topics, labels: [{labels}]}}
data: {{files: ["{data}"]}}
model: {{base: "{base}", max_length: 32{extra_model}}}
train: {{epochs: 2, max_steps: 8, batch_size: 4, lr: 5.0e-3, head_lr: 5.0e-2, patience: 10, seed: 1,
         threads: 1}}
export: {{min_int8_agreement: 0.9}}
"""


def topics_of(frames: str) -> str:
    """Deterministic relabelling of the fixture rows (every split keeps every label)."""
    out = []
    if "security_threat" in frames:
        out.append("military")
    if "legitimacy_challenge" in frames or "diplomatic_opening" in frames:
        out.append("politics")
    return ";".join(out)


def write_topics_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "topics", "split"])
        for i, (text, frames, _stance) in enumerate(ROWS):
            w.writerow([f"t{i}", text, topics_of(frames), split_of(i)])
    return path


def write_config(folder: Path, data: Path, base: Path, layers: int | None = None) -> Path:
    path = folder / "topics.yaml"
    extra = f", layers: {layers}" if layers is not None else ""
    path.write_text(
        CONFIG.format(labels=", ".join(LABELS), data=data, base=base, extra_model=extra), encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def topics_data(tmp_path_factory) -> Path:
    return write_topics_csv(tmp_path_factory.mktemp("topics-data") / "topics.csv")


@pytest.fixture(scope="module")
def topics_model(tmp_path_factory, tiny_base, topics_data) -> Path:
    from framing.training.config import load_config
    from framing.training.trainer import train

    folder = tmp_path_factory.mktemp("topics")
    config = load_config(write_config(folder, topics_data, tiny_base))
    return train(config, folder / "model")


def test_fixture_data_covers_every_label_in_every_split(tmp_path, topics_data):
    from framing.training.checks import check_file
    from framing.training.config import load_config

    config = load_config(write_config(tmp_path, topics_data, Path("unused")))
    result = check_file(topics_data, config)
    assert result.ok, [str(p) for p in result.problems]
    for split in ("train", "dev", "test"):
        seen = {lab for e in result.examples if e.split == split for lab in e.labels["topics"]}
        assert seen == set(LABELS), split


def test_schema_lists_only_the_custom_head(topics_model):
    schema = json.loads((topics_model / "schema.json").read_text())
    assert schema["name"] == "topics-only" and schema["schema_version"] == "custom-1"
    (head,) = schema["heads"]
    assert head["name"] == "topics" and head["type"] == "multi_label" and head["column"] == "topics"
    assert head["labels"] == LABELS
    assert set(head["thresholds"]) == set(LABELS)
    metrics = json.loads((topics_model / "metrics.json").read_text())
    assert set(metrics["eval"]["test"]["heads"]) == {"topics"}
    assert set(metrics["eval"]["test"]["heads"]["topics"]["per_label"]) == set(LABELS)


def test_scorer_uses_only_the_custom_labels(topics_model):
    from framing.model.scorer import Scorer

    scorer = Scorer(topics_model)
    doc = scorer.score_text(ARTICLE)
    assert len(doc.sentences) == 2
    for s in doc.sentences:
        assert set(s.scores) == {"topics"} and set(s.labels) == {"topics"}
        assert set(s.scores["topics"]) == set(LABELS)
        assert all(0.0 <= p <= 1.0 for p in s.scores["topics"].values())
        assert set(s.labels["topics"]) <= set(LABELS)
    assert set(doc.summary) == {"sentences", "furniture", "topics"}
    assert set(doc.summary["topics"]) == set(LABELS)
    # A threshold of 0 puts the label on every sentence; the default labels are unknown.
    forced = scorer.score_text(ARTICLE, {"topics": {"politics": 0.0}})
    assert all("politics" in s.labels["topics"] for s in forced.sentences)
    with pytest.raises(ValueError, match="unknown head 'frames'"):
        scorer.score_text(ARTICLE, {"frames": {"security_threat": 0.1}})


def test_service_serves_the_custom_head(topics_model):
    from framing.service.app import create_app
    from framing.service.settings import Settings

    with TestClient(create_app(Settings(model=topics_model))) as client:
        info = client.get("/v1/model")
        assert info.status_code == 200, info.text
        body = info.json()
        assert body["name"] == "topics-only"
        assert [(h["name"], h["type"], h["labels"]) for h in body["heads"]] == [
            ("topics", "multi_label", LABELS)
        ]
        assert set(body["heads"][0]["thresholds"]) == set(LABELS)

        r = client.post("/v1/classify", json={"text": ARTICLE})
        assert r.status_code == 200, r.text
        (doc,) = r.json()["documents"]
        assert len(doc["sentences"]) == 2
        for s in doc["sentences"]:
            assert set(s["scores"]) == {"topics"} and set(s["scores"]["topics"]) == set(LABELS)
            assert set(s["labels"]) == {"topics"} and set(s["labels"]["topics"]) <= set(LABELS)
        assert set(doc["summary"]) == {"sentences", "furniture", "topics"}

        forced = client.post(
            "/v1/classify", json={"text": ARTICLE, "options": {"thresholds": {"topics": {"military": 0.0}}}}
        )
        assert forced.status_code == 200, forced.text
        assert all("military" in s["labels"]["topics"] for s in forced.json()["documents"][0]["sentences"])

        wrong = client.post(
            "/v1/classify", json={"text": ARTICLE, "options": {"thresholds": {"stance": {"neutral": 0.5}}}}
        )
        assert wrong.status_code == 422 and "stance" in wrong.text


def test_fewer_layers_train_and_export(tmp_path, tiny_base, topics_data, topics_model):
    from framing.model.schema import ModelSchema
    from framing.model.scorer import Scorer
    from framing.training.config import load_config
    from framing.training.modeling import CHECKPOINT
    from framing.training.trainer import train

    config = load_config(write_config(tmp_path, topics_data, tiny_base, layers=1))
    assert config.model.layers == 1
    out = train(config, tmp_path / "model")

    # The checkpoint records the cut, and the exported graph passed the parity gates.
    encoder_config = json.loads((out / CHECKPOINT / "config.json").read_text())
    assert encoder_config["num_hidden_layers"] == 1
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["parity"]["fp32_vs_torch_max_abs_prob_delta"] <= config.export.max_fp32_delta
    assert metrics["parity"]["int8_vs_fp32_label_agreement"] >= config.export.min_int8_agreement
    assert metrics["training"]["config"]["model"]["layers"] == 1
    # One of the two layers is gone from the exported graph too.
    assert (out / "model.onnx").stat().st_size < (topics_model / "model.onnx").stat().st_size

    assert [h.name for h in ModelSchema.load(out).heads] == ["topics"]
    for precision in ("fp32", "int8"):
        doc = Scorer(out, precision=precision).score_text(ARTICLE)
        assert len(doc.sentences) == 2
        assert all(set(s.scores["topics"]) == set(LABELS) for s in doc.sentences)


def test_fewer_layers_than_the_base_has_is_an_error(tmp_path, tiny_base, topics_data):
    from framing.training.config import load_config
    from framing.training.trainer import train

    config = load_config(write_config(tmp_path, topics_data, tiny_base, layers=5))
    with pytest.raises(ValueError, match="5 asked for, the base has 2"):
        train(config, tmp_path / "model")
    assert not (tmp_path / "model").exists()
