"""The publisher portal (/publisher/): server-rendered pages in the reader site's look.

Every page under /publisher/<publisher>/ goes through `staff_page`: anonymous callers are
sent to sign in, anyone who is not staff of that publisher gets a 404, and the caller's
role comes from the database on every request (removing staff takes effect at once).
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods

from articles import views as reader_views
from articles.models import Article, Publication, PublisherStaff
from config import charts
from config.exceptions import ApplicationError
from subscriptions import paywall
from subscriptions.models import PublisherStatement
from subscriptions.services import read_rollup
from subscriptions.services.statements import split

from . import selectors, services, stats
from .api import simulation
from .forms import ArticleFilterForm, InviteForm, OverrideForm, PeriodForm, RuleForm

PREVIEW_READERS = {
    "anonymous": ("An anonymous reader (free articles used up)", False, None, "Anonymous"),
    "signed_in": (
        "A signed-in reader without access (free articles used up)",
        True,
        None,
        "Signed in",
    ),
    "entitled": ("A subscriber", True, "subscriber", "Subscriber"),
}

WALL_LABELS = {
    "meter_exhausted": "free articles used up",
    "registration_required": "sign-in required",
    "subscribers_only": "subscribers only",
}

View = Callable[..., HttpResponse]


def staff_page(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, publisher: str, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        staff = selectors.membership(user=request.user, publisher_slug=publisher)
        if staff is None:
            raise Http404("No such publisher")
        try:
            response = view(request, staff, **kwargs)
        except ApplicationError as error:
            response = render(
                request,
                "publishers/error.html",
                _context(request, staff, error=error),
                status=error.status_code,
            )
        patch_cache_control(response, private=True, no_store=True)
        return response

    return wrapper


def _context(request: HttpRequest, staff: PublisherStaff, **extra: Any) -> dict[str, Any]:
    return {
        "staff": staff,
        "publisher": staff.publisher,
        "is_admin": selectors.is_admin(staff.role),
        "memberships": selectors.memberships(user=request.user),
        **extra,
    }


def _title(staff: PublisherStaff, slug: str) -> Publication:
    return get_object_or_404(
        Publication.objects.select_related("publisher"), slug=slug, publisher=staff.publisher
    )


def _require_admin(staff: PublisherStaff) -> None:
    if not selectors.is_admin(staff.role):
        raise ApplicationError(
            "Only the publisher's admins can change rules and staff.",
            code="admin_only",
            status_code=403,
        )


@require_http_methods(["GET", "HEAD"])
def portal(request: HttpRequest) -> HttpResponse:
    """The caller's publishers: one goes straight to it, several offer a choice."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    members = selectors.memberships(user=request.user)
    if not members:
        raise Http404("Not publisher staff")
    if len(members) == 1:
        return redirect("publishers:home", publisher=members[0].publisher.slug)
    return render(request, "publishers/choose.html", {"memberships": members})


@require_http_methods(["GET", "HEAD"])
@staff_page
def home(request: HttpRequest, staff: PublisherStaff) -> HttpResponse:
    titles = list(selectors.staff_publications(user=request.user, publisher=staff.publisher))
    resolved = selectors.resolved_rules(publications=titles)
    default = selectors.rule_values(publisher=staff.publisher, publication=None)
    drafts = set(
        selectors.RuleDraft.objects.filter(publisher=staff.publisher).values_list(
            "publication_id", flat=True
        )
    )
    rows = [{"title": t, "rule": resolved[t.pk], "draft": t.pk in drafts} for t in titles]
    return render(
        request,
        "publishers/home.html",
        _context(request, staff, rows=rows, default=default, default_draft=None in drafts),
    )


def _rule_page(
    request: HttpRequest, staff: PublisherStaff, publication: Publication | None
) -> HttpResponse:
    publisher = staff.publisher
    live = selectors.rule_values(publisher=publisher, publication=publication)
    draft = selectors.rule_draft(publisher=publisher, publication=publication)
    inherited = (
        selectors.resolve_values(publication=publication, own={})
        if publication is not None
        else None
    )
    if request.method == "POST":
        _require_admin(staff)
        if request.POST.get("action") == "discard":
            services.draft_discard(role=staff.role, publisher=publisher, publication=publication)
            messages.info(request, "Draft discarded: the live rule is unchanged.")
            return redirect(request.path)
        form = RuleForm(request.POST, inherited=inherited)
        if form.is_valid():
            data = form.cleaned_data
            services.draft_save(
                actor=request.user,
                role=staff.role,
                publisher=publisher,
                publication=publication,
                access_level=data["access_level"] or None,
                free_articles_cap=data["free_articles_cap"],
                preview_paragraphs=data["preview_paragraphs"],
                note=data["note"],
            )
            if publication is not None:
                messages.success(request, "Draft saved. Readers see no change until you publish.")
                return redirect(
                    "publishers:simulate", publisher=publisher.slug, title=publication.slug
                )
            messages.success(request, "Draft saved. Readers see no change until you publish.")
            return redirect(request.path)
        status = 400
    else:
        source = draft.values() if draft else live
        initial = {k: ("" if v is None else v) for k, v in source.items()}
        form = RuleForm(
            initial={**initial, "note": draft.note if draft else ""}, inherited=inherited
        )
        status = 200
    return render(
        request,
        "publishers/rule.html",
        _context(
            request,
            staff,
            publication=publication,
            form=form,
            live=live,
            resolved=selectors.live_resolved(publisher=publisher, publication=publication),
            draft=draft,
            live_version=selectors.live_version(publisher=publisher, publication=publication),
        ),
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def title_rule(request: HttpRequest, staff: PublisherStaff, title: str) -> HttpResponse:
    return _rule_page(request, staff, _title(staff, title))


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def default_rule(request: HttpRequest, staff: PublisherStaff) -> HttpResponse:
    if request.method == "POST" and request.POST.get("action") == "publish":
        return _publish_draft(request, staff, None)
    return _rule_page(request, staff, None)


def _publish_draft(
    request: HttpRequest, staff: PublisherStaff, publication: Publication | None
) -> HttpResponse:
    _require_admin(staff)
    draft = selectors.rule_draft(publisher=staff.publisher, publication=publication)
    if draft is None:
        messages.warning(request, "There is no draft to publish.")
        return redirect(request.path)
    version = services.draft_publish(actor=request.user, role=staff.role, draft=draft)
    messages.success(
        request, f"Published as version {version.number}: readers see it on their next view."
    )
    if publication is not None:
        return redirect(
            "publishers:history", publisher=staff.publisher.slug, title=publication.slug
        )
    return redirect("publishers:default_history", publisher=staff.publisher.slug)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def simulate(request: HttpRequest, staff: PublisherStaff, title: str) -> HttpResponse:
    publication = _title(staff, title)
    if request.method == "POST":
        return _publish_draft(request, staff, publication)
    draft = selectors.rule_draft(publisher=staff.publisher, publication=publication)
    if draft is None:
        messages.info(request, "Save a draft first: the simulator compares it with the live rule.")
        return redirect("publishers:rule", publisher=staff.publisher.slug, title=publication.slug)
    try:
        result = simulation(publication=publication, own=draft.values())
    except read_rollup.RollupPreparing:
        return render(
            request,
            "publishers/simulate_preparing.html",
            _context(request, staff, publication=publication, draft=draft),
        )
    live, proposed = result["live"], result["proposed"]
    figures = [
        ("Reads", "reads"),
        ("Reads granted", "granted"),
        ("Walls in all", "walls_total"),
        ("Readers", "readers"),
        ("Readers who hit the wall", "readers_walled"),
        ("Trials started within 24 h after a wall", "trials_started"),
        ("Subscriptions started within 24 h after a wall", "subscriptions_started"),
    ]
    rows = [(label, live[key], proposed[key]) for label, key in figures]
    rows[3:3] = [
        (f"Walls: {WALL_LABELS[reason]}", live["walls"][reason], proposed["walls"][reason])
        for reason in live["walls"]
    ]
    return render(
        request,
        "publishers/simulate.html",
        _context(
            request,
            staff,
            publication=publication,
            draft=draft,
            sim=result,
            rows=[(label, a, b, b - a) for label, a, b in rows],
        ),
    )


def _history_page(
    request: HttpRequest, staff: PublisherStaff, publication: Publication | None
) -> HttpResponse:
    publisher = staff.publisher
    if request.method == "POST":
        _require_admin(staff)
        try:
            number = int(request.POST.get("version", ""))
        except ValueError:
            number = 0
        version = services.rule_rollback(
            actor=request.user,
            role=staff.role,
            publisher=publisher,
            publication=publication,
            number=number,
            note=request.POST.get("note", ""),
        )
        messages.success(
            request,
            f"Rolled back: version {version.number} restores version {number}, "
            "on readers' next view.",
        )
        return redirect(request.path)
    return render(
        request,
        "publishers/history.html",
        _context(
            request,
            staff,
            publication=publication,
            versions=selectors.version_rows(publisher=publisher, publication=publication),
        ),
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def history(request: HttpRequest, staff: PublisherStaff, title: str) -> HttpResponse:
    return _history_page(request, staff, _title(staff, title))


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def default_history(request: HttpRequest, staff: PublisherStaff) -> HttpResponse:
    return _history_page(request, staff, None)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def articles(request: HttpRequest, staff: PublisherStaff) -> HttpResponse:
    publisher = staff.publisher
    titles = list(selectors.staff_publications(user=request.user, publisher=publisher))
    filters = ArticleFilterForm(request.GET or None, titles=[(t.slug, t.name) for t in titles])
    params = filters.cleaned_data if filters.is_valid() else {}
    override = OverrideForm(request.POST or None)
    status = 200
    if request.method == "POST":
        ids = request.POST.getlist("articles")
        if not all(i.isdecimal() for i in ids):  # what int() takes ("²" is a digit)
            raise Http404("No such article")
        owned = Article.objects.filter(pk__in=ids, publication__publisher=publisher).count()
        if owned != len(set(ids)):
            raise Http404("No such article")
        if not ids:
            override.add_error(None, "Select at least one article.")
        if override.is_valid():
            changed = services.article_override_set(
                actor=request.user,
                publisher=publisher,
                article_ids=[int(i) for i in ids],
                access_level=override.cleaned_data["access_level"],
            )
            messages.success(request, f"{changed} article{'s' if changed != 1 else ''} changed.")
            return redirect(request.get_full_path())
        status = 400
    qs = selectors.staff_articles(
        publisher=publisher,
        q=params.get("q", ""),
        publication_slug=params.get("title", ""),
        access_level=params.get("level", ""),
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    for article in page:
        article.resolved_level = paywall.resolved_level(article)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "publishers/articles.html",
        _context(
            request,
            staff,
            filters=filters,
            override=override,
            page=page,
            query=query.urlencode(),
            preview_readers=PREVIEW_READERS,
        ),
        status=status,
    )


@require_http_methods(["GET", "HEAD"])
@staff_page
def preview(request: HttpRequest, staff: PublisherStaff, slug: str) -> HttpResponse:
    """The real article page, rendered by the reader view itself for a chosen reader."""
    article = get_object_or_404(Article, slug=slug, publication__publisher=staff.publisher)
    kind = request.GET.get("as", "anonymous")
    if kind not in PREVIEW_READERS:
        raise Http404("Unknown reader")
    label, authenticated, entitlement, _ = PREVIEW_READERS[kind]
    as_reader = copy.copy(request)
    if not authenticated:
        from django.contrib.auth.models import AnonymousUser

        as_reader.user = AnonymousUser()
    paywall.preview_as(as_reader, authenticated=authenticated, entitlement=entitlement)
    page = reader_views.article(as_reader, article.slug)
    banner = render(
        request,
        "publishers/_preview_banner.html",
        _context(request, staff, article=article, kind=kind, label=label, readers=PREVIEW_READERS),
    ).content
    html = page.content.replace(
        b'<main id="main" class="wrap">', b'<main id="main" class="wrap">' + banner, 1
    )
    response = HttpResponse(html, status=page.status_code, content_type=page["Content-Type"])
    response["X-Robots-Tag"] = "noindex"
    return response


# The title stats page's tables, each downloadable with `format=csv&table=…`.
TITLE_TABLES = ("days", "top_reads", "top_conversions")


def _period(request: HttpRequest) -> tuple[PeriodForm, date, date]:
    form = PeriodForm(request.GET or None)
    start, end = stats.stats_period(first=None, last=None, today=timezone.now().date())
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if not form.is_bound or form.is_valid():
        # The inputs show the period the page shows, defaults included.
        form = PeriodForm(initial={"start": start, "end": end})
    return form, start, end


def _csv(filename: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@require_http_methods(["GET", "HEAD"])
@staff_page
def stats_page(request: HttpRequest, staff: PublisherStaff) -> HttpResponse:
    form, start, end = _period(request)
    status = 400 if form.is_bound and not form.is_valid() else 200
    titles = list(selectors.staff_publications(user=request.user, publisher=staff.publisher))
    rows = stats.title_stats(publications=titles, since=start, until=end)
    if request.GET.get("format") == "csv":
        return _csv(
            f"{staff.publisher.slug}-stats-{start}-{end}.csv",
            [
                "title",
                "reads",
                "meter_exhausted",
                "registration_required",
                "subscribers_only",
                "trials_started",
                "subscriptions_started",
                "revenue_share_minor_units",
                "currency",
            ],
            [
                [
                    r.publication.slug,
                    r.reads,
                    *r.walls.values(),
                    r.trials_started,
                    r.subscriptions_started,
                    r.revenue_share,
                    r.currency,
                ]
                for r in rows
            ],
        )
    days = stats.daily_total(publications=titles, since=start, until=end)
    return render(
        request,
        "publishers/stats.html",
        _context(
            request,
            staff,
            form=form,
            start=start,
            end=end,
            rows=rows,
            days=days,
            chart=_daily_chart(days, width=560),
        ),
        status=status,
    )


def _daily_chart(days: list[stats.Day], *, width: int) -> SafeString:
    """Reads granted and walls shown per day (the table beside it lists every day)."""
    if not days:
        return charts.line_chart("Reads and walls per day", [], [])
    return charts.line_chart(
        "Reads and walls per day",
        [f"{d.day:%-d %b}" for d in days],
        [("Reads", [d.reads for d in days]), ("Walls", [d.walls for d in days])],
        description=f"From {days[0].day:%-d %b %Y} to {days[-1].day:%-d %b %Y}; highest day "
        f"{max(max(d.reads, d.walls) for d in days):,}. The table beside it lists every day.",
        width=width,
    )


@require_http_methods(["GET", "HEAD"])
@staff_page
def title_stats(request: HttpRequest, staff: PublisherStaff, title: str) -> HttpResponse:
    publication = _title(staff, title)
    form, start, end = _period(request)
    table = request.GET.get("table") or "days"
    if table not in TITLE_TABLES:
        return HttpResponse(
            f"Unknown table; choose one of {', '.join(TITLE_TABLES)}.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    days = stats.daily(publication=publication, since=start, until=end)
    top = stats.top_articles(publication=publication, since=start, until=end)
    converting = stats.top_articles_by_conversions(
        publications=[publication], since=start, until=end
    )[publication.pk]
    if request.GET.get("format") == "csv":
        name = f"{publication.slug}-{table.replace('_', '-')}-{start}-{end}.csv"
        if table == "top_reads":
            return _csv(
                name,
                ["article", "title", "reads"],
                [[a["article__slug"], a["article__title"], a["reads"]] for a in top],
            )
        if table == "top_conversions":
            return _csv(
                name,
                ["article", "title", "trials_started", "subscriptions_started", "conversions"],
                [
                    [a["slug"], a["title"], a["trials"], a["subscriptions"], a["conversions"]]
                    for a in converting
                ],
            )
        return _csv(
            f"{publication.slug}-daily-{start}-{end}.csv",
            ["day", "reads", "walls", "trials_started", "subscriptions_started"],
            [[d.day, d.reads, d.walls, d.trials, d.subscriptions] for d in days],
        )
    return render(
        request,
        "publishers/title_stats.html",
        _context(
            request,
            staff,
            publication=publication,
            form=form,
            start=start,
            end=end,
            days=days,
            chart=_daily_chart(days, width=560),
            top=top,
            converting=converting,
        ),
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@require_http_methods(["GET", "HEAD"])
@staff_page
def statements(request: HttpRequest, staff: PublisherStaff) -> HttpResponse:
    rows = list(PublisherStatement.objects.filter(publisher=staff.publisher).order_by("-month"))
    return render(request, "publishers/statements.html", _context(request, staff, statements=rows))


@require_http_methods(["GET", "HEAD"])
@staff_page
def statement(request: HttpRequest, staff: PublisherStaff, month: str) -> HttpResponse:
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise Http404("No such month") from None
    row = get_object_or_404(PublisherStatement, publisher=staff.publisher, month=first)
    titles = list(selectors.staff_publications(user=request.user, publisher=staff.publisher))
    reads = stats.title_qualified_reads(month=first, publication_ids=[t.pk for t in titles])
    parts = split(pool=row.amount, weights={t.pk: reads.get(t.pk, 0) for t in titles})
    lines = [{"title": t, "reads": reads.get(t.pk, 0), "amount": parts[t.pk]} for t in titles]
    if request.GET.get("format") == "csv":
        return _csv(
            f"{staff.publisher.slug}-statement-{month}.csv",
            ["month", "title", "qualified_reads", "share_minor_units", "currency"],
            [[month, t.slug, reads.get(t.pk, 0), parts[t.pk], row.currency] for t in titles]
            + [[month, "TOTAL", row.qualified_reads, row.amount, row.currency]],
        )
    return render(
        request,
        "publishers/statement.html",
        _context(request, staff, statement=row, lines=lines, month=month),
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def staff_page_view(request: HttpRequest, staff: PublisherStaff) -> HttpResponse:
    publisher = staff.publisher
    form = InviteForm()
    status = 200
    if request.method == "POST":
        _require_admin(staff)
        if "remove" in request.POST:
            try:
                member_id = int(request.POST["remove"])
            except ValueError:
                raise Http404("No such staff member") from None
            services.staff_remove(
                actor=request.user, role=staff.role, publisher=publisher, staff_id=member_id
            )
            messages.success(request, "Removed: they lose access on their next request.")
            return redirect(request.path)
        form = InviteForm(request.POST)
        if form.is_valid():
            services.staff_invite(
                actor=request.user,
                role=staff.role,
                publisher=publisher,
                email=form.cleaned_data["email"],
                invite_role=form.cleaned_data["role"],
            )
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect(request.path)
        status = 400
    return render(
        request,
        "publishers/staff.html",
        _context(
            request,
            staff,
            form=form,
            members=selectors.publisher_staff(publisher=publisher),
            invitations=selectors.open_invitations(publisher=publisher),
            now=timezone.now(),
        ),
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    invite = selectors.invitation(token=token)
    if invite is None:
        raise Http404("No such invitation")
    expired = invite.expires_at <= timezone.now() or invite.accepted_at is not None
    if request.method == "POST" and request.user.is_authenticated and not expired:
        staff = services.invitation_accept(user=request.user, token=token)
        messages.success(request, f"Welcome to {staff.publisher.name}.")
        return redirect("publishers:home", publisher=staff.publisher.slug)
    here = reverse("publishers:invitation", args=[token])
    return render(
        request,
        "publishers/invitation.html",
        {"invite": invite, "expired": expired, "here": here},
        status=410 if expired else 200,
    )
