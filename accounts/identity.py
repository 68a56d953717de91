"""One person, one trial: the normalised identity of an email address.

`normalise_email` folds the variants a person can type for one mailbox into one string;
`identity_hash` is what we keep of it (never the address itself), so that a deleted
account still blocks a second trial without us holding the reader's email.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
IDENTITY_SALT = b"masthead/trial-identity/v1:"
_QUOTED_PAIR = re.compile(r"\\(.)")
EMPTY_MAILBOX = "Enter a valid email address: the part before the @ is empty."


def _unquoted(local: str) -> str:
    """An RFC 5321 quoted local part without its quotes and backslashes."""
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        return _QUOTED_PAIR.sub(r"\1", local[1:-1])
    return local


class ReaderEmailValidator(EmailValidator):
    """Django's email validation, and a mailbox name that is not empty once unquoted:
    RFC 5321 allows an empty quoted string, so Django lets `""@b.de` through; no mailbox
    has that name, and every such address of a domain would be one person to us. (An
    EmailValidator still, so the API schema says `format: email`.)"""

    def __call__(self, value: str | None) -> None:
        super().__call__(value)
        if not _unquoted(str(value).strip().rpartition("@")[0]).strip():
            raise ValidationError(EMPTY_MAILBOX, code=self.code, params={"value": value})


validate_reader_email = ReaderEmailValidator(message="Enter a valid email address.")


def normalise_email(email: str) -> str:
    """Fold the ways of writing one mailbox into one string.

    Unicode NFKC and case folding (full-width letters, ligatures, combining accents); an
    RFC 5321 quoted local part unquoted (`"alice"@x` is `alice@x`); the domain in its
    IDNA (punycode) form without a trailing dot (`bücher.de` is `xn--bcher-kva.de`); a
    `+tag` dropped; for Gmail also dots, and googlemail.com folded into gmail.com.

    `Foo.Bar+news@GoogleMail.com` -> `foobar@gmail.com`; `Ann+x@Example.org` -> `ann@example.org`.
    """
    email = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email).casefold())
    local, sep, domain = email.strip().rpartition("@")
    if not sep:
        return email.strip()
    local = _unquoted(local).split("+", 1)[0]
    domain = _ascii_domain(domain.rstrip("."))
    if domain in GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.replace(".", "")
    return f"{local}@{domain}"


def _ascii_domain(domain: str) -> str:
    """The domain's IDNA form (`bücher.de` -> `xn--bcher-kva.de`); as typed if it has none."""
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain


def identity_hash(email: str) -> str:
    """SHA-256 (hex) of the normalised address: what a TrialClaim stores."""
    return hashlib.sha256(IDENTITY_SALT + normalise_email(email).encode()).hexdigest()
