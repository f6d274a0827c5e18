"""Count a model's errors on a labelled CSV by kind, to see where errors cluster.

    python bench/error_kinds.py --model DIR --data ../shared/eval/real-dev.csv [--doc-column source]

Kinds (a sentence can fall under several): for a single-label head, errors by gold and
predicted label; for a multi-label head, false positives and misses per label; and
single-label errors among sentences that leave their speaker to the sentence before
(framing.model.context.needs_context), among long sentences (over 35 words) and among sentences
with digits. Prints counts only, never the sentences.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from pathlib import Path

from framing.model.context import needs_context
from framing.model.scorer import Scorer
from framing.training.config import DataConfig
from framing.training.evaluate import config_for_model, load_examples

log = logging.getLogger("bench.error_kinds")


def error_kinds(scorer: Scorer, examples: list) -> dict[str, int]:
    probs, _ = scorer.predict([e.text for e in examples], [e.context for e in examples])
    kinds: Counter[str] = Counter()
    for e, p in zip(examples, probs, strict=True):
        for h in scorer.schema.heads:
            got = h.names(h.decide(p[h.name][None, :])[0])
            gold = e.labels[h.name]
            if h.multi:
                for lab in set(got) - set(gold):
                    kinds[f"{h.name}: {lab} false positive"] += 1
                for lab in set(gold) - set(got):
                    kinds[f"{h.name}: {lab} missed"] += 1
                continue
            if got == gold[0]:
                continue
            kinds[f"{h.name}: errors"] += 1
            kinds[f"{h.name}: {gold[0]} taken as {got}"] += 1
            if needs_context(e.text):
                kinds[f"{h.name}: errors where the speaker is in the sentence before"] += 1
            if len(e.text.split()) > 35:
                kinds[f"{h.name}: errors in sentences over 35 words"] += 1
            if any(ch.isdigit() for ch in e.text):
                kinds[f"{h.name}: errors in sentences with numbers"] += 1
    kinds["sentences"] = len(examples)
    kinds["sentences where the speaker is in the sentence before"] = sum(
        needs_context(e.text) for e in examples
    )
    return dict(sorted(kinds.items()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--doc-column", default="doc", help="rows of one document share it, in order")
    parser.add_argument("--context", choices=["always", "needed", "never"], default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    scorer = Scorer(args.model, precision="int8", context_mode=args.context)
    examples = load_examples(args.data, config_for_model(scorer, DataConfig(doc_column=args.doc_column)))
    print(json.dumps(error_kinds(scorer, examples), indent=2))


if __name__ == "__main__":
    main()
