"""pytest: fast hashing, in-memory cache and mail, the devtools app, and eager Celery: a
task enqueued (after commit) runs at once in the test's process and its errors propagate.
Tests that need a real worker and broker are marked `integration`."""

from .base import *  # noqa: F403
from .base import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]

SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghij"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = ":memory:"
    DATABASES["default"]["OPTIONS"] = {}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Read events stay in this process until a test flushes them (tests of the Redis sink
# switch it on themselves).
READ_EVENTS_SINK = "memory"
READ_EVENTS_BATCH = 1000
# Every webhook intake asks for a drain and every drain's last look is at once (the
# tests of the hold set it themselves).
STRIPE_EVENTS_WAKE_HOLD_MS = 0
