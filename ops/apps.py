from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OpsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ops"
    verbose_name = "Operations dashboard"

    def ready(self) -> None:
        from .permissions import on_post_migrate

        # Sent once per app with models (ops has none): grant after each of ours.
        post_migrate.connect(on_post_migrate, dispatch_uid="ops-view-grant")
