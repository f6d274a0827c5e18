"""Validate a labelled CSV against a config's heads, reporting every problem at once.

Pure standard library (plus the config), so `framing data check` runs on the base
install. Training calls the same check and refuses data that fails it.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from framing.training.config import Config

SPLITS = ("train", "dev", "test")
NEAR_DUP_JACCARD = 0.6
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (file, line, field), what value, why."""

    file: str
    line: int | None  # 1-based physical line where the record starts; header is line 1
    field: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f" [{self.field}]"
        value = "" if self.value is None else f" (value: {self.value[:80]!r})"
        return f"{where}: {self.message}{value}"


@dataclass
class Example:
    """A row that passed the checks, with its labels parsed per head."""

    line: int
    text: str
    labels: dict[str, list[str]]  # head name -> labels (single-label heads hold one)
    split: str | None
    context: str = ""  # the content row before it in the same document, in article files


@dataclass
class CheckResult:
    file: str
    examples: list[Example] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def normalise(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form used to spot duplicates."""
    text = unicodedata.normalize("NFKD", text).casefold()
    return " ".join(_WORD.findall(text))


def _trigrams(norm: str) -> set[tuple[str, ...]]:
    words = norm.split()
    return {tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}


def find_near_duplicates(
    texts: list[str], threshold: float = NEAR_DUP_JACCARD
) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) with i < j whose word 3-gram Jaccard is >= threshold.

    Exact duplicates after normalisation score 1.0. An inverted index keeps this
    near-linear: only pairs that share a 3-gram are ever compared.
    """
    grams = [_trigrams(normalise(t)) for t in texts]
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    pairs: list[tuple[int, int, float]] = []
    for j, g in enumerate(grams):
        shared: Counter[int] = Counter()
        for gram in g:
            shared.update(index[gram])
        for i, n in shared.items():
            jac = n / (len(grams[i]) + len(g) - n)
            if jac >= threshold:
                pairs.append((i, j, round(jac, 3)))
        for gram in g:
            index[gram].append(j)
    return pairs


def _read_rows(path: Path, problems: list[Problem]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        problems.append(Problem(name, None, None, None, f"cannot read file: {e.strerror}"))
        return [], []
    try:
        text = raw.decode("utf-8-sig")  # tolerate a UTF-8 byte-order mark
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        problems.append(
            Problem(
                name,
                line,
                None,
                raw[e.start : e.start + 8].hex(" "),
                f"not UTF-8: invalid byte at offset {e.start}; save the file as UTF-8",
            )
        )
        return [], []
    if not text.strip():
        problems.append(Problem(name, None, None, None, "file is empty: expected a header row"))
        return [], []
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] = []
    start = 1
    try:
        for record in reader:
            if not header:
                header = [h.strip() for h in record]
            elif any(cell.strip() for cell in record):
                rows.append((start, record))
            start = reader.line_num + 1
    except csv.Error as e:
        problems.append(Problem(name, reader.line_num, None, None, f"malformed CSV: {e}"))
    return header, rows


def check_file(path: str | Path, config: Config, duplicates: bool = True) -> CheckResult:
    """Read and validate one CSV; collect every problem rather than stopping at the first."""
    path = Path(path)
    name = str(path)
    result = CheckResult(file=name)
    problems = result.problems
    header, rows = _read_rows(path, problems)
    if not header:
        return result

    text_col = config.data.text_column
    split_col = config.data.split_column
    needed = [text_col] + [h.column for h in config.heads]
    missing = [c for c in needed if c not in header]
    if missing:
        hint = ""
        if len(header) == 1 and any(d in header[0] for d in ";\t|"):
            hint = "; the header looks like one column: is the file comma-separated?"
        problems.append(
            Problem(name, 1, None, ",".join(header), f"missing column(s) {missing}; found {header}{hint}")
        )
        return result
    if len(set(header)) != len(header):
        dup = [c for c, n in Counter(header).items() if n > 1]
        problems.append(Problem(name, 1, None, None, f"repeated column(s) {dup}"))
    if not rows:
        problems.append(Problem(name, None, None, None, "no data rows below the header"))
        return result

    col = {c: header.index(c) for c in header}
    has_split = split_col in col
    doc_col = config.data.doc_column if config.data.doc_column in col else None
    content_col = config.data.content_column if config.data.content_column in col else None
    previous: dict[str, str] = {}  # document -> its last content row, for context
    sep = config.data.separator
    for line, record in rows:
        if len(record) != len(header):
            problems.append(
                Problem(name, line, None, None, f"{len(record)} fields where the header has {len(header)}")
            )
            continue
        ok = True
        text = record[col[text_col]].strip()
        if content_col is not None:
            flag = record[col[content_col]].strip()
            if flag not in ("0", "1"):
                problems.append(
                    Problem(name, line, content_col, flag, "content must be 1 (article) or 0 (furniture)")
                )
                continue
            if flag == "0":  # page furniture: never scored, so never trained on
                continue
        doc = record[col[doc_col]].strip() if doc_col is not None else ""
        context = previous.get(doc, "") if doc else ""
        if doc:
            previous[doc] = text
        if not text:
            problems.append(Problem(name, line, text_col, record[col[text_col]], "empty text"))
            ok = False
        labels: dict[str, list[str]] = {}
        for head in config.heads:
            assert head.column is not None
            cell = record[col[head.column]].strip()
            values = [v.strip() for v in cell.split(sep)] if cell else []
            values = [v for v in values if v]
            unknown = [v for v in values if v not in head.labels]
            if unknown:
                problems.append(
                    Problem(
                        name,
                        line,
                        head.column,
                        cell,
                        f"unknown label(s) {unknown}; head {head.name!r} allows {head.labels}",
                    )
                )
                ok = False
            if not head.multi and len(values) != 1:
                why = "is empty" if not values else f"holds {len(values)} labels"
                problems.append(
                    Problem(
                        name,
                        line,
                        head.column,
                        cell,
                        f"single-label head {head.name!r} needs exactly one label but {why}",
                    )
                )
                ok = False
            if head.multi and len(set(values)) != len(values):
                problems.append(Problem(name, line, head.column, cell, "label repeated"))
            labels[head.name] = sorted(set(values), key=head.labels.index) if not unknown else values
        split = None
        if has_split:
            split = record[col[split_col]].strip()
            if split not in SPLITS:
                problems.append(Problem(name, line, split_col, split, f"split must be one of {list(SPLITS)}"))
                ok = False
        if ok:
            result.examples.append(Example(line, text, labels, split, context))

    if duplicates:
        _check_duplicates(result)
    if has_split:
        _check_split_coverage(result, config)
    return result


def _check_duplicates(result: CheckResult) -> None:
    ex = result.examples
    for i, j, jac in find_near_duplicates([e.text for e in ex]):
        kind = "duplicate" if jac >= 1.0 else f"near-duplicate (3-gram Jaccard {jac:.2f})"
        result.problems.append(
            Problem(result.file, ex[j].line, None, ex[j].text, f"{kind} of line {ex[i].line}")
        )


def _check_split_coverage(result: CheckResult, config: Config) -> None:
    # Keyed by (head, label): two heads may use the same label names (yes/no).
    seen: dict[str, Counter[tuple[str, str]]] = {s: Counter() for s in SPLITS}
    for e in result.examples:
        if e.split:
            for head_name, labels in e.labels.items():
                seen[e.split].update((head_name, lab) for lab in labels)
    for split in SPLITS:
        if not any(e.split == split for e in result.examples):
            if split == "test":  # optional: training needs train and dev only
                continue
            result.problems.append(
                Problem(result.file, None, config.data.split_column, split, f"split {split!r} has no rows")
            )
            continue
        for head in config.heads:
            for label in head.labels:
                if seen[split][(head.name, label)] == 0:
                    result.problems.append(
                        Problem(
                            result.file,
                            None,
                            head.column,
                            label,
                            f"split {split!r} has no example of label {label!r}",
                        )
                    )


def label_counts(examples: list[Example], config: Config) -> dict[str, dict[str, Counter[str]]]:
    """head -> label -> split -> count (split 'all' included; '(none)' for empty multi-label)."""
    out: dict[str, dict[str, Counter[str]]] = {}
    for head in config.heads:
        table: dict[str, Counter[str]] = {lab: Counter() for lab in head.labels}
        if head.multi:
            table["(none)"] = Counter()
        for e in examples:
            labs = e.labels[head.name] or (["(none)"] if head.multi else [])
            for lab in labs:
                table[lab][e.split or "all"] += 1
                if e.split:
                    table[lab]["all"] += 1
        out[head.name] = table
    return out
