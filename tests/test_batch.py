"""`framing score`: every input format, bad records, ids, workers, interruption."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from framing.cli.main import app
from framing.model import batch
from framing.model.batch import ScoreOptions, score_files

GOOD = "Russian drones struck Odesa overnight. Kyiv called for more air defence."


def _opts(model_dir, **kw) -> ScoreOptions:
    return ScoreOptions(model_dir=model_dir, progress=False, **kw)


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_with_bad_records(served_model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        b'{"id": "a", "text": "' + GOOD.encode() + b'", "outlet": "TASS"}\n'
        b'{"id": "b", "text": ""}\n'
        b"{not json\n"
        b'{"id": "d", "text": "caf\xff bad bytes"}\n'
        b'{"id": "e"}\n'
        b'["a list"]\n'
        b"\n"
        b'{"id": "g", "text": "Talks resumed in Geneva on Monday."}\n'
    )
    out = tmp_path / "out.jsonl"
    stats = score_files([src], out, _opts(served_model_dir))
    rows = _jsonl(out)
    assert [r["id"] for r in rows] == ["a", "b", "in.jsonl:3", "in.jsonl:4", "e", "in.jsonl:6", "g"]
    assert stats.documents == 7 and stats.errors == 5
    assert rows[0]["outlet"] == "TASS" and len(rows[0]["sentences"]) == 2
    assert rows[0]["summary"]["sentences"] == 2 and rows[0]["model"]["name"] == "tiny"
    errors = {r["id"]: r for r in rows if "error" in r}
    assert "empty document" in errors["b"]["error"] and errors["b"]["line"] == 2
    assert "malformed JSON" in errors["in.jsonl:3"]["error"] and errors["in.jsonl:3"]["line"] == 3
    assert "UTF-8" in errors["in.jsonl:4"]["error"]
    assert "missing" in errors["e"]["error"]
    assert "JSON object" in errors["in.jsonl:6"]["error"]


def test_csv_input_to_csv_output(served_model_dir, tmp_path):
    src = tmp_path / "in.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["doc", "body", "outlet"])
        w.writerow(["x1", GOOD, "RT"])
        w.writerow(["x2", "  ", "RT"])
        w.writerow(["x3", "A quoted\nnewline inside. Another sentence here.", "AP"])
    out = tmp_path / "out.csv"
    stats = score_files([src], out, _opts(served_model_dir, text_column="body", id_column="doc"))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert stats.errors == 1 and stats.documents == 3
    assert [r["id"] for r in rows].count("x1") == 2
    bad = [r for r in rows if r["id"] == "x2"]
    assert len(bad) == 1 and "empty" in bad[0]["error"] and bad[0]["line"] == "3"
    x3 = [r for r in rows if r["id"] == "x3"]
    assert [r["text"] for r in x3] == ["A quoted", "newline inside.", "Another sentence here."]
    assert {"frames", "stance", "frames.security_threat", "stance.neutral"} <= set(rows[0])
    assert float(rows[0]["stance.neutral"]) >= 0


def test_txt_file_and_folder(served_model_dir, tmp_path):
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.txt").write_text(GOOD, encoding="utf-8")
    (folder / "sub" / "two.txt").write_text("HEADLINE\nBody sentence one. Body two.", encoding="utf-8")
    (folder / "empty.txt").write_text("\n\n", encoding="utf-8")
    (folder / "latin1.txt").write_bytes("Caf\xe9 talks".encode("latin-1"))
    out = tmp_path / "out.jsonl"
    stats = score_files([folder], out, _opts(served_model_dir))
    rows = {r["id"]: r for r in _jsonl(out)}
    assert set(rows) == {"one.txt", "sub/two.txt", "empty.txt", "latin1.txt"}
    assert len(rows["sub/two.txt"]["sentences"]) == 3
    assert "error" in rows["empty.txt"] and "UTF-8" in rows["latin1.txt"]["error"]
    assert stats.errors == 2
    single = tmp_path / "single.jsonl"
    score_files([folder / "one.txt"], single, _opts(served_model_dir))
    assert _jsonl(single)[0]["id"] == "one.txt"


def test_every_id_once_with_workers(served_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK_DOCS", 3)
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": f"d{i}", "text": f"Document {i}. Drones hit port number {i}."}) for i in range(20)
    ]
    lines.insert(7, "{broken")
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_files([src], one, _opts(served_model_dir))
    score_files([src], two, _opts(served_model_dir, workers=2))
    a, b = _jsonl(one), _jsonl(two)
    ids = [r["id"] for r in a]
    assert len(ids) == len(set(ids)) == 21
    assert ids == [r["id"] for r in b]  # order kept across processes
    for ra, rb in zip(a, b, strict=True):
        if "sentences" in ra:
            assert [s["labels"] for s in ra["sentences"]] == [s["labels"] for s in rb["sentences"]]


def test_interrupt_leaves_valid_output(served_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK_DOCS", 2)
    real = batch._score_chunk
    calls = {"n": 0}

    def flaky(chunk):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(chunk)

    monkeypatch.setattr(batch, "_score_chunk", flaky)
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"id": str(i), "text": GOOD}) + "\n" for i in range(10)), encoding="utf-8"
    )
    out = tmp_path / "out.jsonl"
    stats = score_files([src], out, _opts(served_model_dir))
    assert stats.interrupted
    rows = _jsonl(out)  # every line parses
    assert [r["id"] for r in rows] == ["0", "1", "2", "3"]


def test_cli_score(served_model_dir, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": GOOD}) + "\n{bad\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app, ["score", str(src), "-o", str(out), "--model", str(served_model_dir), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "2 documents" in result.output and "1 error records" in result.output
    assert len(_jsonl(out)) == 2


@pytest.mark.parametrize(
    "args, needle",
    [(["-o", "x.txt"], "must end in"), (["-o", "x.jsonl", "--model", "/nonexistent"], "no model")],
)
def test_cli_score_usage_errors(served_model_dir, tmp_path, args, needle):
    src = tmp_path / "in.jsonl"
    src.write_text("{}", encoding="utf-8")
    if "--model" not in args:
        args = [*args, "--model", str(served_model_dir)]
    result = CliRunner().invoke(app, ["score", str(src), *args])
    assert result.exit_code == 2 and needle in result.output
