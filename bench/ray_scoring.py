"""`framing score` on this machine: the local engine against Ray Data with 1 and 2 actors,
and Ray's fixed start-up cost.

    python bench/ray_scoring.py --model models/default --docs 400

Writes DOCS ~1,000-word articles (consecutive corpus sentences) to a JSONL file, then runs each
configuration as the command a user would type (a fresh process each, so every figure includes
Python's start, the model load and, for Ray, starting and stopping Ray on this machine):

- local: `framing score in.jsonl -o out.parquet` (one process, both cores)
- ray, 1 actor x 1 thread; 1 actor x 2 threads; 2 actors x 1 thread
- the same commands on a 1-document input: the fixed cost of each engine

Reports wall seconds, documents and sentences per second, the load average before and after
each run, and whether the Ray output holds the local run's rows (ids once each, labels).
Results: bench/results/ray_scoring.json; `python bench/report.py` puts them in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.scoring import load_sentences, machine, make_article  # noqa: E402

CONFIGS = [
    ("local", []),
    ("ray 1 actor x 1 thread", ["--engine", "ray", "--actors", "1", "--threads", "1"]),
    ("ray 1 actor x 2 threads", ["--engine", "ray", "--actors", "1", "--threads", "2"]),
    ("ray 2 actors x 1 thread", ["--engine", "ray", "--actors", "2", "--threads", "1"]),
]


def write_input(path: Path, sentences: list[str], docs: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(docs):
            start = (i * 7) % max(1, len(sentences) - 60)
            text = make_article(sentences[start:] + sentences[:start])
            fh.write(json.dumps({"id": f"a{i}", "text": text}) + "\n")


def run(model: Path, src: Path, out: Path, extra: list[str]) -> dict:
    ray = "--engine" in extra
    target = out if ray else out.with_suffix(".parquet")
    cmd = [sys.executable, "-m", "framing", "score", str(src), "-o", str(target), "--model", str(model)]
    cmd += ["--no-progress", *extra]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    summary = [line for line in proc.stderr.splitlines() if " documents, " in line][-1]
    docs, sentences = (
        int(summary.split(" documents, ")[0].split()[-1]),
        int(summary.split(" sentences")[0].split()[-1]),
    )
    startup = summary.split("Ray start-up ")[1].split(" s")[0] if "Ray start-up" in summary else None
    return {
        "command": " ".join(["framing", *cmd[3:]]),
        "ray_startup_s": float(startup) if startup else None,
        "wall_s": round(wall, 2),
        "documents": docs,
        "sentences": sentences,
        "docs_per_s": round(docs / wall, 2),
        "sentences_per_s": round(sentences / wall, 1),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "output": str(target),
    }


def rows(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    cols = ["id", "sentence", "frames", "stance", "error"]
    return pq.read_table(files, columns=cols).to_pylist()


def compare(local: list[dict], other: list[dict]) -> dict:
    """Ids once each, and label agreement per sentence (int8: a neighbour in the batch can move a
    probability in the third decimal, so a label near its threshold may differ)."""
    starts = Counter(r["id"] for r in other if r["sentence"] in (None, 0))
    key = {(r["id"], r["sentence"]): r for r in local}
    same = sum(1 for r in other if key.get((r["id"], r["sentence"])) == r)
    return {
        "every_id_once": set(starts) == {r["id"] for r in local} and max(starts.values()) == 1,
        "rows": len(other),
        "rows_equal_to_local": same,
        "agreement": round(same / max(1, len(local)), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models/default")
    ap.add_argument("--corpus", type=Path, default=ROOT / "data/corpus.csv")
    ap.add_argument("--docs", type=int, default=400)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/ray_scoring.json")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    try:
        sentences = load_sentences(args.corpus, "dev") + load_sentences(args.corpus, "train")
        big, one = work / "articles.jsonl", work / "one.jsonl"
        write_input(big, sentences, args.docs)
        write_input(one, sentences, 1)
        results = {}
        for name, extra in CONFIGS:
            slug = name.replace(" ", "_")
            fixed = run(args.model, one, work / f"{slug}-one", extra)
            full = run(args.model, big, work / f"{slug}-big", extra)
            results[name] = {"one_document": fixed, "articles": full}
            print(
                f"{name:26s} 1 doc {fixed['wall_s']:6.1f} s   {args.docs} docs {full['wall_s']:6.1f} s "
                f"{full['docs_per_s']:6.2f} docs/s  load {full['load_avg_1m']}",
                flush=True,
            )
        local = rows(Path(results["local"]["articles"]["output"]))
        for name, r in results.items():
            if name != "local":
                r["versus_local"] = compare(local, rows(Path(r["articles"]["output"])))
            for k in ("one_document", "articles"):
                r[k].pop("output")
        report = {
            "machine": machine(),
            "command": " ".join(["python", "bench/ray_scoring.py", *sys.argv[1:]]),
            "docs": args.docs,
            "article_words": len(json.loads(big.read_text().splitlines()[0])["text"].split()),
            "results": results,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({k: v.get("versus_local") for k, v in results.items()}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
