"""Every dashboard figure, computed by the database with grouped and conditional aggregation.

Functions take the viewer, the cleaned filters (``filters.DashboardFilter``), the catalogue and the
settings, and return plain dicts and lists sized by the number of groups, never by leads or events.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Case, Count, DateTimeField, F, FloatField, IntegerField, Q, Sum, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from crm.access import brand_ids
from crm.models import Lead, LeadEvent, Role, Stage

from .sql import Percentile, Seconds

TRUNCATE = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
HOUR = 3600.0
DAY = 86400.0


@dataclass
class StatusGroups:
    """Status ids and keys grouped the way the figures need them."""

    pending: list
    contacted: list
    active: list
    won: list
    lost: list
    junk: list
    open: list
    quoted_or_later: list
    keys_open_or_won: list = field(default_factory=list)
    keys_won: list = field(default_factory=list)
    keys_quoted: list = field(default_factory=list)

    @classmethod
    def from_catalogue(cls, catalogue):
        statuses = catalogue.statuses

        def ids(condition):
            return [pk for pk, row in statuses.items() if condition(row)]

        quoted_order = next((row["order"] for row in statuses.values() if row["key"] == "quoted"), None)
        return cls(
            pending=ids(lambda row: row["key"] == "pending"),
            contacted=ids(lambda row: row["key"] in ("to_quote", "quoted")),
            active=ids(lambda row: row["key"] in ("won", "postponed", "interested")),
            won=ids(lambda row: row["stage"] == Stage.WON),
            lost=ids(lambda row: row["stage"] == Stage.LOST),
            junk=ids(lambda row: row["stage"] == Stage.JUNK),
            open=ids(lambda row: row["stage"] in (Stage.NEW, Stage.OPEN)),
            quoted_or_later=ids(
                lambda row: (
                    quoted_order is not None
                    and row["order"] >= quoted_order
                    and row["stage"] in (Stage.OPEN, Stage.WON)
                )
            ),
            keys_open_or_won=[
                row["key"] for row in statuses.values() if row["stage"] in (Stage.OPEN, Stage.WON)
            ],
            keys_won=[row["key"] for row in statuses.values() if row["stage"] == Stage.WON],
            keys_quoted=["quoted"],
        )


def ratio(part, whole):
    return part / whole if whole else None


def change(current, previous):
    """Relative change from ``previous`` to ``current`` (None when there is nothing to compare)."""
    if previous in (None, 0) or current is None:
        return None
    return (current - previous) / previous


# ---------------------------------------------------------------- overview

OVERVIEW_KPIS = ["total", "pending", "contacted", "active", "unassigned", "won", "lost", "junk"]


def _kpi_conditions(groups):
    return {
        "total": Q(),
        "pending": Q(status_id__in=groups.pending),
        "contacted": Q(status_id__in=groups.contacted),
        "active": Q(status_id__in=groups.active),
        "unassigned": Q(assignee__isnull=True),
        "won": Q(status_id__in=groups.won),
        "lost": Q(status_id__in=groups.lost),
        "junk": Q(status_id__in=groups.junk),
    }


def overview_kpis(user, flt, groups, now=None):
    """The landing counts for the period (and the previous one), plus new today and this week. One query."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    week_start = today - datetime.timedelta(days=today.weekday())
    today_start = _midnight(today)
    week_start_dt = _midnight(week_start)
    period, previous = flt.range, flt.previous
    conditions = _kpi_conditions(groups)
    aggregates = {f"current_{name}": Count("pk", filter=period.q() & q) for name, q in conditions.items()}
    if flt.compare:
        aggregates |= {
            f"previous_{name}": Count("pk", filter=previous.q() & q) for name, q in conditions.items()
        }
    aggregates["new_today"] = Count("pk", filter=Q(received_at__gte=today_start))
    aggregates["new_this_week"] = Count("pk", filter=Q(received_at__gte=week_start_dt))
    window_start = min(period.start, week_start_dt, previous.start if flt.compare else period.start)
    window_end = max(period.end, today_start + datetime.timedelta(days=1), now)
    values = (
        flt.scope(user)
        .filter(received_at__gte=window_start, received_at__lt=window_end)
        .aggregate(**aggregates)
    )
    kpis = []
    for name in OVERVIEW_KPIS:
        current = values[f"current_{name}"]
        previous_value = values.get(f"previous_{name}")
        kpis.append(
            {
                "key": name,
                "value": current,
                "previous": previous_value,
                "change": change(current, previous_value),
            }
        )
    return kpis, {"new_today": values["new_today"], "new_this_week": values["new_this_week"]}


def _midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def leads_over_time(user, flt):
    """Leads received per day, week or month of the period (and the previous period, aligned). One query."""
    trunc = TRUNCATE[flt.interval]
    when = flt.range.q() | flt.previous.q() if flt.compare else flt.range.q()
    rows = (
        flt.scope(user)
        .filter(when)
        .annotate(bucket=trunc("received_at"))
        .values("bucket")
        .annotate(leads=Count("pk"))
        .order_by("bucket")
    )
    found = {_bucket_day(row["bucket"]): row["leads"] for row in rows}
    current = _buckets(flt.range.first_day, flt.range.last_day, flt.interval)
    series = []
    previous_buckets = (
        _buckets(flt.previous.first_day, flt.previous.last_day, flt.interval) if flt.compare else []
    )
    for index, bucket in enumerate(current):
        row = {"bucket": bucket, "leads": found.get(bucket, 0)}
        if flt.compare:
            row["previous"] = found.get(previous_buckets[index], 0) if index < len(previous_buckets) else None
        series.append(row)
    return series


def _bucket_day(value):
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _buckets(first, last, interval):
    """The start day of every bucket touching ``[first, last]``."""
    if interval == "week":
        cursor = first - datetime.timedelta(days=first.weekday())
        step = lambda day: day + datetime.timedelta(days=7)  # noqa: E731
    elif interval == "month":
        cursor = first.replace(day=1)
        step = lambda day: (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)  # noqa: E731
    else:
        cursor = first
        step = lambda day: day + datetime.timedelta(days=1)  # noqa: E731
    buckets = []
    while cursor <= last:
        buckets.append(cursor)
        cursor = step(cursor)
    return buckets


def breakdowns(user, flt):
    """Leads of the period by brand, service and source, from one grouped query."""
    rows = (
        flt.leads(user).values("brand_id", "service_id", "source_id").annotate(leads=Count("pk")).order_by()
    )
    totals = {"brand_id": {}, "service_id": {}, "source_id": {}}
    for row in rows:
        for dimension, counts in totals.items():
            counts[row[dimension]] = counts.get(row[dimension], 0) + row["leads"]
    return {name: sorted(counts.items(), key=lambda item: -item[1]) for name, counts in totals.items()}


def latest_leads(user, flt, groups, limit=5):
    """The most recent leads of the period that are not negative (junk)."""
    return list(
        flt.leads(user)
        .exclude(status_id__in=groups.junk)
        .select_related("status", "brand", "service", "assignee")
        .order_by("-received_at", "-pk")[:limit]
    )


# ---------------------------------------------------------------- pipeline


def status_distribution(user, flt, groups, settings, now=None):
    """Per status: leads, median and p90 days in the status, stale leads. One query."""
    now = now or timezone.now()
    age = Seconds(Value(now, output_field=DateTimeField()), F("status_changed_at"))
    stale_before = now - datetime.timedelta(days=settings.stale_days)
    rows = (
        flt.leads(user)
        .values("status_id")
        .annotate(
            leads=Count("pk"),
            median_age=Percentile(age, 0.5),
            p90_age=Percentile(age, 0.9),
            stale=Count("pk", filter=Q(status_id__in=groups.open, last_activity_at__lt=stale_before)),
        )
        .order_by()
    )
    return {row["status_id"]: row for row in rows}


def stage_funnel(user, flt, groups, total):
    """Received → reached an open status → reached a won status, from status-change events. One query."""
    reached = (
        _events_scope(user, flt)
        .filter(
            flt.range.q("lead__received_at"),
            created_at__gte=flt.range.start,
            kind=LeadEvent.Kind.STATUS_CHANGED,
        )
        .aggregate(
            open=Count("lead", distinct=True, filter=Q(to_value__in=groups.keys_open_or_won)),
            won=Count("lead", distinct=True, filter=Q(to_value__in=groups.keys_won)),
        )
    )
    steps = [("new", total), ("open", reached["open"]), ("won", reached["won"])]
    funnel = []
    for index, (stage, count) in enumerate(steps):
        funnel.append(
            {
                "stage": stage,
                "leads": count,
                "from_previous": ratio(count, steps[index - 1][1]) if index else None,
                "from_start": ratio(count, total),
            }
        )
    return funnel


def stale_leads(user, flt, groups, settings, now=None, limit=20):
    """Open leads of the period with no activity for ``stale_days``, stalest first.

    The ids are picked first from the period's leads alone (an index-only scan on PostgreSQL), so
    only the ``limit`` leads shown are read in full.
    """
    now = now or timezone.now()
    order = ("last_activity_at", "pk")
    stalest = (
        flt.leads(user)
        .filter(
            status_id__in=groups.open, last_activity_at__lt=now - datetime.timedelta(days=settings.stale_days)
        )
        .order_by(*order)
        .values("pk")[:limit]
    )
    return list(
        Lead.objects.filter(pk__in=stalest).select_related("status", "brand", "assignee").order_by(*order)
    )


# ---------------------------------------------------------------- team


def _events_scope(user, flt):
    """Events of leads ``user`` may see that match the filters (the same rules as ``crm.access``)."""
    events = LeadEvent.objects.all()
    if not user.is_authenticated or not user.is_active:
        return events.none()
    if user.role == Role.MANAGER:
        events = events.filter(lead__brand_id__in=sorted(brand_ids(user)))
    elif user.role == Role.EMPLOYEE:
        events = events.filter(lead__assignee=user)
    elif user.role != Role.ADMIN:
        return events.none()
    return events.filter(_prefixed(flt.lead_q, "lead__"))


def _prefixed(q, prefix):
    """The same condition on a related lead: ``Q(brand_id=1)`` → ``Q(lead__brand_id=1)``."""
    clone = Q()
    clone.connector, clone.negated = q.connector, q.negated
    for child in q.children:
        clone.children.append(
            _prefixed(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1])
        )
    return clone


def _lead_figures(settings, now):
    """Per-lead aggregates shared by the team table, its totals and the personal panel."""
    sla = datetime.timedelta(hours=settings.sla_hours)
    contacted_after_assignment = Q(first_contacted_at__isnull=False, first_contacted_at__gte=F("assigned_at"))
    response = Case(
        When(contacted_after_assignment, then=Seconds(F("first_contacted_at"), F("assigned_at"))),
        output_field=FloatField(),
    )
    return {
        "leads": Count("pk"),
        "contacted": Count("pk", filter=Q(first_contacted_at__isnull=False)),
        "median_response": Percentile(response, 0.5),
        "p90_response": Percentile(response, 0.9),
        "sla_met": Count(
            "pk", filter=contacted_after_assignment & Q(first_contacted_at__lte=F("assigned_at") + sla)
        ),
        "sla_due": Count(
            "pk",
            filter=contacted_after_assignment
            | Q(first_contacted_at__isnull=True, assigned_at__isnull=False, assigned_at__lt=now - sla),
        ),
    }


def _open_figures(groups, settings, now):
    stale_before = now - datetime.timedelta(days=settings.stale_days)
    return {
        "open": Count("pk", filter=Q(status_id__in=groups.open)),
        "stale": Count("pk", filter=Q(status_id__in=groups.open, last_activity_at__lt=stale_before)),
    }


def _event_figures(groups):
    return {
        "activity": Count("pk"),
        "contacted_leads": Count("lead", distinct=True, filter=Q(kind=LeadEvent.Kind.CONTACT_ATTEMPT)),
        "quoted": Count(
            "lead",
            distinct=True,
            filter=Q(kind=LeadEvent.Kind.STATUS_CHANGED, to_value__in=groups.keys_quoted),
        ),
        "won": Count(
            "lead", distinct=True, filter=Q(kind=LeadEvent.Kind.STATUS_CHANGED, to_value__in=groups.keys_won)
        ),
    }


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


def team_performance(user, flt, groups, settings, now=None):
    """Per salesperson and for the team: figures from their events in the period and their leads. Three queries."""
    now = now or timezone.now()
    leads = flt.leads(user).exclude(assignee__isnull=True)
    lead_figures = {**_lead_figures(settings, now), **_open_figures(groups, settings, now)}
    events = _events_scope(user, flt).filter(flt.range.q("created_at"))
    people_events = events.filter(actor__isnull=False)
    lead_rows = _with_total(leads, "assignee_id", lead_figures)
    event_rows = _with_total(people_events, "actor_id", _event_figures(groups))
    assigned_rows = (
        events.filter(kind=LeadEvent.Kind.ASSIGNED)
        .annotate(to_id=Cast(KT("data__to_id"), IntegerField()))
        .exclude(to_id__isnull=True)
        .values("to_id")
        .annotate(assigned=Count("pk"))
        .order_by()
    )
    total = {}
    people = {}

    def person(pk):
        return people.setdefault(pk, {"person_id": pk})

    for row in [*lead_rows, *event_rows]:
        pk = row.pop("group")
        (total if pk is None else person(pk)).update(row)
    for row in assigned_rows:
        person(row["to_id"])["assigned"] = row["assigned"]
    total["assigned"] = sum(row.get("assigned", 0) for row in people.values())
    return [_team_row(row) for row in people.values()], _team_row(total)


def _with_total(queryset, group, figures):
    """Figures per ``group`` value plus one row for all (``group`` None), in one UNION query."""
    per_group = queryset.values(group=F(group)).annotate(**figures).order_by()
    everyone = (
        queryset.annotate(group=Value(None, IntegerField())).values("group").annotate(**figures).order_by()
    )
    return list(per_group.union(everyone, all=True))


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
        row.setdefault(name, 0)
    row.setdefault("median_response", None)
    row.setdefault("p90_response", None)
    row["median_response_hours"] = (
        row["median_response"] / HOUR if row["median_response"] is not None else None
    )
    row["p90_response_hours"] = row["p90_response"] / HOUR if row["p90_response"] is not None else None
    row["sla_share"] = ratio(row["sla_met"], row["sla_due"])
    row["conversion"] = ratio(row["won"], row["assigned"])
    return row


def weekly_trend(user, flt, groups):
    """Per week of the period: leads assigned, leads contacted and leads won, from events. One query."""
    rows = (
        _events_scope(user, flt)
        .filter(flt.range.q("created_at"))
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(
            assigned=Count("pk", filter=Q(kind=LeadEvent.Kind.ASSIGNED) & ~Q(to_value="")),
            contacted=Count("lead", distinct=True, filter=Q(kind=LeadEvent.Kind.CONTACT_ATTEMPT)),
            won=Count(
                "lead",
                distinct=True,
                filter=Q(kind=LeadEvent.Kind.STATUS_CHANGED, to_value__in=groups.keys_won),
            ),
        )
        .order_by("week")
    )
    found = {_bucket_day(row["week"]): row for row in rows}
    trend = []
    for week in _buckets(flt.range.first_day, flt.range.last_day, "week"):
        row = found.get(week, {})
        trend.append(
            {
                "bucket": week,
                "assigned": row.get("assigned", 0),
                "contacted": row.get("contacted", 0),
                "won": row.get("won", 0),
            }
        )
    return trend


# ---------------------------------------------------------------- campaigns

CAMPAIGN_DIMENSIONS = {
    "campaign": ("campaign_id",),
    "utm": ("utm_source", "utm_medium", "utm_campaign"),
    "service": ("service_id",),
    "brand": ("brand_id",),
}


def _campaign_figures(groups):
    return {
        "leads": Count("pk"),
        "valid": Count("pk", filter=~Q(status_id__in=groups.junk)),
        "contacted": Count("pk", filter=Q(first_contacted_at__isnull=False)),
        "quoted": Count("pk", filter=Q(status_id__in=groups.quoted_or_later)),
        "won": Count("pk", filter=Q(status_id__in=groups.won)),
        "median_to_won": Percentile(
            Case(
                When(status_id__in=groups.won, then=Seconds(F("status_changed_at"), F("received_at"))),
                output_field=FloatField(),
            ),
            0.5,
        ),
    }


def campaign_effectiveness(user, flt, groups, catalogue):
    """Per campaign, UTM combination, service and brand. Four queries.

    A campaign's spend is shared equally among its leads shown, so every group's cost is the
    spend of the campaigns its leads belong to, in proportion.
    """
    leads = flt.leads(user)
    figures = _campaign_figures(groups)
    by_campaign = list(leads.values("campaign_id").annotate(**figures).order_by())
    shares = []
    for row in by_campaign:
        campaign = catalogue.campaigns.get(row["campaign_id"])
        if campaign is not None:
            shares.append(
                When(campaign_id=row["campaign_id"], then=Value(float(campaign["spend"]) / row["leads"]))
            )
    cost = (
        Sum(Case(*shares, default=None, output_field=FloatField())) if shares else Value(None, FloatField())
    )
    tables = {"campaign": [_campaign_row(row, catalogue) for row in by_campaign]}
    for name, fields in CAMPAIGN_DIMENSIONS.items():
        if name == "campaign":
            continue
        rows = leads.values(*fields).annotate(**figures, cost=cost).order_by()
        tables[name] = [_finish_campaign_row(dict(row)) for row in rows]
    return tables


def _campaign_row(row, catalogue):
    row = dict(row)
    campaign = catalogue.campaigns.get(row["campaign_id"])
    row["cost"] = float(campaign["spend"]) if campaign is not None else None
    return _finish_campaign_row(row)


def _finish_campaign_row(row):
    row["conversion"] = ratio(row["won"], row["valid"])
    row["cost_per_lead"] = ratio(row["cost"], row["leads"]) if row.get("cost") is not None else None
    row["cost_per_won"] = ratio(row["cost"], row["won"]) if row.get("cost") is not None else None
    row["median_to_won_days"] = row["median_to_won"] / DAY if row["median_to_won"] is not None else None
    return row


def mark_best_and_worst(rows, min_leads):
    """Flag the highest and lowest conversion among rows with at least ``min_leads`` leads."""
    ranked = [row for row in rows if row["leads"] >= min_leads and row["conversion"] is not None]
    for row in rows:
        row["rank"] = ""
    if len(ranked) < 2:
        return rows
    best = max(ranked, key=lambda row: (row["conversion"], row["leads"]))
    worst = min(ranked, key=lambda row: (row["conversion"], -row["leads"]))
    if best["conversion"] != worst["conversion"]:
        best["rank"], worst["rank"] = "best", "worst"
    return rows


# ---------------------------------------------------------------- personal panel


def personal_figures(user, settings, days=30, now=None):
    """An employee's own open leads by status, overdue leads and figures of the last ``days`` days. Three queries."""
    now = now or timezone.now()
    mine = Lead.objects.filter(assignee=user)
    sla_before = now - datetime.timedelta(hours=settings.sla_hours)
    stale_before = now - datetime.timedelta(days=settings.stale_days)
    overdue_q = Q(first_contacted_at__isnull=True, assigned_at__lt=sla_before) | Q(
        last_activity_at__lt=stale_before
    )
    by_status = list(
        mine.filter(status__stage__in=[Stage.NEW, Stage.OPEN])
        .values("status_id", "status__key", "status__label", "status__label_es", "status__order")
        .annotate(leads=Count("pk"), overdue=Count("pk", filter=overdue_q))
        .order_by("status__order")
    )
    overdue = list(
        mine.filter(overdue_q, status__stage__in=[Stage.NEW, Stage.OPEN])
        .select_related("status", "brand")
        .order_by("assigned_at", "pk")[:10]
    )
    since = now - datetime.timedelta(days=days)
    figures = mine.filter(assigned_at__gte=since).aggregate(
        **_lead_figures(settings, now), won=Count("pk", filter=Q(status__stage=Stage.WON))
    )
    figures = _team_row({**figures, "assigned": figures["leads"]})
    figures["won_share"] = ratio(figures["won"], figures["leads"])
    return {"by_status": by_status, "overdue": overdue, "figures": figures, "days": days}
