"""`framing suggest`: uncertain and diverse sentences to label, as a training CSV (model/suggest.py)."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from framing.cli.main import app
from framing.model.schema import ModelSchema, TrainedHead
from framing.model.suggest import (
    SuggestOptions,
    assign_splits,
    farthest_first,
    from_label_studio,
    head_uncertainty,
    suggest,
)
from framing.training.checks import find_near_duplicates, normalise
from tests.conftest import ROWS

runner = CliRunner()
FURNITURE = ["Advertisement", "Read more: Subscribe to our newsletter"]


def _articles(path):
    """Ten articles of three fixture sentences each, wrapped in page furniture, then a
    document repeating two of them (one in capitals) and a record without text."""
    texts = [r[0] for r in ROWS]
    docs = [
        {"id": f"a{k}", "text": "\n".join([FURNITURE[0], " ".join(texts[k : k + 3]), FURNITURE[1]])}
        for k in range(0, len(texts), 3)
    ]
    docs.append({"id": "again", "text": texts[0] + " " + texts[1].upper()})
    docs.append({"id": "empty"})
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    return path


def _rows(path):
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _suggest(model, src, out, *args):
    result = runner.invoke(app, ["suggest", str(src), "--model", str(model), "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    return _rows(out)


def test_output_passes_data_check_and_respects_n(trained_model_dir, tiny_config_path, tmp_path):
    src = _articles(tmp_path / "news.jsonl")
    rows = _suggest(trained_model_dir, src, tmp_path / "to_label.csv", "-n", "16", "--seed", "1")
    assert len(rows) == 16
    schema = ModelSchema.load(trained_model_dir)
    assert list(rows[0])[:5] == ["id", "text", "frames", "stance", "split"]
    for r in rows:
        assert r["frames"] == r["guess.frames"] and r["stance"] == r["guess.stance"]
        assert r["split"] in ("train", "dev")
        for h in schema.heads:
            assert all(0.0 <= float(r[f"{h.name}.{lab}"]) <= 1.0 for lab in h.labels)
        # The offsets point into the source document.
        doc = next(json.loads(line) for line in src.open() if json.loads(line)["id"] == r["source_id"])
        assert doc["text"][int(r["start"]) : int(r["end"])] == r["text"]
    check = runner.invoke(
        app, ["data", "check", str(tmp_path / "to_label.csv"), "--config", str(tiny_config_path)]
    )
    assert check.exit_code == 0, check.output
    assert "OK, 16 rows" in check.output


def test_never_furniture_nor_duplicates(trained_model_dir, tmp_path):
    src = _articles(tmp_path / "news.jsonl")
    rows = _suggest(trained_model_dir, src, tmp_path / "out.csv", "-n", "100")
    texts = [r["text"] for r in rows]
    assert len(rows) == len(ROWS)  # every distinct content sentence, no more
    assert not set(texts) & set(FURNITURE)
    assert len({normalise(t) for t in texts}) == len(texts)
    assert find_near_duplicates(texts) == []


def test_same_seed_same_file(trained_model_dir, tmp_path):
    src = _articles(tmp_path / "news.jsonl")
    for name in ("a.csv", "b.csv"):
        _suggest(
            trained_model_dir, src, tmp_path / name, "-n", "10", "--seed", "7", "--format", "label-studio"
        )
    for a, b in [("a.csv", "b.csv"), ("a.label-studio.json", "b.label-studio.json")]:
        assert (tmp_path / a).read_bytes() == (tmp_path / b).read_bytes()


def test_score_jsonl_output_is_read_back_with_its_sentences(trained_model_dir, tmp_path):
    src = _articles(tmp_path / "news.jsonl")
    scored = tmp_path / "scored.jsonl"
    result = runner.invoke(
        app, ["score", str(src), "--model", str(trained_model_dir), "-o", str(scored), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    direct = _suggest(trained_model_dir, src, tmp_path / "direct.csv", "-n", "8")
    reused = _suggest(trained_model_dir, scored, tmp_path / "reused.csv", "-n", "8")
    keep = ("id", "text", "frames", "stance", "split", "start", "end", "uncertainty")
    assert [{k: r[k] for k in keep} for r in reused] == [{k: r[k] for k in keep} for r in direct]


def test_exclude_skips_labelled_sentences(trained_model_dir, tmp_path):
    src = _articles(tmp_path / "news.jsonl")
    labelled = tmp_path / "labelled.csv"
    with labelled.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "frames", "stance"])
        for text, frames, stance in ROWS[:10]:
            w.writerow([text.rstrip(".") + " today.", frames, stance])  # near, not exact, copies
    rows = _suggest(trained_model_dir, src, tmp_path / "out.csv", "-n", "100", "--exclude", str(labelled))
    assert {r["text"] for r in rows} == {r[0] for r in ROWS[10:]}


def test_random_strategy_and_no_split(trained_model_dir, tmp_path):
    src = _articles(tmp_path / "news.jsonl")
    rows = _suggest(
        trained_model_dir, src, tmp_path / "out.csv", "-n", "5", "--strategy", "random", "--no-split"
    )
    assert len(rows) == 5 and "split" not in rows[0]


def test_graph_without_embedding_output_still_scores_and_suggests(served_model_dir, tmp_path):
    """Model directories exported before `framing suggest` have no `embedding` output."""
    import onnx

    from framing.model.scorer import Scorer
    from framing.model.session import EMBEDDING_OUTPUT

    old = tmp_path / "old"
    shutil.copytree(served_model_dir, old)
    for name in ("model.onnx", "model.int8.onnx"):
        graph = onnx.load(str(old / name))
        kept = [o for o in graph.graph.output if o.name != EMBEDDING_OUTPUT]
        assert len(kept) == len(graph.graph.output) - 1
        del graph.graph.output[:]
        graph.graph.output.extend(kept)
        onnx.save(graph, str(old / name))
    new, legacy = Scorer(served_model_dir), Scorer(old)
    assert new.has_embedding and not legacy.has_embedding
    texts = ["Talks resumed in Geneva.", "Drones hit Odesa port overnight, the governor said."]
    a, _ = new.predict(texts)
    b, _ = legacy.predict(texts)
    for x, y in zip(a, b, strict=True):
        for head in x:
            np.testing.assert_allclose(x[head], y[head], atol=1e-6)
    rows, _, stats = suggest([_articles(tmp_path / "news.jsonl")], old, SuggestOptions(n=6))
    assert len(rows) == 6 and not stats.embedding


def test_label_studio_tasks_and_round_trip(trained_model_dir, tiny_config_path, tmp_path):
    src = _articles(tmp_path / "news.jsonl")
    rows = _suggest(trained_model_dir, src, tmp_path / "to_label.csv", "-n", "16", "--format", "label-studio")
    tasks = json.loads((tmp_path / "to_label.label-studio.json").read_text())
    config = (tmp_path / "to_label.label-studio.xml").read_text()
    assert '<Choices name="frames" toName="text" choice="multiple"' in config
    assert len(tasks) == len(rows)
    for task, row in zip(tasks, rows, strict=True):
        assert task["data"]["text"] == row["text"] and task["data"]["id"] == row["id"]
        (pred,) = task["predictions"]
        got = {r["from_name"]: r["value"]["choices"] for r in pred["result"]}
        assert got["stance"] == [row["stance"]]
        assert got.get("frames", []) == [x for x in row["frames"].split(";") if x]
        assert all(r["type"] == "choices" and r["to_name"] == "text" for r in pred["result"])
        # What an annotator submits: the prediction, stance corrected on the first task.
        result = [dict(r) for r in pred["result"]]
        task["annotations"] = [{"id": 1, "result": result, "was_cancelled": False}]
    tasks[-1]["annotations"] = []  # not labelled yet: left out
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks), encoding="utf-8")
    labelled = tmp_path / "mine.csv"
    written, skipped = from_label_studio(export, ModelSchema.load(trained_model_dir), labelled)
    assert (written, skipped) == (len(rows) - 1, 1)
    back = _rows(labelled)
    assert [(r["id"], r["frames"], r["stance"], r["split"]) for r in back] == [
        (r["id"], r["frames"], r["stance"], r["split"]) for r in rows[:-1]
    ]


def test_uncertainty_per_head():
    multi = TrainedHead(name="f", type="multi_label", labels=["a", "b"], thresholds={"a": 0.2, "b": 0.5})
    single = TrainedHead(name="s", type="single_label", labels=["x", "y", "z"])
    p = np.array([[0.2, 0.0], [0.6, 0.0], [1.0, 1.0], [0.1, 0.9]], dtype=np.float32)
    np.testing.assert_allclose(head_uncertainty(multi, p), [1.0, 0.5, 0.0, 0.5], atol=1e-6)
    q = np.array([[0.5, 0.5, 0.0], [0.9, 0.05, 0.05], [0.4, 0.35, 0.25]], dtype=np.float32)
    np.testing.assert_allclose(head_uncertainty(single, q), [1.0, 0.15, 0.95], atol=1e-6)


def test_farthest_first_spreads_over_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(4)
    points = np.concatenate([c + 0.01 * rng.standard_normal((10, 4)) for c in centres])
    picked = farthest_first(points, 4)
    assert picked[0] == 0
    assert sorted(i // 10 for i in picked) == [0, 1, 2, 3]  # one per cluster


def test_assign_splits_covers_every_label_guessed_twice():
    schema = ModelSchema(
        name="t",
        schema_version="1",
        max_length=16,
        heads=[
            TrainedHead(name="f", type="multi_label", labels=["a", "b"]),
            TrainedHead(name="s", type="single_label", labels=["x", "y"]),
        ],
    )
    guesses = [{"f": [], "s": "x"}] * 16 + [
        {"f": ["a"], "s": "y"},
        {"f": ["a", "b"], "s": "y"},
        {"f": ["b"], "s": "x"},
    ]
    for seed in range(5):
        splits, uncovered = assign_splits(guesses, schema, 0.2, seed)
        assert uncovered == []
        assert 3 <= splits.count("dev") <= 5
        assert splits == assign_splits(guesses, schema, 0.2, seed)[0]
    _, uncovered = assign_splits(guesses[:17], schema, 0.2, 0)
    assert uncovered == ["f.a", "f.b", "s.y"]  # guessed once or never: one split must go without


def test_bad_options_fail(trained_model_dir, tmp_path):
    src = _articles(tmp_path / "news.jsonl")
    with pytest.raises(ValueError, match="strategy"):
        suggest([src], trained_model_dir, SuggestOptions(strategy="clever"))  # type: ignore[arg-type]
    result = runner.invoke(
        app, ["suggest", str(src), "--model", str(tmp_path), "-o", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 2 and "no model directory" in result.output
