# syntax=docker/dockerfile:1
# MLflow tracking server and model registry: SQLite backend and proxied artifacts, both on
# the mlflow-data volume. The version matches the engine's MLflow client (pyproject.toml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=1

RUN pip install mlflow==3.17.2 \
 && useradd --create-home --uid 10001 mlflow \
 && mkdir -p /data/mlflow/artifacts \
 && chown -R mlflow:mlflow /data

USER mlflow
VOLUME ["/data/mlflow"]
EXPOSE 5000
CMD ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000"]
