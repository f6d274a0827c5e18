"""How well `framing data audit` finds planted label errors.

Copies a labelled CSV, flips a share of its labels at random (seeded) and audits the copy:

    python bench/audit_flips.py --data data/corpus.csv --config configs/default.yaml \
        --rate 0.05 --seed 0 --out bench/results/audit_flips.json

Flips, drawn independently per head, each on `rate` of the rows: a single-label head gets a
different label (uniform among the others); a multi-label head gets one of its labels toggled
(uniform among the head's labels). Reported, per head and over the merged ranking: precision at
k (the share of flipped (row, head) pairs among the k worst-ranked) for k = 5% and 10% of the
ranking, recall at the same k, and precision/recall of cleanlab's own issue flags. With 5% of
pairs flipped, a random ranking scores 5% precision at any k.

The flipped copy and the audit's CSV are written to --work (default /tmp); the corpus is
never touched. Embeddings are cached in --cache-dir, so a rerun embeds nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import time
from pathlib import Path

from framing.training.audit import DEFAULT_METHOD, METHODS, audit_file, read_examples, write_csv
from framing.training.config import load_config


def flip_labels(src: Path, dst: Path, config, rate: float, seed: int) -> set[tuple[int, str]]:
    """Write `src` to `dst` with `rate` of the rows' labels flipped per head; -> {(line, head)} flipped."""
    rng = random.Random(seed)
    examples = read_examples(src, config)
    by_line = {e.line: e for e in examples}
    flips: dict[int, dict[str, list[str]]] = {}
    for head in config.heads:
        chosen = rng.sample(sorted(by_line), round(rate * len(examples)))
        for line in chosen:
            given = by_line[line].labels[head.name]
            if head.multi:
                toggle = rng.choice(head.labels)
                new = [lab for lab in head.labels if (lab in given) != (lab == toggle)]
            else:
                new = [rng.choice([lab for lab in head.labels if lab != given[0]])]
            flips.setdefault(line, {})[head.name] = new
    text = src.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    sep = config.data.separator
    with dst.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        start, header = 1, None
        for record in reader:
            if header is None:
                header = [h.strip() for h in record]
            elif start in flips:
                for head in config.heads:
                    if head.name in flips[start]:
                        record[header.index(head.column)] = sep.join(flips[start][head.name])
            w.writerow(record)
            start = reader.line_num + 1
    return {(line, h) for line, heads in flips.items() for h in heads}


def precision_recall(
    ranked: list[tuple[int, str]], flipped: set[tuple[int, str]], k: int
) -> tuple[float, float]:
    hits = sum(1 for pair in ranked[:k] if pair in flipped)
    return hits / max(k, 1), hits / max(len(flipped), 1)


def measure(result, flipped: set[tuple[int, str]], shares=(0.05, 0.10)) -> dict:
    out: dict[str, dict] = {}
    for name in result.heads + ["overall"]:
        found = [f for f in result.findings if name == "overall" or f.head == name]
        ranked = [(f.line, f.head) for f in found]
        truth = {p for p in flipped if name == "overall" or p[1] == name}
        row: dict[str, float | int] = {"pairs": len(found), "flipped": len(truth)}
        for share in shares:
            k = round(share * len(found))
            p, r = precision_recall(ranked, truth, k)
            row[f"precision@{share:.0%}"] = round(p, 3)
            row[f"recall@{share:.0%}"] = round(r, 3)
        flagged = {(f.line, f.head) for f in found if f.issue}
        hit = len(flagged & truth)
        row["cleanlab_flagged"] = len(flagged)
        row["flag_precision"] = round(hit / max(len(flagged), 1), 3)
        row["flag_recall"] = round(hit / max(len(truth), 1), 3)
        out[name] = row
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("data/corpus.csv"))
    ap.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    ap.add_argument("--rate", type=float, default=0.05, help="share of rows flipped, per head")
    ap.add_argument("--seed", type=int, default=0, help="seed of the flips")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--work", type=Path, default=Path("/tmp/framing-audit-flips"))
    ap.add_argument("--cache-dir", type=Path, default=Path("/tmp/framing-audit-cache"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--method", default=DEFAULT_METHOD, choices=METHODS, help="cleanlab label-quality method")
    ap.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = ap.parse_args(argv)

    config = load_config(args.config)
    args.work.mkdir(parents=True, exist_ok=True)
    flipped_csv = args.work / f"flipped-{args.seed}.csv"
    flipped = flip_labels(args.data, flipped_csv, config, args.rate, args.seed)
    t0 = time.perf_counter()
    result = audit_file(
        flipped_csv,
        config,
        folds=args.folds,
        cache_dir=args.cache_dir,
        threads=args.threads,
        method=args.method,
    )
    seconds = time.perf_counter() - t0
    write_csv(result.findings, args.work / f"audit-{args.seed}.csv")
    figures = {
        "data": str(args.data),
        "rows": result.rows,
        "rate": args.rate,
        "flip_seed": args.seed,
        "folds": args.folds,
        "audit_seed": result.seed,
        "method": result.method,
        "audit_seconds": round(seconds, 1),
        "heads": measure(result, flipped),
    }
    cols = ["pairs", "flipped", "precision@5%", "precision@10%", "recall@5%", "recall@10%"]
    cols += ["cleanlab_flagged", "flag_precision", "flag_recall"]
    print(
        f"{result.rows} rows, {args.rate:.0%} flipped per head (seed {args.seed}), "
        f"method {result.method}, audit {seconds:.1f} s"
    )
    print(f"{'head':<10}" + "".join(f"{c:>17}" for c in cols))
    for name, row in figures["heads"].items():
        print(f"{name:<10}" + "".join(f"{row[c]:>17}" for c in cols))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
