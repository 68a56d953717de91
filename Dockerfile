FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=config.settings.production
WORKDIR /app
COPY pyproject.toml ./
COPY config ./config
COPY accounts ./accounts
COPY articles ./articles
COPY subscriptions ./subscriptions
COPY templates ./templates
COPY manage.py ./
RUN pip install --no-cache-dir . && \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" python manage.py collectstatic --noinput -v 0
RUN useradd --create-home masthead && mkdir -p /app/var && chown masthead /app/var
USER masthead
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--no-control-socket", "--access-logfile", "-"]
