"""The paywall facade: the one place article access is decided.

Both the article API and the article page call `article_access()`; nothing else in
`articles` decides who may read what. This first version grants everything (reason
`free`); the paywall engine replaces the inside, not the interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "granted": self.granted,
            "reason": self.reason,
            "level": self.level,
            "meter": self.meter.as_dict() if self.meter else None,
        }


def resolved_level(article: Any) -> str:
    """The article's effective access level (override, else the default)."""
    level = getattr(article, "access_level", "inherit")
    return "free" if level == "inherit" else str(level)


def article_access(request: HttpRequest, article: Any) -> Decision:
    return Decision(granted=True, reason="free", level=resolved_level(article))


def publication_level(publication: Any) -> str:
    """A title's default access level for its articles."""
    return "free"


def publication_cap(publication: Any) -> int | None:
    """A title's own cap inside the meter; None when it sets none."""
    return None
