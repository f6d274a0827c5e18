"""Tokenization with `tokenizers` alone, windowing sentences longer than max length.

The one place that turns text into model input, for training and serving alike: a sentence's
tokens, then (for models that read context) the last tokens of the sentence before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

TOKENIZER_FILE = "tokenizer.json"


@dataclass
class Windows:
    """Token windows for one sentence: one window unless it is longer than max length."""

    ids: list[list[int]]

    @property
    def truncated(self) -> bool:
        return len(self.ids) > 1


class SentenceTokenizer:
    def __init__(
        self,
        tokenizer: str | Path | Tokenizer,
        max_length: int,
        stride: int | None = None,
        context_tokens: int = 0,
    ) -> None:
        self.max_length = max_length
        self.context_tokens = context_tokens
        source = (
            tokenizer.to_str() if isinstance(tokenizer, Tokenizer) else Path(tokenizer).read_text("utf-8")
        )
        self._tok = Tokenizer.from_str(source)  # a copy: padding and truncation are set below
        self._tok.no_padding()
        # Overlapping windows: a long sentence is scored in pieces, none of its text dropped.
        stride = stride if stride is not None else max(0, min(32, max_length // 4))
        self._tok.enable_truncation(max_length=max_length, stride=stride)
        pad = self._tok.token_to_id("[PAD]")
        self.pad_id = pad if pad is not None else 0
        self.sep_id = self._tok.token_to_id("[SEP]")
        if context_tokens and self.sep_id is None:
            raise ValueError("a model that reads context needs a tokenizer with a [SEP] token")

    def encode(self, texts: list[str], contexts: list[str] | None = None) -> list[Windows]:
        """Windows per text. With contexts (and a model that reads them), a text that fits one
        window is followed by the last tokens of its context and a [SEP]:
        `[CLS] sentence [SEP] context [SEP]`, the layout of a BERT sentence pair."""
        encodings = self._tok.encode_batch(texts)
        out = [Windows([e.ids] + [o.ids for o in e.overflowing]) for e in encodings]
        if not self.context_tokens or contexts is None:
            return out
        wanted = [i for i, (w, c) in enumerate(zip(out, contexts, strict=True)) if c and not w.truncated]
        tails = self._tok.encode_batch([contexts[i] for i in wanted], add_special_tokens=False)
        for i, tail in zip(wanted, tails, strict=True):
            row = out[i].ids[0]
            budget = min(self.context_tokens, self.max_length - len(row) - 1)
            if budget > 0 and tail.ids:
                # The end of the sentence before: where "..., the minister said" stands.
                out[i].ids[0] = row + tail.ids[-budget:] + [self.sep_id]
        return out

    def pad(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Right-pad to the longest row; returns int64 input_ids and attention_mask."""
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        return ids, mask
