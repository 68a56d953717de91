"""Paywall rules in the Django admin (operations staff): every change goes through the
portal's versioning service, so it is a version in the title's (or the publisher
default's) history and an audit entry naming the staff member — the same as a
publisher's own change. Rule versions are read-only here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from config.exceptions import ApplicationError
from subscriptions.models import AccessRule, RuleScope

from . import services
from .models import RULE_FIELDS, RuleVersion

ADMIN_NOTE = "Changed in the Django admin"
DELETE_NOTE = "Deleted in the Django admin: inherits every value"
INHERIT_ALL = dict.fromkeys(RULE_FIELDS)


class AccessRuleForm(forms.ModelForm):
    note = forms.CharField(
        required=False,
        max_length=500,
        help_text="Why (kept with the new version in the title's history).",
    )

    class Meta:
        model = AccessRule
        fields = ["scope", "publisher", "publication", *RULE_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            services.rule_clean(**{name: data.get(name) for name in RULE_FIELDS})
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None
        return data


def _publish(*, request: HttpRequest, rule: AccessRule, values: dict[str, Any], note: str) -> None:
    if rule.scope == RuleScope.SITE:
        services.site_rule_set(actor=request.user, **values)
        return
    publication = rule.publication
    publisher = publication.publisher if publication is not None else rule.publisher
    assert publisher is not None
    services.rule_publish(
        actor=request.user,
        role="admin",  # the admin's own permission (change_accessrule) was checked
        publisher=publisher,
        publication=publication,
        note=note,
        **values,
    )


@admin.register(AccessRule)
class AccessRuleAdmin(admin.ModelAdmin):
    form = AccessRuleForm
    list_display = (
        "scope",
        "publisher",
        "publication",
        "access_level",
        "free_articles_cap",
        "preview_paragraphs",
        "updated_at",
    )
    list_filter = ("scope", "access_level")
    raw_id_fields = ("publisher", "publication")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A saved rule's scope is what its history belongs to.
        return ("scope", "publisher", "publication") if obj else ()

    def save_model(self, request: HttpRequest, obj: AccessRule, form: Any, change: bool) -> None:
        values = {name: getattr(obj, name) for name in RULE_FIELDS}
        note = form.cleaned_data.get("note") or ADMIN_NOTE
        with transaction.atomic():
            _publish(request=request, rule=obj, values=values, note=note)
            saved = AccessRule.objects.get(
                scope=obj.scope, publisher=obj.publisher, publication=obj.publication
            )
        obj.pk, obj.updated_at = saved.pk, saved.updated_at

    def delete_model(self, request: HttpRequest, obj: AccessRule) -> None:
        # A deletion is published as a version that inherits everything: the history
        # keeps what was there, and rolling back restores it.
        _publish(request=request, rule=obj, values=INHERIT_ALL, note=DELETE_NOTE)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessRule]) -> None:
        with transaction.atomic():
            for rule in queryset.select_related("publication__publisher", "publisher"):
                self.delete_model(request, rule)


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    """The history is written only by publishing: read it here."""

    list_display = (
        "created_at",
        "publisher",
        "publication",
        "number",
        *RULE_FIELDS,
        "created_by",
        "note",
    )
    list_select_related = ("publisher", "publication", "created_by")
    list_filter = ("publisher",)
    search_fields = ("publication__slug", "publisher__slug", "note")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
