"""What the dashboard reads, composed from the apps below it: accounts knows emails,
identities and trial claims; subscriptions knows everything else about a subscriber."""

from __future__ import annotations

from accounts.selectors import PARTIAL_EMAIL, readers_matching_email, trial_claim_of
from config.parsers import storable_text
from subscriptions import timeline


def find_subscribers(*, query: str) -> list[timeline.Found]:
    q = query.strip()
    if not storable_text(q):  # no one's email or Stripe id (and PostgreSQL refuses a NUL)
        return []
    readers = {}
    if q and not q.startswith(("cus_", "sub_")):
        readers = {
            pk: (how, how != PARTIAL_EMAIL) for pk, how in readers_matching_email(query=q).items()
        }
    return timeline.subscriber_search(query=q, readers=readers)


def subscriber_story(*, subscription_id: int) -> timeline.Subscriber | None:
    return timeline.subscriber_timeline(
        subscription_id=subscription_id,
        claim_of=lambda user_id: trial_claim_of(user_id=user_id),
    )
