"""The analyst page's Collection view in headless Chromium: upload a file of articles, score it
through /v1/classify, and check that the charts render and that the page's numbers are the
CLI's (`framing score` then `framing trends`) for the same file."""

from __future__ import annotations

import csv
import json
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from framing.cli.main import app as cli
from framing.model.trends import TrendsOptions, compute_trends
from framing.service.app import create_app
from framing.service.settings import Settings

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TIMEOUT_MS = 20_000
SENTENCES = [
    "Russian missiles struck Kyiv overnight, killing four civilians, officials said.",
    "NATO's expansion toward Russia's borders creates new threats, Lavrov said.",
    "Kyiv said it was ready to discuss a ceasefire if Russian troops withdrew.",
    "The Kremlin said Zelensky's mandate had expired and he had no right to sign.",
    "Turkey offered to host a new round of talks in Istanbul next month.",
    "The EU adopted its nineteenth sanctions package on Thursday.",
    "Drone debris fell on a residential block in Kharkiv, injuring seven people.",
]
OUTLETS = ["Kyiv Ledger", "Московский вестник", "Atlantic Review"]
DATES = ["2025-03-04", "Tue, 11 Mar 2025 09:00:00 +0000", "March 5, 2025", "2025-03-12T23:30:00-05:00"]


def articles(n: int) -> list[dict]:
    out = []
    for i in range(n):
        text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(3 + i % 3))
        rec = {"id": f"art{i:03d}", "outlet": OUTLETS[i % 3], "text": text}
        if i != 4:  # one article without a date
            rec["published"] = DATES[i % len(DATES)]
        out.append(rec)
    return out


@pytest.fixture(scope="module")
def base_url(trained_model_dir):
    application = create_app(Settings(model=trained_model_dir, precision="fp32"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn exited during startup"
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        yield b
        b.close()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{base_url}/", timeout=TIMEOUT_MS)
    pg.wait_for_selector("#legend", state="visible")
    pg.click("#tab-collection")
    pg.wait_for_function("window.FramingTrends && window.framingCollection")
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def cli_table(trained_model_dir, src: Path, tmp: Path) -> tuple[list[dict], dict]:
    runner = CliRunner()
    scored = tmp / "scored.jsonl"
    args = ["score", str(src), "-o", str(scored), "--model", str(trained_model_dir), "--precision", "fp32"]
    result = runner.invoke(cli, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    out = tmp / "trends"
    result = runner.invoke(cli, ["trends", str(scored), "--by", "outlet", "--period", "week", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "trends.csv").open(encoding="utf-8")))
    return rows, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_collection_charts_match_the_cli(page, trained_model_dir, tmp_path):
    src = tmp_path / "articles.jsonl"
    src.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles(12)), encoding="utf-8")
    rows, summary = cli_table(trained_model_dir, src, tmp_path)

    page.set_input_files("#coll-file", str(src))
    page.wait_for_function("!document.getElementById('coll-run').disabled")
    assert page.input_value("#coll-by") == "outlet"
    page.click("#coll-run")
    page.wait_for_selector("#coll-results[data-ft-ready]")

    # The charts: one per frame and one stance balance, each drawn by Chart.js.
    frames = next(h for h in summary["heads"] if h["type"] == "multi_label")
    canvases = page.locator("#coll-results canvas")
    assert canvases.count() == len(frames["labels"]) + 1
    assert page.evaluate(
        "[...document.querySelectorAll('#coll-results canvas')].every((c) => Chart.getChart(c))"
    )
    assert page.get_attribute("#ft-undated", "data-count") == "1" == str(summary["undated"])

    # Every point of the page's table is the CLI's row: same counts, same shares.
    shown = page.eval_on_selector_all("#ft-points tbody tr", "trs => trs.map((t) => ({...t.dataset}))")
    expected = {(r["group"], r["period"], r["head"], r["label"]): r for r in rows if r["documents"] != "0"}
    assert len(shown) == len(expected) > 0
    for s in shown:
        r = expected[(s["group"], s["period"], s["head"], s["label"])]
        assert (s["count"], s["sentences"]) == (r["count"], r["sentences"])
        assert (float(s["share"]) if s["share"] else None) == (float(r["share"]) if r["share"] else None)
    # A value read from a chart, and one from the heatmap.
    label = frames["labels"][0]
    cli_row = next(r for r in rows if r["label"] == label and r["share"] and r["group"] == "Kyiv Ledger")
    periods = [p["period"] for p in summary["periods"]]
    value = page.evaluate(
        """([label, group, i]) => Chart.getChart(document.querySelector(`canvas[data-label="${label}"]`))
             .data.datasets.find((d) => d.ftRole === "share" && d.ftGroup === group).data[i]""",
        [label, "Kyiv Ledger", periods.index(cli_row["period"])],
    )
    assert value == float(cli_row["share"])
    total = next(t for t in summary["totals"] if t["group"] == "Московский вестник" and t["label"] == label)
    cell = page.get_attribute(
        f'#ft-heatmap td[data-group="Московский вестник"][data-label="{label}"]', "data-share"
    )
    assert float(cell) == total["share"]

    # The scored JSONL the page saves gives `framing trends` exactly the page's table.
    with page.expect_download() as download:
        page.click("#coll-get-jsonl")
    saved = tmp_path / "from-page.jsonl"
    download.value.save_as(saved)
    from_page, _ = compute_trends([saved], TrendsOptions(by="outlet", period="week"))
    assert json.loads(json.dumps(from_page.rows)) == page.evaluate("window.framingCollection.data.rows")

    # Hovering the point shows its evidence sentences in the tooltip.
    point = page.evaluate(
        """([label, group, i]) => {
             const ch = Chart.getChart(document.querySelector(`canvas[data-label="${label}"]`));
             const k = ch.data.datasets.findIndex((d) => d.ftRole === "share" && d.ftGroup === group);
             const p = ch.getDatasetMeta(k).data[i]; return [p.x, p.y]; }""",
        [label, "Kyiv Ledger", periods.index(cli_row["period"])],
    )
    box = page.locator(f'canvas[data-label="{label}"]').bounding_box()
    page.mouse.move(box["x"] + point[0], box["y"] + point[1])
    tooltip = f"""Chart.getChart(document.querySelector('canvas[data-label="{label}"]')).tooltip"""
    page.wait_for_function(f"{tooltip}.getActiveElements().length > 0")
    after = page.evaluate(f"{tooltip}.afterBody")
    evidence = json.loads(cli_row["evidence"])
    assert len(after) == len(evidence) > 0 and evidence[0]["id"] in after[0]

    # Clicking it lists the evidence; an evidence sentence opens in the sentence view, pinned.
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_selector("#ft-selection", state="visible")
    shot = tmp_path / "collection.png"  # pytest keeps the last few runs' tmp_path for a look
    page.screenshot(path=str(shot), full_page=True, timeout=TIMEOUT_MS)
    assert shot.stat().st_size > 0
    page.locator("#ft-selection a.ft-open").first.click()
    page.wait_for_selector("#view-article", state="visible")
    pinned = page.locator(".sentence.pinned")
    assert pinned.count() == 1 and pinned.get_attribute("data-index") == str(evidence[0]["sentence"])
    assert page.locator("#view-collection").is_hidden()


def test_collection_cancel(page, tmp_path):
    src = tmp_path / "many.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "outlet", "published", "text"])
        w.writeheader()
        for a in articles(60):
            w.writerow({"published": "", **a})
    held = []

    def hold(route):  # answer the first request, hold the rest until cancelled
        if held or not route.request.url.endswith("/v1/classify"):
            held.append(route)
        else:
            held.append(None)
            route.continue_()

    page.route("**/v1/classify", hold)
    page.set_input_files("#coll-file", str(src))
    page.wait_for_function("!document.getElementById('coll-run').disabled")
    assert "60 articles" in page.inner_text("#coll-status")
    page.click("#coll-run")
    page.wait_for_function("document.getElementById('coll-progress').value >= 16")
    assert page.locator("#coll-cancel").is_visible()
    page.click("#coll-cancel")
    page.wait_for_function("document.getElementById('coll-status').textContent.startsWith('Cancelled')")
    assert "16 of 60" in page.inner_text("#coll-status")
    assert page.locator("#coll-results canvas").count() == 0 and page.locator("#coll-cancel").is_hidden()
    page.unroute("**/v1/classify")
