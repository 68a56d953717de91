"""Template filters for the reader's lists."""

from django import template

from subscriptions import paywall

from ..models import Article

register = template.Library()


@register.filter
def resolved_level(article: Article) -> str:
    """The level a reader meets (the article's override, else its title's rule), as the
    API's `access_level` gives it: the field itself says `inherit` for most articles."""
    return paywall.resolved_level(article)
