# The API image: gunicorn + uvicorn workers, configured by gunicorn.py.ini.
# Classic-builder syntax only (no BuildKit features), so any Docker Engine builds it.
# The base is an argument so a mirrored or locally built image can stand in for it.
ARG PYTHON_IMAGE=python:3.13-slim

# --- build: the locked dependencies (uv.lock) in a virtual environment -----------------------
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_SYSTEM_CERTS=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /build
# Only the lock and the project file: this layer is rebuilt when dependencies change, not code.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3 \
    && rm -rf /root/.cache

# --- runtime: the environment and the code, nothing else ------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG APP_VERSION=dev
LABEL org.opencontainers.image.title="fastapi-service-template" \
      org.opencontainers.image.version="${APP_VERSION}"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENV_FILE="" \
    API_HOST=0.0.0.0 \
    API_PORT=8000
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY main.py constants.py version.py gunicorn.py.ini ./
COPY app ./app
COPY utils ./utils
# The migrations: the `migrate` one-shot runs dbmate on them, and the app compares the newest
# one with the database's schema_migrations (readiness).
COPY db ./db
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-m", "utils.healthcheck"]
CMD ["python", "-m", "gunicorn", "-c", "python:utils.gunicorn_config", "main:app"]

# --- mail-catcher: the compose dev stack's SMTP catcher (development only, never production) -
# The same catcher `make local` runs (tools/devstack/mail_catcher.py): aiosmtpd alone in its
# environment (the lock's `mail-catcher` group) and the three modules it imports, no app code.
FROM build AS mail-catcher-build
RUN UV_PROJECT_ENVIRONMENT=/opt/mail-venv uv sync --frozen --only-group mail-catcher \
        --no-install-project --python /usr/local/bin/python3 \
    && rm -rf /root/.cache

FROM ${PYTHON_IMAGE} AS mail-catcher
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# /mail: where each message is written (compose mounts run/mail/ there).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app \
    && install -d -o 10001 -g 10001 /mail
WORKDIR /app
COPY --from=mail-catcher-build /opt/mail-venv /opt/venv
COPY tools/__init__.py ./tools/__init__.py
COPY tools/devstack/__init__.py tools/devstack/mail_catcher.py tools/devstack/processes.py \
     ./tools/devstack/
USER 10001:10001
EXPOSE 1025
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import smtplib; smtplib.SMTP('127.0.0.1', 1025, timeout=2).quit()"]
CMD ["python", "-m", "tools.devstack.mail_catcher", "--host", "0.0.0.0", "--port", "1025", "--folder", "/mail"]

# >>> part:gateway
# --- echo: the sample downstream service behind the gateway (compose only, never production) -
# Built as its own target so the API image above carries no tooling.
FROM runtime AS echo
COPY tools/__init__.py ./tools/__init__.py
COPY tools/downstream ./tools/downstream
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-m", "utils.healthcheck", "http://127.0.0.1:9000/"]
CMD ["python", "-m", "tools.downstream.echo", "--host", "0.0.0.0", "--port", "9000"]
# <<< part:gateway
