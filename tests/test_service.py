"""API contract: every route and every error the service promises."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi.testclient import TestClient

from framing.service.app import create_app
from framing.service.settings import Settings
from tests.serving import framing_serve

ARTICLE = "Russian missiles struck Kharkiv overnight.\nKyiv said it was ready to discuss a ceasefire."


@pytest.fixture(scope="module")
def client(served_model_dir):
    settings = Settings(model=served_model_dir, max_documents=3, max_chars=2_000, max_body_bytes=20_000)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def keyed(served_model_dir):
    with TestClient(create_app(Settings(model=served_model_dir, api_keys=["k1", "secret-2"]))) as c:
        yield c


def test_classify_text(client):
    r = client.post("/v1/classify", json={"text": ARTICLE})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"]["name"] == "tiny" and len(body["model"]["version"]) == 12
    (doc,) = body["documents"]
    assert len(doc["sentences"]) == 2
    for s in doc["sentences"]:
        assert ARTICLE[s["start"] : s["end"]] == s["text"]
        assert set(s["scores"]) == {"frames", "stance"}
    assert doc["summary"]["sentences"] == 2
    assert r.headers["x-request-id"]


def test_classify_documents_and_options(client):
    req = {
        "documents": [{"id": "a", "text": ARTICLE}, {"id": "b", "text": "Talks resumed in Geneva."}],
        "options": {"include_sentences": False, "thresholds": {"frames": {"security_threat": 0.0}}},
    }
    r = client.post("/v1/classify", json=req)
    assert r.status_code == 200, r.text
    docs = r.json()["documents"]
    assert [d["id"] for d in docs] == ["a", "b"]
    assert all("sentences" not in d for d in docs)
    # A threshold of 0 puts the frame on every sentence.
    assert docs[0]["summary"]["frames"]["security_threat"]["share"] == 1.0


def test_request_id_is_echoed(client):
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"text": ""}, 422, "empty"),
        ({"text": "   \n\t "}, 422, "empty"),
        ({}, 422, "either"),
        ({"text": "a", "documents": [{"text": "b"}]}, 422, "either"),
        ({"documents": []}, 422, "invalid"),
        ({"documents": [{"text": " "}]}, 422, "empty"),
        ({"text": "ok text", "extra": 1}, 422, "invalid"),
        ({"text": "ok text", "options": {"thresholds": {"nope": {"x": 0.1}}}}, 422, "unknown head"),
        (
            {"text": "ok text", "options": {"thresholds": {"frames": {"security_threat": 2}}}},
            422,
            "less than or equal to 1",
        ),
        ({"text": "ok text", "options": {"thresholds": {"stance": {"neutral": 0.2}}}}, 422, "single-label"),
        ({"documents": [{"text": "x"}] * 4}, 413, "4 documents"),
        ({"text": "word " * 500}, 413, "characters"),
    ],
)
def test_bad_requests_get_clear_errors(client, body, status, needle):
    r = client.post("/v1/classify", json=body)
    assert r.status_code == status, r.text
    payload = r.json()
    assert needle in (payload["error"] + str(payload["detail"]))
    assert payload["request_id"] == r.headers["x-request-id"]


def test_invalid_json_wrong_type_bad_utf8_and_oversize(client):
    r = client.post("/v1/classify", content=b'{"text": ', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["error"]
    r = client.post("/v1/classify", content=b"text=hi", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    r = client.post(
        "/v1/classify", content=b'{"text": "caf\xe9 \xff"}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "UTF-8" in r.json()["error"]
    r = client.post(
        "/v1/classify", content=b"{" + b" " * 30_000 + b"}", headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def test_oversize_chunked_body_is_refused_without_content_length(client):
    def chunks():
        for _ in range(30):
            yield b" " * 1000

    r = client.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_model_info(client):
    info = client.get("/v1/model").json()
    assert [h["name"] for h in info["heads"]] == ["frames", "stance"]
    assert set(info["heads"][0]["thresholds"]) == set(info["heads"][0]["labels"])
    assert info["precision"] == "int8" and info["max_length"] == 32
    assert info["metrics"] == {}  # this directory was never evaluated: it has no metrics.json


def test_model_info_reports_the_evaluation_of_a_trained_model(trained_model_dir):
    with TestClient(create_app(Settings(model=trained_model_dir))) as c:
        info = c.get("/v1/model").json()
    expected = json.loads((trained_model_dir / "metrics.json").read_text())["eval"]
    assert set(info["metrics"]) == {"dev", "test"} == set(expected)
    assert info["metrics"]["dev"]["stance"]["macro_f1"] == expected["dev"]["heads"]["stance"]["macro_f1"]


def test_health_ready_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    client.post("/v1/classify", json={"text": ARTICLE})
    text = client.get("/metrics").text
    assert 'framing_requests_total{method="POST",route="/v1/classify",status="200"}' in text
    assert "framing_sentences_total" in text and "framing_batch_sentences_bucket" in text
    assert 'framing_labels_total{head="stance"' in text


def test_page_is_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]


def test_openapi_has_examples(client):
    spec = client.get("/openapi.json").json()
    schema = spec["components"]["schemas"]["ClassifyRequest"]
    assert schema["examples"][0]["text"]


def test_auth_required_when_keys_set(keyed):
    assert keyed.post("/v1/classify", json={"text": ARTICLE}).status_code == 401
    assert keyed.get("/v1/model").status_code == 401
    assert keyed.get("/metrics").status_code == 401
    assert (
        keyed.post(
            "/v1/classify", json={"text": ARTICLE}, headers={"Authorization": "Bearer wrong"}
        ).status_code
        == 401
    )
    assert (
        keyed.post(
            "/v1/classify", json={"text": ARTICLE}, headers={"Authorization": "Bearer secret-2"}
        ).status_code
        == 200
    )
    assert keyed.get("/v1/model", headers={"X-API-Key": "k1"}).status_code == 200
    # Probes stay open for orchestrators.
    assert keyed.get("/healthz").status_code == 200
    assert keyed.get("/readyz").status_code == 200


def test_openapi_shows_the_key_schemes_when_keys_are_set(keyed, client):
    spec = keyed.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer KEY",
    }
    assert schemes["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "X-API-Key: KEY",
    }
    # Either header will do: two alternative requirements on every keyed route, none on the probes.
    for path, method in (("/v1/classify", "post"), ("/v1/model", "get"), ("/metrics", "get")):
        assert spec["paths"][path][method]["security"] == [{"bearer": []}, {"apiKey": []}]
    for path in ("/healthz", "/readyz"):
        assert "security" not in spec["paths"][path]["get"]
    # Without keys there is no auth, and the schema does not ask for any.
    open_spec = client.get("/openapi.json").json()
    assert "securitySchemes" not in open_spec["components"]
    assert "security" not in open_spec["paths"]["/v1/classify"]["post"]


def test_keys_never_logged(served_model_dir, tmp_path):
    """The log lines a real server writes (JSON on stderr, at DEBUG) never hold a presented key."""
    env = {"FRAMING_API_KEYS": "topsecret"}
    args = ["--model", str(served_model_dir), "--log-level", "DEBUG"]
    with framing_serve(args, tmp_path / "server.log", env) as server:
        url = f"{server.base}/v1/classify"
        ok = httpx.post(url, json={"text": ARTICLE}, headers={"X-API-Key": "topsecret"}, timeout=30)
        bearer = httpx.post(
            url, json={"text": ARTICLE}, headers={"Authorization": "Bearer topsecret"}, timeout=30
        )
        wrong = httpx.post(url, json={"text": ARTICLE}, headers={"X-API-Key": "guess"}, timeout=30)
        assert (ok.status_code, bearer.status_code, wrong.status_code) == (200, 200, 401)
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    # The log is really being read: both requests left their access line.
    access = [(r.get("path"), r.get("status")) for r in lines if r["logger"] == "framing.access"]
    assert ("/v1/classify", 200) in access and ("/v1/classify", 401) in access
    assert "topsecret" not in server.output() and "guess" not in server.output()


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAMING_API_KEYS", "a, b")
    monkeypatch.setenv("FRAMING_MAX_DOCUMENTS", "7")
    monkeypatch.setenv("FRAMING_MODEL", str(tmp_path))
    monkeypatch.setenv("FRAMING_ONNX_CALL_TOKENS", "128")
    monkeypatch.setenv("FRAMING_QUEUE_BATCH_TOKENS", "999")
    s = Settings()
    assert s.api_keys == ["a", "b"] and s.max_documents == 7 and s.model == tmp_path
    assert (s.onnx_call_tokens, s.queue_batch_tokens) == (128, 999)


def _batch_requests_histogram(client) -> tuple[float, float]:
    """framing_batch_requests: (batches, batches of exactly one request) so far."""
    from prometheus_client.parser import text_string_to_metric_families

    (family,) = [
        f
        for f in text_string_to_metric_families(client.get("/metrics").text)
        if f.name == "framing_batch_requests"
    ]
    samples = {(s.name, s.labels.get("le")): s.value for s in family.samples}
    return samples[("framing_batch_requests_count", None)], samples[("framing_batch_requests_bucket", "1.0")]


def test_concurrent_requests_share_batches(client, monkeypatch):
    import concurrent.futures
    import threading
    import time

    batcher = client.app.state.batcher
    predict = batcher.scorer.predict
    held = threading.Event()

    def predict_once_others_queue(*args, **kwargs):
        # The first onnxruntime batch waits (on a condition, with a timeout) until two more requests
        # are queued behind it, so the next batch surely takes several requests.
        if not held.is_set():
            held.set()
            deadline = time.monotonic() + 30
            while batcher._queue.qsize() < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
        return predict(*args, **kwargs)

    monkeypatch.setattr(batcher.scorer, "predict", predict_once_others_queue)
    batches_before, singles_before = _batch_requests_histogram(client)
    texts = [f"Sentence number {i} about drone strikes on Odesa port." for i in range(16)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda t: client.post("/v1/classify", json={"text": t}), texts))
    assert all(r.status_code == 200 for r in results)
    assert [r.json()["documents"][0]["sentences"][0]["text"] for r in results] == texts
    batches, singles = _batch_requests_histogram(client)
    # At least one onnxruntime batch held more than one request.
    assert batches - batches_before > singles - singles_before


def test_blank_means_what_the_published_pattern_means(client):
    # JSON Schema's `\S` is ECMA-262's: U+001D is not white space there (it is for str.isspace),
    # so a schema-valid junk-only document is accepted and simply has no sentences.
    r = client.post("/v1/classify", json={"documents": [{"text": "Kyiv."}, {"text": "\u001d"}]})
    assert r.status_code == 200, r.text
    assert [len(d["sentences"]) for d in r.json()["documents"]] == [1, 0]
    for blank in (" \t\n", "\u00a0\u3000"):
        assert client.post("/v1/classify", json={"text": blank}).status_code == 422
        assert client.post("/v1/classify", json={"documents": [{"text": blank}]}).status_code == 422


def test_a_failed_warm_up_fails_startup_with_its_reason():
    from framing.service.batcher import Batcher
    from framing.service.metrics import Metrics

    class BrokenScorer:
        def warm_up(self) -> None:
            raise RuntimeError("arena could not grow")

    batcher = Batcher(BrokenScorer(), Metrics(), max_wait_ms=1, max_tokens=100)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="arena could not grow"):
        batcher.wait_ready()
    batcher._thread.join(5)
    assert not batcher._thread.is_alive()  # the worker stopped instead of serving cold


def test_page_scripts_are_served(client):
    for path in ("/static/trends.js", "/static/collection.js", "/static/vendor/chart.umd.min.js"):
        r = client.get(path)
        assert r.status_code == 200 and len(r.content) > 100, path
