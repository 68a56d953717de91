from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from . import signals

        signals.connect()
