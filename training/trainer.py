"""Fine-tune one shared encoder with a head per schema head, then export the model directory.

Read top to bottom: `train` runs the stages; each stage is the function named after it.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset, DatasetDict
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from framing.model.model_metrics import ModelMetrics
from framing.model.schema import ModelSchema, TrainedHead
from framing.model.scorer import Scorer, model_version
from framing.model.tokenize import TOKENIZER_FILE, SentenceTokenizer
from framing.training.base import resolve_base, verify_base
from framing.training.card import write_card
from framing.training.config import Config
from framing.training.data import file_fingerprint, load_splits, target_column
from framing.training.evaluate import config_for_model, evaluate_examples, load_examples, plot_metrics
from framing.training.exporters.onnx import export_and_check
from framing.training.int8_aware import int8_aware_tune
from framing.training.metrics import head_metrics, overall_macro, tune_thresholds
from framing.training.modeling import (
    CHECKPOINT,
    MultiHeadClassifier,
    head_loss,
    keep_layers,
    save_checkpoint,
    target_tensor,
)

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def loss_functions(config: Config, train: Dataset) -> dict[str, torch.nn.Module]:
    return {
        h.name: head_loss(h, np.array(list(train[target_column(h.name)])), config.train.class_weights)
        for h in config.heads
    }


def batch_order(lengths: list[int], batch_size: int, shuffle: bool, seed: int) -> list[list[int]]:
    """Row indices per batch. Shuffled batches are built from length-sorted windows of 50
    batches, so each pads to little more than its own rows (about 1.5x faster on CPU),
    and the batch order is shuffled again so lengths do not drift through an epoch."""
    idx = list(range(len(lengths)))
    if shuffle:
        rng = random.Random(seed)
        rng.shuffle(idx)
        window = batch_size * 50
        idx = [
            i
            for w in range(0, len(idx), window)
            for i in sorted(idx[w : w + window], key=lengths.__getitem__)
        ]
    out = [idx[s : s + batch_size] for s in range(0, len(idx), batch_size)]
    if shuffle:
        rng.shuffle(out)
    return out


def batches(ds: Dataset, tokenizer: SentenceTokenizer, config: Config, shuffle: bool, seed: int = 0):
    """(input ids, attention mask, targets) per batch, encoded exactly as the scorer encodes
    (model/tokenize.py): a sentence's first window, then its context if the model reads it."""
    texts = list(ds["text"])
    contexts = list(ds["context"])
    if shuffle and config.train.context_dropout:
        # Hide some contexts, so the model also labels sentences that come without one.
        rng = random.Random(seed)
        contexts = [c if rng.random() >= config.train.context_dropout else "" for c in contexts]
    targets = {h.name: np.array(list(ds[target_column(h.name)])) for h in config.heads}
    for rows in batch_order([len(t) for t in texts], config.train.batch_size, shuffle, seed):
        windows = tokenizer.encode([texts[i] for i in rows], [contexts[i] for i in rows])
        ids, mask = tokenizer.pad([w.ids[0] for w in windows])
        y = {h.name: target_tensor(h, targets[h.name][rows]) for h in config.heads}
        yield torch.from_numpy(ids), torch.from_numpy(mask), y


def predict_probs(
    model: torch.nn.Module, ds: Dataset, tokenizer: SentenceTokenizer, config: Config
) -> dict[str, np.ndarray]:
    model.eval()
    outs: dict[str, list[np.ndarray]] = {h.name: [] for h in config.heads}
    with torch.inference_mode():
        for ids, mask, _ in batches(ds, tokenizer, config, shuffle=False):
            for h, p in zip(config.heads, model.probabilities(ids, mask), strict=True):
                outs[h.name].append(p.numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def split_metrics(
    config: Config,
    ds: Dataset,
    probs: dict[str, np.ndarray],
    thresholds: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    out = {}
    for h in config.heads:
        y = np.array(list(ds[target_column(h.name)]))
        out[h.name] = head_metrics(h, y, h.decide(probs[h.name], (thresholds or {}).get(h.name)))
    return out


@dataclass
class Fitted:
    """What the fit stage hands on: the tuned torch model and how it got there."""

    model: MultiHeadClassifier
    tokenizer: SentenceTokenizer
    hf_tokenizer: Any
    base_hash: str | None
    history: list[dict[str, Any]]
    best_epoch: int
    best_score: float
    int8_aware: dict[str, Any] | None
    seconds: float


def train(
    config: Config,
    output: str | Path,
    data: list[str] | None = None,
    extra_eval: dict[str, str] | None = None,
) -> Path:
    """Train on `data` (or the config's files) and write a model directory to `output`.

    The stages, in order: data -> fit -> thresholds -> model directory -> export and parity
    check -> evaluation -> card. The directory is built beside `output` and renamed into
    place only once every stage has passed: a failed or interrupted run leaves the previous
    model directory as it was."""
    started = time.perf_counter()
    seed_everything(config.train.seed)
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    files = data or config.data.files
    splits = load_splits(config, files)
    fitted = fit(config, splits)
    thresholds = tune_dev_thresholds(config, fitted, splits["dev"])
    with staged_directory(Path(output)) as staging:
        schema = write_model_directory(staging, config, fitted, thresholds)
        parity = export_model(staging, config, fitted, splits)
        results = evaluate_model(staging, config, splits, extra_eval)
        metrics = ModelMetrics(
            model_version=model_version(staging),
            training={
                "seconds": round(fitted.seconds, 1),
                "epochs_run": len(fitted.history),
                "best_epoch": fitted.best_epoch,
                "best_dev_macro_f1_torch": round(fitted.best_score, 4),
                "history": fitted.history,
                "int8_aware": fitted.int8_aware,
                "threads": torch.get_num_threads(),
                "config": config.model_dump(),
            },
            data={
                "files": [{"path": str(f), "sha256": file_fingerprint(f)} for f in files],
                "rows": {k: len(v) for k, v in splits.items()},
            },
            thresholds=thresholds,
            parity=parity,
            eval=results,
        )
        metrics.save(staging)
        write_card(staging, schema, metrics)
    log.info("model written to %s in %.0f s", output, time.perf_counter() - started)
    return Path(output)


def fit(config: Config, splits: DatasetDict) -> Fitted:
    """Fine-tune the base encoder with a head per schema head; keep the best dev epoch, then
    (optionally) the int8-aware passes."""
    started = time.perf_counter()
    tc = config.train
    train_ds, dev_ds = splits["train"], splits["dev"]
    base_path = resolve_base(config.model.base)
    base_hash = verify_base(base_path, config.model.base_sha256)
    hf_tokenizer = AutoTokenizer.from_pretrained(base_path)
    tokenizer = SentenceTokenizer(
        hf_tokenizer.backend_tokenizer, config.model.max_length, context_tokens=config.model.context_tokens
    )
    encoder = AutoModel.from_pretrained(base_path)
    if config.model.layers is not None:
        encoder = keep_layers(encoder, config.model.layers)
    model = MultiHeadClassifier(
        encoder,
        config.heads,
        config.model.pooling,
        config.model.dropout,
        context_sep=tokenizer.sep_id if config.model.context_tokens else None,
    )
    losses = loss_functions(config, train_ds)
    # Fresh heads learn faster than the pretrained encoder should move.
    optimizer = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": tc.lr},
            {"params": model.heads.parameters(), "lr": tc.head_lr},
        ],
        weight_decay=tc.weight_decay,
    )
    total = math.ceil(len(train_ds) / tc.batch_size) * tc.epochs
    if tc.max_steps:
        total = min(total, tc.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(tc.warmup_ratio * total), total)

    best_score, best_state, best_epoch, stale, step = -1.0, None, 0, 0, 0
    history: list[dict[str, Any]] = []
    bar = tqdm(total=total, desc="training", unit="step", dynamic_ncols=True)
    for epoch in range(1, tc.epochs + 1):
        model.train()
        for ids, mask, targets in batches(train_ds, tokenizer, config, shuffle=True, seed=tc.seed + epoch):
            logits = model(ids, mask)
            loss = sum(losses[name](logits[name], targets[name]) for name in losses)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{loss.item():.4f}")
            if step >= total:
                break
        dev = split_metrics(config, dev_ds, predict_probs(model, dev_ds, tokenizer, config))
        score = overall_macro(dev)
        history.append(
            {"epoch": epoch, "step": step, "dev_macro_f1": round(score, 4), "loss": round(loss.item(), 4)}
        )
        log.info("epoch %d step %d: dev macro-F1 %.4f", epoch, step, score)
        if score > best_score:
            best_score, best_epoch, stale = score, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
        if stale >= tc.patience or step >= total:
            break
    bar.close()
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    int8_aware = None
    if tc.int8_aware_epochs:
        int8_aware = _int8_aware_phase(model, train_ds, tokenizer, config, losses)
    return Fitted(
        model, tokenizer, hf_tokenizer, base_hash, history, best_epoch, best_score, int8_aware,
        time.perf_counter() - started,
    )  # fmt: skip


def tune_dev_thresholds(config: Config, fitted: Fitted, dev_ds: Dataset) -> dict[str, dict[str, float]]:
    """Per-label thresholds on dev for multi-label heads, from the final torch weights."""
    dev_probs = predict_probs(fitted.model, dev_ds, fitted.tokenizer, config)
    if fitted.int8_aware is not None:
        score = round(overall_macro(split_metrics(config, dev_ds, dev_probs)), 4)
        fitted.int8_aware["dev_macro_f1_torch"] = score
        log.info("after int8-aware tuning: dev macro-F1 %.4f", score)
    return {
        h.name: tune_thresholds(h, np.array(list(dev_ds[target_column(h.name)])), dev_probs[h.name])
        for h in config.heads
        if h.multi
    }


@contextmanager
def staged_directory(output: Path) -> Iterator[Path]:
    """A fresh folder beside `output` to build in; renamed to `output` when the block
    succeeds (the previous `output`, if any, is removed only then), deleted when it fails."""
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.building-", dir=output.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = output.with_name(f".{output.name}.previous")
    if output.exists():
        shutil.rmtree(previous, ignore_errors=True)
        output.rename(previous)
    staging.rename(output)
    shutil.rmtree(previous, ignore_errors=True)


def write_model_directory(
    folder: Path, config: Config, fitted: Fitted, thresholds: dict[str, dict[str, float]]
) -> ModelSchema:
    """schema.json, the tokenizer and the torch checkpoint (the export reads them)."""
    schema = ModelSchema(
        name=config.name,
        schema_version=config.schema_version,
        max_length=config.model.max_length,
        context_tokens=config.model.context_tokens,
        heads=[TrainedHead(**h.model_dump(), thresholds=thresholds.get(h.name, {})) for h in config.heads],
        base_model=config.model.base,
        base_sha256=fitted.base_hash or "",
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    schema.save(folder)
    fitted.hf_tokenizer.backend_tokenizer.save(str(folder / TOKENIZER_FILE))
    fitted.hf_tokenizer.save_pretrained(folder / CHECKPOINT)
    save_checkpoint(fitted.model, folder / CHECKPOINT)
    return schema


def export_model(folder: Path, config: Config, fitted: Fitted, splits: DatasetDict) -> dict[str, Any]:
    """ONNX fp32 and int8, checked against torch; raises ExportError when a gate fails."""
    # Parity on dev, test and up to 2,000 training sentences: more decisions, firmer figure.
    train_ds, dev_ds = splits["train"], splits["dev"]
    texts = list(dev_ds["text"]) + (list(splits["test"]["text"]) if "test" in splits else [])
    texts += list(train_ds.select(range(min(2000, len(train_ds))))["text"])
    return export_and_check(
        fitted.model, folder, texts, fitted.hf_tokenizer.vocab_size, config.export, probe_size=len(dev_ds)
    )


def evaluate_model(
    folder: Path, config: Config, splits: DatasetDict, extra_eval: dict[str, str] | None
) -> dict[str, Any]:
    """Metrics of the shipped int8 model, through the same path that serves it, on dev,
    test and every extra set; one PNG per set."""
    scorer = Scorer(folder, precision="int8")
    eval_config = config_for_model(scorer, config.data)
    results: dict[str, Any] = {}
    for name in ("dev", "test"):
        if name in splits:
            results[name] = evaluate_examples(scorer, [_example(row, config) for row in splits[name]])
    for name, path in (extra_eval or {}).items():
        results[name] = evaluate_examples(scorer, load_examples(path, eval_config))
        results[name]["data"] = str(path)
    for name, m in results.items():
        plot_metrics(m, folder / f"metrics_{name}.png", f"{name} (int8)")
    return results


def _int8_aware_phase(
    model: MultiHeadClassifier,
    train_ds: Dataset,
    tokenizer: SentenceTokenizer,
    config: Config,
    losses: dict[str, torch.nn.Module],
) -> dict[str, Any]:
    """A few more passes with int8 rounding simulated (training/int8_aware.py), so that
    the export can quantize every matrix product and still agree with fp32."""
    tc = config.train
    started = time.perf_counter()
    steps = math.ceil(len(train_ds) / tc.batch_size) * tc.int8_aware_epochs
    bar = tqdm(total=steps, desc="int8-aware", unit="step", dynamic_ncols=True)

    def progress(row: dict[str, Any]) -> None:
        bar.update(1)
        bar.set_postfix(epoch=row["epoch"], task=f"{row['task']:.4f}", gap=f"{row['gap']:.5f}")

    history = int8_aware_tune(
        model,
        lambda seed: batches(train_ds, tokenizer, config, shuffle=True, seed=seed),
        losses,
        epochs=tc.int8_aware_epochs,
        lr=tc.int8_aware_lr,
        consistency=tc.int8_aware_consistency,
        seed=tc.seed,
        progress=progress,
    )
    bar.close()
    return {"history": history, "seconds": round(time.perf_counter() - started, 1)}


def _example(row: dict[str, Any], config: Config):
    from framing.training.checks import Example

    labels = {}
    for h in config.heads:
        y = row[target_column(h.name)]
        names = h.names(np.asarray(y))
        labels[h.name] = names if isinstance(names, list) else [names]
    return Example(line=0, text=row["text"], labels=labels, split=None, context=row["context"])
