"""A teacher's probabilities on the training rows, as a plain CSV the student's training reads.

A larger model (configs/accurate.yaml) scores every training row of a config's data once;
its probabilities are committed as data, so training the fast model against them
(`train.teacher`) needs neither the teacher nor its weights."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

from framing.model.schema import HeadSpec
from framing.model.scorer import Scorer
from framing.training.config import Config

log = logging.getLogger(__name__)

TEXT, CONTEXT = "text", "context"
Targets = dict[tuple[str, str], dict[str, np.ndarray]]


class TeacherError(ValueError):
    """A teacher file that does not fit the config's heads, named with its line."""


def column(head: HeadSpec, label: str) -> str:
    return f"{head.name}:{label}"


def write_teacher(config: Config, model_dir: str | Path, out: str | Path, rows: list[dict]) -> int:
    """Score `rows` (dicts with text and context, as load_splits builds them) with the model
    directory's fp32 graph and write one CSV line per distinct (text, context)."""
    scorer = Scorer(model_dir, precision="fp32")
    names = {h.name: h.labels for h in scorer.schema.heads}
    for h in config.heads:
        if names.get(h.name) != h.labels:
            raise TeacherError(
                f"{model_dir}: head {h.name!r} has labels {names.get(h.name)}, the config {h.labels}"
            )
    keys = list(dict.fromkeys((r[TEXT], r[CONTEXT]) for r in rows))
    probs: list[dict[str, np.ndarray]] = []
    for start in range(0, len(keys), 512):
        part = keys[start : start + 512]
        probs += scorer.predict([t for t, _ in part], [c for _, c in part])[0]
        log.info("teacher: %d of %d rows scored", len(probs), len(keys))
    header = [TEXT, CONTEXT] + [column(h, label) for h in config.heads for label in h.labels]
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for (text, context), p in zip(keys, probs, strict=True):
            writer.writerow([text, context] + [f"{v:.4f}" for h in config.heads for v in p[h.name]])
    return len(keys)


def read_teacher(path: str | Path, heads: list[HeadSpec]) -> Targets:
    """(text, context) -> each head's teacher probabilities; every problem names its line."""
    targets: Targets = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        wanted = [TEXT, CONTEXT] + [column(h, label) for h in heads for label in h.labels]
        missing = [c for c in wanted if c not in (reader.fieldnames or [])]
        if missing:
            raise TeacherError(f"{path}: no column(s) {missing}")
        for line, row in enumerate(reader, start=2):
            entry = {}
            for h in heads:
                try:
                    p = np.array([float(row[column(h, label)]) for label in h.labels], dtype=np.float32)
                except ValueError as e:
                    raise TeacherError(f"{path}, line {line}: head {h.name!r}: {e}") from e
                if not np.all((p >= 0) & (p <= 1)):
                    raise TeacherError(f"{path}, line {line}: head {h.name!r}: probabilities outside [0, 1]")
                entry[h.name] = p
            targets[(row[TEXT], row[CONTEXT])] = entry
    return targets
