"""Which sentences need the sentence before them to be labelled.

A sentence that names its speaker and subject can be labelled alone. One that opens with a
pronoun or a role ("He added...", "The minister..."), continues a quotation, or is attributed
to "he"/"the head of state" leaves the side to the sentence before: only those get context
when a model scores with `context: needed`, which keeps most sentences as short as a
context-free model's (docs/training.md has the measured trade-off).
"""

from __future__ import annotations

import re
from typing import Literal

ContextMode = Literal["always", "needed", "never"]

_ROLE = (
    r"(?:minister|president|prime minister|premier|chancellor|spokes(?:man|woman|person)|official|officials"
    r"|ambassador|envoy|diplomat|leader|head of state|commander|general|governor|mayor|kremlin|ministry"
    r"|agency|statement|document|letter|remarks|comments|report|move|plan|proposal|decision|offer|deal"
    r"|agreement|talks|meeting|summit|vote|law|decree|side|country|government|delegation|source)"
)
_OPENS_WITHOUT_NAME = re.compile(
    rf"^\W*(?:he|she|they|it|his|her|their|its|this|that|these|those|such|we|i|our|both|the latter|the former"
    rf"|(?:the|this|that|these|those) (?:\w+ )?{_ROLE})\b",
    re.I,
)
_OPENS_QUOTE = re.compile(r"^\s*[\"“”‘'«„]")
_UNNAMED_ATTRIBUTION = re.compile(
    rf"\b(?:he|she|they|(?:the|this) (?:\w+ )?{_ROLE})\s+(?:has |had |have )?"
    r"(?:said|says|added|adds|told|tells|noted|stressed|warned|wrote|argued|continued|insisted|claimed"
    r"|explained|went on|recalled|declared|stated|emphasi[sz]ed|underlined|asserted|suggested)\b",
    re.I,
)


def needs_context(text: str) -> bool:
    """True when the sentence leaves its speaker or subject to the sentence before."""
    return bool(
        _OPENS_WITHOUT_NAME.search(text) or _OPENS_QUOTE.search(text) or _UNNAMED_ATTRIBUTION.search(text)
    )


def contexts_for(texts: list[str], contexts: list[str], mode: ContextMode) -> list[str]:
    """The contexts a model reads in `mode`: all, only where needed, or none."""
    if mode == "always":
        return contexts
    if mode == "never":
        return [""] * len(texts)
    return [c if c and needs_context(t) else "" for t, c in zip(texts, contexts, strict=True)]
