"""The model card: a README.md in the model directory, written from metrics.json."""

from __future__ import annotations

from pathlib import Path

from framing.model.model_metrics import HeadScores, ModelMetrics
from framing.model.schema import ModelSchema


def _table(head: str, m: HeadScores) -> list[str]:
    ece = f", ECE {m.ece:.3f}" if m.ece is not None else ""
    rows = [
        f"**{head}** — macro-F1 {m.macro_f1:.3f}, micro-F1 {m.micro_f1:.3f}{ece}, n={m.n}",
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


def _calibration(cal: dict | None) -> list[str]:
    if not cal:
        return ["## Calibration", "", "- none: probabilities are the raw activations", ""]
    lines = [
        "## Calibration",
        "",
        f"Temperature scaling fitted on dev ({cal['rows']} rows), applied inside the exported graph: "
        "the probabilities served are calibrated. Single-label decisions (argmax) are unchanged; "
        "multi-label thresholds were carried to the calibrated scale, so decisions are unchanged too. "
        "ECE: expected calibration error, 15 bins.",
        "",
        "| head | temperature | dev NLL before → after | dev ECE before → after |",
        "|---|---|---|---|",
    ]
    for name, h in cal["heads"].items():
        t = h["temperature"]
        shown = ", ".join(f"{k} {v:.2f}" for k, v in t.items()) if isinstance(t, dict) else f"{t:.2f}"
        nll, ece = h["dev_nll"], h["dev_ece"]
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(
            f"| {name} | {shown} | {fmt(nll['before'])} → {fmt(nll['after'])} | "
            f"{fmt(ece['before'])} → {fmt(ece['after'])} |"
        )
    return lines + [""]


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
    if metrics.parent is not None:
        p = metrics.parent
        lines.append(
            f"- trained further from model `{p.version}` ({p.name}, created {p.created or 'n/a'}), "
            f"`{p.path}` (`framing train --init`)"
        )
    for f in metrics.data.files:
        weight = f", sampling weight {f.weight:g}" if f.weight != 1.0 else ""
        lines.append(f"- data: `{f.path}` sha256 `{f.sha256}`{weight}")
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
    ]
    lines += _calibration(metrics.calibration)
    lines += [
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
