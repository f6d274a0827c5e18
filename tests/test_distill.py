"""Distillation: a teacher's probabilities written as a CSV, read back onto the training rows,
and mixed into each head's loss."""

from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("torch", reason="needs the train extra")


@pytest.mark.parametrize("multi", [True, False])
def test_distilled_loss_mixes_gold_and_teacher(multi):
    import torch

    from framing.model.schema import HeadSpec
    from framing.training.modeling import DistilledLoss, head_loss, target_tensor

    head = HeadSpec(
        name="h", type="multi_label" if multi else "single_label", column="h", labels=["a", "b", "c"]
    )
    y = np.array([[1, 0, 0], [0, 1, 0]]) if multi else np.array([0, 1])
    gold = target_tensor(head, y)
    logits = torch.tensor([[2.0, -1.0, 0.5], [-0.5, 1.5, 0.0]])
    hard = head_loss(head, y, class_weights=False)
    one_hot = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    mask = torch.ones(2)
    # A teacher that agrees with the gold labels exactly changes nothing, whatever its weight.
    agrees = DistilledLoss(hard, head.activation, 0.7)(logits, (gold, one_hot, mask))
    assert float(agrees) == pytest.approx(float(hard(logits, gold)), rel=1e-5)
    # One that disagrees moves the loss; at weight 0 it is ignored.
    other = torch.tensor([[0.1, 0.1, 0.8], [0.8, 0.1, 0.1]])
    assert float(DistilledLoss(hard, head.activation, 0.7)(logits, (gold, other, mask))) != pytest.approx(
        float(hard(logits, gold)), rel=1e-3
    )
    ignored = DistilledLoss(hard, head.activation, 0.0)(logits, (gold, other, mask))
    assert float(ignored) == pytest.approx(float(hard(logits, gold)), rel=1e-6)
    # Rows the teacher did not score (mask 0) add nothing to the soft part, and keep their
    # share of the gold loss: half the batch scored gives the teacher half the weight.
    full = DistilledLoss(hard, head.activation, 1.0)
    masked = full(logits, (gold, other, torch.tensor([1.0, 0.0])))
    soft_first = full(logits[:1], (gold[:1], other[:1], torch.ones(1)))
    assert float(masked) == pytest.approx(0.5 * float(hard(logits, gold)) + 0.5 * float(soft_first), rel=1e-5)
    unscored = full(logits, (gold, other, torch.zeros(2)))
    assert float(unscored) == pytest.approx(float(hard(logits, gold)), rel=1e-6)
    # Evaluation passes plain targets: the hard loss alone.
    assert float(full(logits, gold)) == pytest.approx(float(hard(logits, gold)))


def test_teacher_file_round_trip_and_training(trained_model_dir, tiny_config_path, tmp_path):
    from typer.testing import CliRunner

    from framing.cli.main import app
    from framing.model.scorer import Scorer
    from framing.training.config import load_config
    from framing.training.data import TEACHER_MASK, load_splits, teacher_column
    from framing.training.trainer import train

    out = tmp_path / "teacher.csv"
    result = CliRunner().invoke(
        app,
        [
            "data",
            "teacher",
            str(trained_model_dir),
            "-o",
            str(out),
            "--config",
            str(tiny_config_path),
        ],
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    config = load_config(tiny_config_path, {"train.teacher": str(out)})
    splits = load_splits(config)
    assert len(rows) == len(splits["train"])
    # The file holds the teacher's fp32 probabilities, rounded to 4 places.
    scorer = Scorer(trained_model_dir, precision="fp32")
    probs = scorer.predict([r["text"] for r in rows], [r["context"] for r in rows])[0]
    for row, p in zip(rows, probs, strict=True):
        assert float(row["stance:neutral"]) == pytest.approx(float(p["stance"][2]), abs=1e-4)
    # Every training row carries them; dev rows carry the columns, masked.
    assert all(m == 1.0 for m in splits["train"][TEACHER_MASK])
    assert all(m == 0.0 for m in splits["dev"][TEACHER_MASK])
    first = splits["train"][0]
    expected = next(p for r, p in zip(rows, probs, strict=True) if r["text"] == first["text"])
    assert np.allclose(first[teacher_column("frames")], expected["frames"], atol=1e-4)
    # And a student trains against them end to end.
    student = train(
        load_config(tiny_config_path, {"train.teacher": str(out), "train.max_steps": "4"}), tmp_path / "m"
    )
    assert (student / "model.int8.onnx").is_file()


def test_teacher_file_problems_are_named(tiny_config_path, tmp_path):
    from framing.training.config import load_config
    from framing.training.data import DataError, load_splits

    bad = tmp_path / "bad.csv"
    header = "text,context,frames:security_threat,frames:legitimacy_challenge,frames:diplomatic_opening,"
    bad.write_text(
        header + "stance:pro_russia,stance:pro_ukraine,stance:neutral\n"
        "Some sentence.,,0.1,0.2,0.3,0.2,0.2,1.6\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"line 2: head 'stance': probabilities outside"):
        load_splits(load_config(tiny_config_path, {"train.teacher": str(bad)}))
    unrelated = tmp_path / "unrelated.csv"
    unrelated.write_text(
        header + "stance:pro_russia,stance:pro_ukraine,stance:neutral\n"
        "A sentence no config trains on.,,0.1,0.2,0.3,0.2,0.2,0.6\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="no line for any training row"):
        load_splits(load_config(tiny_config_path, {"train.teacher": str(unrelated)}))
    missing = tmp_path / "short.csv"
    missing.write_text("text,context\nx,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no column\(s\) \['frames:security_threat'"):
        load_splits(load_config(tiny_config_path, {"train.teacher": str(missing)}))
