"""One person, one trial: the normalised identity of an email address.

`normalise_email` folds the variants a person can type for one mailbox into one string;
`identity_hash` is what we keep of it (never the address itself), so that a deleted
account still blocks a second trial without us holding the reader's email.
"""

from __future__ import annotations

import hashlib

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
IDENTITY_SALT = b"masthead/trial-identity/v1:"


def normalise_email(email: str) -> str:
    """Lowercase; drop a `+tag`; for Gmail also drop dots and fold googlemail.com.

    `Foo.Bar+news@GoogleMail.com` -> `foobar@gmail.com`; `Ann+x@Example.org` -> `ann@example.org`.
    """
    email = email.strip().lower()
    local, sep, domain = email.rpartition("@")
    if not sep:
        return email
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.replace(".", "")
    return f"{local}@{domain}"


def identity_hash(email: str) -> str:
    """SHA-256 (hex) of the normalised address: what a TrialClaim stores."""
    return hashlib.sha256(IDENTITY_SALT + normalise_email(email).encode()).hexdigest()
