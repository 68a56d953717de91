"""The OpenAPI schema as a contract: schemathesis generates requests from /api/schema/
(valid and invalid ones, then sequences of calls) and runs every check against a live
server, anonymously and as a signed-in reader with a token: no 5xx, every answer's status,
content type, headers and body are the ones the schema declares, schema-valid requests are
accepted and invalid ones refused. Settings (seed, example count, the refusals the schema
cannot express) are in tests/contract/schemathesis.toml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts import services as account_services
from subscriptions.models import BillingCustomer
from tests.factories import ArticleFactory, PublicationFactory, UserFactory
from tests.subscriptions.stripe_double import point_at_double, running_double

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def catalogue() -> None:
    """Enough data for every list and the article page to answer with real content."""
    for level in ("free", "metered", "registered", "premium"):
        publication = PublicationFactory()
        ArticleFactory.create_batch(2, publication=publication, access_level=level)


def run_schemathesis(
    base_url: str, tmp_path: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            f"{base_url}/api/schema/",
            "--checks",
            "all",
            "--workers",
            "1",
            "--report-dir",
            str(tmp_path),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "Server error" not in output


def test_anonymous_client_finds_the_schema_truthful(live_server, catalogue, tmp_path):
    assert_clean(run_schemathesis(live_server.url, tmp_path))


@pytest.fixture
def billing(live_server, settings):
    """Billing through the Stripe double, so that billing calls answer for real."""
    with running_double() as double:
        point_at_double(double, settings, site_url=live_server.url, secret="whsec_fuzz_0123456789")
        yield


def test_signed_in_reader_finds_the_schema_truthful(live_server, catalogue, billing, tmp_path):
    reader = UserFactory()
    token = account_services.api_token_create(user=reader)
    result = run_schemathesis(
        live_server.url,
        tmp_path,
        "--header",
        f"Authorization: Token {token}",
        # Signing out would revoke the token the rest of the run uses (the anonymous run
        # covers it).
        "--exclude-path",
        "/api/v1/auth/logout/",
    )
    assert_clean(result)
    # The run went through billing for real: a checkout created the Stripe customer.
    assert BillingCustomer.objects.filter(user=reader).exists()
