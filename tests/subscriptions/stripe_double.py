"""Start the Stripe double (localstripe + devtools.stripe_double) for a test session."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

API_KEY = "sk_test_masthead_double"
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class StripeDouble:
    url: str

    def _request(self, method: str, path: str, data: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(data or {}).encode() if method == "POST" else None,
            method=method,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "Authorization": f"Bearer {API_KEY}",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def hook(self, path: str, data: dict[str, Any] | None = None) -> Any:
        """A test hook: POST /_config/test/{path}."""
        return self._request("POST", "/_config/test/" + path, data)

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def post(self, path: str, data: dict[str, Any]) -> Any:
        return self._request("POST", path, data)

    def reset(self, *, outbox: bool = True) -> None:
        """Wipe the double; with `outbox`, keep webhook deliveries for `take_deliveries`."""
        self.hook("reset", {"outbox": outbox})

    def take_deliveries(self) -> list[dict[str, str]]:
        """The signed deliveries the double would have POSTed: {type, body, signature}."""
        deliveries: list[dict[str, str]] = self.hook("outbox")
        return deliveries

    def register_webhook(self, *, url: str, secret: str) -> None:
        self._request("POST", "/_config/webhooks/masthead", {"url": url, "secret": secret})


@contextmanager
def running_double() -> Iterator[StripeDouble]:
    """The double in a subprocess on a random 127.0.0.1 port, stopped afterwards."""
    port = _free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "devtools.stripe_double", "--port", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        output = log.read().decode(errors="replace")[-2000:]
                        raise RuntimeError(f"the Stripe double did not start:\n{output}") from None
                    time.sleep(0.1)
            yield StripeDouble(url=f"http://127.0.0.1:{port}")
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def point_at_double(
    double: StripeDouble, settings: Any, *, site_url: str, secret: str, plan_name: str = "Monthly"
) -> StripeDouble:
    """Point the app at the double (keys, webhook to `site_url`) and give it the monthly
    Price our monthly Plan maps to."""
    from tests.factories import PlanFactory

    settings.STRIPE_API_BASE = double.url
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = secret
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.SITE_URL = site_url
    double.register_webhook(url=f"{site_url}/webhooks/stripe/", secret=secret)
    PlanFactory(code="monthly", name=plan_name, stripe_price_id="price_monthly")
    double.post(
        "/v1/prices",
        {
            "id": "price_monthly",
            "unit_amount": 999,
            "currency": "gbp",
            "recurring": {"interval": "month"},
            "product_data": {"name": "Masthead monthly"},
        },
    )
    return double
