"""`metrics.json` of a model directory, typed: what training measured and what the model card,
`GET /v1/model` and the benchmarks read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

METRICS_FILE = "metrics.json"


class _Open(BaseModel):
    # Older and newer files carry more fields than these; keep them as they are.
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class LabelScores(_Open):
    precision: float
    recall: float
    f1: float
    support: int


class Confusion(_Open):
    labels: list[str]
    matrix: list[list[int]]  # rows: gold label, columns: predicted


class HeadScores(_Open):
    n: int
    macro_f1: float
    micro_f1: float
    per_label: dict[str, LabelScores]
    confusion: Confusion | None = None
    ece: float | None = None  # expected calibration error, 15 bins (training/calibration.py)


class EvalResult(_Open):
    n: int
    heads: dict[str, HeadScores]
    data: str | None = None  # the CSV, for sets other than the training splits


class DataFile(_Open):
    path: str
    sha256: str
    weight: float = 1.0  # sampling weight of its training rows (`--data PATH:WEIGHT`)


class DataInfo(_Open):
    files: list[DataFile]
    rows: dict[str, int]


class ParentModel(_Open):
    """The model directory a `framing train --init` run continued from."""

    path: str
    version: str
    name: str = ""
    schema_version: str = ""
    created: str = ""


class ModelMetrics(_Open):
    model_version: str
    training: dict[str, Any] = Field(default_factory=dict)
    data: DataInfo
    parent: ParentModel | None = None  # set when trained from another model (`--init`)
    thresholds: dict[str, dict[str, float]] = Field(default_factory=dict)
    # Temperature scaling fitted on dev, as calibration.json holds it; None: uncalibrated.
    calibration: dict[str, Any] | None = None
    parity: dict[str, Any] = Field(default_factory=dict)
    eval: dict[str, EvalResult] = Field(default_factory=dict)

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelMetrics | None:
        path = Path(model_dir) / METRICS_FILE
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / METRICS_FILE
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
        return path
