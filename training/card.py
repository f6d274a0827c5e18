"""The model card: a README.md in the model directory, written from metrics.json."""

from __future__ import annotations

from pathlib import Path

from framing.model.model_metrics import HeadScores, ModelMetrics
from framing.model.schema import ModelSchema


def _table(head: str, m: HeadScores) -> list[str]:
    rows = [
        f"**{head}** — macro-F1 {m.macro_f1:.3f}, micro-F1 {m.micro_f1:.3f}, n={m.n}",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for lab, v in m.per_label.items():
        rows.append(f"| {lab} | {v.precision:.3f} | {v.recall:.3f} | {v.f1:.3f} | {v.support} |")
    rows.append("")
    if m.confusion is not None:  # single-label heads: rows gold, columns predicted
        labels = m.confusion.labels
        rows += ["| gold ↓, predicted → | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
        for lab, counts in zip(labels, m.confusion.matrix, strict=True):
            rows.append(f"| {lab} | " + " | ".join(str(c) for c in counts) + " |")
        rows.append("")
    return rows


def write_card(model_dir: Path, schema: ModelSchema, metrics: ModelMetrics) -> Path:
    tr, par = metrics.training, metrics.parity
    lines = [
        f"# {schema.name}",
        "",
        f"Sentence classifier, schema version {schema.schema_version}, model version "
        f"`{metrics.model_version}`, created {schema.created}.",
        "",
        "## Heads",
        "",
    ]
    for h in schema.heads:
        th = ", ".join(f"{k} {v:.3f}" for k, v in h.thresholds.items())
        lines.append(
            f"- `{h.name}` ({h.type}): {', '.join(h.labels)}" + (f"; thresholds: {th}" if th else "")
        )
    lines += [
        "",
        "## Base model and data",
        "",
        f"- base: `{schema.base_model}`, weights sha256 `{schema.base_sha256 or 'n/a'}`",
        f"- max length: {schema.max_length} tokens (longer sentences are scored in overlapping windows)",
    ]
    for f in metrics.data.files:
        lines.append(f"- data: `{f.path}` sha256 `{f.sha256}`")
    lines.append(f"- rows per split: {metrics.data.rows}")
    lines += [
        "",
        "## Training",
        "",
        f"- {tr['seconds']:.0f} s on {tr['threads']} CPU threads; {tr['epochs_run']} epochs run, "
        f"best epoch {tr['best_epoch']} (dev macro-F1 {tr['best_dev_macro_f1_torch']:.3f} in torch)",
        "",
        f"## Export parity ({par['sentences']} sentences: dev, test and train)",
        "",
        f"- fp32 ONNX vs torch, max |Δ probability|: {par['fp32_vs_torch_max_abs_prob_delta']:.2e}",
        f"- int8 vs fp32 label agreement: {par['int8_vs_fp32_label_agreement']:.2%} "
        f"(max |Δ probability| {par['int8_vs_fp32_max_abs_prob_delta']:.3f})",
        f"- sizes: fp32 {par['fp32_bytes'] / 1e6:.1f} MB, int8 {par['int8_bytes'] / 1e6:.1f} MB",
        "",
        "## Evaluation (int8 model, as served)",
        "",
    ]
    sets = ", ".join(f"`{name}`" for name in metrics.eval)
    lines += [f"Sets evaluated: {sets} (the training splits, and any given with `--eval NAME=CSV`).", ""]
    for split, m in metrics.eval.items():
        lines += [f"### {split}" + (f" — `{m.data}`" if m.data else ""), ""]
        for head, hm in m.heads.items():
            lines += _table(head, hm)
    path = model_dir / "README.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
