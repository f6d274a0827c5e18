"""Scoring benchmark: torch eager (transformers) vs this project's ONNX fp32 and int8.

Each path runs in its own subprocess (so peak RSS is its own), one after the other,
on the same sentences, in one invocation:

    python bench/scoring.py --model models/default --out bench/results/scoring.json

Paths:
  torch-1   transformers tokenizer + the trained model in torch eager fp32, one sentence
            per call (what a transformers pipeline does by default)
  torch-32  the same, 32 sentences per call, sorted by length
  fp32/int8 model.Scorer (onnxruntime + tokenizers), batch 32, sorted by length
  int8-all  every weight product int8 straight from model.onnx, without the smoothing
            or fp32 exclusions the export chose to hold label agreement; shows what those
            choices cost or gain in speed and agreement
  int8-skipln  the shipped int8 with onnxruntime left to fuse each residual add and layer
            norm into SkipLayerNormalization, as it does unless told not to; shows what
            keeping them apart (model/session.py) gains
Reported: sentences/s on the corpus test split, per-article latency p50/p99 for a
1,000-word article (segmentation included), peak RSS, label agreement with torch-1,
and segmentation's share of scoring time (blingfire, with pysbd for comparison).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
log = logging.getLogger("bench")


def machine() -> dict:
    """What the timings depend on: cores, and the CPU's model and vector extensions (int8
    products run much faster with AVX-512 VNNI than with AVX2 alone)."""
    cpu, flags = platform.processor() or platform.machine(), set()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                cpu = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "vector": [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags],
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def load_sentences(corpus: Path, split: str) -> list[str]:
    with corpus.open(encoding="utf-8", newline="") as fh:
        return [r["text"] for r in csv.DictReader(fh) if r["split"] == split]


def make_article(sentences: list[str], words: int = 1000) -> str:
    """A ~1,000-word article: consecutive corpus sentences, a paragraph break every 4."""
    out, n = [], 0
    for i, s in enumerate(sentences):
        out.append(s + ("\n\n" if i % 4 == 3 else " "))
        n += len(s.split())
        if n >= words:
            break
    return "".join(out).strip()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_path(path: str, model_dir: Path, corpus: Path, repeats: int, passes_n: int) -> dict:
    """Runs inside the child process for one path."""
    from framing.model.schema import ModelSchema
    from framing.model.scorer import Scorer, decide_labels
    from framing.model.segment import split_sentences

    sentences = load_sentences(corpus, "test")
    article = make_article(load_sentences(corpus, "dev"))
    schema = ModelSchema.load(model_dir)
    rss_before = peak_rss_mb()

    if path.startswith("torch"):
        import torch
        from transformers import AutoTokenizer

        from framing.training.modeling import CHECKPOINT, load_checkpoint

        torch.set_num_threads(os.cpu_count() or 1)
        tok = AutoTokenizer.from_pretrained(model_dir / CHECKPOINT)
        model = load_checkpoint(model_dir / CHECKPOINT)
        heads = [h.name for h in model.specs]
        per_call = 1 if path == "torch-1" else 32
        max_len = schema.max_length

        def predict(texts: list[str]) -> list[dict[str, np.ndarray]]:
            order = (
                sorted(range(len(texts)), key=lambda i: len(texts[i])) if per_call > 1 else range(len(texts))
            )
            order = list(order)
            out: list[dict[str, np.ndarray]] = [{} for _ in texts]
            with torch.inference_mode():
                for b in range(0, len(order), per_call):
                    idx = order[b : b + per_call]
                    enc = tok(
                        [texts[i] for i in idx],
                        padding=True,
                        truncation=True,
                        max_length=max_len,
                        return_tensors="pt",
                    )
                    probs = model.probabilities(enc["input_ids"], enc["attention_mask"])
                    for k, i in enumerate(idx):
                        out[i] = {h: p[k].numpy() for h, p in zip(heads, probs, strict=True)}
            return out

        def score_article(text: str) -> None:
            predict([s.text for s in split_sentences(text)])
    else:
        if path == "int8-skipln":
            from framing.model import session

            session.DISABLED_OPTIMIZERS = []  # onnxruntime's default fusions
        scorer = Scorer(model_dir, precision="int8" if path.startswith("int8") else path)

        def predict(texts: list[str]) -> list[dict[str, np.ndarray]]:
            return scorer.predict(texts)[0]

        def score_article(text: str) -> None:
            scorer.score_text(text)

    # Warm-up: one whole pass, so every batch shape has been seen once (onnxruntime and
    # torch both pick kernels and grow their memory pools on first sight of a shape);
    # then the median of `passes` timed passes: the steady state a batch job runs in.
    predict(sentences)
    passes = []
    for _ in range(max(1, passes_n)):
        t0 = time.perf_counter()
        probs = predict(sentences)
        passes.append(time.perf_counter() - t0)
    throughput_s = statistics.median(passes)
    latencies = []
    for _ in range(repeats):
        t = time.perf_counter()
        score_article(article)
        latencies.append(time.perf_counter() - t)
    seg = []
    for _ in range(repeats):
        t = time.perf_counter()
        split_sentences(article)
        seg.append(time.perf_counter() - t)
    labels = [decide_labels(schema, p) for p in probs]
    return {
        "path": path,
        "sentences": len(sentences),
        "sentences_per_s": round(len(sentences) / throughput_s, 1),
        "sentences_per_s_passes": [round(len(sentences) / t, 1) for t in passes],
        "article_words": len(article.split()),
        "article_sentences": len(split_sentences(article)),
        "latency_ms_p50": round(1000 * statistics.median(latencies), 1),
        "latency_ms_p99": round(1000 * float(np.percentile(latencies, 99)), 1),
        "segmentation_ms_p50": round(1000 * statistics.median(seg), 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_model_mb": round(rss_before, 1),
        "labels": labels,
    }


def agreement(a: list[dict], b: list[dict], labels: dict[str, list[str]]) -> tuple[float, float]:
    """(per-label decisions, per sentence-and-head exact) agreement between label sets;
    a multi-label head makes one decision per label, as the export check counts them."""
    same = total = exact = heads = 0
    for la, lb in zip(a, b, strict=True):
        for head, va in la.items():
            vb = lb[head]
            heads += 1
            exact += va == vb
            if isinstance(va, list):
                same += sum((lab in va) == (lab in vb) for lab in labels[head])
                total += len(labels[head])
            else:
                same += va == vb
                total += 1
    return same / total, exact / heads


def segmenter_speed(article: str, repeats: int) -> dict:
    import blingfire
    import pysbd

    from framing.model.segment import split_sentences

    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)
    out = {}
    for name, fn in (
        ("blingfire (model.segment)", lambda: split_sentences(article)),
        ("blingfire raw", lambda: blingfire.text_to_sentences_and_offsets(article)),
        ("pysbd", lambda: seg.segment(article)),
    ):
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        out[name] = round(1000 * statistics.median(ts), 3)
    return out


def quantize_everything(model_dir: Path) -> Path:
    """A copy of the model with every weight product int8 and no smoothing: the export's
    choices (docs/training.md, step 7) taken away, to show what they cost or gain.

    Quantizing runs in a child of its own: a child's peak-RSS counter starts from its
    parent's size at fork, so a parent grown by quantizing would inflate every later path."""
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    for name in ("schema.json", "tokenizer.json", "model.onnx"):
        shutil.copy(model_dir / name, tmp / name)
    code = (
        "import sys; from pathlib import Path; from framing.training.exporters.quantize import quantize; "
        "quantize(Path(sys.argv[1]), Path(sys.argv[2]), [])"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp / "model.onnx"), str(tmp / "model.int8.onnx")],
        check=True,
        cwd=ROOT,
    )
    return tmp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models/default")
    ap.add_argument("--corpus", type=Path, default=ROOT / "data/corpus.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/scoring.json")
    ap.add_argument("--repeats", type=int, default=30, help="timed articles per path")
    ap.add_argument("--passes", type=int, default=3, help="timed passes over the sentences per path")
    ap.add_argument("--paths", default="torch-1,torch-32,fp32,int8,int8-all,int8-skipln")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.child:
        json.dump(run_path(args.child, args.model, args.corpus, args.repeats, args.passes), sys.stdout)
        return

    results = {}
    for path in args.paths.split(","):
        log.info("running %s ...", path)
        model_dir, child = args.model, path
        if path == "int8-all":
            model_dir, child = quantize_everything(args.model), "int8"
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                child,
                "--model",
                str(model_dir),
                "--corpus",
                str(args.corpus),
                "--repeats",
                str(args.repeats),
                "--passes",
                str(args.passes),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        results[path] = json.loads(proc.stdout) | {"path": path}
    from framing.model.schema import ModelSchema

    labels = {h.name: h.labels for h in ModelSchema.load(args.model).heads}
    ref = results.get("torch-1")
    for r in results.values():
        if ref:
            per_label, exact = agreement(ref["labels"], r["labels"], labels)
            r["label_agreement_vs_torch_1"] = round(per_label, 4)
            r["exact_head_agreement_vs_torch_1"] = round(exact, 4)
            r["speedup_vs_torch_1"] = round(r["sentences_per_s"] / ref["sentences_per_s"], 2)
    for r in results.values():
        r.pop("labels")
    article = make_article(load_sentences(args.corpus, "dev"))
    from framing.model.scorer import model_version

    report = {
        "model_version": model_version(args.model),
        "machine": machine(),
        "command": " ".join(["python", "bench/scoring.py", *sys.argv[1:]]),
        "results": results,
        "segmenters_ms_per_article": segmenter_speed(article, args.repeats),
    }
    for r in results.values():
        r["segmentation_share_of_article_latency"] = round(r["segmentation_ms_p50"] / r["latency_ms_p50"], 4)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for name, r in results.items():
        log.info(
            "%-9s %8.1f sent/s  p50 %7.1f ms  p99 %7.1f ms  rss %6.0f MB  agree %s",
            name,
            r["sentences_per_s"],
            r["latency_ms_p50"],
            r["latency_ms_p99"],
            r["peak_rss_mb"],
            r.get("label_agreement_vs_torch_1"),
        )
    log.info("segmenters (ms per article): %s", report["segmenters_ms_per_article"])


if __name__ == "__main__":
    main()
