# One image for migrate, web, worker and beat (docker-compose.yml picks the command).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint renders with Pango; fonts are shipped so PDFs never fetch any.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock .
# Exactly the locked files: every package pinned with its hashes, nothing resolved at build time.
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY . .
# collectstatic needs production settings; these values exist only for this build step (the
# production settings start only with a receipt key: a throwaway one, deleted in the same layer).
RUN export DJANGO_ENV=production SECRET_KEY=build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))') \
    ALLOWED_HOSTS=build DATABASE_URL=postgres://build@localhost/build EMAIL_URL=smtp://localhost:25 \
    REDIS_URL=redis://localhost:6379/0 \
    RECEIPT_KEYS_DIR=/tmp/build-keys \
 && python manage.py receipt_key create \
 && python manage.py collectstatic --noinput \
 && rm -rf /tmp/build-keys

RUN useradd --system --uid 1000 portal && mkdir -p /app/var/receipt-keys && chown -R portal /app/var
USER portal
EXPOSE 8000
# Liveness of the web process (no database needed); worker and beat set their own in compose.
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live/', timeout=5)"]
# Gunicorn's worker processes: WEB_CONCURRENCY (gunicorn reads it), 3 unless set.
ENV WEB_CONCURRENCY=3
CMD ["gunicorn", "rfp_portal.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--no-control-socket"]
