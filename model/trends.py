"""`framing trends`: how each outlet (or any other group) frames the war, period by period.

Input is what `framing score` writes: JSONL (one record per document, its `sentences` and the
fields carried through from the input, such as `outlet` and `published`), CSV or Parquet (one
row per sentence). For each group x period it counts documents and content sentences (page
furniture is left out) and, per label, the sentences carrying it: the share of content
sentences, with a 95% Wilson interval, and the strongest sentences as evidence. Each
single-label head also gets a net balance, share(A) - share(B) (default: its first two
labels, for the default stance pro_russia - pro_ukraine).

The analyst page's Collection view (service/static/trends.js) implements the same formulas
and the same date rules; tests/test_trends.py holds the two to the same numbers. No torch,
no pandas: plain Python, python-dateutil for dates and pyarrow for Parquet.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

Z95 = 1.959963984540054  # the 0.975 quantile of the standard normal: two-sided 95%
PERIODS = ("day", "week", "month")
DEFAULT_DATE_COLUMNS = ("published", "date")
MISSING_GROUP = "(missing)"  # the group of a document without a value in the --by field
ALL_GROUP = "all"  # the one group when there is no --by
SMALL_SENTENCES = 20  # a cell with fewer content sentences is flagged small
LISTED = 1000  # at most this many undated or error ids are listed in the outputs
# Zone abbreviations news feeds use, as UTC offsets in hours; others make a date unparseable
# (an unknown zone could move it by a day). service/static/trends.js has the same table.
TZ_ABBREVIATIONS = {
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
}
SCORED_FIELDS = {"id", "sentences", "summary", "model", "error", "source", "line", "extra"}
ROW_COLUMNS = [
    "by",
    "group",
    "period",
    "period_start",
    "head",
    "label",
    "measure",
    "documents",
    "sentences",
    "count",
    "share",
    "ci_low",
    "ci_high",
    "evidence",
]


class TrendsError(ValueError):
    """A usage problem: unknown head or label, no such field, unreadable file."""


# -- statistics ------------------------------------------------------------------
def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval of k successes in n trials (None, None for n = 0):
    (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), clipped to [0, 1]."""
    if n <= 0:
        return None, None
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


# -- dates -------------------------------------------------------------------------
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TrendsError(
            f"unknown time zone {name!r}: use an IANA name such as UTC or Europe/Kyiv"
        ) from None


def parse_date(value: Any, tz: ZoneInfo, dayfirst: bool = False) -> date | None:
    """The calendar date of a publication time in zone `tz`, or None.

    ISO 8601 and the usual news formats ("Tue, 04 Mar 2025 10:00:00 +0000", "March 4, 2025",
    "4 March 2025 14:30 CET") are read by python-dateutil. A time with a zone or offset is
    converted to `tz`; one without is taken as already in `tz`. `dayfirst` reads 04/03/2025 as
    4 March (never for a value that starts with its year). A value without a year, month and
    day, with an unknown zone abbreviation, or that is not text is unparseable."""
    from dateutil import parser

    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        tzinfos = {k: v * 3600 for k, v in TZ_ABBREVIATIONS.items()}
        # Year first (ISO 8601) is always year-month-day, whatever --dayfirst says.
        dayfirst = dayfirst and not re.match(r"\d{4}", text)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", parser.UnknownTimezoneWarning)
                # Parsed against two different defaults: a part taken from the default is missing.
                parsed = parser.parse(text, default=datetime(2000, 1, 1), dayfirst=dayfirst, tzinfos=tzinfos)
                other = parser.parse(text, default=datetime(2001, 2, 2), dayfirst=dayfirst, tzinfos=tzinfos)
        except (ValueError, OverflowError, parser.UnknownTimezoneWarning):
            return None
        if (parsed.year, parsed.month, parsed.day) != (other.year, other.month, other.day):
            return None
    else:
        return None
    if parsed.tzinfo is not None and parsed.utcoffset() is not None:
        parsed = parsed.astimezone(tz)
    return parsed.date()


def period_of(day: date, period: str) -> tuple[str, date]:
    """The period holding `day`: its label and first day. Weeks are ISO weeks (Monday first,
    labelled by ISO year and week: 2025-W10); months 2025-03; days 2025-03-04."""
    if period == "day":
        return day.isoformat(), day
    if period == "week":
        iso = day.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}", day - timedelta(days=day.weekday())
    if period == "month":
        return f"{day.year}-{day.month:02d}", day.replace(day=1)
    raise TrendsError(f"unknown period {period!r}: one of {', '.join(PERIODS)}")


def next_start(start: date, period: str) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


# -- heads -------------------------------------------------------------------------
@dataclass(frozen=True)
class Head:
    name: str
    multi: bool
    labels: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": "multi_label" if self.multi else "single_label",
            "labels": list(self.labels),
        }


def heads_of_schema(schema: Any) -> list[Head]:
    """Heads of a ModelSchema, or of its JSON (`schema.json`, the Parquet metadata)."""
    raw = schema if isinstance(schema, dict) else schema.model_dump()
    return [Head(h["name"], h["type"] == "multi_label", tuple(h["labels"])) for h in raw["heads"]]


def heads_of_model(model_dir: Path) -> list[Head]:
    from framing.model.schema import ModelSchema

    return heads_of_schema(ModelSchema.load(model_dir))


# -- reading scored files ------------------------------------------------------------
@dataclass
class ScoredDoc:
    id: str
    fields: dict[str, Any]
    sentences: list[dict[str, Any]]
    error: str | None = None


@dataclass
class ScoredFile:
    """A scored file's documents (read lazily) and the heads it records, if it does."""

    path: Path
    docs: Iterator[ScoredDoc]
    heads: list[Head] | None = None


def read_scored(path: Path, heads: list[Head] | None = None) -> ScoredFile:
    """Open what `framing score` wrote, by extension: .jsonl, .csv or .parquet."""
    if not path.is_file():
        raise TrendsError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return ScoredFile(path, _read_jsonl(path))
    if suffix == ".csv":
        return _read_csv(path, heads)
    if suffix == ".parquet":
        return _read_parquet(path)
    raise TrendsError(f"{path}: expected a .jsonl, .csv or .parquet file written by `framing score`")


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k not in SCORED_FIELDS}
    extra = record.get("extra")
    if isinstance(extra, str) and extra:  # CSV and Parquet: carried fields beyond the columns
        try:
            out.update({k: v for k, v in json.loads(extra).items() if k not in out})
        except (json.JSONDecodeError, AttributeError):
            pass
    return out


def _read_jsonl(path: Path) -> Iterator[ScoredDoc]:
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                yield ScoredDoc(f"{path.name}:{n}", {}, [], f"unreadable line: {e}")
                continue
            if not isinstance(rec, dict):
                yield ScoredDoc(f"{path.name}:{n}", {}, [], "not a JSON object")
                continue
            doc_id = str(rec.get("id", f"{path.name}:{n}"))
            if rec.get("error"):
                yield ScoredDoc(doc_id, {}, [], str(rec["error"]))
                continue
            yield ScoredDoc(doc_id, _fields(rec), list(rec.get("sentences") or []))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "")
    return bool(value)


def _csv_heads(path: Path, columns: list[str]) -> list[Head]:
    """Heads of a scored CSV without a schema: a column H with columns H.label after it.
    A head is single-label when every content row names one of its labels and its
    probabilities sum to 1; multi-label otherwise."""
    names = [c for c in columns if any(o.startswith(c + ".") for o in columns)]
    labels = {h: tuple(c[len(h) + 1 :] for c in columns if c.startswith(h + ".")) for h in names}
    single = dict.fromkeys(names, True)
    seen = False
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("error") or row.get("sentence") in (None, "") or not _truthy(row.get("content", "1")):
                continue
            seen = True
            for h in names:
                value = row.get(h) or ""
                probs = [float(row[f"{h}.{lab}"] or 0) for lab in labels[h]]
                if value not in labels[h] or abs(sum(probs) - 1) > 0.01:
                    single[h] = False
    return [Head(h, not (single[h] and seen), labels[h]) for h in names]


def _read_csv(path: Path, heads: list[Head] | None) -> ScoredFile:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        columns = next(csv.reader(fh), [])
    if "id" not in columns:
        raise TrendsError(f"{path}: no 'id' column; is this a CSV written by `framing score`?")
    if heads is None:
        heads = _csv_heads(path, columns)
    structural = {"sentence", "start", "end", "text", "content", "truncated", "furniture"}
    structural |= {h.name for h in heads} | {f"{h.name}.{lab}" for h in heads for lab in h.labels}
    structural |= {c for c in columns if any(c.startswith(h.name + ".") for h in heads)}

    def sentence(row: dict[str, str]) -> dict[str, Any]:
        labels: dict[str, Any] = {}
        scores: dict[str, dict[str, float]] = {}
        for h in heads:
            value = row.get(h.name) or ""
            labels[h.name] = [v for v in value.split(";") if v] if h.multi else (value or None)
            scores[h.name] = {
                lab: float(row[f"{h.name}.{lab}"])
                for lab in h.labels
                if row.get(f"{h.name}.{lab}") not in (None, "")
            }
        return {
            "index": int(row["sentence"]),
            "start": int(row["start"]) if row.get("start") else None,
            "end": int(row["end"]) if row.get("end") else None,
            "text": row.get("text", ""),
            "content": _truthy(row.get("content", "1")),
            "labels": labels,
            "scores": scores,
        }

    def docs() -> Iterator[ScoredDoc]:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            current: ScoredDoc | None = None
            for row in csv.DictReader(fh):
                if row.get("error"):
                    if current:
                        yield current
                        current = None
                    yield ScoredDoc(row["id"], {}, [], row["error"])
                    continue
                has_sentence = row.get("sentence") not in (None, "")
                if current is None or row["id"] != current.id or (has_sentence and row["sentence"] == "0"):
                    if current:
                        yield current
                    fields = {k: v for k, v in row.items() if k not in structural and k is not None}
                    current = ScoredDoc(row["id"], _fields(fields), [])
                if has_sentence:
                    current.sentences.append(sentence(row))
            if current:
                yield current

    return ScoredFile(path, docs(), None)


def _read_parquet(path: Path) -> ScoredFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise TrendsError(f"{path}: unreadable Parquet file: {e}") from None
    meta = {k.decode(): v.decode() for k, v in (pf.schema_arrow.metadata or {}).items()}
    if meta.get("framing.layout") != "sentence":
        raise TrendsError(f"{path}: not a Parquet file written by `framing score` (no framing.layout)")
    heads = heads_of_schema(json.loads(meta["framing.schema"]))
    structural = {"sentence", "start", "end", "text", "content", "truncated", "furniture"}
    structural |= {h.name for h in heads} | {f"{h.name}.{lab}" for h in heads for lab in h.labels}

    def docs() -> Iterator[ScoredDoc]:
        current: ScoredDoc | None = None
        for batch in pf.iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                if row.get("error"):
                    if current:
                        yield current
                        current = None
                    yield ScoredDoc(str(row["id"]), {}, [], row["error"])
                    continue
                index = row.get("sentence")
                if current is None or row["id"] != current.id or index == 0:
                    if current:
                        yield current
                    current = ScoredDoc(
                        str(row["id"]), _fields({k: v for k, v in row.items() if k not in structural}), []
                    )
                if index is not None:
                    current.sentences.append(
                        {
                            "index": index,
                            "start": row["start"],
                            "end": row["end"],
                            "text": row["text"],
                            "content": row["content"] is not False,
                            "labels": {h.name: row.get(h.name) for h in heads},
                            "scores": {
                                h.name: {
                                    lab: row[f"{h.name}.{lab}"]
                                    for lab in h.labels
                                    if row.get(f"{h.name}.{lab}") is not None
                                }
                                for h in heads
                            },
                        }
                    )
        if current:
            yield current

    return ScoredFile(path, docs(), heads)


# -- aggregation -------------------------------------------------------------------
@dataclass
class TrendsOptions:
    by: str | None = None
    period: str = "week"
    tz: str = "UTC"
    date_columns: Sequence[str] = DEFAULT_DATE_COLUMNS
    dayfirst: bool = False
    balance: dict[str, tuple[str, str]] = field(default_factory=dict)  # head -> (A, B)
    evidence: int = 3


@dataclass
class _Cell:
    documents: int = 0
    sentences: int = 0
    counts: Counter = field(default_factory=Counter)  # (head, label) -> sentences carrying it
    evidence: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)


def _rank(e: dict[str, Any]) -> tuple[float, str, int]:
    # Strongest first; ties by document id, then sentence index (trends.js: the same order).
    return (-e["probability"], e["id"], e["sentence"])


def _top(items: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    items.sort(key=_rank)
    del items[k:]
    return items


def group_value(value: Any) -> str:
    """The group a field's value names: text trimmed, other JSON values as JSON."""
    if value is None:
        return MISSING_GROUP
    text = value.strip() if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text or MISSING_GROUP


class Aggregator:
    """Counts documents, content sentences and labels per group x period, streaming."""

    def __init__(self, opts: TrendsOptions, heads: list[Head] | None = None) -> None:
        if opts.period not in PERIODS:
            raise TrendsError(f"unknown period {opts.period!r}: one of {', '.join(PERIODS)}")
        self.opts = opts
        self.tz = zone(opts.tz)
        self.fixed = heads is not None
        self.heads: dict[str, Head] = {h.name: h for h in heads or []}
        self.cells: dict[tuple[str, str], _Cell] = {}
        self.starts: dict[str, date] = {}
        self.groups: dict[str, Counter] = {}  # group -> documents, sentences, undated
        self.documents = 0
        self.errors: list[dict[str, str]] = []
        self.undated: list[dict[str, Any]] = []
        self.undated_count = Counter()  # missing, unparseable
        self.with_field = 0

    def _learn(self, sentence: dict[str, Any]) -> None:
        """Without a schema, heads come from the data: a list of labels is a multi-label
        head, one label a single-label head; the labels, in order, are its score keys."""
        for name, value in (sentence.get("labels") or {}).items():
            if name not in self.heads and (isinstance(value, list) or isinstance(value, str)):
                labels = tuple((sentence.get("scores") or {}).get(name) or ())
                if labels:
                    self.heads[name] = Head(name, isinstance(value, list), labels)

    def add(self, doc: ScoredDoc) -> None:
        self.documents += 1
        if doc.error:
            self.errors.append({"id": doc.id, "error": doc.error})
            return
        by = self.opts.by
        if by is not None and doc.fields.get(by) is not None:
            self.with_field += 1
        group = group_value(doc.fields.get(by)) if by else ALL_GROUP
        stats = self.groups.setdefault(group, Counter())
        stats["documents"] += 1
        column = next(
            (c for c in self.opts.date_columns if doc.fields.get(c) not in (None, "")),
            None,
        )
        day = parse_date(doc.fields[column], self.tz, self.opts.dayfirst) if column else None
        if day is None:
            reason = "missing" if column is None else "unparseable"
            self.undated_count[reason] += 1
            stats["undated"] += 1
            if len(self.undated) < LISTED:
                value = None if column is None else doc.fields[column]
                self.undated.append({"id": doc.id, "group": group, "reason": reason, "value": value})
            return
        label, start = period_of(day, self.opts.period)
        self.starts[label] = start
        cell = self.cells.setdefault((group, label), _Cell())
        cell.documents += 1
        k = self.opts.evidence
        for s in doc.sentences:
            if s.get("content") is False:
                continue
            cell.sentences += 1
            stats["sentences"] += 1
            if not self.fixed:
                self._learn(s)
            labels, scores = s.get("labels") or {}, s.get("scores") or {}
            for head in self.heads.values():
                value = labels.get(head.name)
                carried = (value or []) if head.multi else ([value] if value is not None else [])
                for lab in carried:
                    if lab not in head.labels:
                        continue
                    cell.counts[(head.name, lab)] += 1
                    if k > 0:
                        bucket = cell.evidence.setdefault((head.name, lab), [])
                        bucket.append(
                            {
                                "id": doc.id,
                                "sentence": s.get("index"),
                                "start": s.get("start"),
                                "end": s.get("end"),
                                "probability": float((scores.get(head.name) or {}).get(lab) or 0.0),
                                "text": s.get("text", ""),
                            }
                        )
                        if len(bucket) > 4 * k:
                            _top(bucket, k)

    def balance_pairs(self) -> dict[str, tuple[str, str]]:
        pairs: dict[str, tuple[str, str]] = {}
        for name, pair in self.opts.balance.items():
            head = self.heads.get(name)
            if head is None or head.multi:
                raise TrendsError(
                    f"--balance {name}: no single-label head {name!r} "
                    f"(single-label heads: {[h.name for h in self.heads.values() if not h.multi]})"
                )
            missing = [lab for lab in pair if lab not in head.labels]
            if missing or len(pair) != 2 or pair[0] == pair[1]:
                raise TrendsError(
                    f"--balance {name}: needs two of its labels {list(head.labels)}, got {list(pair)}"
                )
            pairs[name] = (pair[0], pair[1])
        for head in self.heads.values():
            if not head.multi and head.name not in pairs:
                pairs[head.name] = (head.labels[0], head.labels[1])
        return pairs

    def result(self) -> Trends:
        if self.opts.by and self.with_field == 0 and self.groups:
            raise TrendsError(f"no document has a field {self.opts.by!r} to group by")
        pairs = self.balance_pairs()
        periods: list[tuple[str, date]] = []
        if self.starts:
            start, last = min(self.starts.values()), max(self.starts.values())
            while start <= last:
                periods.append(period_of(start, self.opts.period))
                start = next_start(start, self.opts.period)
        groups = sorted(self.groups)
        rows: list[dict[str, Any]] = []
        totals: list[dict[str, Any]] = []
        for group in groups:
            total = _Cell()
            for label, start in periods:
                cell = self.cells.get((group, label), _Cell())
                total.documents += cell.documents
                total.sentences += cell.sentences
                total.counts.update(cell.counts)
                base = {"group": group, "period": label, "period_start": start.isoformat()}
                rows += self._measures(base, cell, pairs, evidence=True)
            totals += self._measures({"group": group}, total, pairs, evidence=False)
        by = self.opts.by
        for row in rows:
            row["by"] = by
        undated = sum(self.undated_count.values())
        meta = {
            "by": by,
            "period": self.opts.period,
            "tz": self.opts.tz,
            "date_columns": list(self.opts.date_columns),
            "heads": [h.to_dict() for h in self.heads.values()],
            "balance": {k: list(v) for k, v in pairs.items()},
            "evidence": self.opts.evidence,
            "small_sentences": SMALL_SENTENCES,
            "documents": self.documents,
            "errors": len(self.errors),
            "dated": self.documents - len(self.errors) - undated,
            "undated": undated,
            "undated_missing": self.undated_count["missing"],
            "undated_unparseable": self.undated_count["unparseable"],
            "groups": [
                {
                    "group": g,
                    "documents": self.groups[g]["documents"],
                    "sentences": self.groups[g]["sentences"],
                    "undated": self.groups[g]["undated"],
                }
                for g in groups
            ],
            "periods": [{"period": p, "period_start": s.isoformat()} for p, s in periods],
        }
        return Trends(meta, rows, totals, self.undated, self.errors[:LISTED])

    def _measures(
        self, base: dict[str, Any], cell: _Cell, pairs: dict[str, tuple[str, str]], evidence: bool
    ) -> list[dict[str, Any]]:
        out = []
        n = cell.sentences
        common = {**base, "documents": cell.documents, "sentences": n}
        for head in self.heads.values():
            for lab in head.labels:
                count = cell.counts[(head.name, lab)]
                low, high = wilson(count, n)
                row = {
                    **common,
                    "head": head.name,
                    "label": lab,
                    "measure": "share",
                    "count": count,
                    "share": count / n if n else None,
                    "ci_low": low,
                    "ci_high": high,
                }
                if evidence:
                    row["evidence"] = _top(list(cell.evidence.get((head.name, lab), [])), self.opts.evidence)
                out.append(row)
            if not head.multi:
                a, b = pairs[head.name]
                diff = cell.counts[(head.name, a)] - cell.counts[(head.name, b)]
                row = {
                    **common,
                    "head": head.name,
                    "label": f"{a} - {b}",
                    "measure": "balance",
                    "count": diff,
                    "share": diff / n if n else None,
                    "ci_low": None,
                    "ci_high": None,
                }
                if evidence:
                    row["evidence"] = []
                out.append(row)
        return out


@dataclass
class Trends:
    meta: dict[str, Any]
    rows: list[dict[str, Any]]  # group x period x label (and one balance row per single-label head)
    totals: list[dict[str, Any]]  # group x label over the whole range
    undated: list[dict[str, Any]]
    errors: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "rows": self.rows,
            "totals": self.totals,
            "undated": self.undated,
            "errors": self.errors,
        }


def parse_balance(values: Iterable[str]) -> dict[str, tuple[str, str]]:
    """`HEAD=A,B` (one per single-label head) -> {HEAD: (A, B)}."""
    out: dict[str, tuple[str, str]] = {}
    for value in values:
        name, sep, pair = value.partition("=")
        labels = [p.strip() for p in pair.split(",")]
        if not sep or len(labels) != 2 or not all(labels):
            raise TrendsError(f"--balance {value!r}: expected HEAD=A,B, e.g. stance=pro_russia,pro_ukraine")
        out[name.strip()] = (labels[0], labels[1])
    return out


def compute_trends(
    inputs: Sequence[Path], opts: TrendsOptions, model_dir: Path | None = None
) -> tuple[Trends, str]:
    """Aggregate scored files. The labels come from `model_dir`'s schema when given, else
    from the schema a Parquet file records, else from the data. Returns the trends and
    where the labels came from."""
    heads = heads_of_model(model_dir) if model_dir is not None else None
    source = f"model {model_dir}" if model_dir is not None else ""
    files = [read_scored(Path(p), heads) for p in inputs]
    if heads is None:
        recorded = next((f for f in files if f.heads), None)
        if recorded:
            heads, source = recorded.heads, f"schema recorded in {recorded.path.name}"
        else:
            source = "labels found in the scored file(s)"
    agg = Aggregator(opts, heads)
    for f in files:
        for doc in f.docs:
            agg.add(doc)
    trends = agg.result()
    trends.meta["labels_from"] = source
    trends.meta["inputs"] = [str(p) for p in inputs]
    m = trends.meta
    if m["undated"]:
        examples = ", ".join(str(u["id"]) for u in trends.undated[:5])
        log.warning(
            "%d of %d documents have no usable date in %s (%d missing, %d unparseable): "
            "counted in no period, listed in summary.json; e.g. %s",
            m["undated"],
            m["documents"] - m["errors"],
            "/".join(opts.date_columns),
            m["undated_missing"],
            m["undated_unparseable"],
            examples,
        )
    if m["errors"]:
        log.warning(
            "%d error records in the input (no sentences): left out, listed in summary.json", m["errors"]
        )
    return trends, source


# -- tables ------------------------------------------------------------------------
def write_tables(trends: Trends, out_dir: Path) -> list[Path]:
    """trends.csv, trends.parquet (one row per group x period x label) and summary.json."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "trends.csv", out_dir / "trends.parquet", out_dir / "summary.json"]
    with paths[0].open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=ROW_COLUMNS)
        w.writeheader()
        for row in trends.rows:
            w.writerow({**row, "evidence": json.dumps(row["evidence"], ensure_ascii=False)})
    evidence = pa.struct(
        [
            ("id", pa.string()),
            ("sentence", pa.int32()),
            ("start", pa.int32()),
            ("end", pa.int32()),
            ("probability", pa.float64()),
            ("text", pa.string()),
        ]
    )
    schema = pa.schema(
        [
            ("by", pa.string()),
            ("group", pa.string()),
            ("period", pa.string()),
            ("period_start", pa.date32()),
            ("head", pa.string()),
            ("label", pa.string()),
            ("measure", pa.string()),
            ("documents", pa.int64()),
            ("sentences", pa.int64()),
            ("count", pa.int64()),
            ("share", pa.float64()),
            ("ci_low", pa.float64()),
            ("ci_high", pa.float64()),
            ("evidence", pa.list_(evidence)),
        ],
        metadata={"framing.trends": json.dumps(trends.meta, ensure_ascii=False)},
    )
    rows = [{**r, "period_start": date.fromisoformat(r["period_start"])} for r in trends.rows]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), paths[1])
    summary = {
        **trends.meta,
        "totals": trends.totals,
        "undated_documents": trends.undated,
        "error_records": trends.errors,
    }
    paths[2].write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return paths
