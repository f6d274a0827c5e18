"""Labelled CSVs -> validated `datasets.DatasetDict` with train/dev(/test) splits."""

from __future__ import annotations

import logging
from pathlib import Path

from datasets import Dataset, DatasetDict

from framing.model.digest import sha256_file
from framing.training.checks import check_file
from framing.training.config import Config

log = logging.getLogger(__name__)


class DataError(ValueError):
    """Data that failed validation; the message lists every problem found."""


def target_column(head_name: str) -> str:
    return f"y_{head_name}"


def file_fingerprint(path: str | Path) -> str:
    return sha256_file(path)


def load_splits(config: Config, files: list[str] | None = None, max_listed: int = 50) -> DatasetDict:
    """Validate every file as `framing data check` does, then build the splits.

    Rows keep their file's `split` column; files without one are split train/dev
    with the config's dev fraction and seed.
    """
    files = files or config.data.files
    if not files:
        raise DataError("no training data: give --data FILE.csv or set data.files in the config")
    problems: list[str] = []
    fixed: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    unsplit: list[dict] = []
    for path in files:
        result = check_file(path, config)
        problems.extend(str(p) for p in result.problems)
        for ex in result.examples:
            row: dict = {"text": ex.text, "context": ex.context}
            for head in config.heads:
                row[target_column(head.name)] = head.target(ex.labels[head.name])
            (fixed[ex.split] if ex.split else unsplit).append(row)
    if problems:
        shown = problems[:max_listed]
        more = f"\n  ... and {len(problems) - max_listed} more" if len(problems) > max_listed else ""
        raise DataError(f"{len(problems)} problem(s) in the training data:\n  " + "\n  ".join(shown) + more)

    splits = {name: Dataset.from_list(rows) for name, rows in fixed.items() if rows}
    if unsplit:
        parted = Dataset.from_list(unsplit).train_test_split(
            test_size=config.data.dev_fraction, seed=config.train.seed
        )
        for name, part in (("train", parted["train"]), ("dev", parted["test"])):
            splits[name] = (
                Dataset.from_list(splits[name].to_list() + part.to_list()) if name in splits else part
            )
    for needed in ("train", "dev"):
        if needed not in splits:
            raise DataError(f"no {needed!r} rows: add a split column or rows without one")
    log.info("data: %s", {k: len(v) for k, v in splits.items()})
    return DatasetDict(splits)
