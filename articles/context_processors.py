from typing import Any

from django.conf import settings
from django.http import HttpRequest

_NUMBERS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty",
]  # fmt: skip


def trial_offer(days: int) -> str:
    """The pitch for a trial of this many days: "Fourteen days free", "30 days free"."""
    count = _NUMBERS[days] if 0 < days < len(_NUMBERS) else str(days)
    return f"{count} day{'' if days == 1 else 's'} free".capitalize()


def offer() -> dict[str, Any]:
    """The trial and the meter as the pages word them, from the settings (TRIAL_DAYS,
    TRIAL_REQUIRES_CARD, METER_WINDOW): the wall's story is rendered without a request's
    context processors, so it takes these directly."""
    rolling = settings.METER_WINDOW == "rolling"
    return {
        "TRIAL_OFFER": trial_offer(settings.TRIAL_DAYS),
        "TRIAL_DAYS": settings.TRIAL_DAYS,
        "TRIAL_NEEDS_CARD": settings.TRIAL_REQUIRES_CARD,
        # "You have read your free articles …" / "You have 3 free articles left …"
        "METER_PERIOD": f"in the last {settings.METER_ROLLING_DAYS} days"
        if rolling
        else "this month",
        "METER_LEFT": (
            f"; each read counts for {settings.METER_ROLLING_DAYS} days"
            if rolling
            else " this month"
        ),
    }


def site(request: HttpRequest) -> dict[str, Any]:
    return {"SITE_NAME": settings.SITE_NAME, **offer()}
