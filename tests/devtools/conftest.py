# The Stripe double's process (session-wide), shared with the Stripe tests.
from tests.subscriptions.conftest import stripe_double_process  # noqa: F401
