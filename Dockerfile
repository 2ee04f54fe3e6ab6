FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FOLLOWUP_HOST=0.0.0.0 \
    FOLLOWUP_PORT=8000 \
    FOLLOWUP_DATABASE_URL=sqlite+aiosqlite:////data/followup.db

RUN groupadd --system followup && useradd --system --gid followup --home-dir /app followup \
    && mkdir -p /data && chown followup:followup /data

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY alembic ./alembic
RUN pip install .

USER followup
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"

CMD ["followup", "api"]
