"""Fine-tune one shared encoder with a head per schema head, then export the model directory.

Read top to bottom: data -> model -> loop with early stopping -> thresholds -> export -> card.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from framing.model.schema import ModelSchema, TrainedHead
from framing.model.scorer import Scorer
from framing.model.tokenize import TOKENIZER_FILE, SentenceTokenizer
from framing.training.base import resolve_base, verify_base
from framing.training.card import write_card
from framing.training.config import Config
from framing.training.data import file_fingerprint, load_splits, target_column
from framing.training.evaluate import config_for_model, evaluate_examples, load_examples, plot_metrics
from framing.training.exporters.onnx import export_and_check
from framing.training.int8_aware import int8_aware_tune
from framing.training.metrics import head_metrics, overall_macro, predictions, tune_thresholds
from framing.training.modeling import CHECKPOINT, MultiHeadClassifier, keep_layers, save_checkpoint
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def loss_functions(config: Config, train: Dataset) -> dict[str, torch.nn.Module]:
    """BCE for multi-label heads, CE for single-label; weighted against imbalance."""
    losses: dict[str, torch.nn.Module] = {}
    for h in config.heads:
        y = np.array(list(train[target_column(h.name)]))
        if h.multi:
            pos = y.sum(0)
            # sqrt of neg/pos: lifts rare labels without swamping precision.
            w = np.sqrt((len(y) - pos) / np.maximum(pos, 1)) if config.train.class_weights else None
            losses[h.name] = torch.nn.BCEWithLogitsLoss(
                pos_weight=torch.tensor(w, dtype=torch.float32) if w is not None else None
            )
        else:
            counts = np.bincount(y, minlength=len(h.labels))
            w = len(y) / (len(h.labels) * np.maximum(counts, 1)) if config.train.class_weights else None
            losses[h.name] = torch.nn.CrossEntropyLoss(
                weight=torch.tensor(w, dtype=torch.float32) if w is not None else None
            )
    return losses


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
        y = {
            h.name: torch.tensor(targets[h.name][rows], dtype=torch.float32 if h.multi else torch.long)
            for h in config.heads
        }
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
        out[h.name] = head_metrics(h, y, predictions(h, probs[h.name], (thresholds or {}).get(h.name)))
    return out


def train(
    config: Config,
    output: str | Path,
    data: list[str] | None = None,
    extra_eval: dict[str, str] | None = None,
) -> Path:
    """Train on `data` (or the config's files) and write a model directory to `output`."""
    started = time.perf_counter()
    tc = config.train
    seed_everything(tc.seed)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    output = Path(output)

    base_path = resolve_base(config.model.base)
    base_hash = verify_base(base_path, config.model.base_sha256)
    files = data or config.data.files
    splits = load_splits(config, files)
    train_ds, dev_ds = splits["train"], splits["dev"]

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
    steps_per_epoch = math.ceil(len(train_ds) / tc.batch_size)
    total = steps_per_epoch * tc.epochs
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
    train_seconds = time.perf_counter() - started

    # Per-label thresholds on dev for multi-label heads.
    dev_probs = predict_probs(model, dev_ds, tokenizer, config)
    if int8_aware is not None:
        int8_aware["dev_macro_f1_torch"] = round(overall_macro(split_metrics(config, dev_ds, dev_probs)), 4)
        log.info("after int8-aware tuning: dev macro-F1 %.4f", int8_aware["dev_macro_f1_torch"])
    thresholds = {
        h.name: tune_thresholds(h, np.array(list(dev_ds[target_column(h.name)])), dev_probs[h.name])
        for h in config.heads
        if h.multi
    }

    # Model directory: schema + tokenizer first (export reads them), then ONNX.
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    schema = ModelSchema(
        name=config.name,
        schema_version=config.schema_version,
        max_length=config.model.max_length,
        context_tokens=config.model.context_tokens,
        heads=[TrainedHead(**h.model_dump(), thresholds=thresholds.get(h.name, {})) for h in config.heads],
        base_model=config.model.base,
        base_sha256=base_hash or "",
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    schema.save(output)
    hf_tokenizer.backend_tokenizer.save(str(output / TOKENIZER_FILE))
    hf_tokenizer.save_pretrained(output / CHECKPOINT)
    save_checkpoint(model, output / CHECKPOINT)
    # Parity on dev, test and up to 2,000 training sentences: more decisions, firmer figure.
    parity_texts = list(dev_ds["text"]) + (list(splits["test"]["text"]) if "test" in splits else [])
    parity_texts += list(train_ds.select(range(min(2000, len(train_ds))))["text"])
    parity = export_and_check(
        model, output, parity_texts, hf_tokenizer.vocab_size, config.export, probe_size=len(dev_ds)
    )

    # Metrics of the shipped int8 model, through the same path that serves it.
    scorer = Scorer(output, precision="int8")
    eval_config = config_for_model(scorer, config.data)
    results: dict[str, Any] = {}
    for name in ("dev", "test"):
        if name in splits:
            examples = [_example(row, config) for row in splits[name]]
            results[name] = evaluate_examples(scorer, examples)
    for name, path in (extra_eval or {}).items():
        if Path(path).is_file():
            results[name] = evaluate_examples(scorer, load_examples(path, eval_config))
            results[name]["data"] = str(path)
    for name, m in results.items():
        plot_metrics(m, output / f"metrics_{name}.png", f"{name} (int8)")

    metrics = {
        "model_version": scorer.version,
        "training": {
            "seconds": round(train_seconds, 1),
            "epochs_run": len(history),
            "best_epoch": best_epoch,
            "best_dev_macro_f1_torch": round(best_score, 4),
            "history": history,
            "int8_aware": int8_aware,
            "threads": torch.get_num_threads(),
            "config": config.model_dump(),
        },
        "data": {
            "files": [{"path": str(f), "sha256": file_fingerprint(f)} for f in files],
            "rows": {k: len(v) for k, v in splits.items()},
        },
        "thresholds": thresholds,
        "parity": parity,
        "eval": results,
    }
    (output / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    write_card(output, schema, metrics)
    log.info("model written to %s in %.0f s", output, time.perf_counter() - started)
    return output


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
        labels[h.name] = [lab for lab, v in zip(h.labels, y, strict=True) if v] if h.multi else [h.labels[y]]
    return Example(line=0, text=row["text"], labels=labels, split=None, context=row["context"])
