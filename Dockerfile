# Two images: `site` (web, rq worker, sweeper; the default) and `agent` (the simulated agent of
# `docker compose --profile demo`). Real agents run on the PCs next to the devices (docs/agent.md).
# tests/test_deploy.py runs the site stage's steps in a fresh venv.

FROM python:3.11-slim AS agent
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends libusb-1.0-0 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --uid 1000 qingka && install -d -o qingka /var/lib/qingka-agent
ENV QINGKA_STATE_DIR=/var/lib/qingka-agent
COPY agent /src/agent
COPY requirements/agent.txt /src/agent/requirements.txt
RUN pip install --no-cache-dir --require-hashes -r /src/agent/requirements.txt
RUN pip install --no-cache-dir --no-deps /src/agent
USER qingka
CMD ["qingka-agent", "run"]

FROM python:3.11-slim AS site
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN useradd --system --uid 1000 qingka
COPY requirements/site.txt ./requirements.txt
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY pyproject.toml README.md ./
COPY config ./config
COPY apps ./apps
RUN pip install --no-cache-dir --no-deps .
COPY . .
RUN DATABASE_URL=postgres://build@localhost/build SECRET_KEY=build FIELD_ENCRYPTION_KEY=ZmFrZS1idWlsZC1rZXktZmFrZS1idWlsZC1rZXktMDA= \
    python manage.py collectstatic --noinput
USER qingka
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
