"""`make run` and `manage.py`: debug on unless DJANGO_DEBUG=0, plain-HTTP cookies."""

from config.env import env_bool

from .base import *  # noqa: F403

DEBUG = env_bool("DJANGO_DEBUG", True)
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
