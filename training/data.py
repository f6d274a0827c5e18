"""Labelled CSVs -> validated `datasets.DatasetDict` with train/dev(/test) splits."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict

from framing.model.digest import sha256_file
from framing.training.checks import check_file
from framing.training.config import Config

log = logging.getLogger(__name__)


class DataError(ValueError):
    """Data that failed validation; the message lists every problem found."""


def target_column(head_name: str) -> str:
    return f"y_{head_name}"


def teacher_column(head_name: str) -> str:
    return f"t_{head_name}"


TEACHER_MASK = "t_mask"  # 1 where the row has teacher probabilities, 0 where it has none


def attach_teacher(config: Config, rows: list[dict], targets: dict) -> int:
    """Give each row the teacher's probabilities (`targets`, from read_teacher) under
    teacher_column, or zeros and TEACHER_MASK 0 where the teacher has no line for it; return
    how many rows had one."""
    found = 0
    for row in rows:
        entry = targets.get((row["text"], row["context"]))
        found += entry is not None
        row[TEACHER_MASK] = float(entry is not None)
        for h in config.heads:
            p = entry[h.name] if entry is not None else np.zeros(len(h.labels), dtype=np.float32)
            row[teacher_column(h.name)] = p.tolist()
    return found


def load_teacher(config: Config) -> dict:
    from framing.training.teacher import TeacherError, read_teacher

    assert config.train.teacher is not None
    try:
        return read_teacher(config.train.teacher, config.heads)
    except (OSError, TeacherError) as e:
        raise DataError(f"train.teacher: {e}") from e


def file_fingerprint(path: str | Path) -> str:
    return sha256_file(path)


def parse_data_spec(spec: str | Path) -> tuple[str, float]:
    """`PATH` or `PATH:WEIGHT` -> (path, weight); the weight defaults to 1. A weight scales how
    many of the file's training rows an epoch draws (0.5: a fresh half each epoch; 2: every
    row twice); see `epoch_rows`."""
    text = str(spec)
    path, sep, tail = text.rpartition(":")
    if not sep or not path or Path(text).exists():
        return text, 1.0
    try:
        weight = float(tail)
    except ValueError:
        return text, 1.0
    if not weight > 0 or weight != weight or weight == float("inf"):
        raise DataError(f"{text}: the weight after ':' must be a positive number, got {tail!r}")
    return path, weight


def epoch_rows(weights: list[float], seed: int) -> list[int] | None:
    """Training rows of one epoch under per-row sampling weights (their file's): the rows of
    each weight w, m of them, give round(w * m) draws: every row floor(w) times, then a seeded
    sample without replacement for the rest. None when every weight is 1 (all rows, once)."""
    if all(w == 1.0 for w in weights):
        return None
    rng = np.random.default_rng(seed)
    groups: dict[float, list[int]] = {}
    for i, w in enumerate(weights):
        groups.setdefault(w, []).append(i)
    out: list[int] = []
    for w, idx in sorted(groups.items()):
        draws = max(1, round(w * len(idx)))
        whole, rest = divmod(draws, len(idx))
        out += idx * whole
        out += sorted(int(i) for i in rng.choice(idx, size=rest, replace=False))
    return out


def load_splits(
    config: Config,
    files: list[str] | None = None,
    max_listed: int = 50,
    weights: list[float] | None = None,
) -> DatasetDict:
    """Validate every file as `framing data check` does, then build the splits.

    Rows keep their file's `split` column; files without one are split train/dev
    with the config's dev fraction and seed. Each row carries its file's sampling
    weight (`weights`, one per file; 1 by default) in a `weight` column.
    """
    files = files or config.data.files
    weights = weights or [1.0] * len(files)
    if not files:
        raise DataError("no training data: give --data FILE.csv or set data.files in the config")
    problems: list[str] = []
    fixed: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    unsplit: list[dict] = []
    for path, weight in zip(files, weights, strict=True):
        result = check_file(path, config)
        problems.extend(str(p) for p in result.problems)
        for ex in result.examples:
            row: dict = {"text": ex.text, "context": ex.context, "weight": float(weight)}
            for head in config.heads:
                row[target_column(head.name)] = head.target(ex.labels[head.name])
            (fixed[ex.split] if ex.split else unsplit).append(row)
    if problems:
        shown = problems[:max_listed]
        more = f"\n  ... and {len(problems) - max_listed} more" if len(problems) > max_listed else ""
        raise DataError(f"{len(problems)} problem(s) in the training data:\n  " + "\n  ".join(shown) + more)

    if config.train.teacher:
        # Only training rows learn from the teacher; dev and test get the columns (masked) so
        # every split has the same ones.
        targets = load_teacher(config)
        train_rows = fixed["train"] + unsplit
        found = attach_teacher(config, train_rows, targets)
        attach_teacher(config, fixed["dev"] + fixed["test"], {})
        if not found:
            raise DataError(f"train.teacher: {config.train.teacher} has no line for any training row")
        log.info("teacher: probabilities for %d of %d training rows", found, len(train_rows))
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
