# syntax=docker/dockerfile:1
# Multi-stage: wheels are built in a full image, the runtime image only installs them.

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml README.md ./
RUN mkdir gateway && touch gateway/__init__.py \
    && pip wheel --wheel-dir /wheels . \
    && rm -rf gateway
COPY gateway ./gateway
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GATEWAY_ENV=production GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8000
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --home-dir /app --shell /usr/sbin/nologin gateway
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY --chown=gateway:gateway sql ./sql
COPY --chown=gateway:gateway schema.graphql ./
ENV GATEWAY_SQL_DIR=/app/sql GATEWAY_SCHEMA_PATH=/app/schema.graphql
USER gateway
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=2).status == 200 else 1)"]
# uvicorn directly, with a bounded graceful shutdown. The app itself takes the client's
# address from X-Forwarded-For, and only when the peer is one of FORWARDED_ALLOW_IPS
# (loopback unless the deployment names its proxy), so uvicorn's own handling is off; the
# app also sets logging up (JSON lines, LOG_LEVEL) and writes the access log itself.
CMD ["uvicorn", "gateway.app:app_from_env", "--factory", "--host", "0.0.0.0", "--port", "8000", \
     "--no-proxy-headers", "--timeout-graceful-shutdown", "25", \
     "--no-access-log", "--loop", "uvloop", "--http", "httptools"]
