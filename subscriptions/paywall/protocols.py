"""What the paywall needs of the things `articles` hands it: the facade names these
shapes instead of importing the catalogue's models (it knows articles only by string)."""

from __future__ import annotations

from typing import Any, Protocol


class PaywalledArticle(Protocol):
    """An article: its id, its title's id and its own access setting (or `inherit`)."""

    @property
    def pk(self) -> Any: ...

    @property
    def publication_id(self) -> int: ...

    @property
    def access_level(self) -> str: ...


class PaywalledTitle(Protocol):
    """A title (publication): only its id."""

    @property
    def pk(self) -> Any: ...


class ReaderRequest(Protocol):
    """Django's HttpRequest or DRF's Request: who reads, and how."""

    @property
    def user(self) -> Any: ...

    @property
    def method(self) -> str | None: ...
