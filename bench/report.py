"""Render docs/benchmarks.md from the JSON files the benchmarks wrote.

python bench/report.py   # reads bench/results/{scoring,load,ray_scoring,soak,schemathesis}.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scoring_section(r: dict) -> list[str]:
    res = r["results"]
    lines = [
        "## Scoring: torch eager vs ONNX fp32 vs ONNX int8",
        "",
        f"Command: `{r['command']}` (one run; each path in its own process, one after the other).",
        f"Machine: {describe(r['machine'])}.",
        f"Model: `{r.get('model_version', '?')}`. Sentences: the corpus test split "
        f"({next(iter(res.values()))['sentences']} sentences). Article: "
        f"{next(iter(res.values()))['article_words']} words, {next(iter(res.values()))['article_sentences']} sentences "
        "(consecutive dev sentences in paragraphs), scored end to end with segmentation.",
        "",
        "| path | sentences/s | × torch-1 | article p50 ms | article p99 ms | peak RSS MB | label agreement with torch-1 | exact per head |",
        "|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "torch-1": "(a) transformers + torch eager fp32, 1 sentence per call",
        "torch-32": "(a') the same, 32 per call, length-sorted",
        "fp32": "(b) ONNX fp32 (model/)",
        "int8": "(c) ONNX int8 as shipped (model/)",
        "int8-all": "(c') ONNX int8, every product quantized, no smoothing",
        "int8-skipln": "(c'') ONNX int8 as shipped, onnxruntime's SkipLayerNormalization fusion on",
    }
    for key, v in res.items():
        lines.append(
            f"| {names.get(key, key)} | {v['sentences_per_s']:.1f} | {v.get('speedup_vs_torch_1', 1):.2f} | "
            f"{v['latency_ms_p50']:.1f} | {v['latency_ms_p99']:.1f} | {v['peak_rss_mb']:.0f} | "
            f"{100 * v.get('label_agreement_vs_torch_1', 1):.2f}% | {100 * v.get('exact_head_agreement_vs_torch_1', 1):.2f}% |"
        )
    seg = r["segmenters_ms_per_article"]
    share = {k: v["segmentation_share_of_article_latency"] for k, v in res.items()}
    lines += [
        "",
        "Label agreement counts one decision per label of a multi-label head and one per single-label "
        "head; 'exact per head' needs every label of a head to match.",
        "",
        "Segmentation of the same article (median ms): "
        + ", ".join(f"{k} {v:.2f}" for k, v in seg.items())
        + ". Its share of the article latency: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in share.items())
        + ".",
        "",
    ]
    return lines


def describe(m: dict) -> str:
    cpu = f", {m['cpu']} ({', '.join(m['vector']) or 'no AVX2'})" if "cpu" in m else ""
    return f"{m['cpus']} CPU cores{cpu}, {m['platform']}, Python {m.get('python', '?')}"


def load_section(r: dict) -> list[str]:
    lines = [
        "## Service under load",
        "",
        f"Command: `{r['command']}`: a real `framing serve` (1 worker, int8) on 127.0.0.1 and a bounded "
        f"asyncio httpx client, one {r['article_words']}-word article per request.",
        f"Machine: {describe(r['machine'])}.",
        "",
        "| concurrency | seconds | requests | errors | shed (503) | requests/s | tokens/s | accepted p50 ms | accepted p99 ms | server RSS after, MB | load avg (1 min) before, after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lv in r["levels"]:
        load = lv.get("load_avg_1m")
        lines.append(
            f"| {lv['concurrency']} | {lv['seconds']} | {lv['requests']} | {lv['errors']} | {lv.get('shed', '-')} | "
            f"{lv['requests_per_s']:.2f} | {lv.get('tokens_per_s', '-')} | {lv['latency_ms_p50']} | {lv['latency_ms_p99']} | "
            f"{lv.get('server_rss_mb_after', '-')} | {f'{load[0]}, {load[1]}' if load else '-'} |"
        )
    rss = r["server_rss_mb"]
    lines += [
        "",
        f"Server RSS: {rss['before']} MB once ready (warm-up done), {rss['after']} MB after the last "
        f"level ({rss['growth_pct']:+.1f}%).",
    ]
    if "queue_max_tokens" in r:
        lines.append(
            f"Queue bound: `FRAMING_QUEUE_MAX_TOKENS` = {r['queue_max_tokens']} (the article is "
            f"{r['article_tokens_estimate']} tokens by the service's estimate, characters / 4)."
        )
    if r.get("p99_check"):
        c = r["p99_check"]
        lines.append(
            f"Accepted p99 at concurrency 64 over the one at 8: {c['p99_64_over_p99_8']}x "
            f"({'within' if c['at_most_2x'] else 'over'} the 2x target)."
        )
    if r.get("burst"):
        b = r["burst"]
        lines.append(
            f"Burst: {b['requests']} requests sent at once, each once: {b['served']} served, {b['shed']} shed "
            f"(503), {b['other']} other; the slowest answer came after {b['slowest_any_ms']} ms."
        )
    lines.append("")
    return lines


def bounds_section(runs: list[dict]) -> list[str]:
    """Load runs at other queue bounds (bench/results/load-bound*.json): the latency/shedding trade."""
    lines = [
        "### The same load at other queue bounds",
        "",
        "| `FRAMING_QUEUE_MAX_TOKENS` | concurrency | requests/s | shed (503) | accepted p50 ms | accepted p99 ms | p99 at 64 / p99 at 8 | load avg (1 min) before, after | command |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: r["queue_max_tokens"]):
        ratio = r["p99_check"]["p99_64_over_p99_8"] if r.get("p99_check") else "-"
        for lv in r["levels"]:
            load = lv["load_avg_1m"]
            lines.append(
                f"| {r['queue_max_tokens']} | {lv['concurrency']} | {lv['requests_per_s']:.2f} | {lv['shed']} | "
                f"{lv['latency_ms_p50']} | {lv['latency_ms_p99']} | {ratio} | {load[0]}, {load[1]} | `{r['command']}` |"
            )
    lines.append("")
    return lines


def ray_section(r: dict) -> list[str]:
    lines = [
        "## Batch scoring: local engine against Ray Data",
        "",
        f"Command: `{r['command']}`: {r['docs']} articles of about {r['article_words']} words in one JSONL file, "
        "int8, each configuration as a fresh `framing score` process (Python start, model load and, for Ray, "
        "starting and stopping a local Ray included); then the same command on a 1-document input, whose wall "
        "time is the engine's fixed cost.",
        f"Machine: {describe(r['machine'])}.",
        "",
        "| engine | articles: wall s | documents/s | sentences/s | 1 document: wall s | Ray start-up s (init + plan) | same rows as local | load avg (1 min) before, after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, v in r["results"].items():
        a, one = v["articles"], v["one_document"]
        cmp = v.get("versus_local")
        same = (
            f"{100 * cmp['agreement']:.2f}% of rows, ids once: {'yes' if cmp['every_id_once'] else 'NO'}"
            if cmp
            else "(reference)"
        )
        startup = a.get("ray_startup_s")
        lines.append(
            f"| {name} | {a['wall_s']} | {a['docs_per_s']} | {a['sentences_per_s']} | {one['wall_s']} | "
            f"{startup if startup is not None else '-'} | {same} | {a['load_avg_1m'][0]}, {a['load_avg_1m'][1]} |"
        )
    lines.append("")
    return lines


def soak_section(r: dict) -> list[str]:
    statuses = sorted({s for v in r["by_kind_and_status"].values() for s in v})
    lines = [
        "## Soak: mixed traffic against a real server",
        "",
        f"Command: `{r['command']}`: {r['minutes']} minutes at concurrency {r['concurrency']}, "
        + ", ".join(f"{int(100 * v)}% {k.replace('_', ' ')}" for k, v in r["mix"].items())
        + f"; load average (1 min) {r['load_avg_1m']['start']} at the start, {r['load_avg_1m']['end']} at the end.",
        f"Machine: {describe(r['machine'])}.",
        "",
        "| kind | " + " | ".join(statuses) + " |",
        "|---|" + "---|" * len(statuses),
    ]
    for kind, by in r["by_kind_and_status"].items():
        lines.append(
            f"| {kind.replace('_', ' ')} | " + " | ".join(str(by.get(s, 0)) for s in statuses) + " |"
        )
    rss = r["rss"]
    p99s = [w["accepted_p99_ms"] for w in r["windows"] if w["accepted_p99_ms"] is not None]
    lines += [
        "",
        f"{r['requests']} requests; unexpected statuses or broken connections: {r['unexpected_count']} "
        f"(5xx other than 503, or broken: {r['unexpected_5xx_or_broken']}); `framing_shed_total` at the end: "
        f"{r['shed_total_metric']}. Accepted p99 per 10-second window: {min(p99s):.0f} to {max(p99s):.0f} ms. "
        f"Server RSS {rss['ready_mb']} MB once ready, {rss['end_mb']} MB at the end ({rss['growth_pct']:+.1f}%, "
        f"peak {rss['max_mb']} MB).",
        f"Verdicts: no unexpected status: {'yes' if r['verdict']['no_unexpected_status'] else 'NO'}; RSS growth "
        f"at most 10%: {'yes' if r['verdict']['rss_growth_at_most_10pct'] else 'NO'}.",
        "",
        "![soak: responses per second by status, accepted latency and server RSS over time](soak.png)",
        "",
    ]
    return lines


def schemathesis_section(r: dict) -> list[str]:
    return [
        "## Schemathesis against the live server",
        "",
        f"Command: `{r['command']}`, which runs `{r['schemathesis_command']}` against a real "
        "`framing serve` (int8) with the repository's `schemathesis.toml`.",
        f"Machine: {describe(r['machine'])}; load average (1 min) {r['load_avg_1m'][0]} before, "
        f"{r['load_avg_1m'][1]} after.",
        "",
        f"{r['test_cases']} test cases generated, {r['passed']} passed, {r['failed']} failed "
        f"(exit code {r['exit_code']}) in {r['seconds']} s; the server was "
        f"{'still serving' if r['server_alive_at_end'] else 'DEAD'} at the end.",
        "",
    ]


def model_section(model_dir: Path) -> list[str]:
    """The benchmarked model's own evaluation, read through its typed metrics.json."""
    from framing.model.model_metrics import ModelMetrics

    metrics = ModelMetrics.load(model_dir)
    if metrics is None:
        return []
    lines = [
        "## The model benchmarked",
        "",
        f"`{model_dir}`, version `{metrics.model_version}`; macro-F1 of the int8 model as served:",
        "",
        "| set | " + " | ".join(next(iter(metrics.eval.values())).heads) + " |",
        "|---" * (1 + len(next(iter(metrics.eval.values())).heads)) + "|",
    ]
    for name, result in metrics.eval.items():
        lines.append(f"| {name} | " + " | ".join(f"{h.macro_f1:.3f}" for h in result.heads.values()) + " |")
    return lines + [""]


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Render docs/benchmarks.md from bench/results.")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default", help="model benchmarked")
    args = parser.parse_args()
    results = ROOT / "bench" / "results"
    out = [
        "# Benchmarks",
        "",
        "Generated by `python bench/report.py` from the JSON the benchmarks wrote; "
        "every figure below was measured, in the runs named.",
        "",
        *(model_section(args.model) if args.model.is_dir() else []),
    ]
    for name, section in (
        ("scoring.json", scoring_section),
        ("load.json", load_section),
        ("ray_scoring.json", ray_section),
        ("soak.json", soak_section),
        ("schemathesis.json", schemathesis_section),
    ):
        path = results / name
        if path.is_file():
            out += section(json.loads(path.read_text()))
        if name == "load.json" and sorted(results.glob("load-bound*.json")):
            out += bounds_section(
                [json.loads(f.read_text()) for f in sorted(results.glob("load-bound*.json"))]
            )
    text = "\n".join(out)
    target = ROOT / "docs" / "benchmarks.md"
    notes = (
        target.read_text().split("<!-- notes -->", 1)[1]
        if target.is_file() and "<!-- notes -->" in target.read_text()
        else ""
    )
    target.write_text(text + "\n<!-- notes -->" + notes if notes else text + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {target}\n")


if __name__ == "__main__":
    main()
