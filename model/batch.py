"""`framing score`: stream documents from files through the scorer into JSONL, CSV or Parquet.

Memory stays flat: records are read lazily and scored in small chunks, with at most
two chunks per worker in flight. A bad record becomes an error record in the output
(with its file and line) and the run goes on; Ctrl-C closes a valid output file, and
`--resume` continues an interrupted run from what its output holds (OUTPUT.meta.json).
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import json
import logging
import multiprocessing as mp
import os
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from tqdm import tqdm

from framing.model.schema import ModelSchema
from framing.model.scorer import DEFAULT_BATCH_TOKENS, Scorer, model_version

log = logging.getLogger(__name__)
CHUNK_DOCS = 32


@dataclass
class ScoreOptions:
    model_dir: Path
    precision: str = "int8"
    text_column: str = "text"
    id_column: str = "id"
    batch_size: int = 64
    batch_tokens: int = DEFAULT_BATCH_TOKENS
    threads: int | None = None
    parallel_calls: int | None = None
    workers: int = 1
    progress: bool = True
    resume: bool = False  # continue an interrupted run from what the output holds


@dataclass
class Record:
    id: str
    source: str
    line: int | None
    text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Stats:
    documents: int = 0
    sentences: int = 0
    errors: int = 0
    interrupted: bool = False
    resumed: int = 0  # records the output already held when --resume continued it


# -- reading -------------------------------------------------------------------
def _check_text(rec: Record) -> Record:
    if rec.error is None:
        if not isinstance(rec.text, str):
            rec.error = "field 'text' is missing or not a string"
        elif not rec.text.strip():
            rec.error = "empty document: no text"
        elif any("\udc80" <= ch <= "\udcff" for ch in rec.text):
            rec.error = "invalid UTF-8 in text"
            rec.text = None
    return rec


def parse_jsonl_line(raw: bytes, path: Path, n: int, opts: ScoreOptions) -> Record:
    """Line `n` of a JSONL file as a record (an error record when it is not one)."""
    rec = Record(id=f"{path.name}:{n}", source=str(path), line=n)
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        rec.error = f"invalid UTF-8 at byte {e.start} of the line"
    except json.JSONDecodeError as e:
        rec.error = f"malformed JSON: {e.msg} at column {e.colno}"
    else:
        if not isinstance(obj, dict):
            rec.error = f"expected a JSON object, got {type(obj).__name__}"
        else:
            if obj.get(opts.id_column) is not None:
                rec.id = str(obj.pop(opts.id_column))
            rec.text = obj.pop(opts.text_column, None)
            rec.extra = obj
    return _check_text(rec)


def read_jsonl(path: Path, opts: ScoreOptions) -> Iterator[Record]:
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if raw.strip():
                yield parse_jsonl_line(raw, path, n, opts)


def read_csv(path: Path, opts: ScoreOptions) -> Iterator[Record]:
    # surrogateescape keeps reading past bad bytes; the record holding them is flagged.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or opts.text_column not in reader.fieldnames:
            yield Record(
                id=f"{path.name}:1",
                source=str(path),
                line=1,
                error=f"no column {opts.text_column!r} in header {reader.fieldnames}",
            )
            return
        start = 2
        for row in reader:
            rec = Record(id=f"{path.name}:{start}", source=str(path), line=start)
            if None in row:  # more cells than header columns
                rec.error = (
                    f"{len(row) - 1 + len(row[None])} fields where the header has {len(reader.fieldnames)}"
                )
            else:
                if row.get(opts.id_column):
                    rec.id = row.pop(opts.id_column)
                rec.text = row.pop(opts.text_column)
                rec.extra = {k: v for k, v in row.items() if k is not None}
            start = reader.line_num + 1
            yield _check_text(rec)


def _plain(value: Any) -> Any:
    """A Parquet cell as a JSON value: dates and times in ISO 8601, NaN as null, other
    types (decimals, durations) as text."""
    if isinstance(value, float) and value != value:
        return None
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    return str(value)


def read_parquet(path: Path, opts: ScoreOptions) -> Iterator[Record]:
    """One document per row: `--text-column`, `--id-column`, every other column carried
    through (dates as ISO 8601 text). A row group that cannot be read becomes one error
    record per row, so every row still appears once in the output."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
    except (pa.ArrowException, OSError, ValueError) as e:
        yield Record(id=path.name, source=str(path), line=None, error=f"unreadable Parquet file: {e}")
        return
    if opts.text_column not in names:
        yield Record(
            id=path.name, source=str(path), line=None, error=f"no column {opts.text_column!r} in {names}"
        )
        return
    row = 0
    for group in range(pf.num_row_groups):
        end = row + pf.metadata.row_group(group).num_rows
        try:
            for table in pf.iter_batches(batch_size=1024, row_groups=[group]):
                for values in table.to_pylist():
                    row += 1
                    rec = Record(id=f"{path.name}:{row}", source=str(path), line=row)
                    if values.get(opts.id_column) is not None:
                        rec.id = str(_plain(values.pop(opts.id_column)))
                    text = values.pop(opts.text_column, None)
                    if isinstance(text, bytes):
                        text = text.decode("utf-8", errors="surrogateescape")
                    rec.text = text
                    rec.extra = {k: _plain(v) for k, v in values.items() if k != opts.id_column}
                    yield _check_text(rec)
        except (pa.ArrowException, OSError, ValueError) as e:
            while row < end:
                row += 1
                yield Record(
                    id=f"{path.name}:{row}",
                    source=str(path),
                    line=row,
                    error=f"unreadable Parquet row group {group}: {e}",
                )


def read_txt(path: Path, root: Path | None = None) -> Iterator[Record]:
    name = str(path.relative_to(root)) if root else path.name
    rec = Record(id=name, source=str(path), line=None)
    try:
        rec.text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        rec.error = f"invalid UTF-8 at byte {e.start}"
    yield _check_text(rec)


def input_units(inputs: Sequence[Path]) -> Iterator[tuple[Path, Path | None]]:
    """What `inputs` name, file by file, in reading order: (file, None) for a file given
    itself, (file, folder) for each `.txt` below a folder given."""
    for path in inputs:
        if path.is_dir():
            for f in sorted(path.rglob("*.txt")):
                yield f, path
        elif not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        else:
            yield path, None


def read_unit(path: Path, root: Path | None, opts: ScoreOptions) -> Iterator[Record]:
    """The records of one input file. The local run and the Ray engine (model/ray_engine.py)
    both read through here, so their ids and error messages are the same."""
    suffix = path.suffix.lower()
    if root is not None:
        yield from read_txt(path, root)
    elif suffix == ".jsonl":
        yield from read_jsonl(path, opts)
    elif suffix == ".csv":
        yield from read_csv(path, opts)
    elif suffix == ".parquet":
        yield from read_parquet(path, opts)
    else:
        yield from read_txt(path)


def iter_records(inputs: list[Path], opts: ScoreOptions) -> Iterator[Record]:
    for path, root in input_units(inputs):
        yield from read_unit(path, root, opts)


# -- writing -------------------------------------------------------------------
class JsonlWriter:
    def __init__(self, fh: TextIO, schema: ModelSchema, version: str) -> None:
        self.fh, self.model = fh, {"name": schema.name, "version": version}

    def line(self, rec: Record, doc: dict[str, Any] | None) -> str:
        if rec.error:
            out = {"id": rec.id, "error": rec.error, "source": rec.source, "line": rec.line}
        else:
            out = {"id": rec.id, **rec.extra, **(doc or {}), "model": self.model}
        return json.dumps(out, ensure_ascii=False) + "\n"

    def write(self, rec: Record, doc: dict[str, Any] | None) -> None:
        self.fh.write(self.line(rec, doc))


def _carried(extra: dict[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """Carried-through fields as cells: one column each for `columns` (text; other JSON
    values JSON-encoded), the rest as one JSON object in the `extra` column."""
    cells: dict[str, Any] = {
        k: v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        for k, v in extra.items()
        if k in columns
    }
    rest = {k: v for k, v in extra.items() if k not in columns}
    cells["extra"] = json.dumps(rest, ensure_ascii=False) if rest else None
    return cells


def sentence_rows(
    rec: Record, doc: dict[str, Any] | None, schema: ModelSchema, extras: list[str]
) -> list[dict[str, Any]]:
    """The per-sentence rows of one record (CSV and Parquet output): one per sentence, with its
    offsets, flags, labels per head and a probability per label (none for page furniture); one
    row for an error record or a document without a sentence."""
    if rec.error or doc is None:
        return [{"id": rec.id, "error": rec.error, "source": rec.source, "line": rec.line}]
    carried = _carried(rec.extra, extras)
    if not doc["sentences"]:  # keep the document ("..." has no sentence): one row without one
        return [{**carried, "id": rec.id}]
    rows = []
    for s in doc["sentences"]:
        row = {
            **carried,
            "id": rec.id,
            "sentence": s["index"],
            "start": s["start"],
            "end": s["end"],
            "text": s["text"],
            "content": s["content"],
            "truncated": s["truncated"],
            "furniture": s["furniture"],
        }
        for h in schema.heads:
            row[h.name] = s["labels"][h.name]
            for lab in h.labels:
                row[f"{h.name}.{lab}"] = s["scores"].get(h.name, {}).get(lab)
        rows.append(row)
    return rows


class CsvWriter:
    """One row per sentence; an error record is one row with the error column set.
    Carried-through fields follow as columns (those of the first chunk; later ones in
    `extra`, as JSON)."""

    def __init__(
        self,
        fh: TextIO,
        schema: ModelSchema,
        version: str,
        extra_columns: Sequence[str] = (),
        header: bool = True,
    ) -> None:
        self.schema = schema
        self.columns = ["id", "sentence", "start", "end", "text"]
        self.columns += [h.name for h in schema.heads]
        self.columns += [f"{h.name}.{lab}" for h in schema.heads for lab in h.labels]
        self.columns += ["content", "truncated", "furniture", "error", "source", "line"]
        self.extras = [c for c in extra_columns if c not in self.columns and c != "extra"]
        self.columns += [*self.extras, "extra"]
        self.w = csv.DictWriter(fh, fieldnames=self.columns)
        if header:  # a resumed run appends to the header already there
            self.w.writeheader()

    def write(self, rec: Record, doc: dict[str, Any] | None) -> None:
        if rec.error or doc is None:
            self.w.writerow({"id": rec.id, "error": rec.error, "source": rec.source, "line": rec.line})
            return
        for row in sentence_rows(rec, doc, self.schema, self.extras):
            if "sentence" in row:  # CSV cells: 0/1 flags, multi-label sets ";"-joined
                row["content"], row["truncated"] = int(row["content"]), int(row["truncated"])
                for h in self.schema.heads:
                    labels = row[h.name]
                    row[h.name] = ";".join(labels) if isinstance(labels, list) else labels
            self.w.writerow(row)


class ParquetWriter:
    """One row per sentence, like CsvWriter, with typed columns: a multi-label head is a
    list of labels, a single-label head one label, probabilities float64, `content` and
    `truncated` booleans, `furniture` the kind of page furniture. An error record is one
    row with `error`, `source`, `line` set. The file's metadata holds the model's schema
    (`framing.schema`) and name and version (`framing.model`). Rows go out in row groups
    of `ROW_GROUP`; `close` writes the footer, which an interrupted run does too."""

    ROW_GROUP = 16_384

    def __init__(
        self, fh: BinaryIO | None, schema: ModelSchema, version: str, extra_columns: Sequence[str] = ()
    ) -> None:
        """With `fh` None, only the layout: `arrow_schema` and `record_rows` (the Ray engine's shards)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa, self.schema = pa, schema
        fields = [("id", pa.string()), ("sentence", pa.int32()), ("start", pa.int32()), ("end", pa.int32())]
        fields += [("text", pa.string())]
        fields += [(h.name, pa.list_(pa.string()) if h.multi else pa.string()) for h in schema.heads]
        fields += [(f"{h.name}.{lab}", pa.float64()) for h in schema.heads for lab in h.labels]
        fields += [("content", pa.bool_()), ("truncated", pa.bool_()), ("furniture", pa.string())]
        fields += [("error", pa.string()), ("source", pa.string()), ("line", pa.int64())]
        taken = {name for name, _ in fields}
        self.extras = [c for c in extra_columns if c not in taken and c != "extra"]
        fields += [(c, pa.string()) for c in self.extras] + [("extra", pa.string())]
        metadata = {
            "framing.layout": "sentence",
            "framing.schema": schema.model_dump_json(),
            "framing.model": json.dumps({"name": schema.name, "version": version}),
        }
        self.arrow_schema = pa.schema(fields, metadata=metadata)
        self.w = pq.ParquetWriter(fh, self.arrow_schema) if fh is not None else None
        self.rows: list[dict[str, Any]] = []

    def write(self, rec: Record, doc: dict[str, Any] | None) -> None:
        self.rows += self.record_rows(rec, doc)
        if len(self.rows) >= self.ROW_GROUP:
            self.flush()

    def record_rows(self, rec: Record, doc: dict[str, Any] | None) -> list[dict[str, Any]]:
        return sentence_rows(rec, doc, self.schema, self.extras)

    def flush(self) -> None:
        if self.rows:
            self.w.write_table(self.pa.Table.from_pylist(self.rows, schema=self.arrow_schema))
            self.rows = []

    def close(self) -> None:
        self.flush()
        self.w.close()


# -- resuming ------------------------------------------------------------------
class ResumeError(Exception):
    """`--resume` cannot continue this output; the message says why."""


def meta_path(output: Path) -> Path:
    """The sidecar that records what made `output`: OUTPUT.meta.json."""
    return output.with_name(output.name + ".meta.json")


def run_meta(inputs: Sequence[Path], output: Path, opts: ScoreOptions, name: str, version: str) -> dict:
    """What an output depends on: the model, the options that change what is written, the inputs.
    Batch sizes, threads and workers are left out: at fp32 they change no number."""
    return {
        "framing_score": 1,
        "model": {"name": name, "version": version},
        "options": {
            "precision": opts.precision,
            "text_column": opts.text_column,
            "id_column": opts.id_column,
        },
        "inputs": [str(p.resolve()) for p in inputs],
        "format": output.suffix.lower(),
        "complete": False,
    }


def write_meta(output: Path, meta: dict) -> None:
    """Replace the sidecar atomically (written, synced, renamed), so it is never half there."""
    path = meta_path(output)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(meta, indent=2) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _check_meta(output: Path, want: dict) -> dict:
    path = meta_path(output)
    if not path.is_file():
        raise ResumeError(
            f"cannot resume {output}: no {path.name} beside it, so what made it is unknown "
            "(it was not written by `framing score`, or the sidecar was removed); run again without --resume"
        )
    try:
        have = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ResumeError(f"cannot resume {output}: {path.name} is not valid JSON ({e})") from None
    why = []
    if have.get("model") != want["model"]:
        why.append(f"it was made by model {have.get('model')}, this run uses {want['model']}")
    for key, value in want["options"].items():
        if have.get("options", {}).get(key) != value:
            why.append(f"--{key.replace('_', '-')} was {have.get('options', {}).get(key)!r}, now {value!r}")
    if have.get("inputs") != want["inputs"]:
        why.append(f"its inputs were {have.get('inputs')}, now {want['inputs']}")
    if have.get("format") != want["format"]:
        why.append(f"its format was {have.get('format')}, now {want['format']}")
    if why:
        raise ResumeError(f"refusing to resume {output}: " + "; ".join(why))
    return have


@dataclass
class Done:
    """What an interrupted output already holds: the ids of its complete records, in order,
    and (JSONL, CSV) how many bytes of it to keep."""

    ids: list[str]
    keep_bytes: int = 0


def _jsonl_done(output: Path) -> Done:
    """Complete lines up to the first torn or unreadable one (a line is one record)."""
    done = Done([])
    with output.open("rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            try:
                obj = json.loads(raw)
            except ValueError:
                break
            if not isinstance(obj, dict) or "id" not in obj:
                break
            done.ids.append(str(obj["id"]))
            done.keep_bytes += len(raw)
    return done


def _csv_done(output: Path, columns: list[str]) -> Done:
    """Rows up to the first torn one, grouped into records (a record starts at sentence 0, or is
    one row without a sentence). The last record is dropped too: its later sentences may be
    missing, and nothing in a row says how many a document has."""
    pos = 0

    def lines() -> Iterator[str]:
        nonlocal pos
        with output.open("rb") as fh:
            for raw in fh:
                pos += len(raw)
                if not raw.endswith(b"\n"):
                    return  # torn: the run was killed while writing this line
                yield raw.decode("utf-8", errors="replace")

    reader = csv.reader(lines())
    header = next(reader, None)
    if header is not None and header != columns:
        raise ResumeError(f"cannot resume {output}: its header is not the one this run writes ({header})")
    starts: list[tuple[str, int]] = []  # (id, byte offset) of each record's first row
    start = header_end = pos
    try:
        for row in reader:
            if len(row) != len(columns):
                break
            if row[1] in ("", "0"):
                starts.append((row[0], start))
            start = pos
    except csv.Error:
        pass
    if header is None:  # not even the header was written whole: start again
        return Done([])
    if not starts:
        return Done([], keep_bytes=header_end)
    return Done([i for i, _ in starts[:-1]], keep_bytes=starts[-1][1])


def _parquet_done(output: Path) -> Done:
    """A Parquet file is readable only once its footer is written, which Ctrl-C does and SIGKILL
    or a power loss does not: a readable file is resumed by copying its rows into a new file,
    an unreadable one is refused."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(output, columns=["id", "sentence"])
    except (pa.ArrowException, OSError) as e:
        raise ResumeError(
            f"cannot resume {output}: it is not a readable Parquet file ({e}). A Parquet file gets its "
            "footer when the run ends or is stopped with Ctrl-C; a run killed outright (SIGKILL, power "
            "loss) leaves none, and its rows cannot be recovered. Run again without --resume, and "
            "score into .jsonl or .csv when a run may be killed: those resume from any point"
        ) from None
    ids = table.column("id").to_pylist()
    sentence = table.column("sentence").to_pylist()
    return Done([i for i, s in zip(ids, sentence, strict=True) if s is None or s == 0])


def _skip_done(records: Iterator[Record], done: Done) -> Iterator[Record]:
    """The input after the records the output already holds, checking they are the same ones."""
    for k, want in enumerate(done.ids):
        rec = next(records, None)
        if rec is None:
            raise ResumeError(
                f"cannot resume: the output holds {len(done.ids)} records but the inputs have only {k}"
            )
        if rec.id != want:
            raise ResumeError(
                f"cannot resume: input record {k + 1} has id {rec.id!r} where the output has {want!r}: "
                "the inputs changed since the interrupted run"
            )
    yield from records


# -- scoring -------------------------------------------------------------------
_worker_scorer: Scorer | None = None


def _init_worker(opts: ScoreOptions) -> None:
    global _worker_scorer
    _worker_scorer = Scorer(
        opts.model_dir,
        precision=opts.precision,  # type: ignore[arg-type]
        threads=opts.threads,
        batch_size=opts.batch_size,
        max_batch_tokens=opts.batch_tokens,
        parallel_calls=opts.parallel_calls,
    )


def _score_chunk(chunk: list[Record]) -> list[dict[str, Any] | None]:
    assert _worker_scorer is not None
    good = [r for r in chunk if not r.error]
    docs = iter(_worker_scorer.score_documents([r.text or "" for r in good]))
    return [None if r.error else next(docs).to_dict() for r in chunk]


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def score_files(inputs: list[Path], output: Path, opts: ScoreOptions) -> Stats:
    for path in inputs:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
    schema = ModelSchema.load(opts.model_dir)
    workers = max(1, opts.workers)
    if opts.threads is None:
        opts.threads = max(1, (os.cpu_count() or 1) // workers)
    stats = Stats()
    output.parent.mkdir(parents=True, exist_ok=True)
    pool = None
    if workers > 1:
        pool = mp.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(opts,))
    else:
        _init_worker(opts)
    assert _worker_scorer is not None or pool is not None
    version = _worker_scorer.version if _worker_scorer else model_version(opts.model_dir)
    # The first chunk names the carried-through columns of CSV and Parquet output.
    stream = iter_records(inputs, opts)
    first = list(itertools.islice(stream, CHUNK_DOCS))
    extra_columns = list(dict.fromkeys(k for rec in first for k in rec.extra))
    stream = itertools.chain(first, stream)
    suffix = output.suffix.lower()
    binary = suffix == ".parquet"
    meta = run_meta(inputs, output, opts, schema.name, version)
    done: Done | None = None
    stop = False  # already complete, or refused: nothing to score
    try:
        if opts.resume and output.exists():
            have = _check_meta(output, meta)
            stop = bool(have.get("complete"))
            if stop:
                log.info("%s is complete (%s records): nothing to resume", output, have.get("records"))
                stats.resumed = int(have.get("records") or 0)
            elif suffix == ".csv":
                columns = CsvWriter(io.StringIO(), schema, version, extra_columns, header=False).columns
                done = _csv_done(output, columns)
            elif binary:
                done = _parquet_done(output)
            else:
                done = _jsonl_done(output)
            if done is not None:
                stats.resumed = len(done.ids)
                stream = _skip_done(stream, done)
                left = next(stream, None)  # checks the records done before anything is written
                stream = itertools.chain([left] if left is not None else [], stream)
                log.info("resuming %s after %d records", output, stats.resumed)
    except BaseException:
        stop = True
        raise
    finally:
        if stop and pool is not None:
            pool.terminate()
    if stop:
        return stats
    write_meta(output, meta)
    records = _chunks(stream, CHUNK_DOCS)
    bar = tqdm(unit="doc", disable=not opts.progress, file=sys.stderr, dynamic_ncols=True)
    target = output.with_name(output.name + ".resuming") if done is not None and binary else output
    if done is not None and not binary:
        with output.open("r+b") as raw:  # drop the torn tail (and, for CSV, the last record)
            raw.truncate(done.keep_bytes)
    if binary:
        fh_cm: Any = target.open("wb")
    elif done is not None:
        fh_cm = output.open("a", encoding="utf-8", newline="")
    else:
        fh_cm = output.open("w", encoding="utf-8", newline="")
    with fh_cm as fh:
        if suffix == ".csv":
            header = done is None or done.keep_bytes == 0
            writer: Any = CsvWriter(fh, schema, version, extra_columns, header=header)
        elif binary:
            writer = ParquetWriter(fh, schema, version, extra_columns)
            if done is not None:  # copy what the interrupted run wrote, row group by row group
                _copy_parquet(output, writer)
        else:
            writer = JsonlWriter(fh, schema, version)

        def emit(chunk: list[Record], docs: list[dict[str, Any] | None]) -> None:
            for rec, doc in zip(chunk, docs, strict=True):
                writer.write(rec, doc)
                stats.documents += 1
                if rec.error:
                    stats.errors += 1
                    log.warning("%s line %s (id %s): %s", rec.source, rec.line, rec.id, rec.error)
                else:
                    stats.sentences += len(doc["sentences"]) if doc else 0
            fh.flush()  # every finished chunk is on disk: an interrupt loses nothing done
            bar.update(len(chunk))
            elapsed = bar.format_dict.get("elapsed") or 0.0
            rate = stats.sentences / elapsed if elapsed else 0.0
            bar.set_postfix(sentences=stats.sentences, sent_per_s=f"{rate:.0f}", errors=stats.errors)

        try:
            chunks = records
            if pool is None:
                for chunk in chunks:
                    emit(chunk, _score_chunk(chunk))
            else:
                pending: deque = deque()
                for chunk in chunks:
                    pending.append((chunk, pool.apply_async(_score_chunk, (chunk,))))
                    while len(pending) >= 2 * workers:
                        scored, res = pending.popleft()
                        emit(scored, res.get())
                while pending:
                    scored, res = pending.popleft()
                    emit(scored, res.get())
        except KeyboardInterrupt:
            stats.interrupted = True
            log.warning("interrupted: %d documents written to %s", stats.documents, output)
        finally:
            bar.close()
            if pool is not None:
                pool.terminate()
            if binary:
                writer.close()  # the footer: a valid file, interrupted or not
    if target != output:
        os.replace(target, output)  # the resumed file takes the old one's place only now
    if not stats.interrupted:
        write_meta(output, {**meta, "complete": True, "records": stats.resumed + stats.documents})
    return stats


def _copy_parquet(source: Path, writer: ParquetWriter) -> None:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(source)
    for group in range(pf.num_row_groups):
        writer.w.write_table(pf.read_row_group(group).cast(writer.arrow_schema))
