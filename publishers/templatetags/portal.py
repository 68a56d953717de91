"""The portal's words for stored values: one vocabulary with the rule form's choices."""

from django import template

from subscriptions.vocabulary import AccessLevel

register = template.Library()


@register.filter
def level_label(value: object) -> object:
    """An access level's name as the rule form offers it ("premium" -> "Subscribers
    only"); anything else (empty, "inherit") unchanged."""
    if isinstance(value, str) and value in AccessLevel.values:
        return AccessLevel(value).label
    return value
