"""`decide()`: the paywall's rule table as a pure function (no ORM, no clock).

Given who the reader is, the article's resolved level and the reader's meter, it says
whether to show the full text and why, and whether this read must be counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..vocabulary import AccessLevel, EntitlementReason, Reason


@dataclass(frozen=True)
class Reader:
    authenticated: bool
    entitlement: EntitlementReason | None = None  # None: not entitled


@dataclass(frozen=True)
class Rule:
    """A title's resolved rule, with the article override already applied to `level`."""

    level: str
    preview_paragraphs: int = 2
    free_articles_cap: int | None = None


@dataclass(frozen=True)
class Meter:
    """The reader's meter for this window, before this read."""

    limit: int  # the site's metered articles per window
    used: int  # metered reads counted in this window
    used_in_title: int = 0  # of which from this article's title
    title_cap: int | None = None
    already_counted: bool = False  # this very article was counted in this window


@dataclass(frozen=True)
class MeterState:
    limit: int
    used: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def as_dict(self) -> dict[str, int]:
        return {"limit": self.limit, "used": self.used, "remaining": self.remaining}


@dataclass(frozen=True)
class Decision:
    granted: bool
    reason: str
    level: str
    meter: MeterState | None = None
    preview_paragraphs: int = 2
    count_read: bool = False  # record a meter entry for this read

    def as_dict(self) -> dict[str, Any]:
        return {
            "granted": self.granted,
            "reason": self.reason,
            "level": self.level,
            "meter": self.meter.as_dict() if self.meter else None,
        }


def meter_state(meter: Meter, *, counting: bool) -> MeterState:
    """The limit that binds this article (the site's, or the title's cap when it leaves
    fewer reads) and the reads counted against it, after this read if `counting`."""
    extra = 1 if counting else 0
    site = MeterState(limit=meter.limit, used=min(meter.used + extra, meter.limit))
    if meter.title_cap is None:
        return site
    title = MeterState(
        limit=meter.title_cap, used=min(meter.used_in_title + extra, meter.title_cap)
    )
    return title if title.remaining <= site.remaining else site


def decide(*, reader: Reader, rule: Rule, meter: Meter | None) -> Decision:
    level = rule.level

    def wall(reason: str, state: MeterState | None = None) -> Decision:
        return Decision(False, reason, level, state, rule.preview_paragraphs)

    def grant(reason: str, state: MeterState | None = None, count: bool = False) -> Decision:
        return Decision(True, reason, level, state, rule.preview_paragraphs, count)

    if level == AccessLevel.FREE:
        return grant(Reason.FREE)
    if reader.entitlement:
        return grant(reader.entitlement)
    if level == AccessLevel.REGISTERED:
        return (
            grant(Reason.REGISTERED) if reader.authenticated else wall(Reason.REGISTRATION_REQUIRED)
        )
    if level == AccessLevel.METERED:
        if meter is None:  # no way to meter this reader: treat as an exhausted meter
            return wall(Reason.METER_EXHAUSTED)
        if meter.already_counted:
            return grant(Reason.METERED, meter_state(meter, counting=False))
        before = meter_state(meter, counting=False)
        if before.remaining > 0:
            return grant(Reason.METERED, meter_state(meter, counting=True), count=True)
        return wall(Reason.METER_EXHAUSTED, before)
    return wall(Reason.SUBSCRIBERS_ONLY)
