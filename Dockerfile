# INTRALOG Leads Manager: one image for the web server, the worker and the scheduler.
#   docker build -t intralog .
#   docker run --env-file intralog.env -p 8000:8000 intralog                        # web (gunicorn)
#   docker run --env-file intralog.env intralog python manage.py rqworker high default low --with-scheduler
#   docker run --env-file intralog.env intralog python manage.py rqcron intralog.schedule
#   docker run --env-file intralog.env intralog python manage.py migrate --no-input   # on each upgrade
# Secrets come from the environment at run time, never from the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=intralog.settings.production \
    MEDIA_ROOT=/data/media \
    CONVERSATIONS_MEDIA_ROOT=/data/private/conversations \
    BACKUP_DIR=/data/backups \
    LOG_FORMAT=json \
    WEB_WORKERS=3

# pg_dump and pg_restore for manage.py backup/restore.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system intralog && useradd --system --gid intralog --home-dir /app --shell /usr/sbin/nologin intralog

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=intralog:intralog . .
# Static files are collected at build time (served by WhiteNoise); the key here is used for nothing else.
RUN SECRET_KEY=build-only-collectstatic-key-not-used-at-run-time-0123456789 \
    python manage.py collectstatic --no-input --verbosity 0 \
    && mkdir -p /data/media /data/private/conversations /data/backups \
    && chown -R intralog:intralog /data

USER intralog
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "manage.py", "probe", "http://127.0.0.1:8000/healthz"]
CMD ["sh", "-c", "exec gunicorn intralog.wsgi --workers ${WEB_WORKERS} --bind 0.0.0.0:8000 --access-logfile -"]
