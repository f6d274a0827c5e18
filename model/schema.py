"""The label schema: heads, their labels and decision thresholds.

The same `HeadSpec` is declared in a training config and written into the model
directory (`schema.json`), so the model directory describes itself and nothing
downstream hard-codes a label.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_FILE = "schema.json"
SCHEMA_FORMAT = 1  # version of schema.json's own layout


class HeadSpec(BaseModel):
    """One output of the model: a multi-label set or a single-label choice."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: Literal["multi_label", "single_label"]
    labels: list[str] = Field(min_length=1)
    column: str | None = None  # CSV column; defaults to the head's name

    @model_validator(mode="after")
    def _check(self) -> HeadSpec:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"head {self.name!r}: labels repeat: {self.labels}")
        if self.type == "single_label" and len(self.labels) < 2:
            raise ValueError(f"head {self.name!r}: a single_label head needs two or more labels")
        if self.column is None:
            self.column = self.name
        return self

    @property
    def multi(self) -> bool:
        return self.type == "multi_label"


class TrainedHead(HeadSpec):
    """A head as shipped in a model directory: with tuned thresholds (multi-label only)."""

    thresholds: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _thresholds(self) -> TrainedHead:
        unknown = set(self.thresholds) - set(self.labels)
        if unknown:
            raise ValueError(f"head {self.name!r}: thresholds for unknown labels {sorted(unknown)}")
        if self.multi:
            for label in self.labels:
                self.thresholds.setdefault(label, 0.5)
        return self


class ModelSchema(BaseModel):
    """Everything a scorer needs to know about a model directory besides its weights."""

    model_config = ConfigDict(extra="forbid")

    format: int = SCHEMA_FORMAT
    name: str
    schema_version: str
    heads: list[TrainedHead] = Field(min_length=1)
    max_length: int = Field(gt=8)
    context_tokens: int = Field(default=0, ge=0)  # tokens of the previous sentence it reads
    base_model: str = ""
    base_sha256: str = ""
    created: str = ""

    @model_validator(mode="after")
    def _unique(self) -> ModelSchema:
        names = [h.name for h in self.heads]
        if len(set(names)) != len(names):
            raise ValueError(f"head names repeat: {names}")
        return self

    def head(self, name: str) -> TrainedHead:
        for h in self.heads:
            if h.name == name:
                return h
        raise KeyError(name)

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelSchema:
        path = Path(model_dir) / SCHEMA_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no schema.json; is this a framing model directory?")
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / SCHEMA_FILE
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path
