"""`framing evaluate`: metrics JSON and PNG of a model directory on a labelled CSV."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from framing.cli.main import app
from tests.conftest import ROWS, write_csv

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
runner = CliRunner()


def evaluate(*args: str):
    return runner.invoke(app, ["evaluate", *args])


def expected_support(head: dict) -> dict[str, int]:
    """How often each label of a schema head occurs in ROWS (the ground truth)."""
    column = 1 if head["name"] == "frames" else 2
    return {lab: sum(lab in row[column].split(";") for row in ROWS) for lab in head["labels"]}


def test_evaluate_writes_metrics_and_plot(trained_model_dir, tmp_path):
    data = write_csv(tmp_path / "holdout.csv", with_split=False)
    out = tmp_path / "eval"
    result = evaluate("--model", str(trained_model_dir), "--data", str(data), "--out", str(out))
    assert result.exit_code == 0, result.output

    metrics = json.loads((out / "metrics.json").read_text())
    schema = json.loads((trained_model_dir / "schema.json").read_text())
    assert metrics["n"] == len(ROWS)
    assert metrics["data"] == str(data) and metrics["precision"] == "int8"
    assert set(metrics["heads"]) == {h["name"] for h in schema["heads"]}
    for head in schema["heads"]:
        m = metrics["heads"][head["name"]]
        assert list(m["per_label"]) == head["labels"]
        assert {lab: v["support"] for lab, v in m["per_label"].items()} == expected_support(head)
        for v in m["per_label"].values():
            for key in ("precision", "recall", "f1"):
                assert 0.0 <= v[key] <= 1.0
            p, r = v["precision"], v["recall"]
            assert v["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0, abs=1e-3)
        assert 0.0 <= m["micro_f1"] <= 1.0
        assert m["macro_f1"] == pytest.approx(
            sum(v["f1"] for v in m["per_label"].values()) / len(head["labels"]), abs=1e-3
        )
        if head["type"] == "single_label":
            confusion = m["confusion"]
            assert confusion["labels"] == head["labels"]
            matrix = confusion["matrix"]
            assert len(matrix) == len(head["labels"]) and all(len(r) == len(head["labels"]) for r in matrix)
            # Rows are the true labels: each row sums to that label's support.
            assert [sum(r) for r in matrix] == [expected_support(head)[lab] for lab in head["labels"]]
            diagonal = sum(matrix[i][i] for i in range(len(matrix)))
            assert m["accuracy"] == pytest.approx(diagonal / len(ROWS), abs=1e-4)
            assert m["micro_f1"] == pytest.approx(m["accuracy"], abs=1e-4)
        else:
            assert "confusion" not in m

    assert (out / "metrics.png").read_bytes()[:8] == PNG_MAGIC
    # Calibration: ECE (15 bins) per head and a reliability diagram beside the plot.
    for head in schema["heads"]:
        m = metrics["heads"][head["name"]]
        assert 0.0 <= m["ece"] <= 1.0 and len(m["reliability"]["bins"]) == 15
        counted = sum(b["count"] for b in m["reliability"]["bins"])
        assert counted == len(ROWS) * (len(head["labels"]) if head["type"] == "multi_label" else 1)
        assert (out / f"reliability_{head['name']}.png").read_bytes()[:8] == PNG_MAGIC
    # The command also prints the per-head summary it wrote.
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    assert printed == {
        name: {"macro_f1": m["macro_f1"], "micro_f1": m["micro_f1"], "ece": m["ece"]}
        for name, m in metrics["heads"].items()
    }


def test_evaluate_fp32_without_out_writes_nothing(trained_model_dir, tmp_path, monkeypatch):
    data = write_csv(tmp_path / "holdout.csv")
    monkeypatch.chdir(tmp_path)
    result = evaluate("--model", str(trained_model_dir), "--data", str(data), "--precision", "fp32")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    assert set(printed) == {"frames", "stance"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holdout.csv"]


@pytest.mark.parametrize(
    ("line", "value", "needle"),
    [(2, ("economic_pressure", "neutral"), "[frames]"), (2, ("", "pro_nato"), "[stance]")],
    ids=["multi-label", "single-label"],
)
def test_unknown_label_fails_and_names_the_line(trained_model_dir, tmp_path, caplog, line, value, needle):
    # One data row, on line 2, whose label the model does not know.
    data = write_csv(tmp_path / "bad.csv", rows=[(ROWS[0][0], *value)], with_split=False)
    out = tmp_path / "eval"
    with caplog.at_level(logging.WARNING):
        result = evaluate("--model", str(trained_model_dir), "--data", str(data), "--out", str(out))
    assert result.exit_code != 0
    assert "no usable rows" in result.output
    assert f"{data}:{line} {needle}: unknown label" in caplog.text
    assert not (out / "metrics.json").exists()


def test_bad_row_among_good_ones_is_named_and_left_out(trained_model_dir, tmp_path, caplog):
    rows = list(ROWS)
    rows[5] = (rows[5][0], "economic_pressure", rows[5][2])  # data row 6 is on line 7
    data = write_csv(tmp_path / "mixed.csv", rows=rows, with_split=False)
    out = tmp_path / "eval"
    with caplog.at_level(logging.WARNING):
        result = evaluate("--model", str(trained_model_dir), "--data", str(data), "--out", str(out))
    assert f"{data}:7 [frames]: unknown label" in caplog.text
    assert result.exit_code == 0, result.output
    assert json.loads((out / "metrics.json").read_text())["n"] == len(ROWS) - 1


def test_missing_model_dir_fails(tmp_path):
    data = write_csv(tmp_path / "holdout.csv")
    result = evaluate("--model", str(tmp_path / "nowhere"), "--data", str(data))
    assert result.exit_code == 1
    assert "schema.json" in result.output
