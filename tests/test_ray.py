"""`framing score --engine ray` on a local, loopback-only Ray (2 CPUs, 200 MB object store):
the same rows as a local run, every id once, bad records as error rows. Select with -m ray;
skipped when ray is not installed (`pip install 'framing[ray]'`)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from framing.cli.main import app
from framing.model.batch import ScoreOptions, score_files

pytestmark = pytest.mark.ray

GOOD = [
    "Russian drones struck Odesa overnight. Kyiv called for more air defence.",
    "Peskov said Moscow remained open to talks. The West was blocking peace, he added.",
    "The EU adopted its nineteenth sanctions package on Thursday.",
    "...",  # no sentence at all: kept as one row without one
]


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=200 * 2**20,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A folder of .txt (one not UTF-8, one empty), a JSONL and a CSV, each with bad records."""
    root = tmp_path_factory.mktemp("ray-in")
    folder = root / "texts"
    (folder / "sub").mkdir(parents=True)
    for i, text in enumerate(GOOD * 3):
        (folder / f"t{i:02}.txt").write_text(text, encoding="utf-8")
    (folder / "sub" / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (folder / "sub" / "empty.txt").write_text("  \n", encoding="utf-8")
    jsonl = root / "articles.jsonl"
    lines = [json.dumps({"id": f"j{i}", "text": t, "outlet": f"o{i % 3}"}) for i, t in enumerate(GOOD * 10)]
    lines[5:5] = ["{broken", '{"id": "j-empty", "text": ""}', '["not an object"]', '{"id": "j-none"}']
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = root / "rows.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "outlet"])
        for i, t in enumerate(GOOD * 5):
            w.writerow([f"c{i}", t, "AP"])
        w.writerow(["c-extra", "too", "many", "fields"])
    return [folder, jsonl, table]


def _opts(model_dir) -> ScoreOptions:
    return ScoreOptions(model_dir=model_dir, precision="fp32", progress=False)


def _rows(table) -> list[dict]:
    rows = table.to_pylist()
    return sorted(
        rows, key=lambda r: (r["source"] or "", r["id"], r["sentence"] if r["sentence"] is not None else -1)
    )


def test_ray_matches_the_local_run(local_ray, served_model_dir, inputs, tmp_path):
    from framing.model.ray_engine import RayOptions, score_on_ray

    local = tmp_path / "local.parquet"
    local_stats = score_files(inputs, local, _opts(served_model_dir))
    import ray

    block = ray.data.DataContext.get_current().target_max_block_size
    out = tmp_path / "ray-out"
    stats = score_on_ray(inputs, out, _opts(served_model_dir), RayOptions(actors=2, block_bytes=1 << 20))
    assert (stats.actors, stats.threads) == (2, 1)
    # The process-wide Ray Data settings are the caller's again.
    assert ray.data.DataContext.get_current().target_max_block_size == block
    assert (stats.documents, stats.sentences, stats.errors) == (
        local_stats.documents,
        local_stats.sentences,
        local_stats.errors,
    )
    shards = sorted(out.glob("*.parquet"))
    assert shards and stats.shards == len(shards)
    want = pq.read_table(local)
    got = pq.read_table(shards)  # the folder's shards, read together
    assert got.schema.metadata == want.schema.metadata  # `framing trends` reads the model schema
    # The same rows: labels, probabilities (fp32: identical whatever the batch), error rows.
    assert _rows(got) == _rows(want)
    # Every input record once: one row without a sentence or the row of sentence 0 per record.
    starts = [r["id"] for r in got.to_pylist() if r["sentence"] in (None, 0)]
    assert Counter(starts) == Counter(r["id"] for r in want.to_pylist() if r["sentence"] in (None, 0))
    assert max(Counter(starts).values()) == 1
    errors = {r["id"]: r["error"] for r in got.to_pylist() if r["error"]}
    assert errors["articles.jsonl:6"].startswith("malformed JSON")
    assert errors["j-empty"] == "empty document: no text"
    assert errors["sub/latin1.txt"].startswith("invalid UTF-8")
    assert errors["rows.csv:22"] == "4 fields where the header has 3"
    meta = json.loads((out / "_framing.json").read_text())
    assert meta["complete"] and meta["records"] == local_stats.documents


def test_ray_jsonl_shards_through_the_cli(local_ray, served_model_dir, inputs, tmp_path):
    """The command in its own process joins the running cluster at --address."""
    local = tmp_path / "local.jsonl"
    score_files(inputs, local, _opts(served_model_dir))
    out = tmp_path / "ray-jsonl"
    args = ["score", *map(str, inputs), "-o", str(out), "--model", str(served_model_dir)]
    args += ["--precision", "fp32", "--engine", "ray", "--format", "jsonl", "--actors", "1", "--threads", "2"]
    address = local_ray.get_runtime_context().gcs_address
    result = subprocess.run(
        [sys.executable, "-m", "framing", *args, "--address", address, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 actors x 2 threads" in result.stderr
    got = [json.loads(line) for shard in sorted(out.glob("*.jsonl")) for line in shard.open(encoding="utf-8")]
    want = [json.loads(line) for line in local.open(encoding="utf-8")]
    assert sorted(got, key=lambda r: (r.get("source", ""), r["id"])) == sorted(
        want, key=lambda r: (r.get("source", ""), r["id"])
    )

    again = CliRunner().invoke(app, args)  # the folder is not empty any more
    assert again.exit_code == 2 and "not an empty folder" in again.output


def test_missing_ray_says_how_to_install(served_model_dir, inputs, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    args = ["score", str(inputs[1]), "-o", str(tmp_path / "o"), "--model", str(served_model_dir)]
    result = CliRunner().invoke(app, [*args, "--engine", "ray"])
    assert result.exit_code == 2 and "pip install 'framing[ray]'" in result.output


def test_base_install_and_service_never_import_ray():
    code = (
        "import sys, framing.cli.main, framing.model.batch, framing.service.app; "
        "sys.exit('ray' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
