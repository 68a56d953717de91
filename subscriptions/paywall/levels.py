"""The paywall's vocabulary (access levels, decision reasons), as the facade offers it to
`articles`; defined with the rest of the vocabulary in `subscriptions.vocabulary`."""

from ..vocabulary import WALL_REASONS, AccessLevel, ArticleAccess, EntitlementReason, Reason

__all__ = ["WALL_REASONS", "AccessLevel", "ArticleAccess", "EntitlementReason", "Reason"]
