"""GET /v1/model, /healthz, /readyz, /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from framing.service.auth import require_api_key
from framing.service.deps import MetricsDep, ModelMetricsDep, ReadyScorerDep, ScorerDep
from framing.service.schemas import HeadInfo, ModelInfo

router = APIRouter()


@router.get(
    "/v1/model",
    response_model=ModelInfo,
    dependencies=[Depends(require_api_key)],
    summary="Heads, labels, thresholds and evaluation summary of the served model",
)
def model_info(scorer: ScorerDep, model_metrics: ModelMetricsDep) -> ModelInfo:
    schema = scorer.schema
    evals = model_metrics.eval if model_metrics else {}
    summary = {
        split: {head: {"macro_f1": hm.macro_f1, "micro_f1": hm.micro_f1} for head, hm in m.heads.items()}
        for split, m in evals.items()
    }
    return ModelInfo(
        name=schema.name,
        version=scorer.version,
        schema_version=schema.schema_version,
        precision=scorer.session.precision,
        base_model=schema.base_model,
        max_length=schema.max_length,
        heads=[
            HeadInfo(name=h.name, type=h.type, labels=h.labels, thresholds=h.thresholds) for h in schema.heads
        ],
        metrics=summary,
    )


@router.get("/healthz", summary="Process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Model loaded and warmed up", responses={503: {"description": "not ready"}})
def readyz(scorer: ReadyScorerDep) -> Response:
    if scorer is not None:
        return JSONResponse({"status": "ready", "model_version": scorer.version})
    return JSONResponse({"status": "loading"}, status_code=503)


@router.get(
    "/metrics", dependencies=[Depends(require_api_key)], summary="Prometheus metrics", response_class=Response
)
def metrics(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
