"""Micro-batching: concurrent requests share onnxruntime calls.

Requests queue up; one worker thread takes what has arrived within a short wait
(up to a token budget), runs one `predict` over every sentence of every request,
then splits the results back, each request with its own thresholds. Inference
never runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field

from framing.model.scorer import DocumentResult, Scorer, Thresholds, model_inputs
from framing.model.segment import Span, split_sentences
from framing.service.metrics import Metrics

log = logging.getLogger(__name__)


@dataclass
class _Job:
    spans: list[list[Span]]
    thresholds: Thresholds | None
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    tokens: int = 0
    enqueued: float = field(default_factory=time.perf_counter)


class Overloaded(Exception):
    """The queue holds as much work as it may: the request is refused at once (503)."""

    def __init__(self, retry_after: int, queued_tokens: int) -> None:
        super().__init__(f"{queued_tokens} tokens queued")
        self.retry_after, self.queued_tokens = retry_after, queued_tokens


class Batcher:
    def __init__(
        self,
        scorer: Scorer,
        metrics: Metrics,
        max_wait_ms: float,
        max_tokens: int,
        max_queued_tokens: int = 0,
    ) -> None:
        self.scorer, self.metrics = scorer, metrics
        self.max_wait = max_wait_ms / 1000
        self.max_tokens = max_tokens
        # Backpressure: the tokens of the requests accepted and not yet answered are bounded, so an
        # accepted request waits at most about max_queued_tokens / throughput. 0: no bound.
        self.max_queued = max_queued_tokens
        self._queued = 0
        self._lock = threading.Lock()
        self._rate: float | None = None  # tokens per second, a moving average over batches
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._warmed = threading.Event()
        self._warm_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    def wait_ready(self) -> None:
        """Block until the worker has run the scorer's warm-up; re-raise its failure."""
        self._warmed.wait()
        if self._warm_error is not None:
            raise self._warm_error

    def retry_after(self) -> int:
        """Seconds until the queued work is likely done, by the measured throughput (1 to 60)."""
        rate = self._rate or self.max_queued / 2 or 1.0
        return max(1, min(60, math.ceil(self._queued / rate)))

    def _admit(self, tokens: int) -> None:
        with self._lock:
            # A request that finds nothing queued is always taken, however large: else it never would be.
            if self.max_queued and self._queued and self._queued + tokens > self.max_queued:
                raise Overloaded(self.retry_after(), self._queued)
            self._queued += tokens
            self.metrics.queued_tokens.set(self._queued)

    def _release(self, tokens: int) -> None:
        with self._lock:
            self._queued -= tokens
            self.metrics.queued_tokens.set(self._queued)

    async def score(self, texts: list[str], thresholds: Thresholds | None) -> list[DocumentResult]:
        """Score `texts` in the next batch; raises Overloaded at once when the queue is full."""
        self.scorer.check_thresholds(thresholds)
        # ~4 characters a token in English news: good enough for a batch budget and the bound.
        tokens = sum(len(t) for t in texts) // 4 + 1
        self._admit(tokens)  # before any work is spent on the request
        try:
            loop = asyncio.get_running_loop()
            spans = [split_sentences(t) for t in texts]
            job = _Job(spans, thresholds, loop.create_future(), loop, tokens)
        except BaseException:
            self._release(tokens)
            raise
        self._queue.put(job)
        return await job.future

    def close(self, timeout: float = 30.0) -> None:
        """Finish the queued jobs, then stop the worker."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs, tokens, stop = [first], first.tokens, False
        # A request alone in the queue is not kept waiting for company: at low load the wait
        # would only add latency. Once others are queued, more may arrive within max_wait.
        deadline = time.perf_counter() + (self.max_wait if not self._queue.empty() else 0.0)
        while tokens < self.max_tokens:
            remaining = deadline - time.perf_counter()
            try:
                job = (
                    self._queue.get(timeout=max(remaining, 0)) if remaining > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if job is None:
                stop = True
                break
            jobs.append(job)
            tokens += job.tokens
        return jobs, stop

    def _run(self) -> None:
        # Warm up on this thread: it is the one that calls onnxruntime for every request.
        try:
            self.scorer.warm_up()
        except Exception as e:  # noqa: BLE001 - re-raised by wait_ready in lifespan
            self._warm_error = e
            return
        finally:
            self._warmed.set()
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            jobs, stop = self._collect(first)
            started = time.perf_counter()
            try:
                per_job = [model_inputs(job.spans) for job in jobs]
                flat = [text for texts, _ in per_job for text in texts]
                probs, truncated = self.scorer.predict(flat, [c for _, contexts in per_job for c in contexts])
                self.metrics.batch_requests.observe(len(jobs))
                self.metrics.batch_sentences.observe(len(flat))
                k = 0
                for job, (texts, _) in zip(jobs, per_job, strict=True):
                    n = len(texts)
                    docs = self.scorer.assemble(
                        job.spans, probs[k : k + n], truncated[k : k + n], job.thresholds
                    )
                    k += n
                    job.loop.call_soon_threadsafe(_resolve, job.future, docs, None)
                rate = sum(job.tokens for job in jobs) / max(time.perf_counter() - started, 1e-3)
                self._rate = rate if self._rate is None else 0.8 * self._rate + 0.2 * rate
            except Exception as e:  # noqa: BLE001 - handed to every waiting request
                log.exception("inference failed")
                for job in jobs:
                    job.loop.call_soon_threadsafe(_resolve, job.future, None, e)
            finally:
                self._release(sum(job.tokens for job in jobs))


def _resolve(future: asyncio.Future, result: object, error: BaseException | None) -> None:
    if future.done():  # the client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
