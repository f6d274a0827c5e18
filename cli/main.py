"""`framing` CLI. Heavy imports happen inside commands, so `framing score` and
`framing serve` never load torch."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Label news sentences by framing and stance.", no_args_is_help=True, pretty_exceptions_enable=False
)
data_app = typer.Typer(help="Check and describe labelled CSVs.", no_args_is_help=True)
app.add_typer(data_app, name="data")

DEFAULT_CONFIG = Path("configs/default.yaml")
DEFAULT_MODEL = Path(os.environ.get("FRAMING_MODEL", "models/default"))
REAL_DEV = Path("../shared/eval/real-dev.csv")
HARD_TERMS = Path("data/hard_terms.yaml")
OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}
log = logging.getLogger("framing")


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
        text = corpus_report(file, cfg, actors if actors and actors.is_file() else None, hard_terms=terms)
    except ValueError as e:
        _fail(str(e))
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text)


@app.command(context_settings=OVERRIDES)
def train(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option(help="training config (YAML)")] = DEFAULT_CONFIG,
    data: Annotated[list[Path] | None, typer.Option(help="CSV file(s); default: the config's")] = None,
    out: Annotated[Path, typer.Option(help="model directory to write")] = DEFAULT_MODEL,
    eval_data: Annotated[
        list[str] | None, typer.Option("--eval", help="NAME=CSV extra evaluation set")
    ] = None,
    verbose: bool = False,
) -> None:
    """Fine-tune and export a model directory. Override config keys: --train.lr 3e-5."""
    _setup_logging(verbose)
    cfg = _config(config, ctx.args)
    extra = dict(e.split("=", 1) for e in (eval_data or []) if "=" in e)
    _train(cfg, out, [str(d) for d in data] if data else None, extra)


def _train(cfg, out: Path, data: list[str] | None, extra: dict[str, str]) -> None:
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

    try:
        run_training(cfg, out, data, extra)
    except (DataError, BaseModelError, ExportError) as e:
        _fail(str(e), 1)
    typer.echo(f"model written to {out}")


@app.command("build-default")
def build_default(
    out: Annotated[Path, typer.Option()] = DEFAULT_MODEL,
    force: Annotated[bool, typer.Option(help="rebuild even if the model exists")] = False,
) -> None:
    """Build the default model into OUT unless it is already there."""
    _setup_logging()
    if (out / "model.int8.onnx").is_file() and not force:
        typer.echo(f"{out} exists; use --force to rebuild")
        return
    extra = {"real-dev": str(REAL_DEV)} if REAL_DEV.is_file() else {}
    _train(_config(DEFAULT_CONFIG), out, None, extra)


@app.command()
def evaluate(
    model: Annotated[Path, typer.Option(help="model directory")] = DEFAULT_MODEL,
    data: Annotated[Path, typer.Option(help="labelled CSV")] = ...,
    out: Annotated[Path | None, typer.Option(help="folder for metrics.json and metrics.png")] = None,
    precision: Annotated[str, typer.Option(help="int8 or fp32")] = "int8",
    doc_column: Annotated[
        str, typer.Option(help="column whose equal values mark rows of one document, in order (context)")
    ] = "doc",
) -> None:
    """Per-label precision/recall/F1 of a model directory on a labelled CSV."""
    import json

    _setup_logging()
    from framing.training.evaluate import evaluate as run_eval

    try:
        metrics = run_eval(model, data, out, precision, doc_column)  # type: ignore[arg-type]
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e), 1)
    typer.echo(
        json.dumps(
            {h: {"macro_f1": m["macro_f1"], "micro_f1": m["micro_f1"]} for h, m in metrics["heads"].items()},
            indent=2,
        )
    )


@app.command()
def score(
    inputs: Annotated[list[Path], typer.Argument(help=".jsonl, .csv, .txt files or folders of .txt")],
    output: Annotated[Path, typer.Option("-o", "--output", help="output .jsonl or .csv")],
    model: Annotated[Path, typer.Option(help="model directory")] = DEFAULT_MODEL,
    precision: Annotated[str, typer.Option(help="int8 or fp32")] = "int8",
    text_column: Annotated[str, typer.Option(help="CSV text column")] = "text",
    id_column: Annotated[str, typer.Option(help="CSV id column")] = "id",
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
) -> None:
    """Score documents in batch; bad records become error records, never stop the run."""
    _setup_logging()
    from framing.model.batch import ScoreOptions, score_files

    if not (model / "schema.json").is_file():
        _fail(f"{model}: no model directory here; run `framing build-default` or pass --model")
    if output.suffix.lower() not in (".jsonl", ".csv"):
        _fail(f"{output}: output must end in .jsonl or .csv")
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
        **({"batch_tokens": batch_tokens} if batch_tokens else {}),
    )
    try:
        stats = score_files(inputs, output, opts)
    except FileNotFoundError as e:
        _fail(str(e))
    typer.echo(
        f"{stats.documents} documents, {stats.sentences} sentences, {stats.errors} error records -> {output}",
        err=True,
    )
    if stats.interrupted:
        raise typer.Exit(130)


@app.command()
def serve(
    model: Annotated[Path | None, typer.Option(help="model directory [env FRAMING_MODEL]")] = None,
    host: Annotated[str | None, typer.Option(help="[env FRAMING_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="[env FRAMING_PORT]")] = None,
    workers: Annotated[int | None, typer.Option(help="server processes [env FRAMING_WORKERS]")] = None,
    build: Annotated[bool, typer.Option(help="build the default model first if missing")] = True,
) -> None:
    """Serve the REST API and the analyst page (uvicorn)."""
    _setup_logging()
    for key, value in (("MODEL", model), ("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"FRAMING_{key}"] = str(value)
    from framing.service.settings import Settings

    settings = Settings()
    if not (settings.model / "schema.json").is_file():
        if build and settings.model == DEFAULT_MODEL:
            build_default(out=settings.model, force=False)
        else:
            _fail(f"{settings.model}: no model directory; run `framing build-default`")
    import uvicorn

    uvicorn.run(
        "framing.service.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
        timeout_graceful_shutdown=settings.drain_seconds,
    )


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
