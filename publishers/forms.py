"""The portal's forms: they only check shapes; services check the rules again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from subscriptions.vocabulary import AccessLevel, ArticleAccess

from .services import MAX_CAP, MAX_PREVIEW
from .stats import MAX_PERIOD_DAYS, BadPeriod, stats_period


class RuleForm(forms.Form):
    access_level = forms.ChoiceField(
        label="Access level",
        choices=[("", "Inherit"), *list(AccessLevel.choices)],
        required=False,
        help_text="Free: everyone. Metered: counts against the reader's free articles. "
        "Registered: any signed-in reader. Subscribers only: entitled readers.",
    )
    free_articles_cap = forms.IntegerField(
        label="Free articles cap",
        required=False,
        min_value=0,
        max_value=MAX_CAP,
        help_text="At most this many metered reads per month from this title "
        f"(0 to {MAX_CAP}; empty inherits).",
    )
    preview_paragraphs = forms.IntegerField(
        label="Preview paragraphs",
        required=False,
        min_value=0,
        max_value=MAX_PREVIEW,
        help_text=f"Paragraphs shown above the wall (0 to {MAX_PREVIEW}; empty inherits).",
    )
    note = forms.CharField(
        label="Note (why)",
        required=False,
        max_length=500,
        help_text="Kept with the version in the history.",
        widget=forms.TextInput,
    )

    def __init__(self, *args: Any, inherited: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name, value in (inherited or {}).items():
            field = self.fields[name]
            shown = "none" if value is None else value
            field.help_text = f"{field.help_text} Inherited value: {shown}."


class ArticleFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    title = forms.ChoiceField(label="Title", required=False)
    level = forms.ChoiceField(
        label="Article setting",
        required=False,
        choices=[("", "Any"), *list(ArticleAccess.choices)],
    )

    def __init__(self, *args: Any, titles: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        title = self.fields["title"]
        assert isinstance(title, forms.ChoiceField)
        title.choices = [("", "All titles"), *titles]


class OverrideForm(forms.Form):
    access_level = forms.ChoiceField(
        label="Set the selected articles to", choices=ArticleAccess.choices
    )


class PeriodForm(forms.Form):
    start = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict[str, Any]:
        """`start` and `end` become the period shown, defaults included."""
        data = super().clean() or {}
        try:
            data["start"], data["end"] = stats_period(
                first=data.get("start"), last=data.get("end"), today=timezone.now().date()
            )
        except BadPeriod as bad:
            raise forms.ValidationError(
                "The start must not be after the end."
                if bad.reversed
                else f"The period is at most {MAX_PERIOD_DAYS} days."
            ) from None
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(label="Colleague's email")
    role = forms.ChoiceField(
        label="Role", choices=[("editor", "Editor (article overrides, stats)"), ("admin", "Admin")]
    )
