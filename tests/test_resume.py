"""`framing score --resume`: a run killed outright (SIGKILL) or stopped continues from what its
output holds; no record twice, none lost, a torn last line repaired; a different model or
different options are refused."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from framing.cli.main import app
from framing.model import batch
from framing.model.batch import ResumeError, ScoreOptions, meta_path, score_files
from tests.conftest import ROWS

SENTENCES = [text for text, _, _ in ROWS]


def _opts(model_dir, **kw) -> ScoreOptions:
    return ScoreOptions(model_dir=model_dir, precision="fp32", progress=False, **kw)


def _write_input(path, n: int) -> list[str]:
    """n documents of three fixture sentences, with a bad record every 97 lines; the ids in order."""
    lines, ids = [], []
    for i in range(n):
        if i % 97 == 13:
            lines.append("{not json")
            ids.append(f"{path.name}:{i + 1}")
            continue
        text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(3))
        lines.append(json.dumps({"id": f"d{i}", "text": text, "outlet": f"o{i % 5}"}))
        ids.append(f"d{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _labels(rows):
    return [(r["id"], r.get("error"), [s["labels"] for s in r.get("sentences", [])]) for r in rows]


def _score_cmd(src, out, model_dir):
    return [sys.executable, "-m", "framing", "score", str(src), "-o", str(out), "--model", str(model_dir)]


def test_resume_after_sigkill(served_model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    ids = _write_input(src, 3000)
    reference = tmp_path / "reference.jsonl"
    score_files([src], reference, _opts(served_model_dir))

    out = tmp_path / "out.jsonl"
    # One sentence per onnxruntime call and one thread: slow enough to be killed mid-file.
    cmd = _score_cmd(src, out, served_model_dir)
    cmd += ["--precision", "fp32", "--no-progress", "--batch-size", "1", "--threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.read_bytes().count(b"\n") >= 200):
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no output within 120 s"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    held = out.read_bytes().count(b"\n")
    assert 200 <= held < len(ids), "killed too late to test anything"
    assert not json.loads(meta_path(out).read_text())["complete"]
    with out.open("ab") as fh:  # what a kill in the middle of a write leaves
        fh.write(b'{"id": "d99999", "sentences": [{"ind')

    done = subprocess.run(
        [*_score_cmd(src, out, served_model_dir), "--precision", "fp32", "--no-progress", "--resume"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "records it already held" in done.stderr
    rows = _jsonl(out)  # every line parses: the torn one is gone
    assert [r["id"] for r in rows] == ids  # every id once, in input order
    assert _labels(rows) == _labels(_jsonl(reference))
    meta = json.loads(meta_path(out).read_text())
    assert meta["complete"] and meta["records"] == len(ids)


def test_resume_csv_torn_row(served_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK_DOCS", 4)
    src = tmp_path / "in.jsonl"
    ids = _write_input(src, 60)
    reference = tmp_path / "reference.csv"
    score_files([src], reference, _opts(served_model_dir))
    full = reference.read_bytes()

    out = tmp_path / "out.csv"
    cut = full.index(b"\n", len(full) // 2) + 40  # in the middle of a row, past a sentence or two
    out.write_bytes(full[:cut])
    meta = json.loads(meta_path(reference).read_text())
    meta_path(out).write_text(json.dumps({**meta, "complete": False}), encoding="utf-8")
    stats = score_files([src], out, _opts(served_model_dir, resume=True))
    assert 0 < stats.resumed < len(ids)

    def rows(path):
        return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))

    got, want = rows(out), rows(reference)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        for key in w:
            if key.startswith(("frames.", "stance.")) and w[key]:
                assert float(g[key]) == pytest.approx(float(w[key]), abs=1e-6)
            else:
                assert g[key] == w[key], key
    assert list(dict.fromkeys(r["id"] for r in got)) == ids


def test_resume_parquet(served_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK_DOCS", 4)
    src = tmp_path / "in.jsonl"
    ids = _write_input(src, 40)
    reference = tmp_path / "reference.parquet"
    score_files([src], reference, _opts(served_model_dir))
    table = pq.read_table(reference)

    # What Ctrl-C leaves: a readable file holding the first records.
    out = tmp_path / "out.parquet"
    first_rows = table.column("id").to_pylist().index("d20")
    pq.write_table(table.slice(0, first_rows), out)
    meta = json.loads(meta_path(reference).read_text())
    meta_path(out).write_text(json.dumps({**meta, "complete": False}), encoding="utf-8")
    stats = score_files([src], out, _opts(served_model_dir, resume=True))
    assert stats.resumed == ids.index("d20")
    got = pq.read_table(out)
    assert got.column("id").to_pylist() == table.column("id").to_pylist()
    assert got.column("frames").to_pylist() == table.column("frames").to_pylist()
    assert got.schema.metadata == table.schema.metadata  # `framing trends` still reads the schema

    # What SIGKILL leaves: no footer. Refused, and the file is left as it was.
    data = reference.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    meta_path(out).write_text(json.dumps({**meta, "complete": False}), encoding="utf-8")
    with pytest.raises(ResumeError, match="not a readable Parquet file.*SIGKILL"):
        score_files([src], out, _opts(served_model_dir, resume=True))
    assert out.read_bytes() == data[: len(data) // 2]


def test_resume_refusals(served_model_dir, trained_model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    _write_input(src, 10)
    out = tmp_path / "out.jsonl"
    score_files([src], out, _opts(served_model_dir))
    before = out.read_bytes()
    meta = json.loads(meta_path(out).read_text())
    meta_path(out).write_text(json.dumps({**meta, "complete": False}), encoding="utf-8")

    with pytest.raises(ResumeError, match="made by model"):
        score_files([src], out, _opts(trained_model_dir, resume=True))
    with pytest.raises(ResumeError, match="--text-column was 'text', now 'body'"):
        score_files([src], out, _opts(served_model_dir, resume=True, text_column="body"))
    with pytest.raises(ResumeError, match="--precision was 'fp32', now 'int8'"):
        score_files([src], out, ScoreOptions(served_model_dir, progress=False, resume=True))
    other = tmp_path / "other.jsonl"
    _write_input(other, 10)
    with pytest.raises(ResumeError, match="inputs were"):
        score_files([other], out, _opts(served_model_dir, resume=True))
    assert out.read_bytes() == before  # nothing touched
    args = ["score", str(src), "-o", str(out), "--model", str(served_model_dir), "--resume", "--no-progress"]
    result = CliRunner().invoke(app, args)  # the command: the reason, exit code 2
    assert result.exit_code == 2 and "--precision was 'fp32', now 'int8'" in result.output

    meta_path(out).unlink()
    with pytest.raises(ResumeError, match="no out.jsonl.meta.json"):
        score_files([src], out, _opts(served_model_dir, resume=True))


def test_resume_complete_output_and_missing_output(served_model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    ids = _write_input(src, 10)
    out = tmp_path / "out.jsonl"
    stats = score_files([src], out, _opts(served_model_dir, resume=True))  # nothing to resume: a run
    assert stats.documents == len(ids) and stats.resumed == 0
    before = out.read_bytes()
    stats = score_files([src], out, _opts(served_model_dir, resume=True))
    assert stats.documents == 0 and stats.resumed == len(ids)
    assert out.read_bytes() == before
