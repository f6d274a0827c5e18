"""POST /v1/classify."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request

from framing.service.auth import require_api_key
from framing.service.batcher import Overloaded
from framing.service.deps import BatcherDep, MetricsDep, ScorerDep, SettingsDep
from framing.service.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    DocumentResult,
    ErrorResponse,
    ModelRef,
)

router = APIRouter(dependencies=[Depends(require_api_key)])


def require_json(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HTTPException(415, f"content type must be application/json, got {ctype or 'none'!r}")


@router.post(
    "/v1/classify",
    response_model=ClassifyResponse,
    response_model_exclude_none=True,
    dependencies=[Depends(require_json)],
    responses={
        400: {"model": ErrorResponse},
        401: {"model": ErrorResponse},
        413: {"model": ErrorResponse},
        415: {"model": ErrorResponse},
        422: {"model": ErrorResponse},
        503: {
            "model": ErrorResponse,
            "description": "the queue is full (FRAMING_QUEUE_MAX_TOKENS): retry after `Retry-After` seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
        },
    },
    summary="Label every sentence of one or more documents",
)
async def classify(
    body: ClassifyRequest, settings: SettingsDep, scorer: ScorerDep, batcher: BatcherDep, metrics: MetricsDep
) -> ClassifyResponse:
    docs = body.docs()
    if len(docs) > settings.max_documents:
        raise HTTPException(413, f"{len(docs)} documents > limit {settings.max_documents}")
    for i, d in enumerate(docs):
        if len(d.text) > settings.max_chars:
            raise HTTPException(413, f"documents[{i}]: {len(d.text)} characters > limit {settings.max_chars}")
    thresholds = body.options.thresholds or None
    try:
        results = await batcher.score([d.text for d in docs], thresholds)
    except ValueError as e:  # threshold overrides naming unknown heads or labels
        raise HTTPException(422, str(e)) from None
    except Overloaded as e:  # shed at once: a bounded queue keeps accepted requests' latency bounded
        metrics.shed.inc()
        raise HTTPException(
            503,
            f"the service is busy ({e.queued_tokens} tokens queued); retry in {e.retry_after} s",
            headers={"Retry-After": str(e.retry_after)},
        ) from None
    out = []
    for d, r in zip(docs, results, strict=True):
        metrics.documents.inc()
        metrics.sentences.inc(len(r.sentences))
        for s in r.sentences:
            for head, labels in s.labels.items():
                for label in labels if isinstance(labels, list) else [labels]:
                    metrics.labels.labels(head, label).inc()
        payload = r.to_dict(body.options.include_sentences)
        out.append(DocumentResult(id=d.id, **payload))
    return ClassifyResponse(model=ModelRef(name=scorer.schema.name, version=scorer.version), documents=out)
