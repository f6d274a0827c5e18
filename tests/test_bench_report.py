"""bench/report.py reads the benchmarked model's metrics.json through its typed model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_model_section_reads_the_typed_metrics(trained_model_dir):
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    lines = report.model_section(trained_model_dir)
    metrics = json.loads((trained_model_dir / "metrics.json").read_text())
    assert metrics["model_version"] in lines[2]
    test_row = next(line for line in lines if line.startswith("| test |"))
    assert f"{metrics['eval']['test']['heads']['stance']['macro_f1']:.3f}" in test_row
