"""The people's figures: the team dashboard (per salesperson, from their leads and the per-person daily
rollup) and a salesperson's own panel on the admin home."""

import datetime

from django.db.models import Case, Count, F, FloatField, Q, Sum, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from crm.access import brand_ids, leads_for
from crm.models import Lead, PipelineStatus, Role, Stage

from .metrics import (
    HOUR,
    bucket_day,
    buckets,
    counted_if,
    lead_figures,
    needs_attention,
    periods_q,
    ratio,
    sla_breached,
    sla_conditions,
)
from .models import DashboardSettings, PersonDay
from .sql import GroupingSets, Seconds

TEAM_COLUMNS = [
    "assigned",
    "contacted_leads",
    "median_response",
    "p90_response",
    "sla_share",
    "quoted",
    "won",
    "conversion",
    "open",
    "stale",
    "activity",
]
TEAM_TOTALS = [
    "assigned",
    "contacted_leads",
    "median_response_hours",
    "sla_share",
    "quoted",
    "won",
    "conversion",
    "activity",
]
ROLLUP_COUNTERS = ["activity", "contacted", "first_contacts", "quoted", "won"]


def _rollup_scope(user):
    """The rollup rows of the leads ``user`` may see (rows carry the lead's brand); None for none."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.role == Role.ADMIN:
        return Q()
    if user.role == Role.MANAGER:
        return Q(brand_id__in=sorted(brand_ids(user)))
    return None


def _rollup_days(user, flt):
    """Rollup sums per local day and person over the period (and the previous one). One query."""
    scope = _rollup_scope(user)
    if scope is None:
        return []
    first = (flt.previous if flt.compare else flt.range).first_day
    return list(
        PersonDay.objects.filter(scope, flt.rollup_q, day__gte=first, day__lte=flt.range.last_day)
        .values("day", "person_id")
        .annotate(**{name: Sum(name) for name in ROLLUP_COUNTERS})
        .order_by()
    )


def _assigned_days(user, flt):
    """Leads per current assignee and local day of their assignment, over the period(s). One query."""
    return list(
        flt.scope(user)
        .filter(periods_q(flt, "assigned_at"), assignee__isnull=False)
        .annotate(day=TruncDate("assigned_at"))
        .values("assignee_id", "day")
        .annotate(assigned=Count("pk"))
        .order_by()
    )


def _lead_rows(user, flt, groups, settings, now):
    """Lead figures per assignee and for everyone, each with ``_0`` (the period) and ``_1`` (the
    previous one) columns, for leads submitted in the period(s). One query (GROUPING SETS)."""
    met, due = sla_conditions(settings, now)
    stale_before = now - datetime.timedelta(days=settings.stale_days)
    contacted_after_assignment = Q(first_contacted_at__isnull=False, first_contacted_at__gte=F("assigned_at"))
    counted = {
        "leads": Q(),
        "contacted": Q(first_contacted_at__isnull=False),
        "sla_met": met,
        "sla_due": due,
        "open": Q(status_id__in=groups.open),
        "stale": Q(status_id__in=groups.open, last_activity_at__lt=stale_before),
    }
    spans = {0: flt.range, 1: flt.previous} if flt.compare else {0: flt.range}
    columns = {"assignee": F("assignee_id")}
    aggregates = {}
    for index, span in spans.items():
        for name, condition in counted.items():
            columns[f"{name}_{index}"] = counted_if(span.q() & condition)
            aggregates[f"{name}_{index}"] = ("count", f"{name}_{index}", None)
        columns[f"response_{index}"] = Case(
            When(
                span.q() & contacted_after_assignment, then=Seconds(F("first_contacted_at"), F("assigned_at"))
            ),
            output_field=FloatField(),
        )
        aggregates[f"median_response_{index}"] = ("percentile", f"response_{index}", 0.5)
        aggregates[f"p90_response_{index}"] = ("percentile", f"response_{index}", 0.9)
    leads = flt.scope(user).filter(periods_q(flt), assignee__isnull=False)
    rows = []
    for set_index, row in GroupingSets(leads, columns, [("assignee",), ()], aggregates).rows():
        for index in spans:
            figures = {name: row[f"{name}_{index}"] for name in [*counted, "median_response", "p90_response"]}
            rows.append((set_index, {"period": index, "assignee": row.get("assignee"), **figures}))
    return rows


def team_figures(user, flt, groups, settings, now=None):  # noqa: C901 - known debt (ARCHITECTURE.md, Habits)
    """Everything the team page shows, from three queries.

    Per salesperson and for the team: leads assigned in the period (their current assignment), first
    contacts, quotes and wins they made and their activity (the rollup), and the first-contact times,
    SLA, open and stale leads of the leads submitted in the period. With comparison, ``previous`` holds
    the previous period's team totals. ``trend``: per week of the period, leads assigned, leads
    contacted for the first time and leads won.
    """
    now = now or timezone.now()
    people, totals = {}, {0: {}, 1: {}}

    def person(pk):
        return people.setdefault(pk, {"person_id": pk})

    for index, row in _lead_rows(user, flt, groups, settings, now):
        period, assignee = row.pop("period"), row.pop("assignee")
        if index == 1:
            totals[period].update(row)
        elif period == 0 and row["leads"]:
            person(assignee).update(row)
    ranges = {0: flt.range, 1: flt.previous} if flt.compare else {0: flt.range}
    weeks = {
        week: {"bucket": week, "assigned": 0, "contacted": 0, "won": 0}
        for week in buckets(flt.range.first_day, flt.range.last_day, "week")
    }

    def period_of(day):
        return next(
            (period for period, span in ranges.items() if span.first_day <= day <= span.last_day), None
        )

    def week_of(day):
        return day - datetime.timedelta(days=day.weekday())

    for row in _assigned_days(user, flt):
        day = bucket_day(row["day"])
        period = period_of(day)
        if period is None:
            continue
        total = totals[period]
        total["assigned"] = total.get("assigned", 0) + row["assigned"]
        if period == 0:
            mine = person(row["assignee_id"])
            mine["assigned"] = mine.get("assigned", 0) + row["assigned"]
            weeks[week_of(day)]["assigned"] += row["assigned"]
    for row in _rollup_days(user, flt):
        day = bucket_day(row["day"])
        period = period_of(day)
        if period is None:
            continue
        total = totals[period]
        for name, target in (
            ("activity", "activity"),
            ("first_contacts", "contacted_leads"),
            ("quoted", "quoted"),
            ("won", "won"),
        ):
            total[target] = total.get(target, 0) + row[name]
        if period == 0:
            mine = person(row["person_id"])
            for name, target in (
                ("activity", "activity"),
                ("contacted", "contacted_leads"),
                ("quoted", "quoted"),
                ("won", "won"),
            ):
                mine[target] = mine.get(target, 0) + row[name]
            week = weeks[week_of(day)]
            week["contacted"] += row["first_contacts"]
            week["won"] += row["won"]
    return {
        "rows": [_team_row(row) for row in people.values()],
        "total": _team_row(totals[0]),
        "previous": _team_row(totals[1]) if flt.compare else None,
        "trend": list(weeks.values()),
    }


def team_performance(user, flt, groups, settings, now=None):
    """``(rows, total)`` of ``team_figures``."""
    figures = team_figures(user, flt, groups, settings, now)
    return figures["rows"], figures["total"]


def weekly_trend(user, flt, groups, settings=None, now=None):
    """The weekly trend of ``team_figures``."""
    return team_figures(user, flt, groups, settings or DashboardSettings.load(), now)["trend"]


def _team_row(row):
    for name in (
        "leads",
        "contacted",
        "sla_met",
        "sla_due",
        "open",
        "stale",
        "activity",
        "contacted_leads",
        "quoted",
        "won",
        "assigned",
    ):
        row[name] = int(row.get(name) or 0)
    row.setdefault("median_response", None)
    row.setdefault("p90_response", None)
    row["median_response_hours"] = (
        row["median_response"] / HOUR if row["median_response"] is not None else None
    )
    row["p90_response_hours"] = row["p90_response"] / HOUR if row["p90_response"] is not None else None
    row["sla_share"] = ratio(row["sla_met"], row["sla_due"])
    row["conversion"] = ratio(row["won"], row["assigned"])
    return row


STATUS_FIELDS = ("key", "label", "label_es", "order")


def personal_figures(user, settings, days=30, now=None):
    """A salesperson's own open leads by status, overdue leads and figures of the last ``days`` days.

    Four queries, none of which joins the statuses: the open and won statuses are picked from the
    (small) status table first, so each lead query reads one index of the person's leads
    (``dashboards_lead_assignee_cover`` on PostgreSQL, index-only) rather than their rows.
    """
    now = now or timezone.now()
    statuses = {row["pk"]: row for row in PipelineStatus.objects.values("pk", "stage", *STATUS_FIELDS)}
    open_ids = [pk for pk, row in statuses.items() if row["stage"] in (Stage.NEW, Stage.OPEN)]
    won_ids = [pk for pk, row in statuses.items() if row["stage"] == Stage.WON]
    mine = Lead.objects.filter(assignee=user)
    overdue_q = needs_attention(settings, now)
    counts = (
        mine.filter(status_id__in=open_ids)
        .values("status_id")
        .annotate(leads=Count("pk"), overdue=Count("pk", filter=overdue_q))
        .order_by()
    )
    by_status = sorted(
        (
            {**row, **{f"status__{name}": statuses[row["status_id"]][name] for name in STATUS_FIELDS}}
            for row in counts
        ),
        key=lambda row: (row["status__order"], row["status_id"]),
    )
    order = ("assigned_at", "pk")
    first_overdue = mine.filter(overdue_q, status_id__in=open_ids).order_by(*order).values("pk")[:10]
    overdue = list(
        Lead.objects.filter(pk__in=first_overdue).select_related("status", "brand").order_by(*order)
    )
    since = now - datetime.timedelta(days=days)
    figures = mine.filter(assigned_at__gte=since).aggregate(
        **lead_figures(settings, now), won=Count("pk", filter=Q(status_id__in=won_ids))
    )
    figures = _team_row({**figures, "assigned": figures["leads"]})
    figures["won_share"] = ratio(figures["won"], figures["leads"])
    return {"by_status": by_status, "overdue": overdue, "figures": figures, "days": days}


def team_day(user, settings, now=None):
    """A manager's day: their brands' open leads waiting for an assignee, and per assignee (None: nobody)
    the open leads whose first-contact SLA ran out and the leads whose next follow-up is overdue.

    Three queries, each a count or a count per person. The lead listing's ``assignee=unassigned&stage=active``,
    ``sla=breached`` and ``next_action=overdue`` filters list exactly what they count.
    """
    now = now or timezone.now()
    leads = leads_for(user)
    open_ids = PipelineStatus.objects.filter(stage__in=[Stage.NEW, Stage.OPEN]).values("pk")
    unassigned = leads.filter(assignee__isnull=True, status_id__in=open_ids).count()

    def per_person(condition):
        rows = leads.filter(condition).values_list("assignee_id").annotate(leads=Count("pk")).order_by()
        return dict(rows)

    breached = per_person(sla_breached(settings, now))
    overdue = per_person(Q(next_action_at__lt=now))
    people = [
        {"person_id": pk, "breached": breached.get(pk, 0), "overdue": overdue.get(pk, 0)}
        for pk in {*breached, *overdue}
    ]
    people.sort(key=lambda row: (-(row["breached"] + row["overdue"]), row["person_id"] or 0))
    return {
        "unassigned": unassigned,
        "breached": sum(breached.values()),
        "overdue": sum(overdue.values()),
        "people": people,
    }
