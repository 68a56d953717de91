"""The Stripe double for tests and `make run`: localstripe plus a thin extension of ours.

Part of `devtools`: not in the production image, never imported by the product (only the
pytest fixture and `make run`'s launcher run it). localstripe 1.15.10 answers in the 2017
shape and lacks Prices, Checkout, the portal, a real `trialing` status, `.updated` and
`invoice.paid` events. This module adds them as aiohttp routes and small patches, and
disables localstripe's pickle file (/tmp/localstripe.pickle) so that several doubles can
run side by side.

Run: `python -m devtools.stripe_double --port 8420` (binds 127.0.0.1 only).

Stand-ins (Stripe API paths): `POST/GET /v1/prices`, `POST/GET /v1/checkout/sessions`,
`POST /v1/billing_portal/sessions`. Test hooks (no API key, under `/_config/test/`):
  GET  checkout/{id}                 a TEST MODE checkout page (card form)
  POST checkout/{id}/expire          the session expires unpaid (Stripe: after 24 h)
  POST checkout/{id}/complete        {card?} — pay: creates the subscription (trialing if the
                                     session asked for a trial), sends the events
  GET  portal/{id}                   a TEST MODE portal page
  POST portal/{id}/cancel            cancel at period end (as the real portal does)
  POST portal/{id}/card              {card} — new default card
  POST subscriptions/{id}/end_trial  the trial ends: invoice, charge, `active` or `past_due`
  POST subscriptions/{id}/renew      the period ends: renew (charge) or, if it was
                                     canceled at period end, `customer.subscription.deleted`
  POST subscriptions/{id}/retry      retry the open invoice (recovery after a new card)
  POST mirror                        {customers, subscriptions, invoices} — make objects
                                     with the ids and state given (what our database
                                     knows), skip those it has, send no webhook: the
                                     double forgets all at exit, `stripe_double_setup`
                                     gives it back what the site knows at each start
  POST reset                         {outbox?} — wipe everything; with outbox, keep the
                                     signed deliveries for the test instead of sending them
  POST outbox                        take the signed deliveries kept so far
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import html
import json
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from dateutil.relativedelta import relativedelta

VISA = "4242424242424242"
_state: dict[str, dict[str, dict[str, Any]]] = {"sessions": {}, "portals": {}}


class _Plain:
    """A dict that localstripe's Event can export."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def _export(self, expand: Any = None) -> dict[str, Any]:
        return dict(self._data)


def _random(prefix: str) -> str:
    from localstripe import resources as r

    return prefix + r.random_id(14)


def build_app(base_url: str) -> web.Application:
    """localstripe's app with our routes and patches. Call once per process."""
    from localstripe import resources as r
    from localstripe import server
    from localstripe.errors import UserError

    # No pickle file: state lives in this process only.
    r.Store.dump_to_disk = lambda self: None
    r.Store.try_load_from_disk = lambda self: None

    # Deliveries: sent as localstripe does (signed POSTs ~1 s later), or, in outbox mode
    # (tests), kept signed in an outbox that the test drains and posts itself.
    from localstripe import webhooks

    send_later = webhooks.schedule_webhook
    outbox: list[dict[str, Any]] = []
    mode = {"outbox": False, "quiet": False}

    def schedule_webhook(event: Any) -> None:
        if mode["quiet"]:  # copying what the site already knows: nothing to tell it
            return
        if not mode["outbox"]:
            send_later(event)
            return
        body = json.dumps(event._export(), indent=2, sort_keys=True)
        for hook in list(webhooks._webhooks.values()):
            if hook.events is not None and event.type not in hook.events:
                continue
            mac = hmac.new(hook.secret.encode(), f"{event.created}.{body}".encode(), hashlib.sha256)
            outbox.append(
                {
                    "type": event.type,
                    "body": body,
                    "signature": f"t={event.created},v1={mac.hexdigest()}",
                }
            )

    r.schedule_webhook = schedule_webhook

    def emit(type_: str, obj: Any, previous: dict[str, Any] | None = None) -> None:
        event = r.Event(type_, obj if hasattr(obj, "_export") else _Plain(obj))
        if previous:
            event.data["previous_attributes"] = previous
        schedule_webhook(event)

    # A missing object in Stripe's words ("No such subscription: 'sub_…'"), not "Not Found":
    # our error messages (a replay's, a resync's) pass it on to ops.
    def retrieve(cls: Any, id: str) -> Any:
        found = r.store.get(f"{cls.object}:{id}")
        if found is None:
            raise UserError(404, f"No such {cls.object}: '{id}'")
        return found

    r.StripeObject._api_retrieve = classmethod(retrieve)

    # Periods we set (trial, renewals) instead of localstripe's fixed start + 1 interval.
    original_period = r.SubscriptionItem._current_period

    def current_period(self: Any) -> dict[str, int]:
        if self._subscription:
            sub = r.Subscription._api_retrieve(self._subscription)
            period = getattr(sub, "_period", None)
            if period:
                return {"start": period[0], "end": period[1]}
        result: dict[str, int] = original_period(self)
        return result

    r.SubscriptionItem._current_period = current_period

    # Stripe sends invoice.paid beside invoice.payment_succeeded.
    original_success = r.Invoice._on_payment_success

    def on_payment_success(self: Any) -> None:
        original_success(self)
        emit("invoice.paid", self)

    r.Invoice._on_payment_success = on_payment_success

    def snapshot(sub: Any) -> dict[str, Any]:
        return {
            "status": sub.status,
            "cancel_at_period_end": sub.cancel_at_period_end,
            "trial_end": sub.trial_end,
            "current_period_end": sub.current_period_end,
        }

    def emit_updated(sub: Any, before: dict[str, Any]) -> None:
        after = snapshot(sub)
        previous = {k: v for k, v in before.items() if after[k] != v}
        if previous:
            emit("customer.subscription.updated", sub, previous)

    def next_end(sub: Any, start: int) -> int:
        interval = sub.plan.interval
        step = relativedelta(years=1) if interval == "year" else relativedelta(months=1)
        return int((datetime.fromtimestamp(start, tz=UTC) + step).timestamp())

    def charge_period(sub: Any, start: int) -> Any:
        """Start a new period at `start` and charge it: `active` or `past_due`."""
        sub._period = (start, next_end(sub, start))
        invoice = r.Invoice(
            customer=sub.customer, subscription=sub.id, items=[sub.items._list[0]], date=start
        )
        invoice._finalize()
        with contextlib.suppress(UserError):  # no card at all: the invoice stays open
            r.Invoice._api_pay_invoice(invoice.id)
        if invoice.status == "paid":
            sub.status = "active"
        else:
            sub.status = "past_due"
            invoice.attempt_count = 1
            emit("invoice.payment_failed", invoice)
        return invoice

    # Subscription updates: `.updated` events, and trial_end=now ends the trial at once.
    original_update = r.Subscription._api_update

    def subscription_update(cls: Any, id: str, **data: Any) -> Any:
        data.pop("proration_behavior", None)
        sub = r.Subscription._api_retrieve(id)
        before = snapshot(sub)
        ends_trial_now = data.get("trial_end") == "now"
        sub = original_update(id, **data)
        if ends_trial_now and sub.status == "trialing":
            charge_period(sub, int(time.time()))
        elif sub.status == "trialing" and data.get("trial_end") and getattr(sub, "_period", None):
            # A trial moved later (or earlier): its period ends with it, as in Stripe.
            sub._period = (sub._period[0], int(data["trial_end"]))
        if data.get("cancel_at_period_end") in (True, "true"):
            sub.cancel_at = sub.current_period_end
        elif data.get("cancel_at_period_end") in (False, "false"):
            sub.cancel_at = None
        emit_updated(sub, before)
        return sub

    r.Subscription._api_update = classmethod(subscription_update)

    def set_card(customer_id: str, number: str) -> Any:
        pm = r.PaymentMethod(
            type="card",
            # People type card numbers in groups: "4242 4242 4242 4242".
            card={
                "number": "".join(number.split()).replace("-", ""),
                "exp_month": 12,
                "exp_year": 2040,
                "cvc": "123",
            },
        )
        r.PaymentMethod._api_attach(pm.id, customer=customer_id)
        customer = r.Customer._api_retrieve(customer_id)
        customer.invoice_settings = {
            **(customer.invoice_settings or {}),
            "default_payment_method": pm.id,
        }
        return pm

    async def data_of(request: web.Request) -> dict[str, Any]:
        data = await server.get_post_data(request)
        return dict(data or {})

    def as_list(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [value[k] for k in sorted(value, key=int)]
        return list(value or [])

    # --- Prices (stored as localstripe Plans with the price's id) ---------------------
    def price_of(plan: Any) -> dict[str, Any]:
        return {
            "id": plan.id,
            "object": "price",
            "active": plan.active,
            "currency": plan.currency,
            "unit_amount": plan.amount,
            "product": plan.product,
            "recurring": {"interval": plan.interval, "interval_count": plan.interval_count},
            "type": "recurring",
            "created": plan.created,
            "livemode": False,
        }

    async def price_create(request: web.Request) -> web.Response:
        data = await data_of(request)
        product = data.get("product")
        if not product:
            product_data = data.get("product_data") or {"name": "Masthead"}
            product = r.Product(name=product_data.get("name", "Masthead"), type="service").id
        recurring = data.get("recurring") or {}
        plan = r.Plan(
            id=data.get("id") or _random("price_"),
            amount=int(data.get("unit_amount") or 0),
            currency=data.get("currency") or "gbp",
            interval=recurring.get("interval") or "month",
            product=product,
        )
        return web.json_response(price_of(plan))

    async def price_retrieve(request: web.Request) -> web.Response:
        return web.json_response(price_of(r.Plan._api_retrieve(request.match_info["id"])))

    async def price_list(request: web.Request) -> web.Response:
        plans = [v for k, v in r.store.items() if k.startswith("plan:")]
        return web.json_response(
            {
                "object": "list",
                "url": "/v1/prices",
                "has_more": False,
                "data": [price_of(p) for p in plans],
            }
        )

    # --- Checkout Sessions ---------------------------------------------------------------
    async def session_create(request: web.Request) -> web.Response:
        data = await data_of(request)
        items = as_list(data.get("line_items"))
        if data.get("mode") != "subscription" or len(items) != 1:
            raise UserError(400, "Only subscription mode with one line item is supported")
        price = items[0].get("price")
        r.Plan._api_retrieve(price)  # 404 for an unknown price
        customer = data.get("customer")
        if not customer:
            customer = r.Customer(email=data.get("customer_email")).id
        r.Customer._api_retrieve(customer)
        session_id = _random("cs_test_")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "subscription",
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer,
            "client_reference_id": data.get("client_reference_id"),
            "metadata": data.get("metadata") or {},
            "subscription": None,
            "success_url": data.get("success_url"),
            "cancel_url": data.get("cancel_url"),
            "url": f"{base_url}/_config/test/checkout/{session_id}",
            "created": int(time.time()),
            "livemode": False,
            "_price": price,
            "_subscription_data": data.get("subscription_data") or {},
        }
        _state["sessions"][session_id] = session
        return web.json_response(public(session))

    def public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def session_get(session_id: str) -> dict[str, Any]:
        session = _state["sessions"].get(session_id)
        if session is None:
            raise UserError(404, "Not Found")
        return session

    async def session_retrieve(request: web.Request) -> web.Response:
        session = session_get(request.match_info["id"])
        body = public(session)
        body["subscription_data"] = session["_subscription_data"]  # for tests to inspect
        return web.json_response(body)

    def page(title: str, body: str) -> web.Response:
        return web.Response(
            content_type="text/html",
            text=(
                f"<!doctype html><title>{title}</title>"
                "<p style='background:#fc0;padding:.5em'><strong>TEST MODE</strong> — "
                "the local Stripe double; no card is charged.</p>"
                f"<h1>{title}</h1>{body}"
            ),
        )

    async def checkout_page(request: web.Request) -> web.Response:
        session = session_get(request.match_info["id"])
        action = f"/_config/test/checkout/{session['id']}/complete"
        return page(
            "Checkout",
            f"<p>Plan: {html.escape(session['_price'])}</p>"
            f"<form method='post' action='{action}'>"
            f"<label>Card number <input name='card' value='{VISA}'></label> "
            "<button>Subscribe</button></form>"
            f"<p><a href='{html.escape(session['cancel_url'] or '/')}'>Cancel</a></p>",
        )

    async def checkout_complete(request: web.Request) -> web.Response:
        session = session_get(request.match_info["id"])
        data = await data_of(request)
        if session["status"] == "complete":
            raise UserError(400, "This session is already complete")
        pm = set_card(session["customer"], str(data.get("card") or VISA))
        sub_data = session["_subscription_data"]
        now = int(time.time())
        if sub_data.get("trial_period_days"):
            sub_data = {**sub_data, "trial_end": now + int(sub_data["trial_period_days"]) * 86400}
        trial_end = sub_data.get("trial_end") or sub_data.get("billing_cycle_anchor")
        trial_end = int(trial_end) if trial_end else None
        sub = r.Subscription(
            customer=session["customer"],
            items=[{"plan": session["_price"]}],
            trial_end=trial_end,
            metadata=sub_data.get("metadata") or {},
        )
        sub.default_payment_method = pm.id
        if trial_end and sub_data.get("trial_end"):
            sub.status = "trialing"
            sub.trial_start = now
            sub._period = (now, trial_end)
        elif trial_end:  # billing_cycle_anchor: no charge until the anchor
            sub.status = "active"
            sub.trial_end = None
            sub._period = (now, trial_end)
        session.update(
            status="complete",
            payment_status="paid" if sub.status == "active" else "no_payment_required",
            subscription=sub.id,
        )
        emit("customer.subscription.updated", sub, {"status": "incomplete"})
        emit("checkout.session.completed", public(session))
        if "json" in request.headers.get("Accept", ""):
            return web.json_response(public(session))
        success = (session["success_url"] or "/").replace("{CHECKOUT_SESSION_ID}", session["id"])
        raise web.HTTPSeeOther(success)

    async def checkout_expire(request: web.Request) -> web.Response:
        session = session_get(request.match_info["id"])
        if session["status"] != "open":
            raise UserError(400, "Only an open session can expire")
        session.update(status="expired")
        return web.json_response(public(session))

    # --- Billing portal --------------------------------------------------------------------
    async def portal_create(request: web.Request) -> web.Response:
        data = await data_of(request)
        customer = str(data.get("customer") or "")
        r.Customer._api_retrieve(customer)
        portal_id = _random("bps_")
        portal = {
            "id": portal_id,
            "object": "billing_portal.session",
            "customer": customer,
            "return_url": data.get("return_url"),
            "url": f"{base_url}/_config/test/portal/{portal_id}",
            "created": int(time.time()),
            "livemode": False,
        }
        _state["portals"][portal_id] = portal
        return web.json_response(portal)

    def portal_get(portal_id: str) -> dict[str, Any]:
        portal = _state["portals"].get(portal_id)
        if portal is None:
            raise UserError(404, "Not Found")
        return portal

    def live_subscription(customer: str) -> Any:
        for key, value in r.store.items():
            if (
                key.startswith("subscription:")
                and value.customer == customer
                and value.status not in ("canceled", "incomplete_expired")
            ):
                return value
        raise UserError(404, "No subscription")

    async def portal_page(request: web.Request) -> web.Response:
        portal = portal_get(request.match_info["id"])
        base = f"/_config/test/portal/{portal['id']}"
        return page(
            "Manage your subscription",
            f"<form method='post' action='{base}/cancel'><button>Cancel plan</button></form>"
            f"<form method='post' action='{base}/card'><label>New card "
            f"<input name='card' value='{VISA}'></label><button>Update card</button></form>"
            f"<p><a href='{html.escape(portal['return_url'] or '/')}'>Back</a></p>",
        )

    def portal_done(request: web.Request, portal: dict[str, Any], body: Any) -> web.Response:
        if "json" in request.headers.get("Accept", ""):
            return web.json_response(body)
        raise web.HTTPSeeOther(portal["return_url"] or "/")

    async def portal_cancel(request: web.Request) -> web.Response:
        portal = portal_get(request.match_info["id"])
        sub = live_subscription(portal["customer"])
        r.Subscription._api_update(sub.id, cancel_at_period_end=True)
        return portal_done(request, portal, sub._export())

    async def portal_card(request: web.Request) -> web.Response:
        portal = portal_get(request.match_info["id"])
        data = await data_of(request)
        pm = set_card(portal["customer"], str(data.get("card") or VISA))
        return portal_done(request, portal, pm._export())

    # --- advancing time --------------------------------------------------------------------
    async def end_trial(request: web.Request) -> web.Response:
        sub = r.Subscription._api_retrieve(request.match_info["id"])
        if sub.status != "trialing":
            raise UserError(400, "Not trialing")
        before = snapshot(sub)
        charge_period(sub, int(sub.trial_end or time.time()))
        emit_updated(sub, before)
        return web.json_response(sub._export())

    async def renew(request: web.Request) -> web.Response:
        sub = r.Subscription._api_retrieve(request.match_info["id"])
        before = snapshot(sub)
        if sub.cancel_at_period_end:
            sub.status = "canceled"
            sub.ended_at = sub.canceled_at = sub.current_period_end
            emit("customer.subscription.deleted", sub)
        else:
            charge_period(sub, int(sub.current_period_end))
            emit_updated(sub, before)
        return web.json_response(sub._export())

    async def retry(request: web.Request) -> web.Response:
        sub = r.Subscription._api_retrieve(request.match_info["id"])
        before = snapshot(sub)
        open_invoices = [
            v
            for k, v in r.store.items()
            if k.startswith("invoice:") and v.subscription == sub.id and v.status == "open"
        ]
        for invoice in open_invoices:
            invoice.attempt_count = getattr(invoice, "attempt_count", 1) + 1
            r.Invoice._api_pay_invoice(invoice.id)
            if invoice.status != "paid":
                emit("invoice.payment_failed", invoice)
        if open_invoices and all(i.status == "paid" for i in open_invoices):
            sub.status = "active"
        emit_updated(sub, before)
        return web.json_response(sub._export())

    # --- giving a new double what the site knows ----------------------------------------
    def made_with_id(cls: Any, object_id: str, make: Any) -> Any:
        """`make()` a localstripe object under `object_id` (None: it exists already)."""
        if not object_id.startswith(cls._id_prefix):
            raise UserError(400, f"{object_id} is not a {cls.object} id")
        if f"{cls.object}:{object_id}" in r.store:
            return None
        real_random_id = r.random_id

        def once(n: int) -> str:  # the object's own id, then random ones for its parts
            r.random_id = real_random_id
            return object_id[len(cls._id_prefix) :]

        r.random_id = once
        try:
            made = make()
        finally:
            r.random_id = real_random_id
        assert made.id == object_id
        return made

    def mirror_customer(data: dict[str, Any]) -> bool:
        customer = made_with_id(
            r.Customer,
            str(data["id"]),
            lambda: r.Customer(email=data.get("email"), metadata=data.get("metadata") or {}),
        )
        if customer is None:
            return False
        set_card(customer.id, VISA)
        return True

    def mirror_subscription(data: dict[str, Any]) -> bool:
        sub = made_with_id(
            r.Subscription,
            str(data["id"]),
            lambda: r.Subscription(
                customer=data["customer"],
                items=[{"plan": data["price"]}],
                metadata=data.get("metadata") or {},
            ),
        )
        if sub is None:
            return False
        start, end = int(data["current_period_start"]), int(data["current_period_end"])
        sub._period = (start, end)
        sub.start_date = sub.created = start
        sub.status = data["status"]
        sub.trial_start = data.get("trial_start")
        sub.trial_end = data.get("trial_end")
        sub.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
        sub.cancel_at = end if sub.cancel_at_period_end else None
        if sub.status == "canceled":
            sub.canceled_at = sub.ended_at = end
        customer = r.Customer._api_retrieve(sub.customer)
        sub.default_payment_method = customer.invoice_settings.get("default_payment_method")
        return True

    def mirror_invoice(data: dict[str, Any]) -> bool:
        """A paid invoice (its payment intent and charge), refunded as far as it was."""
        if f"invoice:{data['id']}" in r.store:
            return False
        paid_at = int(data["paid_at"])
        # The amount paid as a line of its own (the price may have changed since): a
        # pending invoice item, which the invoice takes when it is made.
        r.InvoiceItem(
            customer=data["customer"], amount=int(data["amount"]), currency=data["currency"]
        )
        invoice = made_with_id(
            r.Invoice,
            str(data["id"]),
            lambda: r.Invoice(
                customer=data["customer"], subscription=data.get("subscription"), date=paid_at
            ),
        )
        sub = r.Subscription._api_retrieve(invoice.subscription) if invoice.subscription else None
        status = sub.status if sub else None
        invoice._finalize()
        r.Invoice._api_pay_invoice(invoice.id)
        if invoice.status != "paid":
            raise UserError(500, f"{invoice.id} could not be paid")
        if sub is not None:  # an old invoice's payment does not make it active now
            sub.status = status
        invoice.status_transitions["paid_at"] = paid_at
        if int(data.get("refunded") or 0):
            r.Refund(payment_intent=invoice.payment_intent, amount=int(data["refunded"]))
        return True

    async def mirror(request: web.Request) -> web.Response:
        data = await request.json()
        made = {"customers": 0, "subscriptions": 0, "invoices": 0}
        steps = (
            ("customers", mirror_customer),
            ("subscriptions", mirror_subscription),
            ("invoices", mirror_invoice),
        )
        mode["quiet"] = True
        try:
            for bucket, make in steps:
                for item in data.get(bucket) or []:
                    made[bucket] += make(item)
        finally:
            mode["quiet"] = False
        return web.json_response(made)

    async def reset(request: web.Request) -> web.Response:
        data = await data_of(request)
        r.store.clear()
        for bucket in _state.values():
            bucket.clear()
        outbox.clear()
        mode["outbox"] = bool(data.get("outbox"))
        return web.json_response({})

    async def drain_outbox(request: web.Request) -> web.Response:
        deliveries = list(outbox)
        outbox.clear()
        return web.json_response(deliveries)

    app: web.Application = server.app
    app.router.add_post("/v1/prices", price_create)
    app.router.add_get("/v1/prices", price_list)
    app.router.add_get("/v1/prices/{id}", price_retrieve)
    app.router.add_post("/v1/checkout/sessions", session_create)
    app.router.add_get("/v1/checkout/sessions/{id}", session_retrieve)
    app.router.add_post("/v1/billing_portal/sessions", portal_create)
    test = "/_config/test"
    app.router.add_get(test + "/checkout/{id}", checkout_page)
    app.router.add_post(test + "/checkout/{id}/complete", checkout_complete)
    app.router.add_post(test + "/checkout/{id}/expire", checkout_expire)
    app.router.add_get(test + "/portal/{id}", portal_page)
    app.router.add_post(test + "/portal/{id}/cancel", portal_cancel)
    app.router.add_post(test + "/portal/{id}/card", portal_card)
    app.router.add_post(test + "/subscriptions/{id}/end_trial", end_trial)
    app.router.add_post(test + "/subscriptions/{id}/renew", renew)
    app.router.add_post(test + "/subscriptions/{id}/retry", retry)
    app.router.add_post(test + "/mirror", mirror)
    app.router.add_post(test + "/reset", reset)
    app.router.add_post(test + "/outbox", drain_outbox)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Masthead's local Stripe double")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    app = build_app(f"http://{args.host}:{args.port}")
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()


def _post(api_base: str, path: str, data: dict[str, Any], *, api: bool = False) -> Any:
    """POST JSON to the double; its JSON answer."""
    import urllib.request

    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api:
        headers["Authorization"] = "Bearer sk_test_masthead_local_double"
    request = urllib.request.Request(
        api_base + path, data=json.dumps(data).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
    return json.loads(body) if body else None


def double_setup(
    *, api_base: str, webhook_url: str, secret: str, prices: list[dict[str, Any]]
) -> None:
    """Point a running double's webhooks at us and create our Prices in it (idempotent).

    Used by `manage.py stripe_double_setup` (make run); waits up to 15 s for the double.
    """
    import urllib.error

    deadline = time.monotonic() + 15
    while True:
        try:
            _post(api_base, "/_config/webhooks/masthead", {"url": webhook_url, "secret": secret})
            break
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    for price in prices:
        try:
            _post(api_base, "/v1/prices", price, api=True)
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # 409: that price exists already
                raise


def double_mirror(*, api_base: str, known: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Give a running double the customers, subscriptions and paid invoices our database
    knows (`devtools.stripe_mirror`); those it has are skipped. How many it made."""
    made: dict[str, int] = _post(api_base, "/_config/test/mirror", known)
    return made
