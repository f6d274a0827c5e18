"""Probability calibration: temperature scaling fitted on dev, and how calibrated it is (ECE).

Each head's logits are divided by a temperature before its activation: one temperature for
a single-label head (softmax(z / T): the argmax, so every decision, is unchanged) and one per
label for a multi-label head (sigmoid(z_j / T_j)). A temperature is the one that minimises
the dev split's negative log-likelihood; the NLL is convex in 1/T, so a golden-section search
over 1/T finds it. The temperatures are baked into the exported graph
(training/modeling.py `MultiHeadClassifier.calibrated`), so every path that reads the graph
(`framing score`, the API, the page) returns calibrated probabilities.

A multi-label decision is `p >= t`. With p' = sigmoid(z / T), `sigmoid(z) >= t` holds exactly
when `p' >= sigmoid(logit(t) / T)`, so each threshold is carried over to the calibrated scale
by that map (`calibrated_thresholds`) instead of being tuned again: decisions stay as they were.

Pure numpy: `framing evaluate` reports the expected calibration error of any model directory.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from framing.model.schema import HeadSpec

ECE_BINS = 15
# 1/T is searched in [1/MAX_T, 1/MIN_T]: a dev split that the model separates perfectly
# would otherwise drive T to 0 (ever more confident); one with no signal, to infinity.
MIN_T, MAX_T = 0.05, 20.0
EPS = 1e-7


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def apply_temperature(head: HeadSpec, logits: np.ndarray, temperature: list[float] | None) -> np.ndarray:
    """The head's probabilities from (n, labels) logits, each divided by its temperature."""
    z = logits.astype(np.float64)
    if temperature is not None:
        z = z / np.asarray(temperature, dtype=np.float64)
    return _sigmoid(z) if head.multi else _softmax(z)


def _nll_single(logits: np.ndarray, y: np.ndarray, beta: float) -> float:
    z = logits * beta
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(y)), y]))


def _nll_binary(z: np.ndarray, y: np.ndarray, beta: float) -> float:
    s = z * beta
    # log(1 + exp(-s)) for positives, log(1 + exp(s)) for negatives, computed stably.
    return float(np.mean(np.logaddexp(0.0, np.where(y > 0.5, -s, s))))


def _golden_min(f, lo: float, hi: float, iters: int = 80) -> float:
    """Minimum of a unimodal function on [lo, hi] (searched on a log scale)."""
    a, b = math.log(lo), math.log(hi)
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(math.exp(c)), f(math.exp(d))
    for _ in range(iters):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(math.exp(d))
    return math.exp((a + b) / 2)


def fit_temperature(head: HeadSpec, logits: np.ndarray, y: np.ndarray) -> list[float]:
    """Temperature(s) minimising dev NLL: [T] for a single-label head (y: indices), one per
    label for a multi-label head (y: multi-hot). A label whose dev rows are all positive or
    all negative says nothing about its scale and keeps T = 1; so does an empty dev split."""
    logits = logits.astype(np.float64)
    if not len(logits):
        return [1.0] * (len(head.labels) if head.multi else 1)
    if not head.multi:
        beta = _golden_min(lambda b: _nll_single(logits, y.astype(int), b), 1 / MAX_T, 1 / MIN_T)
        return [round(1.0 / beta, 6)]
    out = []
    for j in range(logits.shape[1]):
        yj = y[:, j]
        if yj.min() == yj.max():
            out.append(1.0)
            continue
        beta = _golden_min(lambda b, z=logits[:, j], t=yj: _nll_binary(z, t, b), 1 / MAX_T, 1 / MIN_T)
        out.append(round(1.0 / beta, 6))
    return out


def nll(head: HeadSpec, probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the gold labels (per label for multi-label heads)."""
    p = np.clip(probs.astype(np.float64), EPS, 1 - EPS)
    if head.multi:
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return float(-np.mean(np.log(p[np.arange(len(y)), y.astype(int)])))


def calibrated_thresholds(
    thresholds: dict[str, float], head: HeadSpec, temperature: list[float]
) -> dict[str, float]:
    """Multi-label thresholds carried to the calibrated scale: t' = sigmoid(logit(t) / T),
    the cut at which the calibrated probability makes the same decision as before."""
    out = {}
    for j, lab in enumerate(head.labels):
        t = min(max(thresholds.get(lab, 0.5), EPS), 1 - EPS)
        out[lab] = float(_sigmoid(math.log(t / (1 - t)) / temperature[j]))
    return out


def confidence_outcome(head: HeadSpec, probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What a reliability diagram plots: for a single-label head each sentence's top
    probability and whether that label is right; for a multi-label head every (sentence,
    label) probability and whether the label is on."""
    if head.multi:
        return probs.reshape(-1).astype(np.float64), y.reshape(-1).astype(np.float64)
    return probs.max(axis=1).astype(np.float64), (probs.argmax(axis=1) == y).astype(np.float64)


def reliability(head: HeadSpec, probs: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> dict[str, Any]:
    """Expected calibration error over `bins` equal-width bins of [0, 1] (the gap between
    mean confidence and observed frequency, weighted by the bin's share of predictions), and
    the bins themselves (empty bins have count 0 and no means)."""
    conf, hit = confidence_outcome(head, probs, y)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        m = which == b
        n = int(m.sum())
        if n:
            c, a = float(conf[m].mean()), float(hit[m].mean())
            ece += n / len(conf) * abs(c - a)
            rows.append(
                {
                    "lo": float(edges[b]),
                    "hi": float(edges[b + 1]),
                    "count": n,
                    "confidence": c,
                    "frequency": a,
                }
            )
        else:
            rows.append(
                {
                    "lo": float(edges[b]),
                    "hi": float(edges[b + 1]),
                    "count": 0,
                    "confidence": None,
                    "frequency": None,
                }
            )
    kind = "per-label probability vs label on" if head.multi else "top-label confidence vs correct"
    return {"ece": round(ece, 5) if len(conf) else None, "bins": rows, "kind": kind}


def expected_calibration_error(
    head: HeadSpec, probs: np.ndarray, y: np.ndarray, bins: int = ECE_BINS
) -> float:
    return reliability(head, probs, y, bins)["ece"]
