"""Scoring throughput of model directories side by side, on whole articles as `framing score`
scores them (segmentation, page furniture, context), int8, in one run:

    python bench/compare_models.py --models /path/old /path/new [--passes 5]
    python bench/compare_models.py --models models/default:never models/default

A model given as DIR:MODE is scored with that context mode (never, needed, always) instead of
its own: DIR:never costs what a model that reads no context costs.

The documents are the test-split articles of data/articles.csv (one line per sentence row,
furniture included). Passes alternate between the models, so host noise falls on both alike;
the median pass is reported, with the ratio to the first model.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import statistics
import time
from pathlib import Path
from typing import get_args

from framing.model.context import ContextMode
from framing.model.scorer import Scorer

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench.compare")


def test_articles(path: Path) -> list[str]:
    docs: dict[str, list[str]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["split"] == "test":
                docs.setdefault(row["doc"], []).append(row["text"])
    return ["\n".join(lines) for lines in docs.values()]


def model_and_mode(spec: str) -> tuple[Path, ContextMode | None]:
    """DIR or DIR:MODE, where MODE is a context mode the scorer knows."""
    head, _, mode = spec.rpartition(":")
    if head and mode in get_args(ContextMode):
        return Path(head), mode  # type: ignore[return-value]
    return Path(spec), None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", required=True, help="DIR or DIR:MODE")
    parser.add_argument("--data", type=Path, default=ROOT / "data/articles.csv")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    docs = test_articles(args.data)
    scorers = [Scorer(d, precision="int8", context_mode=mode) for d, mode in map(model_and_mode, args.models)]
    for s in scorers:
        s.warm_up()
        s.score_documents(docs)  # one untimed pass: every call shape seen once
    times: list[list[float]] = [[] for _ in scorers]
    sentences = [0 for _ in scorers]
    for _ in range(args.passes):
        for k, s in enumerate(scorers):
            t0 = time.perf_counter()
            out = s.score_documents(docs)
            times[k].append(time.perf_counter() - t0)
            sentences[k] = sum(d.summary["sentences"] for d in out)
    results = []
    for m, s, t, n in zip(args.models, scorers, times, sentences, strict=True):
        rate = n / statistics.median(t)
        results.append(
            {
                "model": str(m),
                "version": s.version,
                "context": f"{s.schema.context_tokens} tokens, {s.context_mode}",
                "documents": len(docs),
                "content_sentences": n,
                "sentences_per_s": round(rate, 1),
                "passes_s": [round(x, 3) for x in t],
            }
        )
    for r in results:
        r["vs_first"] = round(r["sentences_per_s"] / results[0]["sentences_per_s"], 3)
        log.info("%s", r)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
