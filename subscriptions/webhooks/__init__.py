"""Stripe webhooks: the intake view and the handlers keyed by event type."""
