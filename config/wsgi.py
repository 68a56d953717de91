import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

application = get_wsgi_application()

# Refuse to serve (rather than answer every page 500) when static files were not collected.
from config.staticfiles import ensure_collected  # noqa: E402

ensure_collected()
