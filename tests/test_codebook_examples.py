"""Slow: the shipped default model labels the codebook's worked examples as the codebook does.

Needs the built default model (`framing build-default`, or `make serve` once); deselected by
default, run with `pytest -m slow`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from framing.model.scorer import Scorer

pytestmark = pytest.mark.slow
MODEL = Path(__file__).resolve().parents[1] / "models" / "default"

# The worked examples of the annotation codebook (schema v1.1): sentence, frames, stance.
WORKED_EXAMPLES = [
    ("The expansion of NATO at the expense of Ukraine creates additional threats to Russia.",
     ["security_threat"], "pro_russia"),
    ("Ukraine's president's term expired in May 2023, but he has refused to hold elections.",
     ["legitimacy_challenge"], "pro_russia"),
    ("Moscow has no objections to Ukraine joining the EU, should member states approve this.",
     ["diplomatic_opening"], "pro_russia"),
    ("Russian missiles hit a power plant near Lviv overnight, officials in Kyiv said.",
     ["security_threat"], "pro_ukraine"),
    ("The EU called the referendums a sham with no legal force.", ["legitimacy_challenge"], "pro_ukraine"),
    ("Kyiv said it was ready to discuss a ceasefire if Russian forces withdrew.",
     ["diplomatic_opening"], "pro_ukraine"),
    ("The summit will take place on October 17-18 in Beijing.", [], "neutral"),
    ("Russia and Ukraine swapped 150 prisoners each on Friday, with the UAE mediating.",
     ["diplomatic_opening"], "neutral"),
    ("He said he was open to meeting Zelensky, but questioned whether Zelensky could legally sign anything.",
     ["diplomatic_opening", "legitimacy_challenge"], "pro_russia"),
]  # fmt: skip


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    assert (MODEL / "model.int8.onnx").is_file(), f"{MODEL}: build the default model first (make serve)"
    return Scorer(MODEL, precision="int8")


@pytest.mark.parametrize(
    ("text", "frames", "stance"), WORKED_EXAMPLES, ids=[t[:40] for t, _, _ in WORKED_EXAMPLES]
)
def test_worked_example(scorer, text, frames, stance):
    probs, _ = scorer.predict([text])
    labels = scorer.decide(probs[0])
    assert (sorted(labels["frames"]), labels["stance"]) == (sorted(frames), stance)
