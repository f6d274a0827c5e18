"""`framing suggest`: the sentences of an analyst's own news whose labels would teach the model most.

Every content sentence of the input (what `framing score` reads, or `framing score`'s JSONL
output, whose sentences are re-used) is scored by the model, and a sentence is worth labelling
when the model is unsure of it:

- a single-label head is unsure by how close its two best labels are: 1 - (p1 - p2);
- a multi-label head by how close its least settled label sits to that label's threshold t:
  1 - |p - t| / (t or 1 - t, the room on that side), the maximum over its labels;
- a sentence's uncertainty is the mean over heads (the analyst labels every head of a row).

Uncertain sentences alone tend to come in clusters (twenty wordings of one ambiguous claim), so
the `uncertain-diverse` strategy (the default) takes the `pool_factor * n` most uncertain
sentences and picks `n` of them by greedy k-center (farthest-first) over the model's own
sentence embeddings (the graph's `embedding` output, L2-normalised, cosine distance): first the
most uncertain, then each time the sentence farthest from everything picked so far. The picks
come out in that order, so any prefix of the file is itself a spread-out set. `uncertain` takes
the top `n` by uncertainty alone; `random` a seeded uniform sample (a fair held-out test set).

Never suggested: page furniture (`Span.content` False), sentences shorter than `min_words`,
duplicates after normalisation and near-duplicates (word 3-gram Jaccard >= 0.6, as `framing
data check` flags them), of each other or of any row of the `exclude` CSVs (labelled data
already in hand).

The output is a training CSV in the model's schema: `id, text, <one column per head>, split`,
the head columns prefilled with the model's guesses (the analyst corrects rather than types),
then the guesses again (`guess.<head>`, to count corrections later), the probabilities
(`<head>.<label>`, as `framing score` writes them), the uncertainty, and where the sentence came
from (`source_id`, `sentence`, `start`, `end`, `source`) and the sentence before it. Splits are
assigned (seeded) so that every label the model guessed at least twice has a row in both train
and dev, which `framing data check` requires of a file with a split column.

Torch-free: onnxruntime through `Scorer`, numpy for the rest.
"""

from __future__ import annotations

import csv
import heapq
import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from framing.model.batch import Record, ScoreOptions, iter_records
from framing.model.schema import ModelSchema, TrainedHead
from framing.model.scorer import Scorer
from framing.model.segment import split_sentences
from framing.training.checks import NEAR_DUP_JACCARD, find_near_duplicates, normalise

log = logging.getLogger(__name__)

Strategy = Literal["uncertain-diverse", "uncertain", "random"]
STRATEGIES: tuple[str, ...] = ("uncertain-diverse", "uncertain", "random")
SCORE_CHUNK = 512  # sentences per scoring call of the scorer
TEXT_COLUMN, SPLIT_COLUMN = "text", "split"  # the training CSV's defaults (training/config.py)


@dataclass
class SuggestOptions:
    n: int = 200
    seed: int = 0
    strategy: Strategy = "uncertain-diverse"
    pool_factor: int = 5  # uncertain-diverse: spread n picks over the pool_factor * n most uncertain
    min_words: int = 3
    dev_fraction: float = 0.2
    split: bool = True  # write a split column (train/dev); False for a held-out set
    exclude: list[Path] = field(default_factory=list)  # labelled CSVs: their sentences are skipped
    precision: str = "int8"
    text_column: str = "text"
    id_column: str = "id"
    threads: int | None = None
    batch_size: int = 64


@dataclass
class Candidate:
    doc_id: str
    source: str
    index: int  # sentence index within its document (furniture included, as `framing score` counts)
    start: int
    end: int
    text: str
    previous: str  # the content sentence before it in its document ("" for the first)
    probs: dict[str, np.ndarray]
    vector: np.ndarray  # embedding (or, for graphs without one, the probabilities)
    uncertainty: float
    key: tuple[float, float] = (0.0, 0.0)  # larger is picked first; the second part breaks ties


@dataclass
class SuggestStats:
    documents: int = 0
    error_records: int = 0
    sentences: int = 0
    furniture: int = 0
    short: int = 0
    duplicates: int = 0
    near_duplicates: int = 0
    excluded: int = 0
    scored: int = 0
    pool: int = 0
    chosen: int = 0
    mean_uncertainty_all: float = 0.0
    mean_uncertainty_chosen: float = 0.0
    embedding: bool = True
    uncovered: list[str] = field(default_factory=list)  # labels not in both train and dev


# -- uncertainty -----------------------------------------------------------------
def head_uncertainty(head: TrainedHead, probs: np.ndarray) -> np.ndarray:
    """(n,) in [0, 1] for (n, labels) probabilities: 1 is a coin toss, 0 a sure decision."""
    if not head.multi:
        top = np.sort(probs, axis=1)[:, -2:]
        return 1.0 - (top[:, 1] - top[:, 0])
    t = head.cut_offs(head.thresholds)[None, :]
    room = np.where(probs >= t, 1.0 - t, t)
    settled = np.abs(probs - t) / np.maximum(room, 1e-6)
    return (1.0 - np.clip(settled, 0.0, 1.0)).max(axis=1)


def uncertainty(schema: ModelSchema, probs: dict[str, np.ndarray]) -> np.ndarray:
    """Per sentence: the mean over heads of `head_uncertainty`."""
    return np.mean([head_uncertainty(h, probs[h.name]) for h in schema.heads], axis=0)


# -- reading ---------------------------------------------------------------------
@dataclass
class _Sentence:
    doc_id: str
    source: str
    index: int
    start: int
    end: int
    text: str
    previous: str


def _scored_sentences(rec: Record) -> list[dict[str, Any]] | None:
    """The sentences of a `framing score` JSONL record, if `rec` is one."""
    sentences = rec.extra.get("sentences")
    if isinstance(sentences, list) and all(isinstance(s, dict) and "text" in s for s in sentences):
        return sentences
    return None


def iter_sentences(inputs: list[Path], opts: SuggestOptions, stats: SuggestStats) -> Iterator[_Sentence]:
    """Content sentences of every document, with the sentence before each; furniture, short
    sentences and error records are counted and skipped."""
    read = ScoreOptions(model_dir=Path("."), text_column=opts.text_column, id_column=opts.id_column)
    for rec in iter_records(inputs, read):
        # `framing score` JSONL has no text, only its sentences: re-use them.
        scored = _scored_sentences(rec) if rec.text is None else None
        if scored is None and rec.error:
            stats.error_records += 1
            log.warning("%s line %s (id %s): %s", rec.source, rec.line, rec.id, rec.error)
            continue
        stats.documents += 1
        if scored is not None:
            spans = [
                (int(s.get("index", i)), int(s.get("start", 0)), int(s.get("end", 0)), str(s["text"]),
                 bool(s.get("content", True)))
                for i, s in enumerate(scored)
            ]  # fmt: skip
        else:
            spans = [
                (i, s.start, s.end, s.text, s.content) for i, s in enumerate(split_sentences(rec.text or ""))
            ]
        previous = ""
        for index, start, end, text, content in spans:
            stats.sentences += 1
            if not content:
                stats.furniture += 1
                continue
            here, previous = previous, text
            if len(text.split()) < opts.min_words:
                stats.short += 1
                continue
            yield _Sentence(rec.id, rec.source, index, start, end, text, here)


def read_exclude(paths: list[Path], text_column: str = TEXT_COLUMN) -> list[str]:
    """Texts of labelled CSVs whose sentences (and near-duplicates) must not be suggested."""
    texts: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or text_column not in reader.fieldnames:
                raise ValueError(f"{path}: no column {text_column!r} to exclude by")
            texts += [row[text_column] for row in reader if row.get(text_column)]
    return texts


# -- choosing --------------------------------------------------------------------
def farthest_first(vectors: np.ndarray, n: int) -> list[int]:
    """Greedy k-center: row 0 first, then each time the row farthest (cosine distance) from
    every row picked so far; ties go to the lower index (rows come most uncertain first)."""
    if not len(vectors):
        return []
    x = vectors.astype(np.float64)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    picked = [0]
    nearest = 1.0 - x @ x[0]
    nearest[0] = -np.inf
    while len(picked) < min(n, len(x)):
        j = int(np.argmax(nearest))
        picked.append(j)
        nearest = np.minimum(nearest, 1.0 - x @ x[j])
        nearest[picked] = -np.inf
    return picked


def drop_near_duplicates(pool: list[Candidate], exclude: list[str], stats: SuggestStats) -> list[Candidate]:
    """`pool` (best first) without near-duplicates of `exclude` nor of a better candidate."""
    texts = exclude + [c.text for c in pool]
    offset = len(exclude)
    neighbours: dict[int, list[int]] = {}
    for i, j, _ in find_near_duplicates(texts, NEAR_DUP_JACCARD):
        neighbours.setdefault(j, []).append(i)
        neighbours.setdefault(i, []).append(j)
    kept: list[Candidate] = []
    kept_idx: set[int] = set()
    for k, c in enumerate(pool):
        near = neighbours.get(offset + k, [])
        if any(i < offset for i in near):
            stats.excluded += 1
        elif any(i in kept_idx for i in near):
            stats.near_duplicates += 1
        else:
            kept.append(c)
            kept_idx.add(offset + k)
    return kept


def assign_splits(
    guesses: list[dict[str, Any]], schema: ModelSchema, dev_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """train/dev per row, seeded: about `dev_fraction` of the rows in dev, and every (head,
    label) guessed at least twice in both splits (what `framing data check` asks of a file
    with a split column). Returns the splits and the labels left without a row in each split."""
    rng = np.random.default_rng(seed)
    keys = [
        {(h.name, lab) for h in schema.heads for lab in (g[h.name] if h.multi else [g[h.name]])}
        for g in guesses
    ]
    count = Counter(k for ks in keys for k in ks)
    in_train = Counter(count)
    dev: set[int] = set()
    order = [int(i) for i in rng.permutation(len(guesses))]

    def movable(i: int) -> bool:
        return i not in dev and all(in_train[k] > 1 for k in keys[i])

    def move(i: int) -> None:
        dev.add(i)
        in_train.subtract(keys[i])

    for key in sorted(count, key=lambda k: (count[k], k)):  # rarest first
        if any(key in keys[i] for i in dev):
            continue
        for i in order:
            if key in keys[i] and movable(i):
                move(i)
                break
    target = int(round(dev_fraction * len(guesses))) if len(guesses) > 1 else 0
    for i in order:
        if len(dev) >= target:
            break
        if movable(i):
            move(i)
    splits = ["dev" if i in dev else "train" for i in range(len(guesses))]
    in_dev = Counter(k for i in dev for k in keys[i])
    every = [(h.name, lab) for h in schema.heads for lab in h.labels]
    uncovered = [f"{h}.{lab}" for h, lab in every if not (in_train[(h, lab)] > 0 and in_dev[(h, lab)] > 0)]
    return splits, uncovered


def suggest(
    inputs: list[Path], model_dir: Path, opts: SuggestOptions
) -> tuple[list[dict[str, Any]], Scorer, SuggestStats]:
    """The chosen sentences as output rows (best first), the scorer, and what was seen."""
    if opts.strategy not in STRATEGIES:
        raise ValueError(f"strategy {opts.strategy!r}: one of {list(STRATEGIES)}")
    if opts.n < 1:
        raise ValueError("n must be at least 1")
    scorer = Scorer(model_dir, precision=opts.precision, threads=opts.threads, batch_size=opts.batch_size)  # type: ignore[arg-type]
    schema = scorer.schema
    stats = SuggestStats(embedding=scorer.has_embedding)
    if not scorer.has_embedding and opts.strategy == "uncertain-diverse":
        log.warning(
            "%s: the graph has no embedding output (exported before `framing suggest`); "
            "spreading the picks over the model's probabilities instead",
            model_dir,
        )
    exclude = read_exclude(opts.exclude) if opts.exclude else []
    seen = {normalise(t) for t in exclude}
    rng = np.random.default_rng(opts.seed)
    cap = max(opts.n, opts.pool_factor * opts.n if opts.strategy == "uncertain-diverse" else opts.n) * 2
    heap: list[tuple[tuple[float, float], int, Candidate]] = []  # min-heap of the best `cap`
    total_u = 0.0
    counter = 0

    def score(batch: list[_Sentence]) -> None:
        nonlocal total_u, counter
        probs, _, vectors = scorer.predict_embedded([s.text for s in batch], [s.previous for s in batch])
        stacked = {h.name: np.stack([p[h.name] for p in probs]) for h in schema.heads}
        u = uncertainty(schema, stacked)
        if vectors is None:
            vectors = np.concatenate([stacked[h.name] for h in schema.heads], axis=1)
        ties = rng.random(len(batch))
        for k, s in enumerate(batch):
            stats.scored += 1
            total_u += float(u[k])
            key = (float(ties[k]), 0.0) if opts.strategy == "random" else (float(u[k]), float(ties[k]))
            c = Candidate(
                s.doc_id, s.source, s.index, s.start, s.end, s.text, s.previous,
                {h.name: stacked[h.name][k] for h in schema.heads}, vectors[k], float(u[k]), key,
            )  # fmt: skip
            counter += 1
            item = (key, -counter, c)  # equal keys: the earlier sentence ranks higher
            if len(heap) < cap:
                heapq.heappush(heap, item)
            elif item[:2] > heap[0][:2]:
                heapq.heapreplace(heap, item)

    batch: list[_Sentence] = []
    for s in iter_sentences(inputs, opts, stats):
        norm = normalise(s.text)
        if norm in seen:
            stats.duplicates += 1
            continue
        seen.add(norm)
        batch.append(s)
        if len(batch) >= SCORE_CHUNK:
            score(batch)
            batch = []
    if batch:
        score(batch)
    stats.mean_uncertainty_all = round(total_u / stats.scored, 4) if stats.scored else 0.0

    ranked = [c for _, _, c in sorted(heap, key=lambda t: t[:2], reverse=True)]
    ranked = drop_near_duplicates(ranked, exclude, stats)
    if opts.strategy == "uncertain-diverse":
        pool = ranked[: opts.pool_factor * opts.n]
        chosen = [pool[i] for i in farthest_first(np.stack([c.vector for c in pool]), opts.n)] if pool else []
    else:
        pool = ranked[: opts.n]
        chosen = pool
    stats.pool, stats.chosen = len(pool), len(chosen)
    if chosen:
        stats.mean_uncertainty_chosen = round(float(np.mean([c.uncertainty for c in chosen])), 4)
    rows = [_row(c, scorer) for c in chosen]
    if opts.split:
        guesses = [{h.name: r["_guess"][h.name] for h in schema.heads} for r in rows]
        splits, stats.uncovered = assign_splits(guesses, schema, opts.dev_fraction, opts.seed)
        for r, split in zip(rows, splits, strict=True):
            r[SPLIT_COLUMN] = split
    return rows, scorer, stats


def _row(c: Candidate, scorer: Scorer) -> dict[str, Any]:
    guess = scorer.decide(c.probs)
    row: dict[str, Any] = {"id": f"{c.doc_id}#{c.index}", TEXT_COLUMN: c.text}
    for h in scorer.schema.heads:
        cell = ";".join(guess[h.name]) if h.multi else guess[h.name]
        row[h.column] = cell
        row[f"guess.{h.name}"] = cell
        for j, lab in enumerate(h.labels):
            row[f"{h.name}.{lab}"] = round(float(c.probs[h.name][j]), 5)
    row.update(
        {
            "uncertainty": round(c.uncertainty, 5),
            "source_id": c.doc_id,
            "sentence": c.index,
            "start": c.start,
            "end": c.end,
            "source": c.source,
            "previous_sentence": c.previous,
            "_guess": guess,
        }
    )
    return row


# -- writing ---------------------------------------------------------------------
def columns(schema: ModelSchema, split: bool) -> list[str]:
    cols = ["id", TEXT_COLUMN] + [h.column or h.name for h in schema.heads]
    cols += [SPLIT_COLUMN] if split else []
    cols += [f"guess.{h.name}" for h in schema.heads]
    cols += [f"{h.name}.{lab}" for h in schema.heads for lab in h.labels]
    cols += ["uncertainty", "source_id", "sentence", "start", "end", "source", "previous_sentence"]
    return cols


def write_csv(rows: list[dict[str, Any]], schema: ModelSchema, path: Path, split: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns(schema, split), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def label_studio_config(schema: ModelSchema) -> str:
    """A Label Studio labeling config: the sentence, the one before it, one Choices per head
    (named after the head's CSV column; multiple choice for a multi-label head)."""
    from xml.sax.saxutils import quoteattr

    lines = [
        "<View>",
        '  <Text name="previous" value="$previous_sentence" granularity="word"/>',
        '  <Text name="text" value="$text"/>',
    ]
    for h in schema.heads:
        name = h.column or h.name
        choice = "multiple" if h.multi else "single-radio"
        required = "" if h.multi else ' required="true"'
        lines.append(f"  <Header value={quoteattr(name)}/>")
        lines.append(
            f'  <Choices name={quoteattr(name)} toName="text" choice="{choice}" showInline="true"{required}>'
        )
        lines += [f"    <Choice value={quoteattr(lab)}/>" for lab in h.labels]
        lines.append("  </Choices>")
    return "\n".join(lines + ["</View>"]) + "\n"


def label_studio_tasks(rows: list[dict[str, Any]], schema: ModelSchema, version: str) -> list[dict[str, Any]]:
    """Label Studio import tasks: `data` holds the row (text, previous sentence, id, split,
    source), `predictions` the model's guesses as `choices` results, one per head (none for a
    multi-label head that guessed no label), scored by the model's certainty (1 - uncertainty),
    which Label Studio's data manager can sort by."""
    tasks = []
    for r in rows:
        # The guesses go in as predictions, not as data: the annotation holds the labels.
        heads = {h.column or h.name for h in schema.heads}
        data = {k: v for k, v in r.items() if not k.startswith("_") and "." not in k and k not in heads}
        results = []
        for h in schema.heads:
            guess = r["_guess"][h.name]
            labels = guess if h.multi else [guess]
            if labels:
                results.append(
                    {
                        "id": f"{r['id']}/{h.name}",
                        "from_name": h.column or h.name,
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": labels},
                    }
                )
        prediction = {"model_version": version, "score": round(1.0 - r["uncertainty"], 5), "result": results}
        tasks.append({"data": data, "predictions": [prediction]})
    return tasks


def write_label_studio(
    rows: list[dict[str, Any]], schema: ModelSchema, version: str, path: Path
) -> list[Path]:
    """`<stem>.label-studio.json` (tasks to import) and `<stem>.label-studio.xml` (the
    labeling config to paste into the project) beside `path`."""
    tasks = path.with_name(f"{path.stem}.label-studio.json")
    config = path.with_name(f"{path.stem}.label-studio.xml")
    tasks.write_text(
        json.dumps(label_studio_tasks(rows, schema, version), ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    config.write_text(label_studio_config(schema), encoding="utf-8")
    return [tasks, config]


def from_label_studio(export: Path, schema: ModelSchema, output: Path) -> tuple[int, int]:
    """A Label Studio JSON export of tasks made by `write_label_studio` -> a training CSV
    (the columns `framing suggest` writes, head columns from each task's latest annotation
    that was not skipped). Returns (rows written, tasks without an annotation, left out)."""
    tasks = json.loads(export.read_text(encoding="utf-8"))
    if not isinstance(tasks, list):
        raise ValueError(f"{export}: expected a JSON list of tasks (Label Studio's JSON export)")
    rows: list[dict[str, Any]] = []
    skipped = 0
    for task in tasks:
        data = dict(task.get("data") or {})
        done = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
        if not done:
            skipped += 1
            continue
        latest = max(
            done, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), a.get("id") or 0)
        )
        chosen = {
            r.get("from_name"): (r.get("value") or {}).get("choices") or []
            for r in latest.get("result") or []
            if r.get("type") == "choices"
        }
        for h in schema.heads:
            name = h.column or h.name
            data[name] = ";".join(chosen.get(name, []))
        rows.append(data)
    split = any(SPLIT_COLUMN in r for r in rows)
    cols = columns(schema, split)
    extra = [k for r in rows for k in r if k not in cols]
    with output.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[c for c in cols if "." not in c] + list(dict.fromkeys(extra)))
        w.writeheader()
        w.writerows(rows)
    return len(rows), skipped
