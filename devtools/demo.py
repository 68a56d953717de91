"""Deterministic demo catalogue: invented publishers, titles, articles, picks, plans and accounts.

Everything is composed from the word banks below with ``random.Random(seed)``, so the same
sizes and seed always give the same names, slugs, headlines and bodies. Nothing is copied from
real publications. Loading is idempotent: rows are matched on their unique slugs (or codes and
emails) and never deleted, so foreign keys pointing at demo rows stay valid across reloads.
"""

from __future__ import annotations

import colorsys
import dataclasses
import functools
import random
import string
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from articles.models import (
    Article,
    ArticleAccess,
    EditorialPick,
    Publication,
    Publisher,
    PublisherStaff,
    Topic,
)
from articles.services import articles_create
from subscriptions import paywall
from subscriptions.models import Plan, PlanInterval

SEED = 2026
DEFAULT_PUBLISHERS = 30
DEFAULT_PUBLICATIONS = 120
DEFAULT_ARTICLES = 6000
WINDOW_DAYS = 60
# Articles are spread over WINDOW_DAYS * AGE_STRETCH days (the demo's history reads them
# while fresh over its ~4 months). Stretched rather than a wider window, so the random
# sequence, and with it every slug an existing demo database holds, stays the same.
AGE_STRETCH = 2
PICK_COUNT = 8
BATCH_SIZE = 500
OPS_GROUP = "ops"

# --- Word banks --------------------------------------------------------------------------

TOPICS: tuple[str, ...] = (
    "Politics", "Business", "Technology", "Science", "Health", "Sport", "Culture", "World",
    "UK", "Climate", "Money", "Travel", "Food", "Opinion", "Education", "Property",
    "Motoring", "Media", "Law", "Lifestyle",
)  # fmt: skip

PLACES: tuple[str, ...] = (
    "Harbour City", "Eastmere", "Brackenford", "Port Ellery", "Westhollow", "Marrowby",
    "Selcombe", "Caldermouth", "Fenwick Bay", "Halvering", "Lowestrand", "Northgate",
    "Oakhaven", "Redmarsh", "Stonebridge", "Tidewell", "Wyncliffe", "Ambermoor", "Greyholm",
    "Kilbarrow", "Larkfield", "Millbrook", "Pennant Cross", "Rivermouth", "Saltmarsh",
    "Thorncastle", "Upperby", "Valecrest", "Whitlow", "Ashcombe", "Brindle Heath", "Copperton",
    "Dunmere", "Elmstead Vale", "Foxley Down", "Glenhallow",
)  # fmt: skip

TITLE_ADJECTIVES: tuple[str, ...] = (
    "Northern", "Southern", "Eastern", "Western", "Coastal", "Upland", "Lowland", "Riverside",
    "Harbourside", "Highland", "Midland", "Valley", "Meridian", "Tidal", "Granite", "Copper",
    "Amber", "Cobalt", "Lantern", "Estuary", "Moorland", "Borough", "Capital", "Civic",
)  # fmt: skip

TITLE_NOUNS: tuple[str, ...] = (
    "Ledger", "Courier", "Gazette", "Herald", "Chronicle", "Sentinel", "Dispatch", "Tribune",
    "Mercury", "Examiner", "Beacon", "Bulletin", "Messenger", "Register", "Clarion", "Argus",
    "Packet", "Journal", "Review", "Compass", "Almanac", "Signal", "Wire", "Bugle", "Crier",
)  # fmt: skip

PUBLISHER_STEMS: tuple[str, ...] = (
    "Ashgrove", "Kestrel", "Meridian", "Bramwell", "Calder", "Linden", "Harrowgate", "Thistle",
    "Wexley", "Orrin", "Fenwick", "Marlowe", "Redfern", "Sable", "Corrie", "Dunmore", "Halden",
    "Ivory Gate", "Juniper", "Kingfisher", "Lockwood", "Northwind", "Oriel", "Pelham",
    "Quayside", "Rowan", "Saltire", "Tamsin", "Umber", "Vantage", "Wren", "Yarrow", "Heron",
    "Foxglove", "Greystone", "Elder", "Drayton", "Cinder", "Beckett", "Lowther",
)  # fmt: skip

PUBLISHER_SUFFIXES: tuple[str, ...] = (
    "Media", "Press", "News Group", "Publishing", "Media Group", "Newspapers",
    "Communications", "Holdings",
)  # fmt: skip

FIRST_NAMES: tuple[str, ...] = (
    "Amara", "Ben", "Callum", "Dina", "Eleanor", "Farid", "Grace", "Hamish", "Isla", "Jonah",
    "Keira", "Leon", "Maya", "Niall", "Orla", "Priya", "Quentin", "Rosa", "Samir", "Tessa",
    "Usman", "Vera", "Wesley", "Yasmin", "Zoe", "Ada", "Bryony", "Cormac", "Delphine", "Ewan",
    "Freya", "Gideon", "Hana", "Idris", "Juno", "Kofi",
)  # fmt: skip

SURNAMES: tuple[str, ...] = (
    "Ashby", "Brennan", "Carrow", "Delaney", "Ellison", "Fairbairn", "Gallagher", "Hartigan",
    "Iqbal", "Jessop", "Kavanagh", "Lindqvist", "Mensah", "Nakamura", "Okafor", "Pennington",
    "Quigley", "Rahman", "Sorensen", "Thackeray", "Underwood", "Varga", "Whitcombe", "Yeung",
    "Zielinski", "Abernethy", "Bellamy", "Castellano", "Drummond", "Eastwood", "Ferreira",
    "Greenhalgh", "Holloway", "Ingram", "Jardine", "Kowalczyk",
)  # fmt: skip

ORG_SUFFIXES: tuple[str, ...] = (
    "Borough Council", "University", "Chamber of Commerce", "Hospital Trust", "Institute",
    "Community Trust", "Port Authority", "Housing Association", "Business Forum",
    "Policy Centre",
)  # fmt: skip

NATIONAL_ORGS: tuple[str, ...] = (
    "the Office for Regional Statistics", "the Meridian Policy Unit", "the Coastal Towns Network",
    "the National Infrastructure Panel", "the Independent Fiscal Council",
    "the Consumer Standards Board", "the Federation of Small Employers",
    "the Public Accounts Review",
)  # fmt: skip

ROLES: tuple[str, ...] = (
    "chief executive", "director of policy", "senior economist", "council leader",
    "head of research", "chair", "professor of public policy", "campaign coordinator",
    "local councillor", "operations director", "senior analyst", "founder",
    "deputy mayor", "trustee", "spokesperson",
)  # fmt: skip

# Per topic: what stories are about (lower-case noun phrases) and who acts in them (plural).
# fmt: off
TOPIC_BANKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Politics": (
        ("the spending review", "a cross-party transport bill", "the housing white paper",
         "the devolution settlement", "council tax reform", "the election timetable",
         "the new planning rules", "a vote on regional funding"),
        ("ministers", "opposition leaders", "backbench MPs", "councillors", "party officials"),
    ),
    "Business": (
        ("quarterly profits", "a proposed merger", "the high street recovery", "supply chain costs",
         "the new logistics hub", "a takeover bid", "export orders", "the retail turnaround plan"),
        ("shareholders", "investors", "retailers", "manufacturers", "company directors"),
    ),
    "Technology": (
        ("a new data centre", "the broadband rollout", "an AI pilot in local services",
         "a software outage", "chip supplies", "the digital identity scheme",
         "a cyber security review", "the smart meter upgrade"),
        ("engineers", "start-ups", "developers", "tech firms", "security researchers"),
    ),
    "Science": (
        ("a deep-sea survey", "the new telescope array", "a study of river microbes",
         "research funding", "a breakthrough in battery chemistry", "the seabird census",
         "a long-running climate experiment", "the laboratory expansion"),
        ("researchers", "scientists", "astronomers", "marine biologists", "laboratory staff"),
    ),
    "Health": (
        ("waiting lists", "the new community clinic", "a vaccination drive",
         "mental health services", "the hospital rebuild", "GP appointment times",
         "a pilot screening programme", "ambulance response times"),
        ("doctors", "nurses", "health officials", "patient groups", "hospital managers"),
    ),
    "Sport": (
        ("the cup semi-final", "a record transfer fee", "the new stadium plans",
         "the coastal marathon", "a relegation battle", "the youth academy",
         "the rowing championships", "a tense derby"),
        ("fans", "coaches", "club owners", "players", "league officials"),
    ),
    "Culture": (
        ("the autumn arts festival", "a new gallery wing", "theatre funding",
         "the restored music hall", "a touring exhibition", "the book prize shortlist",
         "the city's first film festival", "a community mural project"),
        ("artists", "curators", "festival organisers", "musicians", "theatre directors"),
    ),
    "World": (
        ("ceasefire talks", "a regional trade pact", "the summit of coastal nations",
         "a drought in the southern provinces", "the border agreement", "aid deliveries",
         "a disputed election result", "the new shipping corridor"),
        ("diplomats", "foreign ministers", "aid agencies", "negotiators", "observers"),
    ),
    "UK": (
        ("rail timetable changes", "the winter energy support scheme", "rural bus services",
         "the coastal flood defences", "a shortage of driving examiners", "post office closures",
         "the national census results", "motorway roadworks"),
        ("commuters", "residents", "local leaders", "campaigners", "families"),
    ),
    "Climate": (
        ("the offshore wind farm", "a new flood barrier", "peatland restoration",
         "emissions targets", "the tree-planting scheme", "heat pump grants", "a heatwave warning",
         "the coastal erosion plan"),
        ("environmental groups", "climate scientists", "farmers", "energy firms", "planners"),
    ),
    "Money": (
        ("mortgage rates", "the pension shake-up", "energy bills", "savings accounts",
         "the cost of childcare", "rent increases", "a crackdown on hidden fees",
         "household budgets"),
        ("savers", "borrowers", "consumer groups", "lenders", "households"),
    ),
    "Travel": (
        ("summer ferry routes", "the reopened coastal railway", "airport expansion",
         "a new long-distance walking trail", "holiday prices", "the island ferry service",
         "cycle tourism", "hotel occupancy"),
        ("travellers", "tour operators", "airlines", "holidaymakers", "hoteliers"),
    ),
    "Food": (
        ("the farmers' market", "a new seafood restaurant", "food bank demand",
         "the price of bread", "a local cheese award", "the street food quarter",
         "school meal standards", "the harvest festival"),
        ("chefs", "producers", "restaurant owners", "growers", "food campaigners"),
    ),
    "Opinion": (
        ("the housing crisis", "our crumbling high streets", "the future of local news",
         "the four-day week", "the cost of doing nothing on transport", "public libraries",
         "the value of apprenticeships", "trust in institutions"),
        ("readers", "politicians", "commentators", "voters", "young people"),
    ),
    "Education": (
        ("exam results", "the new sixth-form college", "teacher recruitment",
         "university tuition fees", "school building repairs", "a literacy programme",
         "special needs provision", "the apprenticeship scheme"),
        ("teachers", "head teachers", "parents", "students", "governors"),
    ),
    "Property": (
        ("house prices", "the waterfront development", "a shortage of social housing",
         "rental reform", "the empty homes scheme", "first-time buyers",
         "the office conversion plan", "new-build standards"),
        ("landlords", "developers", "tenants", "estate agents", "buyers"),
    ),
    "Motoring": (
        ("electric car charging points", "fuel prices", "the new bypass", "speed camera changes",
         "car insurance premiums", "pothole repairs", "the clean air zone", "used car prices"),
        ("drivers", "motoring groups", "dealers", "road safety campaigners", "hauliers"),
    ),
    "Media": (
        ("the local radio merger", "a streaming price rise", "newspaper subscriptions",
         "the broadcasting review", "a documentary series", "podcast advertising",
         "press regulation", "the community TV channel"),
        ("broadcasters", "editors", "producers", "media executives", "audiences"),
    ),
    "Law": (
        ("a landmark ruling", "court backlogs", "the legal aid review", "a public inquiry",
         "new sentencing guidelines", "the tenancy tribunal", "a judicial review",
         "the jury trial pilot"),
        ("judges", "lawyers", "campaigners", "magistrates", "prosecutors"),
    ),
    "Lifestyle": (
        ("the wellness trend", "community gardening", "the return of vinyl",
         "weekend running clubs", "repair cafes", "the craft beer boom", "minimalist living",
         "dog-friendly cafes"),
        ("enthusiasts", "organisers", "volunteers", "shop owners", "newcomers"),
    ),
}
# fmt: on

HEADLINE_TEMPLATES: tuple[str, ...] = (
    "{Actors} split over {subject} after {place} talks",
    "{Subject} face{s} fresh scrutiny in {place}",
    "What {subject} means for {place}",
    "{Place} {actors} warn over {subject}",
    "Inside the fight over {subject}",
    "{Subject} delayed until {month}, {actors} told",
    "Why {actors} are rethinking {subject}",
    "{Number} things we learned about {subject}",
    "{Place} divided as {subject} move{s} ahead",
    "{Subject}: {actors} demand answers",
    "{Place} unveils plan for {subject}",
    "Questions mount over {subject} in {place}",
    "{Actors} cautiously welcome new approach to {subject}",
    "The quiet revolution in {subject}",
    "{Subject} could cost {place} {money}, report finds",
)  # fmt: skip

STANDFIRST_TEMPLATES: tuple[str, ...] = (
    "{Actors} in {place} say {subject} could {consequence}.",
    "A new report suggests {subject} will {consequence}, but not everyone is convinced.",
    "{Person} explains why {subject} matter{s} more than it seems.",
    "After months of debate, {subject} {is} finally on the agenda in {place}.",
    "The row over {subject} has exposed deep divisions among {actors}.",
    "Officials insist {subject} {is} on track, though {actors} remain sceptical.",
)  # fmt: skip

CONSEQUENCES: tuple[str, ...] = (
    "reshape the local economy", "add millions to the bill", "ease pressure on services",
    "take years to deliver", "change how people live and work", "leave some families worse off",
    "create hundreds of jobs", "set a precedent for other towns",
)  # fmt: skip

BENEFITS: tuple[str, ...] = (
    "ease pressure on services", "create hundreds of jobs", "set a precedent for other towns",
    "bring new investment to the area", "save money in the long run",
    "make life easier for families",
)  # fmt: skip

QUOTES: tuple[str, ...] = (
    "We have been clear from the start that this needs proper funding",
    "Nobody wants to see this drag on for another year",
    "This is a step in the right direction, but there is a long way to go",
    "We will be studying the detail very carefully",
    "People deserve straight answers, and so far they have not had them",
    "The figures speak for themselves",
    "It is not perfect, but it is a lot better than what we had",
    "We were not consulted, and that is simply not good enough",
    "There is real momentum now, and we intend to keep it",
    "I have never seen anything quite like it in twenty years",
    "Our priority is making sure nobody is left behind",
    "The hard part starts now",
    "We are listening, and we will change course where the evidence tells us to",
    "Frankly, the timetable was never realistic",
    "This affects real people, not just numbers on a spreadsheet",
    "We would rather get this right than get it done quickly",
    "There are lessons here for everyone involved",
    "I understand the frustration, and I share some of it",
    "Nobody has yet explained where the money is coming from",
    "The community has shown it can pull together",
)  # fmt: skip

CRITICAL_VERDICTS: tuple[str, ...] = (
    "a missed opportunity", "deeply disappointing", "rushed", "poorly thought through",
    "a costly distraction", "confused",
)  # fmt: skip
QUOTE_VERDICTS: tuple[str, ...] = (
    *CRITICAL_VERDICTS, "long overdue", "cautiously encouraging", "a genuine turning point",
    "ambitious but achievable", "the right call",
)  # fmt: skip

CONCERNS: tuple[str, ...] = (
    "noise and traffic", "the rising cost", "the lack of consultation", "the timetable",
    "the impact on small businesses", "who will pay for it", "the effect on older residents",
    "the loss of green space",
)  # fmt: skip

SENTENCE_TEMPLATES: tuple[str, ...] = (
    "The decision was confirmed on {weekday} after {duration} of talks between {actors} "
    "and {org}.",
    '"{quote}," said {person}, {role} at {org}.',
    "Figures published this week show a {percent} per cent {change} in activity across {place}.",
    '{Person}, who has worked in the sector for {years} years, described the move as "{verdict}".',
    "Critics argue that {subject} {has} been {criticism} and want a fuller explanation.",
    "Supporters point out that {subject} could {benefit} if it is handled well.",
    "A spokesperson for {org} declined to comment on the detail but said talks were continuing.",
    "The changes are expected to take effect in {month}.",
    "Residents in {place} have raised concerns about {concern}.",
    "According to {org}, around {count} people could be affected.",
    "It is the {ordinal} time this year that {subject} {has} come before {actors}.",
    "Analysts at {org} said {subject} would probably {consequence}.",
    "A final decision is expected before the end of {month}.",
    "{Org} will publish a full assessment in the coming weeks.",
    "Earlier this {period}, {actors} met in {place} to set out their priorities.",
    "Some {actors} say the plans do not go far enough, while others fear they go too far.",
    "The estimated cost has risen to {cost_rise}.",
    "{Person} said the priority now was to rebuild trust with {actors}.",
    "Similar schemes have been tried in {place2}, with mixed results.",
    "For now, {actors} in {place} are waiting to see what happens next.",
    '"{quote}," {person} told reporters outside the meeting.',
    "Campaigners plan to gather outside {org} on {weekday} morning.",
    "Turnout at the public consultation was higher than officials had expected.",
    "The proposals will be reviewed again in {month}, when new figures are due.",
    "Few expect {subject} to be settled quickly.",
    "Questions remain over {concern}, which the original plans barely addressed.",
    "Officials in {place} said the timetable remained under review.",
    "{Org} said it had received more than {count} responses to its consultation.",
    '{Person}, {role} at {org}, said: "{quote}."',
    'Not everyone agrees: {person} called the proposals "{criticism}".',
    "Opposition to {subject} has been strongest among {actors}.",
    "The row is likely to resurface when {actors} meet again in {month}.",
    "Similar concerns were raised in {place2} last {period}.",
    "Those behind the plan say lessons have been learned from earlier attempts.",
    "Data from {org} suggests the picture is more complicated than either side admits.",
    "In {place}, the mood is one of cautious optimism.",
    "{Actors} have been asked to submit evidence by the end of {month}.",
    "Local businesses say they were given little notice of the changes.",
    "A petition calling for a rethink has gathered more than {count} signatures.",
    "{Person} said a compromise was still possible.",
    "The government has not yet said whether it will intervene.",
    "The issue is expected to feature prominently in next year's local elections.",
    "Several {actors} who spoke to this newspaper asked not to be named.",
    "The figures have not been independently verified.",
    "{Subject} {has} divided opinion since it was first proposed.",
    "Officials admit that {subject} {is} behind schedule.",
)  # fmt: skip

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
ORDINALS = ("second", "third", "fourth", "fifth")
PERIODS = ("week", "month", "year", "spring", "summer", "autumn")
DURATIONS = ("two days", "three weeks", "several months", "nearly a year", "a long weekend")
NUMBER_WORDS = ("Five", "Six", "Seven", "Eight", "Ten")

# Access-level mix for articles: ~70% inherit, 10% free, 8% metered, 6% registered, 6% premium.
ACCESS_WEIGHTS: tuple[tuple[str, int], ...] = (
    (ArticleAccess.INHERIT.value, 70),
    (ArticleAccess.FREE.value, 10),
    (ArticleAccess.METERED.value, 8),
    (ArticleAccess.REGISTERED.value, 6),
    (ArticleAccess.PREMIUM.value, 6),
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    role: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("admin@masthead.local", "masthead-admin", "superuser"),
    DemoAccount("ops@masthead.local", "masthead-ops", "ops (staff, group 'ops')"),
    DemoAccount("publisher@masthead.local", "masthead-publisher", "publisher staff"),
    DemoAccount("reader@masthead.local", "masthead-reader", "reader (in a free trial)"),
)

DEMO_PLANS: tuple[dict[str, Any], ...] = (
    {
        "code": "monthly",
        "name": "Monthly",
        "interval": PlanInterval.MONTH,
        "amount": 999,
        "currency": "gbp",
        "stripe_price_id": "price_masthead_monthly",
    },
    {
        "code": "yearly",
        "name": "Yearly",
        "interval": PlanInterval.YEAR,
        "amount": 9900,
        "currency": "gbp",
        "stripe_price_id": "price_masthead_yearly",
    },
)

# --- Specs (pure Python) ------------------------------------------------------------------


@dataclass(frozen=True)
class PublisherSpec:
    slug: str
    name: str


@dataclass(frozen=True)
class PublicationSpec:
    slug: str
    name: str
    publisher_slug: str
    description: str
    brand_colour: str
    beats: tuple[str, ...]


@dataclass(frozen=True)
class ArticleSpec:
    slug: str
    title: str
    standfirst: str
    author: str
    publication_slug: str
    topics: tuple[str, ...]  # topic names, primary first
    access_level: str
    news_value: int
    age_seconds: int  # how long before "now" it was published
    body_seed: int
    subject: str
    place: str

    def body_html(self) -> str:
        """The article body as clean HTML, rebuilt from this spec's own seed."""
        return render_body(self)


@dataclass(frozen=True)
class Catalogue:
    publishers: tuple[PublisherSpec, ...]
    publications: tuple[PublicationSpec, ...]
    topics: tuple[tuple[str, str], ...]  # (slug, name)
    articles: tuple[ArticleSpec, ...]


_FORMATTER = string.Formatter()
_AGREEMENT: dict[str, tuple[str, str]] = {
    "s": ("s", ""),
    "is": ("is", "are"),
    "has": ("has", "have"),
}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"


def _org(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(NATIONAL_ORGS)
    return f"{rng.choice(PLACES)} {rng.choice(ORG_SUFFIXES)}"


def _money(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"£{rng.randint(2, 95)}m"
    return f"£{rng.randint(120, 950)},000"


def _brand_colour(rng: random.Random) -> str:
    """A dark-to-mid saturated colour that white text can sit on."""
    red, green, blue = colorsys.hls_to_rgb(
        rng.random(), rng.uniform(0.22, 0.42), rng.uniform(0.45, 0.85)
    )
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def _unique_names(
    rng: random.Random, count: int, compose: Callable[[random.Random], str], what: str
) -> list[str]:
    """Draw ``count`` distinct names (and distinct slugs) from ``compose(rng)``."""
    names: list[str] = []
    slugs: set[str] = set()
    attempts = 0
    while len(names) < count:
        attempts += 1
        if attempts > 200 * count + 1000:
            raise ValueError(f"Cannot invent {count} distinct {what} names from the word banks.")
        name = compose(rng)
        slug = slugify(name)
        if slug and slug not in slugs:
            slugs.add(slug)
            names.append(name)
    return names


def _publication_name(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"The {rng.choice(TITLE_ADJECTIVES)} {rng.choice(TITLE_NOUNS)}"
    return f"{rng.choice(PLACES)} {rng.choice(TITLE_NOUNS)}"


def _is_plural(subject: str) -> bool:
    """Rough number agreement for the subject noun phrases in TOPIC_BANKS."""
    if subject.startswith(("a ", "an ")) or any(w in subject for w in (" of ", " in ", " on ")):
        return False
    return subject.endswith("s") and not subject.endswith(("ss", "is", "us"))


@functools.cache
def _fields(template: str) -> tuple[str, ...]:
    """A template's slot names in order of appearance, with any subject slot first."""
    names = dict.fromkeys(name for _, name, _, _ in _FORMATTER.parse(template) if name)
    return tuple(sorted(names, key=lambda name: name.lower() != "subject"))


def _fill(template: str, resolve: Callable[[str], str]) -> str:
    """Format ``template``; ``{Key}`` is ``key`` capitalised, ``{s}``/``{is}``/``{has}`` agree
    with the subject. ``resolve`` is called once per distinct slot."""
    done: dict[str, str] = {}
    values: dict[str, str] = {}
    for name in _fields(template):
        key = name[:1].lower() + name[1:]
        if key not in done:
            if key in _AGREEMENT:
                singular, plural = _AGREEMENT[key]
                done[key] = plural if _is_plural(done["subject"]) else singular
            else:
                done[key] = resolve(key)
        values[name] = _cap(done[key]) if name[:1].isupper() else done[key]
    return template.format(**values)


def build_catalogue(
    publishers: int = DEFAULT_PUBLISHERS,
    publications: int = DEFAULT_PUBLICATIONS,
    articles: int = DEFAULT_ARTICLES,
    seed: int = SEED,
) -> Catalogue:
    """Compose the whole catalogue in memory; identical arguments give an identical result."""
    if publishers < 1 or publications < publishers or articles < 0:
        raise ValueError("Need at least one publisher and at least one title per publisher.")
    rng = random.Random(seed)

    if publishers > len(PUBLISHER_STEMS):
        raise ValueError(f"At most {len(PUBLISHER_STEMS)} demo publishers can be invented.")
    publisher_specs = tuple(
        PublisherSpec(slug=slugify(name), name=name)
        for name in (
            f"{stem} {rng.choice(PUBLISHER_SUFFIXES)}"
            for stem in rng.sample(PUBLISHER_STEMS, publishers)
        )
    )

    # Every publisher gets one title; the rest are spread at random.
    owners = [p.slug for p in publisher_specs]
    owners += [rng.choice(publisher_specs).slug for _ in range(publications - publishers)]
    publication_specs: list[PublicationSpec] = []
    for name, owner in zip(
        _unique_names(rng, publications, _publication_name, "title"), owners, strict=True
    ):
        beats = tuple(rng.sample(TOPICS, rng.randint(3, 6)))
        areas = [beat if beat.isupper() else beat.lower() for beat in beats[:3]]
        description = (
            f"Independent reporting on {areas[0]}, {areas[1]} and {areas[2]} "
            f"from {rng.choice(PLACES)} and beyond."
        )
        publication_specs.append(
            PublicationSpec(
                slug=slugify(name),
                name=name,
                publisher_slug=owner,
                description=description,
                brand_colour=_brand_colour(rng),
                beats=beats,
            )
        )

    weights = [rng.uniform(0.5, 2.0) for _ in publication_specs]
    access_values = [value for value, _ in ACCESS_WEIGHTS]
    access_cum = list(_cumulative(weight for _, weight in ACCESS_WEIGHTS))
    window = WINDOW_DAYS * 24 * 3600
    used_slugs: set[str] = set()
    article_specs: list[ArticleSpec] = []
    for _ in range(articles):
        pub = rng.choices(publication_specs, weights=weights)[0]
        primary = rng.choice(pub.beats) if rng.random() < 0.75 else rng.choice(TOPICS)
        others = [t for t in TOPICS if t != primary]
        topics = (primary, *rng.sample(others, rng.randint(0, 2)))
        subjects, actor_bank = TOPIC_BANKS[primary]
        place = rng.choice(PLACES)
        slots = {
            "subject": rng.choice(subjects),
            "actors": rng.choice(actor_bank),
            "place": place,
            "month": rng.choice(MONTHS),
            "number": rng.choice(NUMBER_WORDS),
            "money": _money(rng),
            "consequence": rng.choice(CONSEQUENCES),
            "person": _person(rng),
        }
        title = _fill(rng.choice(HEADLINE_TEMPLATES), slots.__getitem__)
        standfirst = _fill(rng.choice(STANDFIRST_TEMPLATES), slots.__getitem__)
        slug = ""
        while not slug or slug in used_slugs:
            slug = f"{slugify(title)[:180].rstrip('-')}-{rng.getrandbits(24):06x}"
        used_slugs.add(slug)
        article_specs.append(
            ArticleSpec(
                slug=slug,
                title=title,
                standfirst=standfirst,
                author=_person(rng),
                publication_slug=pub.slug,
                topics=topics,
                access_level=rng.choices(access_values, cum_weights=access_cum)[0],
                news_value=min(100, max(0, round(rng.gauss(50, 22)))),
                age_seconds=rng.randrange(60, window) * AGE_STRETCH,
                body_seed=rng.getrandbits(63),
                subject=slots["subject"],
                place=place,
            )
        )
    _ensure_every_access_level(article_specs)

    return Catalogue(
        publishers=publisher_specs,
        publications=tuple(publication_specs),
        topics=tuple((slugify(name), name) for name in TOPICS),
        articles=tuple(article_specs),
    )


def _cumulative(values: Iterable[int]) -> Iterable[int]:
    total = 0
    for value in values:
        total += value
        yield total


def _ensure_every_access_level(specs: list[ArticleSpec]) -> None:
    """Small catalogues could miss a level by chance; give each missing one to an inherit row."""
    present = {spec.access_level for spec in specs}
    missing = [value for value, _ in ACCESS_WEIGHTS if value not in present]
    spare = [i for i, spec in enumerate(specs) if spec.access_level == ArticleAccess.INHERIT]
    for value, index in zip(missing, reversed(spare), strict=False):
        specs[index] = dataclasses.replace(specs[index], access_level=value)


def render_body(spec: ArticleSpec) -> str:
    """5-9 paragraphs of 3-5 templated news sentences about the article's subject."""
    rng = random.Random(spec.body_seed)
    subjects, actor_bank = TOPIC_BANKS[spec.topics[0]]
    lead = _person(rng)
    lead_org = _org(rng)

    def cost_rise() -> str:
        before = rng.randint(3, 60)
        return f"£{before + rng.randint(2, 30)}m, up from an initial figure of £{before}m"

    slots: dict[str, Callable[[], str]] = {
        "subject": lambda: spec.subject if rng.random() < 0.7 else rng.choice(subjects),
        "actors": lambda: rng.choice(actor_bank),
        "place": lambda: spec.place,
        "place2": lambda: rng.choice(PLACES),
        "person": lambda: lead if rng.random() < 0.3 else _person(rng),
        "role": lambda: rng.choice(ROLES),
        "org": lambda: lead_org if rng.random() < 0.3 else _org(rng),
        "quote": lambda: rng.choice(QUOTES),
        "verdict": lambda: rng.choice(QUOTE_VERDICTS),
        "criticism": lambda: rng.choice(CRITICAL_VERDICTS),
        "concern": lambda: rng.choice(CONCERNS),
        "consequence": lambda: rng.choice(CONSEQUENCES),
        "benefit": lambda: rng.choice(BENEFITS),
        "weekday": lambda: rng.choice(WEEKDAYS),
        "month": lambda: rng.choice(MONTHS),
        "period": lambda: rng.choice(PERIODS),
        "duration": lambda: rng.choice(DURATIONS),
        "ordinal": lambda: rng.choice(ORDINALS),
        "percent": lambda: f"{rng.randint(2, 38)}.{rng.randint(0, 9)}",
        "change": lambda: rng.choice(("rise", "fall", "increase", "drop")),
        "years": lambda: str(rng.randint(4, 30)),
        "count": lambda: f"{rng.randint(2, 95) * 100:,}",
        "cost_rise": cost_rise,
    }

    def resolve(key: str) -> str:
        return slots[key]()

    opening = _fill(
        "{Subject} {has} become one of the most talked-about issues in {place} this {period}.",
        lambda key: spec.subject if key == "subject" else resolve(key),
    )
    paragraphs = [
        f"<p>{opening} {lead}, {rng.choice(ROLES)} at {lead_org}, said the coming weeks would "
        f'be decisive. "{rng.choice(QUOTES)}," {lead.split()[0]} said.</p>'
    ]
    deck: list[str] = []  # templates are dealt without repeats until the deck runs out
    for _ in range(rng.randint(5, 9) - 1):
        sentences: list[str] = []
        for _ in range(rng.randint(3, 5)):
            if not deck:
                deck = rng.sample(SENTENCE_TEMPLATES, len(SENTENCE_TEMPLATES))
            sentences.append(_fill(deck.pop(), resolve))
        paragraphs.append(f"<p>{' '.join(sentences)}</p>")
    return "\n".join(paragraphs)


# --- Database writes ----------------------------------------------------------------------


@dataclass
class DemoSummary:
    publishers: int
    publications: int
    topics: int
    articles: int
    articles_created: int
    picks: int
    plans: int
    accounts: tuple[DemoAccount, ...]
    first_publisher: str
    seconds: float


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ids_by_slug(model: type[models.Model], slugs: Sequence[str]) -> dict[str, int]:
    """Map slug -> id for the given slugs, querying in chunks to stay under parameter limits."""
    found: dict[str, int] = {}
    for chunk in _chunks(slugs, BATCH_SIZE):
        found.update(model._default_manager.filter(slug__in=chunk).values_list("slug", "id"))
    return found


def _load_catalogue(catalogue: Catalogue, now: datetime) -> tuple[dict[str, int], int]:
    """Insert whatever is missing; return (article ids by slug, articles created)."""
    Publisher.objects.bulk_create(
        [Publisher(slug=p.slug, name=p.name) for p in catalogue.publishers],
        ignore_conflicts=True,
    )
    publisher_ids = _ids_by_slug(Publisher, [p.slug for p in catalogue.publishers])

    Publication.objects.bulk_create(
        [
            Publication(
                slug=p.slug,
                name=p.name,
                publisher_id=publisher_ids[p.publisher_slug],
                description=p.description,
                brand_colour=p.brand_colour,
            )
            for p in catalogue.publications
        ],
        ignore_conflicts=True,
    )
    publication_ids = _ids_by_slug(Publication, [p.slug for p in catalogue.publications])

    Topic.objects.bulk_create(
        [Topic(slug=slug, name=name) for slug, name in catalogue.topics], ignore_conflicts=True
    )
    topic_ids = _ids_by_slug(Topic, [slug for slug, _ in catalogue.topics])
    topic_id_by_name = {name: topic_ids[slug] for slug, name in catalogue.topics}

    all_slugs = [a.slug for a in catalogue.articles]
    existing = _ids_by_slug(Article, all_slugs)
    missing = [a for a in catalogue.articles if a.slug not in existing]
    articles_create(
        articles=[
            Article(
                slug=a.slug,
                title=a.title,
                standfirst=a.standfirst,
                author=a.author,
                publication_id=publication_ids[a.publication_slug],
                body=a.body_html(),
                published_at=now - timedelta(seconds=a.age_seconds),
                access_level=a.access_level,
                news_value=a.news_value,
            )
            for a in missing
        ],
        batch_size=BATCH_SIZE,
    )
    article_ids = _ids_by_slug(Article, all_slugs)

    # Topic links only for rows created now, so editors' later changes are left alone.
    through = Article.topics.through
    links = [
        through(article_id=article_ids[a.slug], topic_id=topic_id_by_name[name])
        for a in missing
        for name in a.topics
    ]
    through.objects.bulk_create(links, batch_size=BATCH_SIZE * 2, ignore_conflicts=True)
    return article_ids, len(missing)


def _choose_picks(catalogue: Catalogue) -> list[str]:
    """Slugs of the freshest high-value stories, at most one per title while possible."""
    ranked = sorted(
        catalogue.articles, key=lambda a: (a.age_seconds > 3 * 86400, -a.news_value, a.slug)
    )
    chosen: list[str] = []
    titles: set[str] = set()
    for article in ranked:
        if len(chosen) == PICK_COUNT:
            break
        if article.publication_slug not in titles:
            chosen.append(article.slug)
            titles.add(article.publication_slug)
    for article in ranked:
        if len(chosen) == PICK_COUNT:
            break
        if article.slug not in chosen:
            chosen.append(article.slug)
    return chosen


def _load_picks(catalogue: Catalogue, article_ids: dict[str, int], now: datetime) -> None:
    """Create the missing picks at positions 0..7; existing ones are left as edited."""
    for position, slug in enumerate(_choose_picks(catalogue)):
        article_id = article_ids[slug]
        if not EditorialPick.objects.filter(article_id=article_id, position=position).exists():
            EditorialPick.objects.create(
                article_id=article_id, position=position, starts_at=now - timedelta(days=1)
            )


def ensure_plans() -> int:
    """The monthly and yearly plans, matched by code."""
    for plan in DEMO_PLANS:
        Plan.objects.update_or_create(code=plan["code"], defaults={**plan, "is_active": True})
    return len(DEMO_PLANS)


def ensure_accounts(publisher: Publisher) -> tuple[DemoAccount, ...]:
    """Create the demo accounts that do not exist yet; the ones created. An existing
    account is never touched: its password stays its own and it gains no rights (the
    demo's passwords are published, and anyone may have signed up with these addresses)."""
    user_model = get_user_model()
    ops_group, _ = Group.objects.get_or_create(name=OPS_GROUP)
    flags: dict[str, dict[str, bool]] = {
        "admin@masthead.local": {"is_staff": True, "is_superuser": True},
        "ops@masthead.local": {"is_staff": True},
    }
    created = []
    for account in DEMO_ACCOUNTS:
        if user_model._default_manager.filter(email__iexact=account.email).exists():
            continue
        user = user_model._default_manager.create_user(
            email=account.email, password=account.password, **flags.get(account.email, {})
        )
        # No confirmation email goes to a demo address: it counts as confirmed.
        EmailAddress.objects.create(user=user, email=account.email, verified=True, primary=True)
        if account.email == "ops@masthead.local":
            user.groups.add(ops_group)
        elif account.email == "publisher@masthead.local":
            PublisherStaff.objects.get_or_create(user=user, publisher=publisher)
        elif account.email == "reader@masthead.local":
            # A running trial, so the ops dashboard has a reader to find and help.
            from accounts.services import reader_trial_start

            reader_trial_start(user=user)
        created.append(account)
    return tuple(created)


def has_demo_password(account: DemoAccount) -> bool:
    """Whether the account with this demo address still has the demo's password: checked
    against the stored hash only, so nothing is rehashed or saved."""
    user = get_user_model()._default_manager.filter(email__iexact=account.email).first()
    return user is not None and check_password(account.password, user.password)


def _load_title_rules(catalogue: Catalogue) -> None:
    """A demo of publisher-set rules, only where a title has none yet (edits survive):
    every 9th title subscribers-only, every 13th for registered readers, every 5th
    capping its share of the meter at 2 reads; the rest inherit the site's metered rule."""
    slugs = [p.slug for p in catalogue.publications]
    ids = _ids_by_slug(Publication, slugs)
    ruled = set(paywall.titles_with_rules())
    for index, slug in enumerate(slugs):
        pub_id = ids[slug]
        if pub_id in ruled:
            continue
        level = "premium" if index % 9 == 4 else "registered" if index % 13 == 6 else None
        cap = 2 if index % 5 == 2 else None
        if level or cap:
            paywall.rule_set(
                scope="publication", target_id=pub_id, access_level=level, free_articles_cap=cap
            )


def load_demo(
    publishers: int = DEFAULT_PUBLISHERS,
    publications: int = DEFAULT_PUBLICATIONS,
    articles: int = DEFAULT_ARTICLES,
    seed: int = SEED,
    now: datetime | None = None,
) -> DemoSummary:
    """Load (or top up) the demo catalogue, picks, plans and accounts in one transaction."""
    started = time.perf_counter()
    now = now or timezone.now()
    catalogue = build_catalogue(publishers, publications, articles, seed)
    with transaction.atomic():
        article_ids, created = _load_catalogue(catalogue, now)
        _load_picks(catalogue, article_ids, now)
        _load_title_rules(catalogue)
        plans = ensure_plans()
        first_publisher = Publisher.objects.get(slug=catalogue.publishers[0].slug)
        accounts = ensure_accounts(first_publisher)
    return DemoSummary(
        publishers=len(catalogue.publishers),
        publications=len(catalogue.publications),
        topics=len(catalogue.topics),
        articles=len(article_ids),
        articles_created=created,
        picks=min(PICK_COUNT, len(catalogue.articles)),
        plans=plans,
        accounts=accounts,
        first_publisher=first_publisher.slug,
        seconds=time.perf_counter() - started,
    )
