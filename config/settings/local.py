"""`make run` and `manage.py`: debug on unless DJANGO_DEBUG=0, plain-HTTP cookies."""

from config.env import env_bool

from .base import *  # noqa: F403
from .base import INSTALLED_APPS

# Demo data and the Stripe double (load_demo, stripe_double_setup): never in production.
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]
DEBUG = env_bool("DJANGO_DEBUG", True)
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
