from django.apps import AppConfig


class PublishersConfig(AppConfig):
    name = "publishers"
    verbose_name = "Publisher portal"
    default_auto_field = "django.db.models.BigAutoField"
