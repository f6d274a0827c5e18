"""Tokenization with `tokenizers` alone, windowing sentences longer than max length."""

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
    def __init__(self, path: str | Path, max_length: int, stride: int | None = None) -> None:
        self.max_length = max_length
        self._tok = Tokenizer.from_file(str(path))
        self._tok.no_padding()
        # Overlapping windows: a long sentence is scored in pieces, none of its text dropped.
        stride = stride if stride is not None else max(0, min(32, max_length // 4))
        self._tok.enable_truncation(max_length=max_length, stride=stride)
        pad = self._tok.token_to_id("[PAD]")
        self.pad_id = pad if pad is not None else 0

    def encode(self, texts: list[str]) -> list[Windows]:
        encodings = self._tok.encode_batch(texts)
        return [Windows([e.ids] + [o.ids for o in e.overflowing]) for e in encodings]

    def pad(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Right-pad to the longest row; returns int64 input_ids and attention_mask."""
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        return ids, mask
