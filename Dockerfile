# Collab's container image: the same `collab` command as on any other machine (docs/deploy.md).
#   docker compose up --build       the whole thing: PostgreSQL, migrations, web and clock (compose.yaml)
#   docker build -t collab .        the image alone; then `docker run collab serve`, `... clock`, `... db upgrade`
# Override the base image (e.g. pinned by digest) with --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:...
ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: the locked dependencies and Collab's own wheel, in a virtual environment to copy whole
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/collab
WORKDIR /src
# The lock alone first, so this slow layer is rebuilt only when the lock changes. Every file is
# checked against its hash and only wheels are taken: nothing is compiled, nothing unpinned gets in.
COPY requirements.lock ./
RUN /opt/collab/bin/python -m pip install --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY matching ./matching
COPY models ./models
# No build isolation: the wheel is built with the setuptools pinned (and hashed) in the lock.
RUN /opt/collab/bin/python -m pip install --no-deps --no-build-isolation . \
 && /opt/collab/bin/python -m pip check

# ---- runtime: Python, the virtual environment, and an unprivileged user; no compilers, no source tree
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/collab/bin:$PATH \
    HOME=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=3000
RUN groupadd --system --gid 10001 collab \
 && useradd --system --uid 10001 --gid collab --home-dir /app --no-create-home --shell /usr/sbin/nologin collab \
 && install -d -o collab -g collab -m 0750 /app
COPY --from=build /opt/collab /opt/collab
WORKDIR /app
USER 10001:10001
EXPOSE 3000
# /healthz is 200 only when the database answers and its schema is current (503 otherwise). The
# image has no curl, so Python asks. Only the web process listens: compose.yaml switches this off
# for the clock and the one-off migration.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"
ENTRYPOINT ["collab"]
CMD ["serve"]
