"""The analyst page at / driven in headless Debian Chromium against a real uvicorn server."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest
import uvicorn

from framing.service.app import create_app
from framing.service.settings import Settings

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SENTENCES = [
    "Russian missiles struck Kharkiv overnight, officials said.",
    "Kyiv said it was ready to discuss a ceasefire if Russian troops withdrew.",
    "The summit will take place on October 17-18 in Beijing.",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def base_url(served_model_dir):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held until uvicorn takes the socket
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(Settings(model=served_model_dir)), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
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
def model_info(base_url) -> dict:
    with urllib.request.urlopen(f"{base_url}/v1/model", timeout=10) as r:
        return json.load(r)


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
    # The page has read the model's heads once the legend is shown.
    pg.wait_for_selector("#legend", state="visible")
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_label_an_article(page, model_info, tmp_path):
    stance = next(h for h in model_info["heads"] if h["name"] == "stance")
    page.fill("#text", "\n".join(SENTENCES))
    page.click("#submit")
    page.wait_for_selector(".sentence")

    spans = page.locator(".sentence")
    assert spans.count() == 3
    assert [spans.nth(i).inner_text().strip() for i in range(3)] == SENTENCES
    for i in range(3):
        assert spans.nth(i).get_attribute("data-index") == str(i)
        badge = page.locator(f'.badge[data-head="stance"][data-index="{i}"]')
        assert badge.count() == 1
        assert badge.inner_text().strip() in stance["labels"]

    summary = page.locator("#summary")
    assert summary.is_visible()
    counts = summary.locator('.count[data-head="stance"]')
    assert counts.count() == len(stance["labels"])
    assert sum(int(counts.nth(i).inner_text()) for i in range(counts.count())) == 3
    assert summary.locator('.dominant[data-head="stance"]').inner_text() in stance["labels"]
    assert page.locator("#error").is_hidden()

    # Focusing a sentence (keyboard) shows its per-label probabilities.
    spans.nth(1).focus()
    assert SENTENCES[1] in page.locator("#detail").inner_text()
    spans.nth(1).press("Enter")
    assert "pinned" in page.locator("#detail h2").inner_text()

    shot = tmp_path / "analyst-page.png"  # pytest keeps the last few runs' tmp_path for a look
    page.screenshot(path=str(shot), full_page=True, timeout=TIMEOUT_MS)
    assert shot.stat().st_size > 0


def test_empty_text_shows_the_api_error(page):
    page.fill("#text", "")
    with page.expect_response(lambda r: r.url.endswith("/v1/classify")) as info:
        page.click("#submit")
    assert info.value.status == 422
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert "invalid request" in error.inner_text()
    assert page.locator(".sentence").count() == 0
    assert page.locator("#results").is_hidden()


def test_shed_request_says_when_to_retry(page):
    """A 503 with Retry-After (the queue is full, docs/service.md "Backpressure") reads as busy."""
    body = {
        "error": "the service is busy (90000 tokens queued); retry in 7 s",
        "detail": None,
        "request_id": "x",
    }
    page.route(
        "**/v1/classify",
        lambda route: route.fulfill(
            status=503, headers={"Retry-After": "7"}, content_type="application/json", body=json.dumps(body)
        ),
    )
    page.fill("#text", SENTENCES[0])
    page.click("#submit")
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert error.inner_text().strip() == "The service is busy; retry in 7 s."
