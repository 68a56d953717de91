"""One wording for Stripe's refusals, whichever app's view meets them."""

from __future__ import annotations

import logging

from config.exceptions import ApplicationError
from subscriptions.billing.stripe_client import PermanentBillingError, TemporaryBillingError
from subscriptions.services.billing_errors import billing_error_for_reader


def test_unreachable_is_503_try_again():
    error = billing_error_for_reader(TemporaryBillingError("timed out"))
    assert isinstance(error, ApplicationError)
    assert (error.status_code, error.code) == (503, "billing_unavailable")
    assert "try again" in error.message


def test_refused_is_502_and_logged_without_leaking_stripe_words(caplog):
    with caplog.at_level(logging.WARNING, logger="subscriptions.services.billing_errors"):
        error = billing_error_for_reader(PermanentBillingError("No such price: 'x'"))
    assert isinstance(error, ApplicationError)
    assert (error.status_code, error.code) == (502, "billing_error")
    assert "No such price" not in error.message
    assert "No such price" in caplog.text


def test_other_errors_pass_unchanged():
    original = ValueError("ours")
    assert billing_error_for_reader(original) is original
    refusal = ApplicationError("no", code="nope", status_code=409)
    assert billing_error_for_reader(refusal) is refusal
