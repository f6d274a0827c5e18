"""`framing` CLI. Heavy imports happen inside commands, so `framing score` and
`framing serve` never load torch."""

from __future__ import annotations

import logging
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Label news sentences by framing and stance.", no_args_is_help=True, pretty_exceptions_enable=False
)
data_app = typer.Typer(help="Check and describe labelled CSVs.", no_args_is_help=True)
app.add_typer(data_app, name="data")

CONFIGS = Path("configs")  # one YAML per model variant: default (fast), accurate
DEFAULT_CONFIG = CONFIGS / "default.yaml"
DEFAULT_MODEL = Path(os.environ.get("FRAMING_MODEL", "models/default"))
HARD_TERMS = Path("data/hard_terms.yaml")
OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}
log = logging.getLogger("framing")


class ContextChoice(str, Enum):
    """`--context`: which sentences read the one before (framing.model.context)."""

    always = "always"
    needed = "needed"
    never = "never"


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _fail(message: str, code: int = 2) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _config(path: Path, extra: list[str] | None = None):
    from framing.training.config import ConfigError, load_config, parse_override_args

    try:
        return load_config(path, parse_override_args(extra or []))
    except ConfigError as e:
        _fail(str(e))


@data_app.command("check")
def data_check(
    files: Annotated[list[Path], typer.Argument(help="CSV files to check")],
    config: Annotated[Path, typer.Option(help="config whose heads define the labels")] = DEFAULT_CONFIG,
) -> None:
    """Validate labelled CSVs; list every problem with its line, or print label counts."""
    from framing.training.checks import check_file, label_counts

    cfg = _config(config)
    failed = False
    for f in files:
        result = check_file(f, cfg)
        if result.problems:
            failed = True
            typer.echo(f"{f}: {len(result.problems)} problem(s)")
            for p in result.problems:
                typer.echo(f"  {p}")
            continue
        typer.echo(f"{f}: OK, {len(result.examples)} rows")
        for head, table in label_counts(result.examples, cfg).items():
            splits = sorted({s for c in table.values() for s in c} - {"all"}) + ["all"]
            typer.echo(f"  {head + ':':<26}" + "".join(f"{s:>8}" for s in splits))
            for label, c in table.items():
                typer.echo(f"    {label:<24}" + "".join(f"{c[s]:>8}" for s in splits))
    if failed:
        raise typer.Exit(1)


@data_app.command("report")
def data_report(
    file: Path,
    config: Annotated[Path, typer.Option()] = DEFAULT_CONFIG,
    actors: Annotated[Path | None, typer.Option(help="one actor name per line")] = Path("data/actors.txt"),
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    hard_terms: Annotated[
        Path | None, typer.Option(help="YAML of per-label trigger terms, for the hard-negative counts")
    ] = HARD_TERMS,
) -> None:
    """Write a Markdown description of a labelled CSV (counts, lengths, hard negatives, actors)."""
    from framing.training.report import corpus_report, read_hard_terms

    cfg = _config(config)
    terms = hard_terms if hard_terms and hard_terms.is_file() else None
    if terms is not None and terms == HARD_TERMS:
        try:  # the default file names the default labels: another config simply skips it
            read_hard_terms(terms, cfg)
        except ValueError:
            terms = None
    try:
        command = f"framing data report {file} --config {config}" + (f" -o {output}" if output else "")
        text = corpus_report(
            file, cfg, actors if actors and actors.is_file() else None, command=command, hard_terms=terms
        )
    except ValueError as e:
        _fail(str(e))
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text)


@data_app.command("audit")
def data_audit(
    file: Annotated[Path, typer.Argument(help="labelled CSV to audit")],
    config: Annotated[Path, typer.Option(help="config: heads and base encoder")] = DEFAULT_CONFIG,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="write OUT.md and OUT.csv; default: stdout")
    ] = None,
    folds: Annotated[int, typer.Option(help="k of the k-fold out-of-sample probabilities")] = 5,
    top: Annotated[int, typer.Option(help="rows in the Markdown report (0: all); the CSV holds all")] = 50,
    seed: Annotated[int | None, typer.Option(help="fold seed; default: the config's train.seed")] = None,
    method: Annotated[str, typer.Option(help="cleanlab label-quality method")] = "normalized_margin",
    cache_dir: Annotated[
        Path | None, typer.Option(help="embedding cache folder; default ~/.cache/framing/embeddings")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="embed again, keep nothing")] = False,
    threads: Annotated[int | None, typer.Option(help="torch threads for embedding")] = None,
    batch_size: Annotated[int, typer.Option(help="sentences per encoder call")] = 32,
) -> None:
    """Rank rows whose label is likely wrong (confident learning over k-fold probabilities
    on frozen sentence embeddings), worst first, every head in one ranking."""
    try:
        from framing.training.audit import DEFAULT_CACHE, AuditError, audit_file, markdown, write_csv
    except ImportError as e:
        _fail(f"the audit needs the train extra ({e.name} missing): pip install -e '.[train]'")
    from framing.training.base import BaseModelError

    cfg = _config(config)
    cache = None if no_cache else (cache_dir or DEFAULT_CACHE)
    try:
        result = audit_file(
            file,
            cfg,
            folds=folds,
            seed=seed,
            cache_dir=cache,
            threads=threads,
            batch_size=batch_size,
            method=method,
        )
    except (AuditError, BaseModelError) as e:
        _fail(str(e), 1)
    report = markdown(result, top)
    if output is None:
        typer.echo(report)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    md, table = output.parent / f"{output.name}.md", output.parent / f"{output.name}.csv"
    md.write_text(report, encoding="utf-8")
    write_csv(result.findings, table)
    flagged = ", ".join(f"{h} {len(result.issues(h))}" for h in result.heads)
    typer.echo(f"{result.rows} rows audited; flagged as issues: {flagged} -> {md}, {table}", err=True)


@data_app.command("teacher")
def data_teacher(
    teacher: Annotated[Path, typer.Argument(help="the teacher's model directory, e.g. models/accurate")],
    output: Annotated[Path, typer.Option("-o", "--output", help="teacher CSV to write")],
    config: Annotated[Path, typer.Option(help="the student's config: data and heads")] = DEFAULT_CONFIG,
) -> None:
    """Score the config's training rows with a teacher model and write its probabilities,
    for `train.teacher` (distillation: the fast model learns from the larger one's scores)."""
    _setup_logging()
    try:
        from framing.training.data import DataError, load_splits, parse_data_spec
        from framing.training.teacher import TeacherError, write_teacher
    except ImportError as e:
        _fail(f"this needs the train extra ({e.name} missing): pip install -e '.[train]'")
    cfg = _config(config)
    cfg.train.teacher = None  # the rows themselves, not an older teacher's columns
    try:
        splits = load_splits(cfg, [parse_data_spec(f)[0] for f in cfg.data.files])
        written = write_teacher(cfg, teacher, output, splits["train"].to_list())
    except (DataError, TeacherError, FileNotFoundError) as e:
        _fail(str(e), 1)
    typer.echo(f"{written} training rows scored by {teacher} -> {output}", err=True)


@data_app.command("from-label-studio")
def data_from_label_studio(
    export: Annotated[Path, typer.Argument(help="Label Studio JSON export of tasks from `framing suggest`")],
    output: Annotated[Path, typer.Option("-o", "--output", help="training CSV to write")],
    model: Annotated[Path, typer.Option(help="model directory whose heads name the columns")] = DEFAULT_MODEL,
) -> None:
    """Turn a Label Studio JSON export (tasks from `framing suggest --format label-studio`)
    into a training CSV: each task's latest annotation, one column per head."""
    from framing.model.schema import ModelSchema
    from framing.model.suggest import from_label_studio

    try:
        written, skipped = from_label_studio(export, ModelSchema.load(model), output)
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))
    typer.echo(
        f"{written} labelled rows -> {output}; {skipped} tasks without an annotation left out", err=True
    )


@app.command(context_settings=OVERRIDES)
def train(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option(help="training config (YAML)")] = DEFAULT_CONFIG,
    data: Annotated[
        list[str] | None,
        typer.Option(
            help="CSV file(s), each optionally PATH:WEIGHT (epoch sampling weight); default: the config's"
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="model directory to write")] = DEFAULT_MODEL,
    eval_data: Annotated[
        list[str] | None, typer.Option("--eval", help="NAME=CSV extra evaluation set")
    ] = None,
    init: Annotated[
        Path | None,
        typer.Option(help="model directory to continue from (its torch/ checkpoint) instead of the base"),
    ] = None,
    verbose: bool = False,
) -> None:
    """Fine-tune and export a model directory. Override config keys: --train.lr 3e-5."""
    _setup_logging(verbose)
    cfg = _config(config, ctx.args)
    _train(cfg, out, list(data) if data else None, _eval_sets(eval_data), init)


def _eval_sets(specs: list[str] | None) -> dict[str, str]:
    """`--eval NAME=CSV` options as {name: path}; a spec without a name is a usage error."""
    sets: dict[str, str] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            _fail(f"--eval {spec!r}: expected NAME=CSV, e.g. --eval real-dev=../shared/eval/real-dev.csv")
        if not Path(path).is_file():
            _fail(f"--eval {name}: {path} is not a file")
        sets[name] = path
    return sets


def _train(cfg, out: Path, data: list[str] | None, extra: dict[str, str], init: Path | None = None) -> None:
    try:
        from framing.training.trainer import train as run_training
    except ImportError as e:
        _fail(
            f"training needs the train extra ({e.name} missing): "
            "pip install torch==2.13.0 && pip install -e '.[train]'"
        )
    from framing.training.base import BaseModelError
    from framing.training.data import DataError
    from framing.training.exporters.onnx import ExportError
    from framing.training.trainer import InitError

    try:
        run_training(cfg, out, data, extra, init=init)
    except (DataError, BaseModelError, ExportError, InitError) as e:
        _fail(str(e), 1)
    typer.echo(f"model written to {out}")


def _build(config: Path, out: Path, force: bool, eval_data: list[str] | None) -> None:
    _setup_logging()
    if (out / "model.int8.onnx").is_file() and not force:
        typer.echo(f"{out} exists; use --force to rebuild")
        return
    _train(_config(config), out, None, _eval_sets(eval_data))


@app.command()
def build(
    variant: Annotated[
        str, typer.Argument(help="configs/VARIANT.yaml: default (fast) or accurate (larger encoder)")
    ] = "default",
    out: Annotated[Path | None, typer.Option(help="default: models/VARIANT")] = None,
    force: Annotated[bool, typer.Option(help="rebuild even if the model exists")] = False,
    eval_data: Annotated[
        list[str] | None,
        typer.Option("--eval", help="NAME=CSV set to evaluate too (listed in the card); none by default"),
    ] = None,
) -> None:
    """Build a model variant from its config into models/VARIANT unless it is already there."""
    config = CONFIGS / f"{variant}.yaml"
    if not config.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIGS.glob("*.yaml"))) or "none"
        _fail(f"no variant {variant!r}: {config} does not exist (variants here: {known})")
    out = out or (DEFAULT_MODEL if variant == "default" else Path("models") / variant)
    _build(config, out, force, eval_data)


@app.command("build-default")
def build_default(
    out: Annotated[Path, typer.Option()] = DEFAULT_MODEL,
    force: Annotated[bool, typer.Option(help="rebuild even if the model exists")] = False,
    eval_data: Annotated[
        list[str] | None,
        typer.Option("--eval", help="NAME=CSV set to evaluate too (listed in the card); none by default"),
    ] = None,
) -> None:
    """Build the default model into OUT unless it is already there (`framing build default`)."""
    _build(DEFAULT_CONFIG, out, force, eval_data)


@app.command()
def evaluate(
    model: Annotated[Path, typer.Option(help="model directory")] = DEFAULT_MODEL,
    data: Annotated[Path, typer.Option(help="labelled CSV")] = ...,
    out: Annotated[
        Path | None,
        typer.Option(help="folder for metrics.json, metrics.png and reliability_<head>.png"),
    ] = None,
    precision: Annotated[str, typer.Option(help="int8 or fp32")] = "int8",
    doc_column: Annotated[
        str, typer.Option(help="column whose equal values mark rows of one document, in order (context)")
    ] = "doc",
    context: Annotated[
        ContextChoice | None,
        typer.Option(help="which sentences read the one before; default: the model's setting"),
    ] = None,
) -> None:
    """Per-label precision/recall/F1 and calibration error (ECE) of a model directory on a labelled CSV."""
    import json

    _setup_logging()
    from framing.training.evaluate import evaluate as run_eval

    try:
        mode = context.value if context else None
        metrics = run_eval(model, data, out, precision, doc_column, mode)  # type: ignore[arg-type]
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e), 1)
    typer.echo(
        json.dumps(
            {
                h: {"macro_f1": m["macro_f1"], "micro_f1": m["micro_f1"], "ece": m["ece"]}
                for h, m in metrics["heads"].items()
            },
            indent=2,
        )
    )


class SuggestFormat(str, Enum):
    csv = "csv"
    label_studio = "label-studio"


@app.command()
def suggest(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="what `framing score` reads (.jsonl, .csv, .parquet, .txt, folders) or its JSONL output"
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="the CSV to label")] = Path("to_label.csv"),
    model: Annotated[Path, typer.Option(help="model directory")] = DEFAULT_MODEL,
    n: Annotated[int, typer.Option("-n", help="sentences to suggest")] = 200,
    seed: Annotated[int, typer.Option(help="seed: the same input and seed give the same file")] = 0,
    fmt: Annotated[
        SuggestFormat,
        typer.Option("--format", help="label-studio: also a Label Studio import JSON and config"),
    ] = SuggestFormat.csv,
    strategy: Annotated[
        str, typer.Option(help="uncertain-diverse (default), uncertain, or random (a fair held-out set)")
    ] = "uncertain-diverse",
    pool_factor: Annotated[
        int, typer.Option(help="uncertain-diverse: spread the picks over the N x this most uncertain")
    ] = 5,
    exclude: Annotated[
        list[Path] | None, typer.Option(help="labelled CSV whose sentences (and near-duplicates) to skip")
    ] = None,
    split: Annotated[bool, typer.Option(help="write a split column (train/dev)")] = True,
    dev_fraction: Annotated[float, typer.Option(help="share of rows in dev")] = 0.2,
    min_words: Annotated[int, typer.Option(help="skip sentences with fewer words")] = 3,
    precision: Annotated[str, typer.Option(help="int8 or fp32")] = "int8",
    text_column: Annotated[str, typer.Option(help="text column or field")] = "text",
    id_column: Annotated[str, typer.Option(help="id column or field")] = "id",
    threads: Annotated[int | None, typer.Option(help="onnxruntime threads")] = None,
) -> None:
    """Pick the N sentences whose labels would teach the model most (uncertain and diverse),
    as a training CSV prefilled with the model's guesses (docs/improve.md)."""
    _setup_logging()
    from framing.model.suggest import SuggestOptions, write_csv, write_label_studio
    from framing.model.suggest import suggest as run_suggest

    if not (model / "schema.json").is_file():
        _fail(f"{model}: no model directory here; run `framing build-default` or pass --model")
    if output.suffix.lower() != ".csv":
        _fail(f"{output}: output must end in .csv")
    opts = SuggestOptions(
        n=n,
        seed=seed,
        strategy=strategy,  # type: ignore[arg-type]
        pool_factor=max(1, pool_factor),
        min_words=min_words,
        dev_fraction=dev_fraction,
        split=split,
        exclude=list(exclude or []),
        precision=precision,
        text_column=text_column,
        id_column=id_column,
        threads=threads,
    )
    try:
        rows, scorer, stats = run_suggest(inputs, model, opts)
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))
    written = [write_csv(rows, scorer.schema, output, split)]
    if fmt == SuggestFormat.label_studio:
        written += write_label_studio(rows, scorer.schema, scorer.version, output)
    typer.echo(
        f"{stats.documents} documents ({stats.error_records} error records), {stats.sentences} sentences: "
        f"{stats.furniture} furniture, {stats.short} short, {stats.duplicates} duplicates skipped; "
        f"{stats.scored} scored (mean uncertainty {stats.mean_uncertainty_all}); "
        f"{stats.near_duplicates} near-duplicates and {stats.excluded} excluded dropped from the pool of "
        f"{stats.pool}; {stats.chosen} chosen (mean uncertainty {stats.mean_uncertainty_chosen}) -> "
        + ", ".join(str(p) for p in written),
        err=True,
    )
    if split and stats.uncovered:
        typer.echo(
            "labels the model did not guess in both train and dev (framing data check needs each in both; "
            "label more rows or move some): " + ", ".join(stats.uncovered),
            err=True,
        )


@app.command()
def score(
    inputs: Annotated[
        list[Path], typer.Argument(help=".jsonl, .csv, .parquet, .txt files or folders of .txt")
    ],
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="output .jsonl, .csv or .parquet (a folder with --engine ray)"),
    ],
    model: Annotated[Path, typer.Option(help="model directory")] = DEFAULT_MODEL,
    precision: Annotated[str, typer.Option(help="int8 or fp32")] = "int8",
    text_column: Annotated[str, typer.Option(help="text column or field")] = "text",
    id_column: Annotated[str, typer.Option(help="id column or field")] = "id",
    batch_size: Annotated[int, typer.Option(help="most sentences per onnxruntime call")] = 64,
    batch_tokens: Annotated[
        int | None,
        typer.Option(help="most padded tokens per onnxruntime call (rows x longest); default 256"),
    ] = None,
    threads: Annotated[int | None, typer.Option(help="cores each worker's onnxruntime may use")] = None,
    parallel_calls: Annotated[
        int | None, typer.Option(help="onnxruntime calls at once per worker; default: one per thread")
    ] = None,
    workers: Annotated[int, typer.Option(help="scoring processes")] = 1,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    resume: Annotated[
        bool,
        typer.Option(help="continue an interrupted run from what OUTPUT holds (see OUTPUT.meta.json)"),
    ] = False,
    engine: Annotated[
        str, typer.Option(help="local (this machine's processes) or ray (Ray Data; -o is then a folder)")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="ray: the cluster to join (auto, ray://HOST:PORT); unset: start Ray here"),
    ] = None,
    actors: Annotated[
        int | None, typer.Option(help="ray: scoring actors; default: the cluster's CPUs / --threads")
    ] = None,
    shard_format: Annotated[
        str, typer.Option("--format", help="ray: shards written into the -o folder, parquet or jsonl")
    ] = "parquet",
) -> None:
    """Score documents in batch; bad records become error records, never stop the run."""
    _setup_logging()
    from framing.model.batch import ResumeError, ScoreOptions, score_files

    if not (model / "schema.json").is_file():
        _fail(f"{model}: no model directory here; run `framing build-default` or pass --model")
    if engine not in ("local", "ray"):
        _fail(f"--engine must be local or ray, not {engine!r}")
    if engine == "local" and (address or actors or shard_format != "parquet"):
        _fail("--address, --actors and --format are for --engine ray")
    if engine == "local" and output.suffix.lower() not in (".jsonl", ".csv", ".parquet"):
        _fail(f"{output}: output must end in .jsonl, .csv or .parquet")
    opts = ScoreOptions(
        model_dir=model,
        precision=precision,
        text_column=text_column,
        id_column=id_column,
        batch_size=batch_size,
        threads=threads,
        parallel_calls=parallel_calls,
        workers=workers,
        progress=progress,
        resume=resume,
        **({"batch_tokens": batch_tokens} if batch_tokens else {}),
    )
    if engine == "ray":
        _score_on_ray(inputs, output, opts, address, actors, shard_format)
        return
    try:
        stats = score_files(inputs, output, opts)
    except (FileNotFoundError, ResumeError) as e:
        _fail(str(e))
    resumed = f" (after the {stats.resumed} records it already held)" if stats.resumed else ""
    typer.echo(
        f"{stats.documents} documents, {stats.sentences} sentences, {stats.errors} error records -> "
        f"{output}{resumed}",
        err=True,
    )
    if stats.interrupted:
        raise typer.Exit(130)


def _score_on_ray(
    inputs: list[Path], output: Path, opts, address: str | None, actors: int | None, shard_format: str
) -> None:
    """`framing score --engine ray`: framing.model.ray_engine, which imports ray inside."""
    if opts.resume or opts.workers != 1:
        _fail("--resume and --workers are for local runs (a Ray run writes a fresh folder; see --actors)")
    if shard_format not in ("parquet", "jsonl"):
        _fail(f"--format must be parquet or jsonl, not {shard_format!r}")
    from framing.model.ray_engine import RayEngineError, RayOptions, score_on_ray

    ray_opts = RayOptions(address=address, actors=actors, shard_format=shard_format)
    try:
        stats = score_on_ray(inputs, output, opts, ray_opts)
    except (FileNotFoundError, FileExistsError, RayEngineError) as e:
        _fail(str(e))
    typer.echo(
        f"{stats.documents} documents, {stats.sentences} sentences, {stats.errors} error records -> "
        f"{output}/ ({stats.shards} {shard_format} shards, {stats.actors} actors x {stats.threads} threads; "
        f"Ray start-up {stats.startup_s:.1f} s of {stats.seconds:.1f} s)",
        err=True,
    )


class Period(str, Enum):
    day = "day"
    week = "week"
    month = "month"


@app.command()
def trends(
    inputs: Annotated[
        list[Path], typer.Argument(help="what `framing score` wrote: .jsonl, .csv or .parquet")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="folder for the tables, trends.html and PNGs")
    ],
    by: Annotated[
        str | None,
        typer.Option(help="carried-through field to group by (outlet, country...); omit: one series"),
    ] = None,
    period: Annotated[Period, typer.Option(help="period of each point")] = Period.week,
    model: Annotated[
        Path | None,
        typer.Option(
            help="model directory naming the labels; default: the schema a Parquet file records, "
            "else the labels in the data"
        ),
    ] = None,
    date_column: Annotated[
        list[str] | None,
        typer.Option(help="date field, repeatable; the first non-empty counts (default: published, date)"),
    ] = None,
    tz: Annotated[
        str, typer.Option("--tz", help="time zone that cuts days, weeks and months (IANA name)")
    ] = "UTC",
    dayfirst: Annotated[bool, typer.Option(help="read 04/03/2025 as 4 March")] = False,
    balance: Annotated[
        list[str] | None,
        typer.Option(help="HEAD=A,B: net balance share(A) - share(B); default: a head's first two labels"),
    ] = None,
    evidence: Annotated[int, typer.Option(help="evidence sentences per point and label")] = 3,
    png: Annotated[bool, typer.Option(help="PNG copies of the charts (needs matplotlib)")] = True,
) -> None:
    """Frame shares and stance balance per group and period, as tables, trends.html and PNGs."""
    _setup_logging()
    from framing.model.trends import (
        DEFAULT_DATE_COLUMNS,
        TrendsError,
        TrendsOptions,
        compute_trends,
        parse_balance,
        write_tables,
    )
    from framing.model.trends_report import write_html, write_pngs

    if model is not None and not (model / "schema.json").is_file():
        _fail(f"{model}: no model directory here (no schema.json)")
    try:
        opts = TrendsOptions(
            by=by,
            period=period.value,
            tz=tz,
            date_columns=tuple(date_column or DEFAULT_DATE_COLUMNS),
            dayfirst=dayfirst,
            balance=parse_balance(balance or []),
            evidence=max(0, evidence),
        )
        result, _ = compute_trends(inputs, opts, model)
    except TrendsError as e:
        _fail(str(e))
    written = write_tables(result, output)
    written.append(write_html(result, output / "trends.html"))
    if png:
        written += write_pngs(result, output)
    m = result.meta
    typer.echo(
        f"{m['documents']} documents: {m['dated']} dated, {m['undated']} undated "
        f"({m['undated_missing']} missing, {m['undated_unparseable']} unparseable), "
        f"{m['errors']} error records; "
        f"{len(m['groups'])} groups x {len(m['periods'])} periods -> {output}/ ({len(written)} files)",
        err=True,
    )


def _settings_options(command):
    """Give `command` (which takes **settings) one option per `Settings` field: flag `--name`,
    help naming the variable FRAMING_NAME and the default. The option is None when not given,
    so `Settings` fills it from the environment or its default: flag > variable > default."""
    import inspect
    import typing

    from framing.service.settings import Settings, env_name, flag_name, shown_default

    params = []
    for name, info in Settings.model_fields.items():
        kind = info.annotation
        if typing.get_origin(kind) is typing.Literal:  # a choice: a typo is a usage error
            kind = Enum(name, {str(v): str(v) for v in typing.get_args(kind)}, type=str)
        elif typing.get_origin(kind) is list:
            kind = str  # comma-separated, split by Settings
        else:
            kind = next(a for a in typing.get_args(kind) or (kind,) if a is not type(None))
        help_text = f"{info.description} (env {env_name(name)}; default {shown_default(info)})"
        option = typer.Option(flag_name(name), help=help_text, show_default=False)
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind | None, option]
            )
        )
    own = inspect.signature(command, eval_str=True).parameters.values()
    command.__signature__ = inspect.Signature(
        params + [p.replace(kind=p.KEYWORD_ONLY) for p in own if p.kind != p.VAR_KEYWORD]
    )
    return command


@app.command()
@_settings_options
def serve(
    build: Annotated[bool, typer.Option(help="build the default model first if missing")] = True,
    **given: object,
) -> None:
    """Serve the REST API and the analyst page (uvicorn). Every option is also a FRAMING_*
    environment variable (docs/service.md); a flag beats the variable."""
    from pydantic import ValidationError

    from framing.service.settings import Settings, env_name, flag_name

    try:
        settings = Settings(
            **{k: v.value if isinstance(v, Enum) else v for k, v in given.items() if v is not None}
        )
    except ValidationError as e:
        problems = "; ".join(
            f"{flag_name(str(err['loc'][0]))} / {env_name(str(err['loc'][0]))}: {err['msg']}"
            if err["loc"]
            else err["msg"]
            for err in e.errors()
        )
        raise typer.BadParameter(problems) from None
    _setup_logging()
    if not (settings.model / "schema.json").is_file():
        if build and settings.model == DEFAULT_MODEL:
            build_default(out=settings.model, force=False)
        else:
            _fail(f"{settings.model}: no model directory; run `framing build default` (or `accurate`)")
    import uvicorn

    from framing.service.app import create_app, worker_environment

    options = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "timeout_graceful_shutdown": settings.drain_seconds,
        "timeout_keep_alive": settings.keep_alive_seconds,
    }
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **options)
    else:
        # Worker processes import the app from a string; the settings go with them in the environment.
        os.environ.update(worker_environment(settings))
        uvicorn.run("framing.service.app:worker_app", factory=True, workers=settings.workers, **options)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
