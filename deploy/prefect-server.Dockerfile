# syntax=docker/dockerfile:1
# Prefect server (API and UI). The version matches the engine's Prefect client
# (pyproject.toml); a server and its workers must run the same minor version.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFECT_HOME=/data/prefect \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1

RUN pip install prefect==3.9.1 \
 && useradd --create-home --uid 10001 prefect \
 && mkdir -p /data/prefect \
 && chown -R prefect:prefect /data

USER prefect
VOLUME ["/data/prefect"]
EXPOSE 4200
CMD ["prefect", "server", "start", "--host", "0.0.0.0"]
