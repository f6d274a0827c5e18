"""The training config: one YAML file, validated on load (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from framing.model.schema import HeadSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    files: list[str] = Field(default_factory=list)
    text_column: str = "text"
    split_column: str = "split"
    separator: str = ";"
    # Fraction of rows held out for dev when a file has no split column.
    dev_fraction: float = Field(default=0.15, gt=0, lt=1)
    # Article-shaped files: rows of one document share `doc_column`, in reading order; the
    # previous content row is a row's context. Rows whose `content_column` is 0 are page
    # furniture: checked, never trained on. Files without these columns are plain sentences.
    doc_column: str = "doc"
    content_column: str = "content"


class BaseModelConfig(_Strict):
    base: str
    base_sha256: str | None = None  # when set, training refuses weights with another hash
    max_length: int = Field(default=128, gt=8, le=512)
    pooling: Literal["mean", "cls"] = "mean"
    dropout: float = Field(default=0.1, ge=0, lt=1)
    # Keep only the first N transformer layers of the base: fewer layers score faster and
    # lose some accuracy (docs/training.md has the measured trade-off). None keeps all.
    layers: int | None = Field(default=None, ge=1)
    # Tokens of the previous sentence the model reads after the sentence it labels (to know
    # who "he" is or who is quoted); 0 reads the sentence alone. Pooling covers the sentence
    # only, so the context informs its tokens without being labelled itself.
    context_tokens: int = Field(default=48, ge=0, le=256)
    # Which sentences get that context when scoring: every one, only those that leave their
    # speaker or subject to the sentence before (model/context.py), or none.
    context_mode: Literal["always", "needed", "never"] = "needed"


class TrainConfig(_Strict):
    epochs: int = Field(default=3, ge=1)
    batch_size: int = Field(default=32, ge=1)
    lr: float = Field(default=5e-5, gt=0)
    head_lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    patience: int = Field(default=2, ge=1)
    class_weights: bool = True
    # Share of each target moved off the gold label (to the other classes, or toward 0.5 for
    # independent labels): a guard against over-confident fits to tidy text.
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    # LP-FT: epochs in which only the fresh heads learn, on the frozen encoder, before the
    # encoder is fine-tuned; heads that already fit pull the pretrained features less far.
    probe_epochs: int = Field(default=1, ge=0)
    # Transformer layers, counted from the bottom, kept at their pretrained weights (with the
    # embeddings) while the rest fine-tunes: a guard for features learned on wider text than
    # the corpus. 0 fine-tunes the whole encoder.
    freeze_layers: int = Field(default=0, ge=0)
    # Weight averaging along the run (SWA): from this epoch on, the weights after every step
    # are averaged, and the average is what dev scores and the run keeps; flatter minima tend
    # to travel better to new text. None trains and keeps plain weights.
    average_from: int | None = Field(default=None, ge=1)
    seed: int = 13
    threads: int | None = None
    max_steps: int | None = Field(default=None, ge=1)  # stop early; for smoke runs and tests
    # Share of training rows whose context is hidden, so the model also labels well when the
    # sentence before is missing (first sentences, sentence-only CSVs, the API's single lines).
    context_dropout: float = Field(default=0.3, ge=0, le=1)
    # Int8-aware tuning after the main loop (training/int8_aware.py): passes over the training
    # data with onnxruntime's int8 rounding simulated; 0 turns it off. `consistency` weighs
    # the gap between rounded and plain logits against the task loss.
    int8_aware_epochs: int = Field(default=1, ge=0)
    int8_aware_lr: float = Field(default=2e-5, gt=0)
    int8_aware_consistency: float = Field(default=10.0, ge=0)
    # After the thresholds: temperature scaling fitted on dev (training/calibration.py), baked
    # into the exported graph so served probabilities are calibrated; "none" leaves them raw.
    calibration: Literal["temperature", "none"] = "temperature"
    # Distillation (training/teacher.py): a CSV of a larger model's probabilities on the
    # training rows (`framing data teacher`); each head's loss becomes (1 - w) x the loss on
    # the gold labels + w x the cross-entropy against the teacher's probabilities.
    teacher: str | None = None
    distill_weight: float = Field(default=0.5, ge=0, le=1)


class ExportConfig(_Strict):
    """Gates the export must pass, or training fails, and how int8 gets there."""

    max_fp32_delta: float = Field(default=1e-4, gt=0)  # max |torch - onnx fp32| probability
    min_int8_agreement: float = Field(default=0.99, ge=0, le=1)  # int8 vs fp32 label decisions
    # SmoothQuant's alpha for the products whose int8 flips labels (training/exporters/
    # smooth.py); 0 keeps them in fp32 instead. 0.75-0.9 did best on the default model.
    smooth_alpha: float = Field(default=0.85, ge=0, le=1)


class Config(_Strict):
    name: str = "framing"
    schema_version: str = "1"
    heads: list[HeadSpec] = Field(min_length=1)
    data: DataConfig = Field(default_factory=DataConfig)
    model: BaseModelConfig
    train: TrainConfig = Field(default_factory=TrainConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)

    @model_validator(mode="after")
    def _unique_heads(self) -> Config:
        names = [h.name for h in self.heads]
        if len(set(names)) != len(names):
            raise ValueError(f"head names repeat: {names}")
        columns = [h.column for h in self.heads]
        if len(set(columns)) != len(columns):
            raise ValueError(f"two heads read the same column: {columns}")
        return self


class ConfigError(ValueError):
    """A config that cannot be used, with every problem named."""


def _parse_value(raw: str) -> Any:
    # Scalars stay strings and pydantic coerces them to the field's type ("3e-5" -> float,
    # "0123" stays a string where a string is expected); lists and maps are read as YAML.
    if raw.strip()[:1] in ("[", "{"):
        return yaml.safe_load(raw)
    if raw.strip().lower() in ("null", "none", "~"):
        return None
    return raw


def apply_overrides(data: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """Set dotted keys (`train.lr=3e-5`) in a raw config dict."""
    for dotted, raw in overrides.items():
        keys = dotted.split(".")
        node = data
        for key in keys[:-1]:
            if node.get(key) is None:  # a section the file leaves out (or empty) takes its defaults
                node[key] = {}
            if not isinstance(node[key], dict):
                raise ConfigError(f"override --{dotted}: {key!r} is not a section of the config")
            node = node[key]
        node[keys[-1]] = _parse_value(raw)
    return data


def load_config(path: str | Path, overrides: dict[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: config file not found") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config is a mapping of sections, got {type(raw).__name__}")
    raw = apply_overrides(raw, overrides or {})
    try:
        return Config.model_validate(raw)
    except ValidationError as e:
        lines = [f"{path}: invalid config"]
        for err in e.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(top)"
            lines.append(f"  {where}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from e


def parse_override_args(args: list[str]) -> dict[str, str]:
    """Turn extra CLI args like `--train.lr 3e-5` or `--train.lr=3e-5` into a dict."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        key = arg[2:]
        value = None
        if "=" in key:
            key, value = key.split("=", 1)
        if not arg.startswith("--") or "." not in key:
            raise ConfigError(f"unexpected argument {arg!r}; overrides look like --train.lr 3e-5")
        if value is None:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise ConfigError(f"override --{key} has no value")
            i += 1
            value = args[i]
        out[key.replace("-", "_")] = value
        i += 1
    return out
