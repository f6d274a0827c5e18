"""Prometheus metrics, on a registry of the app's own (so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "framing_requests_total", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "framing_request_seconds",
            "request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.documents = Counter("framing_documents_total", "documents scored", registry=self.registry)
        self.sentences = Counter("framing_sentences_total", "sentences scored", registry=self.registry)
        self.batch_requests = Histogram(
            "framing_batch_requests",
            "requests merged into one inference batch",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.batch_sentences = Histogram(
            "framing_batch_sentences",
            "sentences in one inference batch",
            buckets=(1, 8, 32, 64, 128, 256, 512, 1024, 4096),
            registry=self.registry,
        )
        self.labels = Counter(
            "framing_labels_total", "labels emitted", ["head", "label"], registry=self.registry
        )
        self.shed = Counter(
            "framing_shed_total",
            "requests refused at once with 503 because the queue held FRAMING_QUEUE_MAX_TOKENS",
            registry=self.registry,
        )
        self.queued_tokens = Gauge(
            "framing_queued_tokens",
            "approximate tokens of the requests accepted and not yet answered",
            registry=self.registry,
        )
