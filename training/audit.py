"""Rank the rows of a labelled CSV whose label is likely wrong (`framing data audit`).

Confident learning: every row gets out-of-sample predicted probabilities from a k-fold,
seeded, stratified logistic regression on frozen mean-pooled sentence embeddings of the
config's base encoder; cleanlab then scores how well each given label agrees with them
(`cleanlab.rank.get_label_quality_scores` for single-label heads,
`cleanlab.multilabel_classification.get_label_quality_scores` over one-vs-rest
probabilities for multi-label heads) and flags the rows it finds mislabelled
(`cleanlab.filter.find_label_issues`). Rows of every head are merged into one ranking,
worst (lowest label-quality score) first.

Everything but the embedder is plain numpy + scikit-learn + cleanlab; the embedder is a
parameter, so tests and callers can pass their own. The file is read by
`checks.check_file`, so a bad file fails with the same line-numbered problems as
`framing data check`; article files' furniture rows (content 0) are left out there.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from framing.model.schema import HeadSpec
from framing.training.checks import Example, check_file
from framing.training.config import Config

Embedder = Callable[[Sequence[str]], np.ndarray]
"""texts -> float array (len(texts), dim), one row per text, in order."""

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "framing" / "embeddings"
# cleanlab label-quality method, the same for every head so their scores merge into one ranking.
# normalized_margin (p(given) - max p(other), rescaled to [0, 1]) ranked planted flips of both
# heads together best (docs/audit.md); self_confidence is p(given) alone.
DEFAULT_METHOD = "normalized_margin"
METHODS = ("normalized_margin", "self_confidence", "confidence_weighted_entropy")
CSV_FIELDS = [
    "rank",
    "line",
    "id",
    "head",
    "given",
    "suggested",
    "quality",
    "issue",
    "probabilities",
    "text",
]


class AuditError(ValueError):
    """A file or setting the audit cannot use; the message names every problem."""


@dataclass
class Finding:
    """One (row, head) pair of the ranking."""

    line: int  # physical line where the row starts in the file (header is line 1)
    id: str  # the row's id column, "" when the file has none
    text: str
    head: str
    given: list[str]
    suggested: list[str]  # single-label: the most probable label; multi-label: labels with p >= 0.5
    quality: float  # cleanlab label-quality score in [0, 1]; low = the given label is likely wrong
    issue: bool  # cleanlab.filter.find_label_issues flags it
    probabilities: dict[str, float] = field(default_factory=dict)  # out-of-fold, per label
    rank: int = 0  # 1 = worst, over every head


@dataclass
class AuditResult:
    file: str
    rows: int
    findings: list[Finding]  # every (row, head), worst first
    folds: int
    seed: int
    heads: list[str]
    method: str = DEFAULT_METHOD

    def issues(self, head: str | None = None) -> list[Finding]:
        return [f for f in self.findings if f.issue and (head is None or f.head == head)]


# Reading


def read_examples(path: str | Path, config: Config) -> list[Example]:
    """The file's content rows with their labels, or AuditError with every problem.

    Checked as `framing data check` does, less the checks that are no concern of an audit:
    duplicates (conflicting duplicates are what an audit is for) and split coverage (every
    row is audited whatever its split)."""
    data = config.data.model_copy(update={"split_column": "\x00no split column"})
    result = check_file(path, config.model_copy(update={"data": data}), duplicates=False)
    if result.problems:
        lines = [f"{path}: {len(result.problems)} problem(s); fix them (framing data check) and rerun"]
        lines += [f"  {p}" for p in result.problems]
        raise AuditError("\n".join(lines))
    if len(result.examples) < 2:
        raise AuditError(f"{path}: {len(result.examples)} labelled row(s); an audit needs at least 2")
    return result.examples


def row_ids(path: str | Path, id_column: str = "id") -> dict[int, str]:
    """Start line -> the row's id, numbered as `check_file` numbers lines; {} without the column."""
    text = Path(path).read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    header: list[str] = []
    ids: dict[int, str] = {}
    start = 1
    for record in reader:
        if not header:
            header = [h.strip() for h in record]
            if id_column not in header:
                return {}
            col = header.index(id_column)
        elif len(record) > col:
            ids[start] = record[col].strip()
        start = reader.line_num + 1
    return ids


# Embedding


def encoder_embedder(
    config: Config,
    cache_dir: Path | None = DEFAULT_CACHE,
    batch_size: int = 32,
    threads: int | None = None,
) -> Embedder:
    """Mean-pooled (over the attention mask) last hidden states of the config's base encoder,
    frozen, in batches sorted by length. With `cache_dir`, embeddings are kept as
    `<sha256>.npy`, keyed by the encoder's weights hash, max_length, layers and the texts
    themselves: a relabelled copy of a file reuses them, an edited sentence does not.
    The encoder is only loaded on a cache miss."""
    from framing.training.base import resolve_base, verify_base

    base = resolve_base(config.model.base)
    weights = verify_base(base, config.model.base_sha256) or base
    ident = {"base": weights, "max_length": config.model.max_length, "layers": config.model.layers}

    def embed(texts: Sequence[str]) -> np.ndarray:
        key = hashlib.sha256(json.dumps([ident, list(texts)]).encode("utf-8")).hexdigest()
        cached = cache_dir / f"{key}.npy" if cache_dir is not None else None
        if cached is not None and cached.is_file():
            return np.load(cached)
        out = _embed(base, list(texts), config, batch_size, threads)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, out)
            tmp.replace(cached)
        return out

    return embed


def _embed(base: str, texts: list[str], config: Config, batch_size: int, threads: int | None) -> np.ndarray:
    import torch
    from transformers import AutoModel, AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(base)
    encoder = AutoModel.from_pretrained(base)
    if config.model.layers:
        from framing.training.modeling import keep_layers

        keep_layers(encoder, config.model.layers)
    encoder.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=config.model.max_length,
                return_tensors="pt",
            )
            states = encoder(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
            ).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-6)
            out[idx] = pooled.float().numpy()
    return out


# Out-of-fold probabilities


def _classifier(seed: int, c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000, random_state=seed)


def _splits(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold on y when every class has `folds` rows; plain shuffled k-fold otherwise."""
    from sklearn.model_selection import KFold, StratifiedKFold

    folds = max(2, min(folds, len(y)))
    counts = np.bincount(y)
    if counts[counts > 0].min() >= folds:
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    return list(KFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y))))


def out_of_fold_probs(
    x: np.ndarray, y: np.ndarray, k: int, folds: int, seed: int, c: float = 1.0
) -> np.ndarray:
    """(n, k) class probabilities of each row from a model that never saw it.

    A class missing from a training fold gets probability 0 in that fold; a fold whose
    training part holds one class only predicts it with certainty."""
    probs = np.zeros((len(y), k))
    for train, held in _splits(y, folds, seed):
        present = np.unique(y[train])
        if len(present) == 1:
            probs[np.ix_(held, present)] = 1.0
            continue
        clf = _classifier(seed, c).fit(x[train], y[train])
        probs[np.ix_(held, clf.classes_)] = clf.predict_proba(x[held])
    return probs


def _features(x: np.ndarray) -> np.ndarray:
    """Unit-length embeddings: sentence encoders are trained for cosine similarity. (This did a
    little better than standardised dimensions on planted flips, docs/audit.md.)"""
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


# Scoring one head


def audit_head(
    head: HeadSpec,
    labels: list[list[str]],
    x: np.ndarray,
    folds: int,
    seed: int,
    c: float = 1.0,
    method: str = DEFAULT_METHOD,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (quality (n,), issue mask (n,), probabilities (n, len(head.labels))) for one head."""
    if head.multi:
        return _audit_multi(head, labels, x, folds, seed, c, method)
    return _audit_single(head, labels, x, folds, seed, c, method)


def _audit_single(head, labels, x, folds, seed, c, method):
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    y_all = np.array([head.labels.index(labs[0]) for labs in labels])
    probs = np.zeros((len(y_all), len(head.labels)))
    # cleanlab wants every class it is given to occur: score over the labels in use only.
    used = np.unique(y_all)
    y = np.searchsorted(used, y_all)
    if len(used) == 1:  # one label for every row: nothing to disagree with
        probs[:, used[0]] = 1.0
        return np.ones(len(y)), np.zeros(len(y), bool), probs
    p = out_of_fold_probs(x, y, len(used), folds, seed, c)
    probs[:, used] = p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quality = get_label_quality_scores(y, p, method=method)
        issue = find_label_issues(y, p, n_jobs=1)
    return quality, issue, probs


def _audit_multi(head, labels, x, folds, seed, c, method):
    from cleanlab.filter import find_label_issues
    from cleanlab.multilabel_classification import get_label_quality_scores

    n, k = len(labels), len(head.labels)
    onehot = np.zeros((n, k), dtype=int)
    for i, labs in enumerate(labels):
        for lab in labs:
            onehot[i, head.labels.index(lab)] = 1
    probs = onehot.astype(float)  # a label every row (or no row) carries stays as given
    varied = [j for j in range(k) if 0 < onehot[:, j].sum() < n]
    if not varied:
        return np.ones(n), np.zeros(n, bool), probs
    for j in varied:  # one-vs-rest: each label its own binary model, stratified on that label
        probs[:, j] = out_of_fold_probs(x, onehot[:, j], 2, folds, seed, c)[:, 1]
    sub = probs[:, varied]
    given = [[varied.index(j) for j in np.flatnonzero(onehot[i]) if j in varied] for i in range(n)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quality = get_label_quality_scores(given, sub, method=method)
        issue = find_label_issues(given, sub, multi_label=True, n_jobs=1)
    return quality, issue, probs


# The audit


def audit(
    examples: Sequence[Example],
    heads: Sequence[HeadSpec],
    embeddings: np.ndarray | None = None,
    embedder: Embedder | None = None,
    folds: int = 5,
    seed: int = 13,
    ids: dict[int, str] | None = None,
    c: float = 1.0,
    method: str = DEFAULT_METHOD,
) -> list[Finding]:
    """Every (row, head) with its label-quality score, worst first, ranks 1..n.

    Give either `embeddings` (one row per example) or an `embedder` (called once on the
    texts). `c` is the logistic regression's inverse regularisation strength."""
    if (embeddings is None) == (embedder is None):
        raise ValueError("give exactly one of embeddings or embedder")
    texts = [e.text for e in examples]
    x = np.asarray(embeddings if embeddings is not None else embedder(texts))  # type: ignore[misc]
    if x.ndim != 2 or x.shape[0] != len(examples):
        raise ValueError(f"embeddings of shape {x.shape} for {len(examples)} rows")
    x = _features(x)
    ids = ids or {}
    findings: list[Finding] = []
    for head in heads:
        given = [e.labels[head.name] for e in examples]
        quality, issue, probs = audit_head(head, given, x, folds, seed, c, method)
        for i, e in enumerate(examples):
            p = probs[i]
            if head.multi:
                suggested = [lab for j, lab in enumerate(head.labels) if p[j] >= 0.5]
            else:
                suggested = [head.labels[int(np.argmax(p))]]
            findings.append(
                Finding(
                    line=e.line,
                    id=ids.get(e.line, ""),
                    text=e.text,
                    head=head.name,
                    given=list(given[i]),
                    suggested=suggested,
                    quality=float(quality[i]),
                    issue=bool(issue[i]),
                    probabilities={lab: round(float(p[j]), 4) for j, lab in enumerate(head.labels)},
                )
            )
    # Worst first; ties broken by file order, then head order, so the ranking is stable.
    head_order = {h.name: n for n, h in enumerate(heads)}
    findings.sort(key=lambda f: (f.quality, not f.issue, f.line, head_order[f.head]))
    for rank, f in enumerate(findings, 1):
        f.rank = rank
    return findings


def audit_file(
    path: str | Path,
    config: Config,
    embedder: Embedder | None = None,
    folds: int = 5,
    seed: int | None = None,
    cache_dir: Path | None = DEFAULT_CACHE,
    threads: int | None = None,
    batch_size: int = 32,
    method: str = DEFAULT_METHOD,
) -> AuditResult:
    """Read and check `path`, embed its sentences (the config's encoder unless `embedder`
    is given) and rank its rows. `seed` defaults to the config's train.seed."""
    if folds < 2:
        raise AuditError(f"--folds must be 2 or more, got {folds}")
    if method not in METHODS:
        raise AuditError(f"unknown method {method!r}; one of {list(METHODS)}")
    examples = read_examples(path, config)
    if embedder is None:
        embedder = encoder_embedder(config, cache_dir, batch_size=batch_size, threads=threads)
    seed = config.train.seed if seed is None else seed
    findings = audit(
        examples, config.heads, embedder=embedder, folds=folds, seed=seed, ids=row_ids(path), method=method
    )
    heads = [h.name for h in config.heads]
    return AuditResult(str(path), len(examples), findings, folds, seed, heads, method)


# Output


def _join(labels: list[str]) -> str:
    return ";".join(labels)


def write_csv(findings: Sequence[Finding], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        w.writeheader()
        for f in findings:
            row = asdict(f)
            row.update(
                given=_join(f.given),
                suggested=_join(f.suggested),
                quality=f"{f.quality:.4f}",
                issue=int(f.issue),
                probabilities=";".join(f"{k}={v:.3f}" for k, v in f.probabilities.items()),
            )
            w.writerow(row)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(result: AuditResult, top: int = 50) -> str:
    """The top `top` findings as a Markdown report (all of them when top <= 0)."""
    shown = result.findings if top <= 0 else result.findings[:top]
    out = [
        f"# Label audit: `{Path(result.file).name}`",
        "",
        f"{result.rows} rows, heads {', '.join(f'`{h}`' for h in result.heads)}; out-of-sample "
        f"probabilities from {result.folds}-fold logistic regression on frozen sentence embeddings "
        f"(seed {result.seed}), scored by cleanlab. `quality` is cleanlab's label-quality score "
        f"({result.method}; 0 = the given label is surely wrong, 1 = surely right); `issue` marks rows "
        "`cleanlab.filter.find_label_issues` flags.",
        "",
        "| head | rows | flagged as issues |",
        "|---|---|---|",
    ]
    for h in result.heads:
        n = len(result.issues(h))
        out.append(f"| `{h}` | {result.rows} | {n} ({n / max(result.rows, 1):.1%}) |")
    out += [
        "",
        f"## Top {len(shown)}, worst first",
        "",
        "| rank | line | id | head | given | suggested | quality | issue | text |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in shown:
        out.append(
            f"| {f.rank} | {f.line} | {_cell(f.id)} | {f.head} | {_join(f.given) or '(none)'} "
            f"| {_join(f.suggested) or '(none)'} | {f.quality:.3f} | {'yes' if f.issue else ''} "
            f"| {_cell(f.text)} |"
        )
    return "\n".join(out) + "\n"
