"""decide() is the rule table: every combination, plus properties over random inputs."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subscriptions.paywall import Meter, Reader, Rule, decide
from subscriptions.vocabulary import EntitlementReason

ANON = Reader(authenticated=False)
SIGNED_IN = Reader(authenticated=True)
ENTITLED = {
    "subscriber": Reader(authenticated=True, entitlement=EntitlementReason.SUBSCRIBER),
    "trial": Reader(authenticated=True, entitlement=EntitlementReason.TRIAL),
    "complimentary": Reader(authenticated=True, entitlement=EntitlementReason.COMPLIMENTARY),
}
FRESH = Meter(limit=5, used=0)
LAST_ONE = Meter(limit=5, used=4)
EXHAUSTED = Meter(limit=5, used=5)
EXHAUSTED_BUT_COUNTED = Meter(limit=5, used=5, already_counted=True)


@pytest.mark.parametrize(
    ("reader", "level", "meter", "granted", "reason", "counts"),
    [
        # free: always granted, whoever reads
        (ANON, "free", None, True, "free", False),
        (SIGNED_IN, "free", None, True, "free", False),
        (ENTITLED["trial"], "free", None, True, "free", False),
        # metered
        (ANON, "metered", FRESH, True, "metered", True),
        (ANON, "metered", LAST_ONE, True, "metered", True),
        (ANON, "metered", EXHAUSTED, False, "meter_exhausted", False),
        (ANON, "metered", EXHAUSTED_BUT_COUNTED, True, "metered", False),
        (ANON, "metered", None, False, "meter_exhausted", False),
        (SIGNED_IN, "metered", FRESH, True, "metered", True),
        (SIGNED_IN, "metered", EXHAUSTED, False, "meter_exhausted", False),
        (ENTITLED["subscriber"], "metered", None, True, "subscriber", False),
        (ENTITLED["trial"], "metered", EXHAUSTED, True, "trial", False),
        # registered
        (ANON, "registered", None, False, "registration_required", False),
        (SIGNED_IN, "registered", None, True, "registered", False),
        (ENTITLED["complimentary"], "registered", None, True, "complimentary", False),
        # premium
        (ANON, "premium", FRESH, False, "subscribers_only", False),
        (SIGNED_IN, "premium", FRESH, False, "subscribers_only", False),
        (ENTITLED["subscriber"], "premium", None, True, "subscriber", False),
        (ENTITLED["trial"], "premium", None, True, "trial", False),
        (ENTITLED["complimentary"], "premium", None, True, "complimentary", False),
        # an unknown level fails closed
        (SIGNED_IN, "mystery", None, False, "subscribers_only", False),
    ],
)
def test_rule_table(reader, level, meter, granted, reason, counts):
    decision = decide(reader=reader, rule=Rule(level=level), meter=meter)
    assert (decision.granted, decision.reason, decision.count_read) == (granted, reason, counts)
    assert decision.level == level


def test_meter_reports_the_read_being_counted():
    decision = decide(reader=ANON, rule=Rule(level="metered"), meter=Meter(limit=5, used=2))
    assert decision.meter is not None
    assert decision.meter.as_dict() == {"limit": 5, "used": 3, "remaining": 2}


def test_title_cap_binds_when_it_leaves_fewer_reads():
    meter = Meter(limit=5, used=1, used_in_title=1, title_cap=2)
    first = decide(reader=ANON, rule=Rule(level="metered"), meter=meter)
    assert first.granted
    assert first.meter is not None
    assert first.meter.as_dict() == {"limit": 2, "used": 2, "remaining": 0}
    capped = Meter(limit=5, used=2, used_in_title=2, title_cap=2)
    wall = decide(reader=ANON, rule=Rule(level="metered"), meter=capped)
    assert (wall.granted, wall.reason) == (False, "meter_exhausted")


def test_site_limit_binds_even_under_a_generous_title_cap():
    meter = Meter(limit=5, used=5, used_in_title=0, title_cap=3)
    decision = decide(reader=ANON, rule=Rule(level="metered"), meter=meter)
    assert (decision.granted, decision.reason) == (False, "meter_exhausted")
    assert decision.meter is not None
    assert decision.meter.remaining == 0


readers = st.builds(
    Reader,
    authenticated=st.booleans(),
    entitlement=st.sampled_from([None, "subscriber", "trial", "complimentary"]),
)
meters = st.builds(
    Meter,
    limit=st.integers(0, 20),
    used=st.integers(0, 25),
    used_in_title=st.integers(0, 25),
    title_cap=st.one_of(st.none(), st.integers(0, 20)),
    already_counted=st.booleans(),
)
levels = st.sampled_from(["free", "metered", "registered", "premium"])


@given(reader=readers, meter=st.one_of(st.none(), meters))
def test_premium_is_never_granted_without_entitlement(reader, meter):
    decision = decide(reader=reader, rule=Rule(level="premium"), meter=meter)
    assert decision.granted == bool(reader.entitlement)


@given(reader=readers, meter=meters, level=levels)
def test_an_exhausted_meter_never_grants_an_uncounted_metered_read(reader, meter, level):
    decision = decide(reader=reader, rule=Rule(level=level), meter=meter)
    exhausted = meter.used >= meter.limit or (
        meter.title_cap is not None and meter.used_in_title >= meter.title_cap
    )
    if level == "metered" and not reader.entitlement and exhausted and not meter.already_counted:
        assert not decision.granted
        assert decision.reason == "meter_exhausted"
    if decision.count_read:
        assert decision.granted and not meter.already_counted and not exhausted


@given(reader=readers, meter=st.one_of(st.none(), meters), level=levels)
def test_every_decision_says_why(reader, meter, level):
    decision = decide(reader=reader, rule=Rule(level=level), meter=meter)
    allowed = {"free", "subscriber", "trial", "complimentary", "metered", "registered"}
    walls = {"meter_exhausted", "registration_required", "subscribers_only"}
    assert decision.reason in (allowed if decision.granted else walls)
