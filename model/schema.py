"""The label schema: heads, their labels and decision thresholds.

The same `HeadSpec` is declared in a training config and written into the model
directory (`schema.json`), so the model directory describes itself and nothing
downstream hard-codes a label.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from framing.model.context import ContextMode

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

    # -- behaviour: the one place each of these rules is written -------------------------
    @property
    def activation(self) -> Literal["sigmoid", "softmax"]:
        """Logits to probabilities: independent labels (sigmoid) or one choice (softmax)."""
        return "sigmoid" if self.multi else "softmax"

    def cut_offs(self, thresholds: Mapping[str, float] | None = None) -> np.ndarray:
        """Per-label decision thresholds (multi-label heads; 0.5 unless given)."""
        return np.array([(thresholds or {}).get(lab, 0.5) for lab in self.labels], dtype=np.float32)

    def decide(self, probs: np.ndarray, thresholds: Mapping[str, float] | None = None) -> np.ndarray:
        """Decisions for probability rows (n, labels): a 0/1 matrix for a multi-label head
        (a label is on at or over its threshold), label indices (n,) for a single-label head."""
        if self.multi:
            return (probs >= self.cut_offs(thresholds)).astype(int)
        return probs.argmax(axis=-1)

    def target(self, labels: list[str]) -> list[float] | int:
        """A row's gold labels as the model's target: multi-hot (multi-label) or an index."""
        if self.multi:
            return [float(lab in labels) for lab in self.labels]
        return self.labels.index(labels[0])

    def names(self, decision: np.ndarray) -> list[str] | str:
        """One row's decision as label names: a list (multi-label) or one label."""
        if self.multi:
            return [lab for lab, on in zip(self.labels, decision, strict=True) if on]
        return self.labels[int(decision)]

    def combine_windows(self, probs: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
        """One row per sentence from the rows of its windows (`owner[i]` = sentence of row i):
        a frame anywhere in a long sentence counts (max); a single choice is averaged."""
        out = np.zeros((n, len(self.labels)), dtype=np.float32)
        if self.multi:
            np.maximum.at(out, owner, probs)
        else:
            np.add.at(out, owner, probs)
            out /= np.maximum(np.bincount(owner, minlength=n), 1).astype(np.float32)[:, None]
        return out


class TrainedHead(HeadSpec):
    """A head as shipped in a model directory: with tuned thresholds (multi-label only)."""

    thresholds: dict[str, float] = Field(default_factory=dict)

    def decide(self, probs: np.ndarray, thresholds: Mapping[str, float] | None = None) -> np.ndarray:
        """As HeadSpec.decide, with this head's tuned thresholds unless overridden per label."""
        return super().decide(probs, {**self.thresholds, **(thresholds or {})})

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
    context_mode: ContextMode = "always"  # which sentences get that context (model/context.py)
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
