"""One person, one trial: the normalised identity of an email address.

`normalise_email` folds the variants a person can type for one mailbox into one string;
`identity_hash` is what we keep of it (never the address itself), so that a deleted
account still blocks a second trial without us holding the reader's email.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
IDENTITY_SALT = b"masthead/trial-identity/v1:"
_QUOTED_PAIR = re.compile(r"\\(.)")


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
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        local = _QUOTED_PAIR.sub(r"\1", local[1:-1])
    local = local.split("+", 1)[0]
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
