"""Does `framing suggest` choose better rows to label than chance? An active-learning simulation.

    python bench/active_loop.py --config configs/default.yaml --out bench/results/active_loop
    python bench/active_loop.py --config tests-tiny.yaml --quick --out /tmp/active_loop   # smoke run

1. The training rows of the config's files are split (seeded) into a start set, `--start` of
   them (40%; every label kept in it), and a pool, the rest. A start model is trained on the
   start set with the files' own dev and test rows (`start.csv`).
2. For each seed, each budget (50/100/200/400 rows) and each strategy (`uncertain-diverse`, as
   `framing suggest` runs by default, and `random`), `model/suggest.py` picks that many pool
   sentences with the start model; their gold labels stand in for the analyst's (an oracle).
3. The start model is trained further on them (`framing train --init`), with the start set at
   sampling weight `--start-weight` (0.5) so it is not forgotten: `--data round.csv
   --data start.csv:0.5`. `round.csv` has no split column, so 15% of the picks go to dev, as an
   analyst's file without splits would.
4. Reported: macro-F1 (the mean over heads) of the retrained int8 model on the files' test split,
   per strategy and budget, mean and spread over seeds; `results.json` and `active_loop.png`
   (macro-F1 against rows labelled, one line per strategy, the start model as a baseline).

Every run is a full training run: the full grid (4 budgets x 2 strategies x 3 seeds = 24
retrainings) takes hours on 2 cores. `--quick` runs budgets 4 and 8, one seed, 2 epochs, and
turns the int8 gate off: a smoke test for the tiny test fixtures, not a measurement.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from framing.model.suggest import SuggestOptions, suggest
from framing.training.checks import check_file
from framing.training.config import load_config, parse_override_args
from framing.training.trainer import train

STRATEGIES = ("uncertain-diverse", "random")


def _labels_cell(labels: list[str], multi: bool) -> str:
    return ";".join(labels) if multi else labels[0]


def read_rows(config) -> dict[str, list[dict]]:
    """Every valid content row of the config's files, by split, as {text, <head columns>}."""
    out: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    for path in config.data.files:
        result = check_file(path, config, duplicates=False)
        if any(e.split is None for e in result.examples):
            sys.exit(f"{path}: the simulation needs a split column (train/dev/test)")
        for e in result.examples:
            row = {"text": e.text}
            for h in config.heads:
                row[h.column] = _labels_cell(e.labels[h.name], h.multi)
            out[e.split].append(row)
    return out


def split_start(rows: list[dict], config, fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """`fraction` of the training rows for the start model, every label among them (the
    rarest first, then at random), the rest as the pool."""
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    start: set[int] = set()
    sep = config.data.separator
    for h in config.heads:
        for lab in h.labels:
            if not any(lab in rows[i][h.column].split(sep) for i in start):
                start.update(next(([i] for i in order if lab in rows[i][h.column].split(sep)), []))
    for i in order:
        if len(start) >= round(fraction * len(rows)):
            break
        start.add(i)
    return [rows[i] for i in sorted(start)], [rows[i] for i in order if i not in start]


def write_csv(path: Path, rows: list[dict], config, split: str | None = None) -> Path:
    cols = (
        ["id", "text"] + [h.column for h in config.heads] + (["split"] if split or "split" in rows[0] else [])
    )
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({**r, **({"split": split} if split else {})})
    return path


def write_pool(path: Path, pool: list[dict]) -> Path:
    """The pool as `framing score` JSONL: one document per row, its one sentence given, so
    `suggest` re-uses it instead of cutting it again."""
    with path.open("w", encoding="utf-8") as fh:
        for r in pool:
            sentence = {"index": 0, "start": 0, "end": len(r["text"]), "text": r["text"], "content": True}
            fh.write(json.dumps({"id": r["id"], "sentences": [sentence]}, ensure_ascii=False) + "\n")
    return path


def macro_f1(model_dir: Path, split: str = "test") -> dict[str, float]:
    """Per-head and mean macro-F1 of a model directory on one of its evaluated sets."""
    metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    heads = metrics["eval"][split]["heads"]
    out = {h: m["macro_f1"] for h, m in heads.items()}
    out["mean"] = round(float(np.mean(list(out.values()))), 4)
    return out


def scores(model_dir: Path, evals: dict[str, str]) -> dict[str, dict[str, float]]:
    return {name: macro_f1(model_dir, name) for name in ["test", *evals]}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(results["start"]["macro_f1"])
    fig, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 4), squeeze=False)
    for ax, name in zip(axes[0], sets, strict=True):
        start = results["start"]["macro_f1"][name]["mean"]
        ax.axhline(start, color="grey", linestyle="--", label="start model")
        for strategy in STRATEGIES:
            budgets = sorted({r["budget"] for r in results["runs"] if r["strategy"] == strategy})
            per_budget = [[r["macro_f1"][name]["mean"] for r in results["runs"]
                           if r["strategy"] == strategy and r["budget"] == b] for b in budgets]  # fmt: skip
            mean = [float(np.mean(v)) for v in per_budget]
            spread = [float(np.std(v)) for v in per_budget]
            ax.errorbar(budgets, mean, yerr=spread, marker="o", capsize=3, label=strategy)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("rows labelled (log scale)")
        ax.set_ylabel(f"{name} macro-F1 (mean over heads, int8)")
        ax.set_title(f"suggest vs random: {name}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/active_loop"))
    ap.add_argument("--start", type=float, default=0.4, help="share of the training rows for the start model")
    ap.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 200, 400])
    ap.add_argument("--seeds", type=int, nargs="+", default=[13, 1, 2])
    ap.add_argument(
        "--split-seed", type=int, default=13, help="seed of the start/pool split and the start model"
    )
    ap.add_argument(
        "--start-weight", type=float, default=0.5, help="sampling weight of start.csv when retraining"
    )
    ap.add_argument(
        "--eval",
        action="append",
        default=[],
        metavar="NAME=FILE.csv",
        help="also evaluate every model on this labelled CSV (repeatable)",
    )
    ap.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: collect the runs already in the work folder (others are listed as missing)",
    )
    ap.add_argument("--quick", action="store_true", help="budgets 4 8, one seed, 2 epochs: a smoke run")
    args, extra = ap.parse_known_args(argv)
    overrides = parse_override_args(extra)
    if args.quick:
        args.budgets, args.seeds = [4, 8], args.seeds[:1]
        overrides = {"train.epochs": "2", "export.min_int8_agreement": "0", **overrides}
    config = load_config(args.config, overrides)
    evals = dict(e.split("=", 1) for e in args.eval)
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "work"
    work.mkdir(exist_ok=True)
    started = time.perf_counter()

    rows = read_rows(config)
    for split, part in rows.items():
        for i, r in enumerate(part):
            r["id"] = f"{split}-{i}"
    # The split does not follow --seeds, so runs of one seed each (several processes sharing
    # the work folder) all start from the same start model.
    start_rows, pool = split_start(rows["train"], config, args.start, args.split_seed)
    start_csv = write_csv(
        work / "start.csv",
        [{**r, "split": "train"} for r in start_rows]
        + [{**r, "split": s} for s in ("dev", "test") for r in rows[s]],
        config,
    )
    pool_jsonl = write_pool(work / "pool.jsonl", pool)
    gold = {r["id"]: r for r in pool}
    print(f"start {len(start_rows)} rows, pool {len(pool)}, dev {len(rows['dev'])}, test {len(rows['test'])}")

    start_model = work / "start"
    # Runs already in `work` (an interrupted simulation) are read back, not trained again.
    if not (start_model / "metrics.json").exists():
        train(config, start_model, data=[str(start_csv)], extra_eval=evals)
    results: dict = {
        "config": str(args.config),
        "overrides": overrides,
        "start": {"rows": len(start_rows), "macro_f1": scores(start_model, evals)},
        "pool": len(pool),
        "start_weight": args.start_weight,
        "runs": [],
        "missing": [],
    }
    print(f"start model: macro-F1 {results['start']['macro_f1']}")
    for seed in args.seeds:
        for budget in args.budgets:
            for strategy in STRATEGIES:
                out = work / f"model-{strategy}-{budget}-{seed}"
                if args.report_only:
                    if not (out / "metrics.json").exists():
                        results["missing"].append({"seed": seed, "budget": budget, "strategy": strategy})
                        continue
                    cell = {"seed": seed, "budget": budget, "strategy": strategy}
                    results["runs"].append({**cell, "macro_f1": scores(out, evals)})
                    continue
                opts = SuggestOptions(n=budget, seed=seed, strategy=strategy, min_words=1, split=False)  # type: ignore[arg-type]
                chosen, _, stats = suggest([pool_jsonl], start_model, opts)
                labelled = [gold[r["source_id"]] for r in chosen]
                round_csv = write_csv(work / f"round-{strategy}-{budget}-{seed}.csv", labelled, config)
                if not (out / "metrics.json").exists():
                    cfg = load_config(args.config, {**overrides, "train.seed": str(seed)})
                    data = [str(round_csv), f"{start_csv}:{args.start_weight}"]
                    train(cfg, out, data=data, extra_eval=evals, init=start_model)
                run = {
                    "seed": seed,
                    "budget": budget,
                    "strategy": strategy,
                    "chosen": len(labelled),
                    "mean_uncertainty": stats.mean_uncertainty_chosen,
                    "macro_f1": scores(out, evals),
                }
                results["runs"].append(run)
                print(json.dumps(run))
                # Written after every run, so a stopped simulation still leaves its results.
                (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    results["seconds"] = round(time.perf_counter() - started, 1)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot(results, args.out / "active_loop.png")
    print(f"-> {args.out}/results.json, {args.out}/active_loop.png ({results['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
