# One image for every app service in docker-compose.yml: the one-shot migrate step, the web
# server (gunicorn), the Celery worker and Celery beat. Settings come from the environment
# (docker-compose.yml passes .env); nothing secret is baked in. See docs/deploying.md.
FROM python:3.11-slim

# settings.py finds templates/, static/ and node_modules/ beside the code, so the code runs
# from /app (PYTHONPATH); `pip install .` below is what brings in the dependencies.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

# Node.js and npm only install the front-end packages (NHS.UK frontend, htmx, Chart.js); there
# is no front-end build step.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 londonmh \
    && useradd --system --uid 10001 --gid londonmh --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin londonmh

WORKDIR /app

# npm packages first: they change less often than the code, so this layer is usually cached.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

COPY . .
RUN pip install . && rm -rf build *.egg-info

# Hashed, compressed static files for WhiteNoise. Settings refuse to load without a secret key
# and allowed hosts when DEBUG is off; these placeholders exist only for this build step.
RUN DEBUG=false SECRET_KEY=collectstatic-only-not-a-secret ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput -v 0

# The only folder the app writes to: Celery beat's schedule file (a volume in docker-compose.yml).
RUN mkdir -p /app/.local && chown londonmh:londonmh /app/.local

USER londonmh
EXPOSE 8000
CMD ["gunicorn", "londonmh.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
