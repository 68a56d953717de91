from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from . import services
from .models import Article, EditorialPick, Publication, Publisher, PublisherStaff, Topic


@admin.register(Publisher)
class PublisherAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):
    list_display = ("name", "publisher", "slug")
    list_select_related = ("publisher",)
    search_fields = ("name", "slug")
    list_filter = ("publisher",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


class ArticleAdminForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = (
            "publication",
            "slug",
            "title",
            "standfirst",
            "author",
            "body",
            "published_at",
            "topics",
            "access_level",
            "news_value",
        )

    def clean_body(self) -> str:
        """Show the editor the body as it will be stored (and refuse one that is all attack)."""
        return services.article_body_clean(self.cleaned_data["body"])


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = ("title", "publication", "published_at", "access_level", "news_value")
    list_select_related = ("publication",)
    list_filter = ("access_level", "topics")
    search_fields = ("title", "slug", "author")
    date_hierarchy = "published_at"
    raw_id_fields = ("publication",)
    filter_horizontal = ("topics",)

    def save_model(self, request: HttpRequest, obj: Article, form: Any, change: bool) -> None:
        services.article_save(article=obj)


@admin.register(EditorialPick)
class EditorialPickAdmin(admin.ModelAdmin):
    list_display = ("article", "position", "starts_at", "ends_at")
    raw_id_fields = ("article",)


@admin.register(PublisherStaff)
class PublisherStaffAdmin(admin.ModelAdmin):
    list_display = ("user", "publisher", "created_at")
    raw_id_fields = ("user",)
