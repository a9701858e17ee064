# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint renders with Pango; fonts are shipped so PDFs never fetch any.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock .
RUN pip install -r requirements.lock

COPY . .
# collectstatic needs production settings; these values exist only for this build step.
RUN DJANGO_ENV=production SECRET_KEY=build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))') \
    ALLOWED_HOSTS=build DATABASE_URL=postgres://build@localhost/build EMAIL_URL=smtp://localhost:25 \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 portal && mkdir -p /app/var/receipt-keys && chown -R portal /app/var
USER portal
EXPOSE 8000
CMD ["gunicorn", "rfp_portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
