from django.contrib import admin

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


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "publication", "published_at", "access_level", "news_value")
    list_select_related = ("publication",)
    list_filter = ("access_level", "topics")
    search_fields = ("title", "slug", "author")
    date_hierarchy = "published_at"
    raw_id_fields = ("publication",)
    filter_horizontal = ("topics",)


@admin.register(EditorialPick)
class EditorialPickAdmin(admin.ModelAdmin):
    list_display = ("article", "position", "starts_at", "ends_at")
    raw_id_fields = ("article",)


@admin.register(PublisherStaff)
class PublisherStaffAdmin(admin.ModelAdmin):
    list_display = ("user", "publisher", "created_at")
    raw_id_fields = ("user",)
