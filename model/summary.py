"""Article summary: what share of sentences carry each label, and the strongest ones."""

from __future__ import annotations

from collections import Counter
from typing import Any

from framing.model.schema import ModelSchema


def summarize(schema: ModelSchema, sentences: list[Any], top_k: int = 3) -> dict[str, Any]:
    """Summarise scored sentences (objects with `.scores`, `.labels`, `.index`, `.content`).

    Only article content counts: page furniture is left out of every share and count
    (`furniture` says how many sentences were furniture).

    Multi-label heads: per label, the share of sentences carrying it, its highest
    probability and the indices of the top sentences carrying it.
    Single-label heads: counts per label and the dominant label (most sentences;
    ties go to the higher summed probability).
    """
    furniture = sum(not s.content for s in sentences)
    sentences = [s for s in sentences if s.content]
    n = len(sentences)
    out: dict[str, Any] = {"sentences": n, "furniture": furniture}
    for head in schema.heads:
        if head.multi:
            per_label: dict[str, Any] = {}
            for label in head.labels:
                carrying = [s for s in sentences if label in s.labels[head.name]]
                ranked = sorted(carrying, key=lambda s: -s.scores[head.name][label])
                per_label[label] = {
                    "share": round(len(carrying) / n, 4) if n else 0.0,
                    "count": len(carrying),
                    "max_probability": round(
                        max((s.scores[head.name][label] for s in sentences), default=0.0), 4
                    ),
                    "top_sentences": [s.index for s in ranked[:top_k]],
                }
            out[head.name] = per_label
        else:
            counts = Counter(s.labels[head.name] for s in sentences)
            mass = Counter()
            for s in sentences:
                mass.update(s.scores[head.name])
            dominant = max(head.labels, key=lambda lab: (counts[lab], mass[lab])) if n else None
            out[head.name] = {
                "counts": {lab: counts[lab] for lab in head.labels},
                "dominant": dominant,
            }
    return out
