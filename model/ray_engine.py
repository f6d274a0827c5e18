"""`framing score --engine ray`: the batch scoring of model/batch.py, on Ray Data.

Tasks read the input files through model/batch.py's readers (`read_unit`), so ids and error
records are those of a local run; a pool of actors scores them, each actor holding one
`Scorer` loaded once (`batch._init_worker`, `batch._score_chunk`: the local run's own code);
tasks write the rows as Parquet shards (one row per sentence, the local `.parquet` layout and
metadata) or JSONL shards (one line per document, the local `.jsonl` lines) into one folder.
Every input record appears exactly once in the folder, in no particular order.

Ray is an optional extra (`pip install 'framing[ray]'`) and is imported only in this module,
only by `framing score --engine ray`: the base install and the service never load it.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from framing.model import batch
from framing.model.batch import (
    CHUNK_DOCS,
    JsonlWriter,
    ParquetWriter,
    Record,
    ScoreOptions,
    input_units,
    iter_records,
    read_unit,
    run_meta,
)

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install 'framing[ray]'"
READ_BLOCK_RECORDS = 32  # records per table a read task yields (Ray merges them up to block_bytes)
META_NAME = "_framing.json"  # beside the shards; readers of the folder skip names starting with _


class RayEngineError(RuntimeError):
    """Ray is missing, or the run cannot start as asked; the message says what to do."""


@dataclass
class RayOptions:
    address: str | None = None  # None: start Ray on this machine; "auto" or "ray://HOST:PORT": join
    actors: int | None = None  # None: the cluster's CPUs / threads per actor
    shard_format: str = "parquet"  # or "jsonl"
    num_cpus: int | None = None  # starting Ray here: the CPUs it may use (None: all)
    object_store_memory: int | None = None  # starting Ray here: bytes (None: Ray's default)
    block_bytes: int = 256 << 10  # target block size: small blocks spread the work over the actors
    min_rows_per_shard: int = 100_000  # rows buffered before a shard is written


@dataclass
class RayStats:
    documents: int = 0
    sentences: int = 0
    errors: int = 0
    shards: int = 0
    actors: int = 0
    threads: int = 0
    startup_s: float = 0.0  # starting (or joining) Ray and planning, before any record is read
    seconds: float = 0.0  # the whole command


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise RayEngineError(
            f"--engine ray needs Ray Data, which is not installed here ({e}): {INSTALL_HINT}"
        ) from None
    return ray


# -- records as Arrow tables, between the read tasks and the actors --------------
def _record_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.string()),
            ("source", pa.string()),
            ("line", pa.int64()),
            ("text", pa.string()),
            ("extra", pa.string()),  # the carried-through fields as JSON (ASCII: lossless)
            ("error", pa.string()),
        ]
    )


def _to_table(records: list[Record]) -> Any:
    import pyarrow as pa

    rows = [
        {
            "id": r.id,
            "source": r.source,
            "line": r.line,
            "text": r.text,
            "extra": json.dumps(r.extra) if r.extra else None,
            "error": r.error,
        }
        for r in records
    ]
    return pa.Table.from_pylist(rows, schema=_record_schema())


def _from_table(table: Any) -> list[Record]:
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    return [
        Record(
            id=cols["id"][i],
            source=cols["source"][i],
            line=cols["line"][i],
            text=cols["text"][i],
            extra=json.loads(cols["extra"][i]) if cols["extra"][i] else {},
            error=cols["error"][i],
        )
        for i in range(table.num_rows)
    ]


def _read_units(units: Any, opts: ScoreOptions) -> Iterator[Any]:
    """A read task: the records of its input files, in blocks of READ_BLOCK_RECORDS. A record's
    `source` is the path as the command was given it, as in a local run."""
    for unit in units.to_pylist():
        records = read_unit(Path(unit["path"]), Path(unit["root"]) if unit["root"] else None, opts)
        while chunk := list(itertools.islice(records, READ_BLOCK_RECORDS)):
            for rec in chunk:
                rec.source = unit["source"]
            yield _to_table(chunk)


class _ScoreActor:
    """One Scorer per actor, loaded once; each call scores a batch of records."""

    def __init__(self, opts: ScoreOptions, extra_columns: list[str], shard_format: str) -> None:
        from framing.model.scorer import model_version

        batch._init_worker(opts)
        scorer = batch._worker_scorer
        assert scorer is not None
        version = model_version(opts.model_dir)
        self.shard_format = shard_format
        self.parquet = ParquetWriter(None, scorer.schema, version, extra_columns)
        self.jsonl = JsonlWriter(None, scorer.schema, version)  # type: ignore[arg-type]

    def __call__(self, table: Any) -> Any:
        import pyarrow as pa

        records = _from_table(table)
        docs = batch._score_chunk(records)
        for rec in records:
            if rec.error:
                log.warning("%s line %s (id %s): %s", rec.source, rec.line, rec.id, rec.error)
        if self.shard_format == "parquet":
            rows = [
                row
                for rec, doc in zip(records, docs, strict=True)
                for row in self.parquet.record_rows(rec, doc)
            ]
            return pa.Table.from_pylist(rows, schema=self.parquet.arrow_schema)
        return pa.table(
            {
                "line": [self.jsonl.line(rec, doc) for rec, doc in zip(records, docs, strict=True)],
                "sentences": [len(doc["sentences"]) if doc else 0 for doc in docs],
                "error": [rec.error for rec in records],
            }
        )


def _shard_sink(path: str, shard_format: str, arrow_schema: Any, min_rows: int) -> Any:
    """A Ray Data datasink writing one shard per write task, counting what it wrote."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from ray.data.block import BlockAccessor
    from ray.data.datasource.file_datasink import BlockBasedFileDatasink

    class ShardSink(BlockBasedFileDatasink):
        def __init__(self) -> None:
            super().__init__(path, file_format=shard_format, min_rows_per_file=min_rows)
            self.totals: dict[str, int] = {}

        def write(self, blocks, ctx) -> dict[str, int]:  # type: ignore[override]
            blocks = list(blocks)
            tables = [BlockAccessor.for_block(b).to_arrow() for b in blocks]
            counts = {"documents": 0, "sentences": 0, "errors": 0, "shards": 0}
            for t in tables:
                errors = int(pc.sum(pc.is_valid(t.column("error"))).as_py() or 0)
                if shard_format == "parquet":
                    sentence = t.column("sentence")
                    starts = pc.or_(pc.is_null(sentence), pc.equal(sentence, 0))
                    counts["documents"] += int(pc.sum(pc.fill_null(starts, True)).as_py() or 0)
                    counts["sentences"] += int(pc.sum(pc.is_valid(sentence)).as_py() or 0)
                else:
                    counts["documents"] += t.num_rows
                    counts["sentences"] += int(pc.sum(t.column("sentences")).as_py() or 0)
                counts["errors"] += errors
            counts["shards"] = int(any(t.num_rows for t in tables))
            super().write(blocks, ctx)
            return counts

        def write_block_to_file(self, block, file) -> None:  # type: ignore[override]
            table = block.to_arrow()
            if shard_format == "parquet":
                table = table.cast(arrow_schema).replace_schema_metadata(arrow_schema.metadata)
                pq.write_table(table, file)
            else:
                for line in table.column("line").to_pylist():
                    file.write(line.encode("utf-8"))

        def on_write_complete(self, write_result) -> None:  # type: ignore[override]
            super().on_write_complete(write_result)
            for counts in write_result.write_returns:
                for k, v in (counts or {}).items():
                    self.totals[k] = self.totals.get(k, 0) + v

    return ShardSink()


# -- planning and the run ----------------------------------------------------------
def _plan(
    inputs: list[tuple[str, str]], output: str, opts: ScoreOptions, shard_format: str
) -> dict[str, Any]:
    """Run in a Ray task, so that the paths are looked at where the data is (with ray://, on the
    cluster): the input files, the carried-through columns, the output layout. `inputs` are
    (as given, absolute) pairs."""
    from framing.model.schema import ModelSchema
    from framing.model.scorer import model_version

    try:
        paths = [Path(absolute) for _, absolute in inputs]
        units = [
            {
                "path": str(f),
                "root": str(root) if root else None,
                "source": str(Path(given) / f.relative_to(absolute)) if root else given,
            }
            for given, absolute in inputs
            for f, root in input_units([Path(absolute)])
        ]
        out = Path(output)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise FileExistsError(
                f"{out}: not an empty folder; the Ray engine writes its shards into a new or empty one"
            )
        if not (Path(opts.model_dir) / "schema.json").is_file():
            raise FileNotFoundError(f"{opts.model_dir}: no model directory there")
    except (FileNotFoundError, FileExistsError) as e:
        return {"error": type(e).__name__, "message": str(e)}
    # The first records name the carried-through columns, as in a local run.
    first = list(itertools.islice(iter_records(paths, opts), CHUNK_DOCS))
    extra_columns = list(dict.fromkeys(k for rec in first for k in rec.extra))
    schema = ModelSchema.load(opts.model_dir)
    version = model_version(opts.model_dir)
    layout = ParquetWriter(None, schema, version, extra_columns)
    return {
        "units": units,
        "extra_columns": extra_columns,
        "arrow_schema": layout.arrow_schema,
        "meta": {**run_meta(paths, out, opts, schema.name, version), "format": shard_format},
    }


def _write_meta(output: str, meta: dict[str, Any]) -> None:
    path = Path(output) / META_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _start(ray: Any, ray_opts: RayOptions) -> bool:
    """Join the cluster at `address`, or start Ray on this machine (loopback only, no dashboard,
    no usage report). True when this call started or joined it (and so should shut it down)."""
    if ray.is_initialized():
        return False
    if ray_opts.address:
        try:
            ray.init(address=ray_opts.address)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise RayEngineError(f"could not join the Ray cluster at {ray_opts.address}: {e}") from None
    else:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(
            num_cpus=ray_opts.num_cpus,
            object_store_memory=ray_opts.object_store_memory,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
        )
    return True


def size_pool(cpus: int, actors: int | None, threads: int | None) -> tuple[int, int]:
    """(actors, threads per actor): as given, else from the cluster's CPUs, so that
    actors x threads <= CPUs. Neither given: one single-threaded actor per CPU."""
    if threads is None and actors is None:
        threads = 1
    if threads is None:
        threads = max(1, cpus // max(1, actors or 1))
    if actors is None:
        actors = max(1, cpus // threads)
    return actors, threads


def score_on_ray(inputs: list[Path], output: Path, opts: ScoreOptions, ray_opts: RayOptions) -> RayStats:
    """Score `inputs` into shards in the folder `output` on Ray; the counts and timings."""
    started = time.perf_counter()
    ray = _import_ray()
    if ray_opts.shard_format not in ("parquet", "jsonl"):
        raise RayEngineError(f"shards are parquet or jsonl, not {ray_opts.shard_format!r}")
    # Workers do not share this process's working directory: hand them absolute paths.
    opts = replace(opts, model_dir=Path(opts.model_dir).resolve(), workers=1, resume=False)
    out = str(output.resolve())
    owned = _start(ray, ray_opts)
    # The DataContext is process-wide: set for this run, put back after (a caller's own
    # Ray Data work in the same process keeps its settings).
    ctx = ray.data.DataContext.get_current()
    saved = (ctx.target_max_block_size, ctx.enable_progress_bars)
    try:
        plan = ray.get(
            ray.remote(num_cpus=0)(_plan).remote(
                [(str(p), str(p.resolve())) for p in inputs], out, opts, ray_opts.shard_format
            )
        )
        if "error" in plan:
            raise {"FileNotFoundError": FileNotFoundError, "FileExistsError": FileExistsError}[plan["error"]](
                plan["message"]
            )
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors, threads = size_pool(cpus, ray_opts.actors, opts.threads)
        if actors * threads > cpus and not ray_opts.address:
            raise RayEngineError(
                f"{actors} actors x {threads} threads need {actors * threads} CPUs; Ray here has {cpus}"
            )
        opts = replace(opts, threads=threads)
        stats = RayStats(actors=actors, threads=threads, startup_s=time.perf_counter() - started)
        log.info(
            "Ray: %d CPUs, %d actors x %d threads, %d input files", cpus, actors, threads, len(plan["units"])
        )

        ctx.target_max_block_size = ray_opts.block_bytes
        ctx.enable_progress_bars = opts.progress
        units = ray.data.from_items(plan["units"]) if plan["units"] else None
        if units is not None:
            records = units.map_batches(
                _read_units,
                fn_kwargs={"opts": opts},
                batch_size=1,
                batch_format="pyarrow",
                num_cpus=0,  # light; the actors hold the CPUs
                compute=ray.data.TaskPoolStrategy(size=max(1, min(len(plan["units"]), cpus))),
            )
            scored = records.map_batches(
                _ScoreActor,
                fn_constructor_kwargs={
                    "opts": opts,
                    "extra_columns": plan["extra_columns"],
                    "shard_format": ray_opts.shard_format,
                },
                batch_size=CHUNK_DOCS,
                batch_format="pyarrow",
                compute=ray.data.ActorPoolStrategy(size=actors),
                num_cpus=threads,
            )
            sink = _shard_sink(out, ray_opts.shard_format, plan["arrow_schema"], ray_opts.min_rows_per_shard)
            scored.write_datasink(sink, ray_remote_args={"num_cpus": 0})
            for k, v in sink.totals.items():
                setattr(stats, k, v)
        meta = {**plan["meta"], "complete": True, "records": stats.documents, "shards": stats.shards}
        ray.get(ray.remote(num_cpus=0)(_write_meta).remote(out, meta))
    finally:
        ctx.target_max_block_size, ctx.enable_progress_bars = saved
        if owned:
            ray.shutdown()
    stats.seconds = time.perf_counter() - started
    return stats
