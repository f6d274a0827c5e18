"""Per-label precision/recall/F1, micro and macro F1 per head, confusion matrices."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from framing.model.schema import HeadSpec


def head_metrics(head: HeadSpec, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """y_true/y_pred: multi-hot (n, labels) for multi-label heads, indices (n,) otherwise."""
    n_labels = len(head.labels)
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, average=None, labels=list(range(n_labels)), zero_division=0
    )
    out: dict[str, Any] = {
        "per_label": {
            lab: {
                "precision": round(float(p[j]), 4),
                "recall": round(float(r[j]), 4),
                "f1": round(float(f[j]), 4),
                "support": int(s[j]),
            }
            for j, lab in enumerate(head.labels)
        },
        "macro_f1": round(
            float(f1_score(y_true, y_pred, average="macro", zero_division=0, labels=list(range(n_labels)))), 4
        ),
        "micro_f1": round(
            float(f1_score(y_true, y_pred, average="micro", zero_division=0, labels=list(range(n_labels)))), 4
        ),
        "n": int(len(y_true)),
    }
    if head.multi:
        out["exact_match"] = round(float((y_true == y_pred).all(axis=1).mean()), 4) if len(y_true) else 0.0
    else:
        out["accuracy"] = round(float((y_true == y_pred).mean()), 4) if len(y_true) else 0.0
        out["confusion"] = {
            "labels": list(head.labels),  # rows: true label, columns: predicted
            "matrix": confusion_matrix(y_true, y_pred, labels=list(range(n_labels))).tolist(),
        }
    return out


def tune_thresholds(head: HeadSpec, y_true: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Per-label threshold that maximises that label's F1 on dev.

    Many thresholds tie (any cut between the same two dev scores gives the same F1);
    take the middle of the tied run nearest 0.5, so the cut keeps a margin from the dev
    scores on both sides instead of sitting against one of them.
    """
    grid = np.round(np.arange(0.05, 0.951, 0.01), 3)
    out: dict[str, float] = {}
    for j, lab in enumerate(head.labels):
        f1s = np.array(
            [f1_score(y_true[:, j], (probs[:, j] >= t).astype(int), zero_division=0) for t in grid]
        )
        best = np.flatnonzero(np.isclose(f1s, f1s.max()))
        runs = np.split(best, np.flatnonzero(np.diff(best) > 1) + 1)
        run = min(runs, key=lambda r: np.abs(grid[r] - 0.5).min())
        out[lab] = float(grid[run[len(run) // 2]])
    return out


def overall_macro(metrics: dict[str, dict[str, Any]]) -> float:
    """Mean of the heads' macro-F1: the early-stopping criterion."""
    return float(np.mean([m["macro_f1"] for m in metrics.values()]))
