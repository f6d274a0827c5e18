"""Evaluate a model directory (through onnxruntime, as it is served) on a labelled CSV."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from framing.model.context import ContextMode
from framing.model.scorer import Scorer
from framing.model.session import Precision
from framing.training.calibration import ECE_BINS, reliability
from framing.training.checks import Example, check_file
from framing.training.config import Config, DataConfig
from framing.training.metrics import head_metrics

log = logging.getLogger(__name__)


def config_for_model(scorer: Scorer, data: DataConfig | None = None) -> Config:
    """A config carrying the model's own heads, so any CSV is read by the model's schema."""
    return Config(
        name=scorer.schema.name,
        heads=[h.model_dump(exclude={"thresholds"}) for h in scorer.schema.heads],
        data=data or DataConfig(),
        model={"base": scorer.schema.base_model or "unknown"},
    )


def load_examples(path: str | Path, config: Config) -> list[Example]:
    """Valid rows of a CSV; bad rows are logged and left out (evaluation keeps going)."""
    result = check_file(path, config, duplicates=False)
    for p in result.problems:
        log.warning("%s", p)
    if not result.examples:
        raise ValueError(f"{path}: no usable rows to evaluate")
    return result.examples


def evaluate_examples(scorer: Scorer, examples: list[Example]) -> dict[str, Any]:
    """Per head: label metrics, and how calibrated the probabilities are: the expected
    calibration error over 15 bins (`ece`) and the bins of its reliability diagram."""
    probs, _ = scorer.predict([e.text for e in examples], [e.context for e in examples])
    out: dict[str, Any] = {"n": len(examples), "heads": {}}
    for h in scorer.schema.heads:
        y_true = np.array([h.target(e.labels[h.name]) for e in examples]).astype(int)
        p = np.stack([q[h.name] for q in probs])
        out["heads"][h.name] = head_metrics(h, y_true, h.decide(p))
        rel = reliability(h, p, y_true, ECE_BINS)
        out["heads"][h.name]["ece"] = rel.pop("ece")
        out["heads"][h.name]["reliability"] = rel
    return out


def plot_reliability(name: str, m: dict[str, Any], path: Path, title: str) -> None:
    """A head's reliability diagram: observed frequency against mean confidence per bin (the
    diagonal is perfect calibration), bar width the bin, and how many predictions fell in each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rel = m["reliability"]
    bins = [b for b in rel["bins"] if b["count"]]
    fig, (ax, hist) = plt.subplots(
        2, 1, figsize=(5.2, 6.0), gridspec_kw={"height_ratios": [3, 1]}, sharex=True
    )
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    lo = [b["lo"] for b in bins]
    width = [b["hi"] - b["lo"] for b in bins]
    ax.bar(lo, [b["frequency"] for b in bins], width=width, align="edge", alpha=0.6, edgecolor="black",
           label="observed frequency")  # fmt: skip
    ax.plot([b["confidence"] for b in bins], [b["frequency"] for b in bins], "o-", color="C3",
            markersize=4, label="at the bin's mean confidence")  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("observed frequency")
    ax.set_title(f"{name}: ECE {m['ece']:.3f}" if m.get("ece") is not None else name)
    ax.legend(fontsize=8, loc="upper left")
    hist.bar(lo, [b["count"] for b in bins], width=width, align="edge", color="grey", edgecolor="black")
    hist.set_ylabel("predictions")
    hist.set_xlabel(rel["kind"])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_metrics(metrics: dict[str, Any], path: Path, title: str) -> None:
    """One panel per head: per-label P/R/F1 bars; single-label heads add a confusion matrix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heads = metrics["heads"]
    panels = sum(1 if not m.get("confusion") else 2 for m in heads.values())
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.2), squeeze=False)
    k = 0
    for name, m in heads.items():
        ax = axes[0][k]
        labels = list(m["per_label"])
        x = np.arange(len(labels))
        for off, key in zip((-0.27, 0, 0.27), ("precision", "recall", "f1"), strict=True):
            ax.bar(x + off, [m["per_label"][lab][key] for lab in labels], width=0.27, label=key)
        ax.set_xticks(x, [lab.replace("_", "\n") for lab in labels], fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{name}: macro-F1 {m['macro_f1']:.2f}, micro-F1 {m['micro_f1']:.2f}")
        ax.legend(fontsize=8, loc="lower right")
        k += 1
        if m.get("confusion"):
            ax = axes[0][k]
            mat = np.array(m["confusion"]["matrix"])
            ax.imshow(mat, cmap="Blues")
            for (i, j), v in np.ndenumerate(mat):
                ax.text(
                    j, i, str(v), ha="center", va="center", color="white" if v > mat.max() / 2 else "black"
                )
            ticks = [lab.replace("_", "\n") for lab in m["confusion"]["labels"]]
            ax.set_xticks(range(len(ticks)), ticks, fontsize=8)
            ax.set_yticks(range(len(ticks)), ticks, fontsize=8)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true")
            ax.set_title(f"{name}: confusion (accuracy {m['accuracy']:.2f})")
            k += 1
    fig.suptitle(f"{title} (n={metrics['n']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate(
    model_dir: str | Path,
    data: str | Path,
    out: str | Path | None = None,
    precision: Precision = "int8",
    doc_column: str = "doc",
    context_mode: ContextMode | None = None,
) -> dict[str, Any]:
    """`framing evaluate`: metrics JSON (+ PNG when `out` is given). Rows that share
    `doc_column` are read in order as one document: a model that reads context gets the
    row before as each row's context."""
    scorer = Scorer(model_dir, precision=precision, context_mode=context_mode)
    examples = load_examples(data, config_for_model(scorer, DataConfig(doc_column=doc_column)))
    metrics = evaluate_examples(scorer, examples)
    metrics.update(
        {
            "data": str(data),
            "model_version": scorer.version,
            "precision": precision,
            "doc_column": doc_column,
            "context_mode": scorer.context_mode,
        }
    )
    if out:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        plot_metrics(metrics, out / "metrics.png", f"{Path(data).name} ({precision})")
        for name, m in metrics["heads"].items():
            title = f"{Path(data).name} ({precision}, n={metrics['n']})"
            plot_reliability(name, m, out / f"reliability_{name}.png", title)
    return metrics
