"""The outputs of `framing trends` beyond the tables: trends.html and PNG charts.

trends.html is one self-contained file that opens offline: Chart.js and the page's own
renderer (service/static/vendor/chart.umd.min.js, service/static/trends.js) are inlined
next to the table as JSON, so the report and the analyst page's Collection view draw the
same charts from the same rows. The PNGs (matplotlib, Agg backend) are static copies for
slides: one per multi-label label, one balance chart per single-label head, the heatmap
and an overview of all of them.
"""

from __future__ import annotations

import html
import json
import logging
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

from framing.model.trends import Trends

log = logging.getLogger(__name__)

PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#882255", "#117733", "#999933"]
STATIC = ("framing.service", "static")

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
         background: #f6f7f9; }}
  header {{ padding: 12px 24px; background: #14213d; color: #fff; }}
  header h1 {{ font-size: 18px; margin: 0; }}
  header p {{ margin: 2px 0 0; font-size: 13px; color: #d5dbe8; }}
  main {{ max-width: 1280px; margin: 0 auto; padding: 16px 24px; }}
</style>
</head>
<body>
<header><h1>{title}</h1><p>{subtitle}</p></header>
<main id="report"><p>This report draws its charts with JavaScript; the numbers are in trends.csv.</p></main>
<script>{chart_js}</script>
<script>{trends_js}</script>
<script type="application/json" id="trends-data">{data}</script>
<script>
"use strict";
FramingTrends.render(document.getElementById("report"),
                     JSON.parse(document.getElementById("trends-data").textContent), {{}});
</script>
</body>
</html>
"""


def _static(name: str) -> str:
    return resources.files(STATIC[0]).joinpath(STATIC[1], name).read_text(encoding="utf-8")


def _inline(code: str) -> str:
    # Nothing in an inline script may close the script element.
    return code.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def _json_for_html(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")


def write_html(trends: Trends, path: Path) -> Path:
    m = trends.meta
    by = f"by {m['by']}" if m["by"] else "all documents"
    title = f"Narrative trends {by}, per {m['period']}"
    periods = m["periods"]
    span = f"{periods[0]['period']} to {periods[-1]['period']}" if periods else "no dated documents"
    subtitle = (
        f"{m['dated']} dated documents ({m['undated']} undated, {m['errors']} error records), {span}, "
        f"dates in {m['tz']}; labels from {m.get('labels_from', 'the data')}"
    )
    page = PAGE.format(
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        chart_js=_inline(_static("vendor/chart.umd.min.js")),
        trends_js=_inline(_static("trends.js")),
        data=_json_for_html(trends.to_dict()),
    )
    path.write_text(page, encoding="utf-8")
    return path


# -- PNG -----------------------------------------------------------------------------
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _series(trends: Trends, head: str, label: str) -> dict[str, list[dict[str, Any]]]:
    by_key = {(r["group"], r["period"], r["head"], r["label"]): r for r in trends.rows}
    groups = [g["group"] for g in trends.meta["groups"]]
    periods = [p["period"] for p in trends.meta["periods"]]
    return {g: [by_key[(g, p, head, label)] for p in periods] for g in groups}


def _nan(x: float | None) -> float:
    return math.nan if x is None else x


def _plot_line(ax, trends: Trends, head: str, label: str, balance: bool, bands: bool = True) -> None:
    periods = [p["period"] for p in trends.meta["periods"]]
    small = trends.meta["small_sentences"]
    x = list(range(len(periods)))
    for i, (group, cells) in enumerate(_series(trends, head, label).items()):
        colour = PALETTE[i % len(PALETTE)]
        y = [_nan(c["share"]) for c in cells]
        if bands and not balance:
            low = [_nan(c["ci_low"]) for c in cells]
            high = [_nan(c["ci_high"]) for c in cells]
            ax.fill_between(x, low, high, color=colour, alpha=0.13, linewidth=0)
        ax.plot(x, y, color=colour, linewidth=1.8, label=group)
        full = [(xi, yi) for xi, yi, c in zip(x, y, cells, strict=True) if c["sentences"] >= small]
        thin = [(xi, yi) for xi, yi, c in zip(x, y, cells, strict=True) if 0 < c["sentences"] < small]
        if full:
            ax.plot(*zip(*full, strict=True), "o", color=colour, markersize=4)
        if thin:
            ax.plot(
                *zip(*thin, strict=True), "o", markerfacecolor="white", markeredgecolor=colour, markersize=4
            )
    step = max(1, len(periods) // 10)
    ax.set_xticks(x[::step], periods[::step], rotation=30, ha="right", fontsize=8)
    ax.grid(axis="y", color="#e3e6ea", linewidth=0.8)
    if balance:
        ax.axhline(0, color="#4a5563", linewidth=0.8)
        ax.set_ylim(-1, 1)
        ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:+.0f} pts")
    else:
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.tick_params(axis="y", labelsize=8)


def _plot_heatmap(ax, trends: Trends) -> None:
    import numpy as np

    heads = trends.meta["heads"]
    cols = [(h["name"], lab) for h in heads for lab in h["labels"]]
    groups = [g["group"] for g in trends.meta["groups"]]
    totals = {(t["group"], t["head"], t["label"]): t for t in trends.totals}
    values = np.array(
        [
            [_nan(totals[(g, h, lab)]["share"]) if (g, h, lab) in totals else math.nan for h, lab in cols]
            for g in groups
        ]
    )
    values = values.reshape(len(groups), len(cols))
    ax.imshow(
        np.ma.masked_invalid(values),
        cmap="Blues",
        vmin=0,
        vmax=max(0.05, float(np.nanmax(values, initial=0))),
    )
    ax.set_xticks(range(len(cols)), [lab for _, lab in cols], rotation=30, ha="right", fontsize=8)
    sizes = {
        g: totals.get((g, cols[0][0], cols[0][1]), {}).get("sentences", 0) if cols else 0 for g in groups
    }
    ax.set_yticks(range(len(groups)), [f"{g} (n={sizes[g]})" for g in groups], fontsize=8)
    top = float(np.nanmax(values, initial=0)) or 1.0
    for i in range(len(groups)):
        for j in range(len(cols)):
            v = values[i, j]
            text = "—" if math.isnan(v) else f"{100 * v:.0f}%"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if v > 0.6 * top else "#1b1f24",
            )


def write_pngs(trends: Trends, out_dir: Path) -> list[Path]:
    """PNG copies of the charts; [] with a warning when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("no PNG charts: matplotlib is not installed (pip install 'framing[trends]')")
        return []
    m = trends.meta
    if not m["periods"] or not m["heads"]:
        log.warning("no PNG charts: no dated documents or no labels")
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    what = f"by {m['by']}" if m["by"] else "all documents"
    panels: list[tuple[str, str, str, bool]] = []  # title, head, label, balance
    for h in m["heads"]:
        if h["type"] == "multi_label":
            for lab in h["labels"]:
                panels.append((f"{h['name']}: {lab}", h["name"], lab, False))
    for h in m["heads"]:
        if h["type"] != "multi_label":
            a, b = m["balance"][h["name"]]
            panels.append((f"{h['name']}: {a} − {b}", h["name"], f"{a} - {b}", True))
    paths = []
    for title, head, label, balance in panels:
        fig, ax = plt.subplots(figsize=(8, 4.2), dpi=120)
        _plot_line(ax, trends, head, label, balance)
        kind = "balance (share difference)" if balance else "share of sentences, 95% Wilson band"
        ax.set_title(f"{title} — {kind}, {what}, per {m['period']}", fontsize=10)
        ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
        fig.tight_layout()
        name = f"balance-{_slug(head)}.png" if balance else f"share-{_slug(head)}-{_slug(label)}.png"
        path = out_dir / name
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    fig, ax = plt.subplots(
        figsize=(1.6 + 1.0 * sum(len(h["labels"]) for h in m["heads"]), 1.2 + 0.45 * len(m["groups"]))
    )
    _plot_heatmap(ax, trends)
    ax.set_title(f"Share of content sentences, all periods, {what}", fontsize=10)
    fig.tight_layout()
    paths.append(out_dir / "heatmap.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    # One figure with every panel, for a slide or the docs.
    cols = 2
    rows = math.ceil((len(panels) + 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.6 * rows), dpi=110, squeeze=False)
    bands = len(m["groups"]) <= 3  # more overlapping bands would hide the lines
    for ax, (title, head, label, balance) in zip(axes.flat, panels, strict=False):
        _plot_line(ax, trends, head, label, balance, bands)
        ax.set_title(title + ("" if bands or balance else " (95% bands: share-*.png)"), fontsize=10)
    handles, names = axes.flat[0].get_legend_handles_labels()
    heat_ax = axes.flat[len(panels)]
    _plot_heatmap(heat_ax, trends)
    heat_ax.set_title("all periods", fontsize=10)
    for ax in list(axes.flat)[len(panels) + 1 :]:
        ax.axis("off")
    fig.suptitle(f"Narrative trends {what}, per {m['period']}", y=0.995, fontsize=12)
    top = 1 - 0.75 / fig.get_figheight()  # room for the title and the legend under it
    fig.legend(
        handles,
        names,
        loc="upper center",
        bbox_to_anchor=(0.5, top + 0.02),
        ncol=min(6, len(names)),
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0, 1, top - 0.01))
    paths.append(out_dir / "overview.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    return paths
