"""Text -> sentences -> per-head probabilities and labels -> article summary."""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from framing.model.context import ContextMode, contexts_for
from framing.model.digest import update_digest
from framing.model.schema import ModelSchema
from framing.model.segment import Span, split_sentences
from framing.model.session import EMBEDDING_OUTPUT, ONNX_FILES, OnnxSession, Precision, output_name
from framing.model.summary import summarize
from framing.model.tokenize import TOKENIZER_FILE, SentenceTokenizer

log = logging.getLogger(__name__)

Thresholds = dict[str, dict[str, float]]  # head -> label -> threshold
# Padded tokens per onnxruntime call (rows x longest row); see plan_batches.
DEFAULT_BATCH_TOKENS = 256


@dataclass
class SentenceResult:
    index: int
    start: int
    end: int
    text: str
    scores: dict[str, dict[str, float]]  # head -> label -> probability
    labels: dict[str, Any]  # multi-label head -> list of labels; single-label -> one label
    truncated: bool = False  # longer than max length: scored in overlapping windows
    furniture: str | None = None  # page furniture (its kind): not scored, no labels

    @property
    def content(self) -> bool:
        return self.furniture is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "labels": self.labels,
            "scores": self.scores,
            "truncated": self.truncated,
            "content": self.content,
            "furniture": self.furniture,
        }


@dataclass
class DocumentResult:
    sentences: list[SentenceResult]
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, include_sentences: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"summary": self.summary}
        if include_sentences:
            out["sentences"] = [s.to_dict() for s in self.sentences]
        return out


def model_version(model_dir: str | Path) -> str:
    """Short content hash of the files that decide the model's outputs."""
    digest = hashlib.sha256()
    root = Path(model_dir)
    for name in ("schema.json", TOKENIZER_FILE, *ONNX_FILES.values()):
        path = root / name
        if path.is_file():
            digest.update(name.encode())
            update_digest(digest, path)
    return digest.hexdigest()[:12]


def decide_labels(
    schema: ModelSchema, probs: dict[str, np.ndarray], thresholds: Thresholds | None = None
) -> dict[str, Any]:
    """Labels of one sentence from its probabilities, each head deciding by its own rule."""
    return {h.name: h.names(h.decide(probs[h.name], (thresholds or {}).get(h.name))) for h in schema.heads}


def plan_batches(lengths: list[int], max_rows: int, max_tokens: int | None = None) -> list[list[int]]:
    """Indices of rows per onnxruntime call: sorted by length, so each call pads to little
    more than its own rows, and cut when a call would hold `max_rows` rows or more than
    `max_tokens` padded tokens (rows x longest row). Calls that stay small keep their
    activations in the CPU caches, and several small calls can run side by side (see
    Scorer): on 2 cores a 1,000-word article scores fastest in calls of about 250 tokens,
    two at a time (docs/benchmarks.md)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Sorted ascending, so the row being added is the longest of the call.
        over_tokens = bool(max_tokens) and (len(current) + 1) * lengths[i] > max_tokens
        if current and (len(current) >= max_rows or over_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def model_inputs(spans: list[list[Span]]) -> tuple[list[str], list[str]]:
    """What the model scores for segmented documents: their content sentences in order,
    each with its context, the content sentence before it in the same document ("" for
    the first). Page furniture is neither scored nor context (see `Scorer.assemble`)."""
    texts: list[str] = []
    contexts: list[str] = []
    for doc in spans:
        previous = ""
        for s in doc:
            if s.content:
                texts.append(s.text)
                contexts.append(previous)
                previous = s.text
    return texts, contexts


class Scorer:
    """Scores sentences and documents with a model directory's ONNX graph.

    `threads` cores (default: all, at most 8) are shared by `parallel_calls` onnxruntime
    calls running at once (default: one per core, each single-threaded). A call of a few
    hundred tokens is too small to split well across cores, so whole calls side by side
    use the cores better than one call at a time with intra-op threads."""

    def __init__(
        self,
        model_dir: str | Path,
        precision: Precision = "int8",
        threads: int | None = None,
        batch_size: int = 64,
        max_batch_tokens: int | None = DEFAULT_BATCH_TOKENS,
        parallel_calls: int | None = None,
        context_mode: ContextMode | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.schema = ModelSchema.load(self.model_dir)
        # Which sentences read the one before (model/context.py); the model's own setting by default.
        self.context_mode: ContextMode = context_mode or self.schema.context_mode
        self.tokenizer = SentenceTokenizer(
            self.model_dir / TOKENIZER_FILE, self.schema.max_length, context_tokens=self.schema.context_tokens
        )
        cores = threads or min(os.cpu_count() or 1, 8)
        self.parallel_calls = max(1, min(parallel_calls or cores, cores))
        self.session = OnnxSession(
            self.model_dir, precision=precision, threads=max(1, cores // self.parallel_calls)
        )
        # onnxruntime releases the GIL while it runs, so plain threads overlap their calls.
        self._pool = (
            ThreadPoolExecutor(self.parallel_calls, thread_name_prefix="onnx")
            if self.parallel_calls > 1
            else None
        )
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.version = model_version(self.model_dir)
        missing = [h.name for h in self.schema.heads if output_name(h.name) not in self.session.outputs]
        if missing:
            raise ValueError(f"{self.session.path}: no ONNX output for head(s) {missing}")

    # -- sentences -------------------------------------------------------------
    def predict(
        self, texts: list[str], contexts: list[str] | None = None
    ) -> tuple[list[dict[str, np.ndarray]], list[bool]]:
        """Per-head probability vectors for each text, and whether it needed windows.
        `contexts` (the sentence before each text, "" for none) is read only by models
        trained with context."""
        if not texts:
            return [], []
        if contexts is not None:
            contexts = contexts_for(texts, contexts, self.context_mode)
        windows = self.tokenizer.encode(texts, contexts)
        flat = [(i, ids) for i, w in enumerate(windows) for ids in w.ids]
        heads = self.schema.heads
        probs = self.run_rows([ids for _, ids in flat])
        results: list[dict[str, np.ndarray]] = [{} for _ in texts]
        owner = np.array([i for i, _ in flat])
        for h in heads:
            per_text = h.combine_windows(probs[h.name], owner, len(texts))
            for i in range(len(texts)):
                results[i][h.name] = per_text[i]
        return results, [w.truncated for w in windows]

    @property
    def has_embedding(self) -> bool:
        """Whether the graph also outputs the pooled sentence vector (exported since
        `framing suggest`; older model directories score the same without it)."""
        return EMBEDDING_OUTPUT in self.session.outputs

    def predict_embedded(
        self, texts: list[str], contexts: list[str] | None = None
    ) -> tuple[list[dict[str, np.ndarray]], list[bool], np.ndarray | None]:
        """As `predict`, plus each text's pooled sentence vector (the mean over its windows),
        or None when the graph has no embedding output."""
        if not texts:
            return [], [], None
        if contexts is not None:
            contexts = contexts_for(texts, contexts, self.context_mode)
        windows = self.tokenizer.encode(texts, contexts)
        owner = np.array([i for i, w in enumerate(windows) for _ in w.ids])
        out = self.run_rows([ids for w in windows for ids in w.ids], embedding=True)
        results: list[dict[str, np.ndarray]] = [{} for _ in texts]
        for h in self.schema.heads:
            per_text = h.combine_windows(out[h.name], owner, len(texts))
            for i in range(len(texts)):
                results[i][h.name] = per_text[i]
        vectors = None
        if EMBEDDING_OUTPUT in out:
            vectors = np.zeros((len(texts), out[EMBEDDING_OUTPUT].shape[1]), dtype=np.float32)
            np.add.at(vectors, owner, out[EMBEDDING_OUTPUT])
            vectors /= np.bincount(owner, minlength=len(texts)).astype(np.float32)[:, None]
        return results, [w.truncated for w in windows], vectors

    def run_rows(self, rows: list[list[int]], embedding: bool = False) -> dict[str, np.ndarray]:
        """Per-head probabilities of token-id rows, in row order, batched by plan_batches;
        with `embedding`, also the pooled vectors under EMBEDDING_OUTPUT if the graph has them."""
        probs = {h.name: np.zeros((len(rows), len(h.labels)), dtype=np.float32) for h in self.schema.heads}
        calls = plan_batches([len(r) for r in rows], self.batch_size, self.max_batch_tokens)
        keep = [(h.name, output_name(h.name)) for h in self.schema.heads]
        if embedding and self.has_embedding:
            keep.append((EMBEDDING_OUTPUT, EMBEDDING_OUTPUT))
            probs[EMBEDDING_OUTPUT] = np.zeros((len(rows), 0), dtype=np.float32)

        def run(idx: list[int]) -> tuple[list[int], dict[str, np.ndarray]]:
            ids, mask = self.tokenizer.pad([rows[k] for k in idx])
            return idx, self.session.run(ids, mask)

        done = self._pool.map(run, calls) if self._pool and len(calls) > 1 else map(run, calls)
        for idx, out in done:
            for key, name in keep:
                if probs[key].shape[1] != out[name].shape[1]:  # the embedding's width, first call
                    probs[key] = np.zeros((len(rows), out[name].shape[1]), dtype=np.float32)
                probs[key][idx] = out[name]
        return probs

    def warm_up(self) -> None:
        """Run calls of the shapes serving forms, from many short rows to a few rows of max
        length, `parallel_calls` at once and once more on the calling thread. onnxruntime
        grows its buffers per call shape and per thread; doing it now means serving does not
        grow the process later and the first requests do not pay for it."""
        pad = self.tokenizer.pad_id
        length = 0
        while length < self.schema.max_length:
            length = min(length + 8, self.schema.max_length)
            # The first call plan_batches cuts from rows of this length is the one serving forms.
            rows = len(plan_batches([length] * self.batch_size, self.batch_size, self.max_batch_tokens)[0])
            ids, mask = self.tokenizer.pad([[pad] * length] * rows)
            if self._pool:
                n = self.parallel_calls
                list(self._pool.map(self.session.run, [ids] * n, [mask] * n))
            self.session.run(ids, mask)
        self.predict(["Warm-up sentence for the model.", "A second, somewhat longer one follows it."])

    def no_labels(self) -> dict[str, Any]:
        """What a sentence that is not scored carries: no frame, no choice."""
        return {h.name: [] if h.multi else None for h in self.schema.heads}

    def decide(self, probs: dict[str, np.ndarray], thresholds: Thresholds | None = None) -> dict[str, Any]:
        return decide_labels(self.schema, probs, thresholds)

    # -- documents -------------------------------------------------------------
    def score_documents(self, texts: list[str], thresholds: Thresholds | None = None) -> list[DocumentResult]:
        """Segment and score several documents in shared batches."""
        self.check_thresholds(thresholds)
        spans = [split_sentences(t) for t in texts]
        probs, truncated = self.predict(*model_inputs(spans))
        return self.assemble(spans, probs, truncated, thresholds)

    def assemble(
        self,
        spans: list[list[Span]],
        probs: list[dict[str, np.ndarray]],
        truncated: list[bool],
        thresholds: Thresholds | None = None,
    ) -> list[DocumentResult]:
        """Documents from their sentence spans and the flat predictions of their content
        sentences (`model_inputs` order); furniture gets no scores and no labels."""
        docs: list[DocumentResult] = []
        k = 0
        for doc_spans in spans:
            sentences = []
            for i, span in enumerate(doc_spans):
                if not span.content:
                    sentences.append(
                        SentenceResult(
                            i, span.start, span.end, span.text, {}, self.no_labels(), False, span.furniture
                        )
                    )
                    continue
                p = probs[k]
                scores = {
                    h.name: {lab: round(float(p[h.name][j]), 5) for j, lab in enumerate(h.labels)}
                    for h in self.schema.heads
                }
                sentences.append(
                    SentenceResult(
                        i, span.start, span.end, span.text, scores, self.decide(p, thresholds), truncated[k]
                    )
                )
                k += 1
            docs.append(DocumentResult(sentences, summarize(self.schema, sentences)))
        return docs

    def score_text(self, text: str, thresholds: Thresholds | None = None) -> DocumentResult:
        return self.score_documents([text], thresholds)[0]

    def check_thresholds(self, thresholds: Thresholds | None) -> None:
        """Reject overrides naming a head or label the model does not have."""
        for head_name, per_label in (thresholds or {}).items():
            try:
                head = self.schema.head(head_name)
            except KeyError:
                raise ValueError(f"threshold override: unknown head {head_name!r}") from None
            if not head.multi:
                raise ValueError(f"threshold override: head {head_name!r} is single-label")
            for label, value in per_label.items():
                if label not in head.labels:
                    raise ValueError(f"threshold override: head {head_name!r} has no label {label!r}")
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"threshold override {head_name}.{label}: {value} not in [0, 1]")
