"""`framing data audit`: confident learning over k-fold probabilities (training/audit.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cleanlab", reason="needs the train extra")
pytest.importorskip("sklearn", reason="needs the train extra")

from typer.testing import CliRunner  # noqa: E402

from framing.cli.main import app  # noqa: E402
from framing.training.audit import AuditError, audit, audit_file, markdown, read_examples, write_csv  # noqa: E402
from framing.training.config import Config  # noqa: E402

FRAMES = ["security_threat", "legitimacy_challenge", "diplomatic_opening"]
STANCE = ["pro_russia", "pro_ukraine", "neutral"]
CONFIG = Config.model_validate(
    {
        "heads": [
            {"name": "frames", "type": "multi_label", "labels": FRAMES},
            {"name": "stance", "type": "single_label", "labels": STANCE},
        ],
        "model": {"base": "not-used-here"},
    }
)


def synthetic(path: Path, n: int = 90) -> tuple[dict[str, np.ndarray], set[tuple[int, str]]]:
    """A separable data set with planted flips: each row's embedding encodes its true labels.

    -> (text -> embedding, {(line, head)} flipped). Row 0's text spans two physical lines,
    so line numbers past it differ from row index + 2."""
    rng = np.random.default_rng(0)
    stance = np.arange(n) % 3
    frames = rng.integers(0, 2, size=(n, 3))
    vectors: dict[str, np.ndarray] = {}
    flipped: set[tuple[int, str]] = set()
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "frames", "stance"])
        line = 2
        for i in range(n):
            text = f"sentence {i}\nwith a line break" if i == 0 else f"sentence {i}"
            vec = np.concatenate([np.eye(3)[stance[i]] * 3, frames[i] * 3.0, rng.normal(0, 0.3, 10)])
            vectors[text] = vec
            given_stance, given_frames = stance[i], frames[i].copy()
            if i in (5, 40, 77):
                given_stance = (stance[i] + 1) % 3
                flipped.add((line, "stance"))
            if i in (10, 50, 83):
                given_frames[i % 3] ^= 1
                flipped.add((line, "frames"))
            labels = ";".join(lab for lab, on in zip(FRAMES, given_frames, strict=True) if on)
            w.writerow([f"r{i}", text, labels, STANCE[given_stance]])
            line += text.count("\n") + 1
    return vectors, flipped


def lookup(vectors: dict[str, np.ndarray]):
    def embed(texts):
        return np.stack([vectors[t] for t in texts])

    return embed


def test_planted_flips_rank_first(tmp_path):
    vectors, flipped = synthetic(tmp_path / "s.csv")
    result = audit_file(tmp_path / "s.csv", CONFIG, embedder=lookup(vectors), folds=5, seed=1)
    assert len(result.findings) == 2 * 90
    top = {(f.line, f.head) for f in result.findings[: len(flipped)]}
    assert top == flipped
    assert [f.rank for f in result.findings] == list(range(1, 181))
    # cleanlab's own flags (find_label_issues) are stricter than the ranking: none is clean.
    flagged = {(f.line, f.head) for f in result.issues()}
    assert flagged and flagged <= flipped
    # The suggestion undoes the flip; ids and text come from the row.
    worst = {(f.line, f.head): f for f in result.findings[: len(flipped)]}
    for f in worst.values():
        assert f.suggested != f.given
        assert f.id.startswith("r") and f.text.startswith("sentence")
    # Row 0 spans lines 2-3, so row 1 starts on line 4: ids follow check_file's line numbers.
    by_line = {f.line: f.id for f in result.findings}
    assert by_line[2] == "r0" and by_line[4] == "r1"


def test_audit_is_seeded_and_takes_embeddings(tmp_path):
    vectors, _ = synthetic(tmp_path / "s.csv", n=45)
    examples = read_examples(tmp_path / "s.csv", CONFIG)
    x = lookup(vectors)([e.text for e in examples])
    a = audit(examples, CONFIG.heads, embeddings=x, seed=3)
    b = audit(examples, CONFIG.heads, embedder=lookup(vectors), seed=3)
    assert [(f.line, f.head, f.quality) for f in a] == [(f.line, f.head, f.quality) for f in b]
    with pytest.raises(ValueError, match="exactly one"):
        audit(examples, CONFIG.heads)


def test_bad_file_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "id,text,frames,stance\n"
        "a,Russian missiles hit Kyiv.,security_threat,pro_ukraine\n"
        "b,Talks resumed in Geneva.,diplomatic_openin,neutral\n",
        encoding="utf-8",
    )
    with pytest.raises(AuditError) as err:
        audit_file(path, CONFIG, embedder=lambda texts: np.zeros((len(texts), 4)))
    assert f"{path}:3 [frames]" in str(err.value)
    assert "unknown label" in str(err.value)


def test_furniture_rows_are_left_out(tmp_path):
    vectors, _ = synthetic(tmp_path / "s.csv", n=30)
    rows = list(csv.reader((tmp_path / "s.csv").open(encoding="utf-8")))
    article = tmp_path / "article.csv"
    with article.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(rows[0] + ["content"])
        w.writerow(["f0", "Updated 17:05 GMT", "", "", "0"])
        w.writerows(r + ["1"] for r in rows[1:])
    result = audit_file(article, CONFIG, embedder=lookup(vectors), folds=3)
    assert result.rows == 30
    assert "f0" not in {f.id for f in result.findings}


def test_outputs(tmp_path):
    vectors, _ = synthetic(tmp_path / "s.csv", n=30)
    result = audit_file(tmp_path / "s.csv", CONFIG, embedder=lookup(vectors), folds=3)
    write_csv(result.findings, tmp_path / "out.csv")
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert len(rows) == 60 and rows[0]["rank"] == "1"
    assert set(rows[0]) >= {"line", "id", "text", "head", "given", "suggested", "quality", "issue"}
    report = markdown(result, top=5)
    assert report.count("\n| ") == 2 + 2 + 5  # heads table (header + 2 heads) + top-5 header + 5 rows


def test_cli_runs_on_tiny_bert(tmp_path, tiny_config_path, tiny_data):
    out = tmp_path / "reports" / "tiny"
    args = ["data", "audit", str(tiny_data), "--config", str(tiny_config_path), "-o", str(out)]
    args += ["--folds", "3", "--top", "10", "--cache-dir", str(tmp_path / "cache"), "--threads", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.with_suffix(".csv").open(encoding="utf-8")))
    assert len(rows) == 60  # 30 rows x 2 heads
    assert {r["head"] for r in rows} == {"frames", "stance"}
    assert {r["id"] for r in rows} == {f"r{i}" for i in range(30)}
    qualities = [float(r["quality"]) for r in rows]
    assert qualities == sorted(qualities)
    assert "## Top 10, worst first" in out.with_suffix(".md").read_text(encoding="utf-8")
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    again = CliRunner().invoke(app, args)  # from the cache: same ranking
    assert again.exit_code == 0
    assert list(csv.DictReader(out.with_suffix(".csv").open(encoding="utf-8"))) == rows


def test_cli_bad_file(tmp_path, tiny_config_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text,frames,stance\na,Some text.,,pro_kremlin\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["data", "audit", str(bad), "--config", str(tiny_config_path)])
    assert result.exit_code == 1
    assert f"{bad}:2 [stance]" in result.output
