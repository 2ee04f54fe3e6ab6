# syntax=docker/dockerfile:1
# Two stages. The builder installs the locked dependencies (exact versions, hashes
# checked) and the project into /opt/venv; the runtime stage gets that venv, the
# migrations and a start script, and nothing that built them.
ARG PYTHON_IMAGE=python:3.11-slim-trixie

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.lock requirements-build.lock ./
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --no-deps --require-hashes -r requirements-build.lock \
    && python -m venv --without-pip /opt/venv \
    && /opt/build/bin/pip --python /opt/venv/bin/python install \
        --no-deps --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /src/dist . \
    && /opt/build/bin/pip --python /opt/venv/bin/python install --no-deps /src/dist/*.whl

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FOLLOWUP_HOST=0.0.0.0 \
    FOLLOWUP_PORT=8000 \
    FOLLOWUP_DATABASE_URL=sqlite+aiosqlite:////data/followup.db
RUN groupadd --system --gid 10001 followup \
    && useradd --system --uid 10001 --gid followup --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin followup \
    && install -d -o 10001 -g 10001 -m 0750 /data
COPY --from=builder /opt/venv /opt/venv
# `followup migrate` finds alembic.ini and alembic/ in the working directory.
WORKDIR /app
COPY alembic.ini ./
COPY alembic ./alembic
COPY --chmod=0755 deploy/start.sh deploy/healthcheck.py ./deploy/
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py", "/healthz"]
# Migrate, then API and worker in one process (SQLite on /data by default). compose.yaml
# runs `followup migrate`, `followup api` and `followup worker` as separate services.
CMD ["/app/deploy/start.sh"]
