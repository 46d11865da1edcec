"""Every dashboard figure, computed by the database with grouped and conditional aggregation.

Functions take the viewer, the cleaned filters (``filters.DashboardFilter``), the catalogue and the
settings, and return plain dicts and lists sized by the number of groups, never by leads or events.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncDay, TruncMonth, TruncWeek
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

from crm.access import brand_ids, events_for, leads_counted_for, on_related_lead
from crm.models import Lead, LeadEvent, PipelineStatus, Role, Stage, backfill_q

from .models import DashboardSettings, PersonDay
from .sql import BusinessClock, GroupingSets, Percentile, Seconds, business_clock

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
    open_or_won: list = field(default_factory=list)
    keys_open_or_won: list = field(default_factory=list)
    keys_won: list = field(default_factory=list)
    keys_quoted: list = field(default_factory=list)
    keys_closed_or_new: list = field(default_factory=list)

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
            open_or_won=ids(lambda row: row["stage"] in (Stage.OPEN, Stage.WON)),
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
            keys_closed_or_new=[
                row["key"] for row in statuses.values() if row["stage"] not in (Stage.OPEN, Stage.WON)
            ],
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
    aggregates["new_today"] = Count("pk", filter=Q(submitted_at__gte=today_start))
    aggregates["new_this_week"] = Count("pk", filter=Q(submitted_at__gte=week_start_dt))
    window_start = min(period.start, week_start_dt, previous.start if flt.compare else period.start)
    window_end = max(period.end, today_start + datetime.timedelta(days=1), now)
    values = (
        flt.scope(user)
        .filter(submitted_at__gte=window_start, submitted_at__lt=window_end)
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
    """Leads submitted per day, week or month of the period (and the previous period, aligned). One query."""
    trunc = TRUNCATE[flt.interval]
    when = _periods_q(flt)
    rows = (
        flt.scope(user)
        .filter(when)
        .annotate(bucket=trunc("submitted_at"))
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
        .order_by("-submitted_at", "-pk")[:limit]
    )


# ---------------------------------------------------------------- periods


def _period(flt, field):
    """0 for rows of the period, 1 for the previous period's (only when comparing)."""
    if not flt.compare:
        return Value(0, output_field=IntegerField())
    whens = [When(flt.range.q(field), then=Value(0))]
    if flt.compare:
        whens.append(When(flt.previous.q(field), then=Value(1)))
    return Case(*whens, default=None, output_field=IntegerField())


def _periods_q(flt, field="submitted_at"):
    """The period, or the period and the previous one (they touch: one range, one index scan)."""
    if not flt.compare:
        return flt.range.q(field)
    return Q(**{f"{field}__gte": flt.previous.start, f"{field}__lt": flt.range.end})


def _if(condition, then=1):
    return Case(When(condition, then=then), default=None, output_field=FloatField())


# ---------------------------------------------------------------- pipeline


def status_distribution(user, flt, groups, settings, now=None):
    """Per status: leads, median and p90 days in the status, stale leads, and the previous period's
    leads (``previous``, when comparing). One query grouped by status, and one more when comparing:
    the previous period is only counted (hashed), so the percentiles sort the period's rows alone."""
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
    distribution = {row["status_id"]: row for row in rows}
    if flt.compare:
        before = flt.scope(user).filter(flt.previous.q()).values("status_id").annotate(leads=Count("pk"))
        for row in distribution.values():
            row["previous"] = 0
        for row in before.order_by():
            distribution.setdefault(
                row["status_id"],
                {"status_id": row["status_id"], "leads": 0, "median_age": None, "p90_age": None, "stale": 0},
            )["previous"] = row["leads"]
    return distribution


def stage_funnel(user, flt, groups, distribution):
    """Received → reached an open status → reached a won status, for the period's leads (and the
    previous period's, as ``previous``). One query.

    A lead now in an open or won status has reached an open one, a lead now won has won. Of the
    others, a lead reached an open status when it left one for a new, lost or junk status, and won
    when it was moved to a won status (both are status changes, read from one index on PostgreSQL).
    """
    open_or_won = set(groups.open_or_won)
    won = set(groups.won)
    counts = {}
    for period in (0, 1) if flt.compare else (0,):
        key = "leads" if period == 0 else "previous"
        rows = distribution.values()
        counts[period] = {
            "new": sum(row.get(key, 0) for row in rows),
            "open": sum(row.get(key, 0) for row in rows if row["status_id"] in open_or_won),
            "won": sum(row.get(key, 0) for row in rows if row["status_id"] in won),
        }
    earliest = flt.previous if flt.compare else flt.range
    events = (
        events_for(user)
        .filter(
            on_related_lead(flt.lead_q & _periods_q(flt), "lead__"),
            kind=LeadEvent.Kind.STATUS_CHANGED,
            created_at__gte=earliest.start,
            to_value__in=[*groups.keys_won, *groups.keys_closed_or_new],
        )
        .exclude(lead__status_id__in=groups.won)
    )
    left_open = Q(to_value__in=groups.keys_closed_or_new, from_value__in=groups.keys_open_or_won) & ~Q(
        lead__status_id__in=groups.open_or_won
    )
    aggregates = {}
    for period in counts:
        window = (flt.range if period == 0 else flt.previous).q("lead__submitted_at")
        aggregates[f"open_{period}"] = Count("lead", distinct=True, filter=window & left_open)
        aggregates[f"won_{period}"] = Count(
            "lead", distinct=True, filter=window & Q(to_value__in=groups.keys_won)
        )
    extra = events.aggregate(**aggregates)
    for period, figures in counts.items():
        figures["open"] += extra[f"open_{period}"]
        figures["won"] += extra[f"won_{period}"]
    funnel = []
    steps = ["new", "open", "won"]
    for index, stage in enumerate(steps):
        step = {"stage": stage}
        for period, prefix in ((0, ""), (1, "previous_")):
            if period not in counts:
                continue
            figures = counts[period]
            step[f"{prefix}leads"] = figures[stage]
            step[f"{prefix}from_previous"] = (
                ratio(figures[stage], figures[steps[index - 1]]) if index else None
            )
            step[f"{prefix}from_start"] = ratio(figures[stage], figures["new"])
        if 1 in counts:
            step["previous"] = step.pop("previous_leads")
        funnel.append(step)
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


def sla_conditions(settings, now):
    """``(met, due)``: a lead met the first-contact SLA / its SLA has run out (contacted or not).

    In calendar hours, or in business hours (Monday to Friday, the configured opening hours, the
    site's time zone) when ``sla_business_hours`` is set. Backfilled leads (``crm.models.backfill_q``:
    past demand imported late) have no SLA.
    """
    contacted_after_assignment = (
        Q(first_contacted_at__isnull=False, first_contacted_at__gte=F("assigned_at")) & ~backfill_q()
    )
    if not settings.sla_business_hours:
        sla = datetime.timedelta(hours=settings.sla_hours)
        met = contacted_after_assignment & Q(first_contacted_at__lte=F("assigned_at") + sla)
        return met, contacted_after_assignment | overdue_condition(settings, now)
    met = contacted_after_assignment & Q(
        LessThanOrEqual(_business_elapsed(settings, F("first_contacted_at")), settings.sla_hours * HOUR)
    )
    return met, contacted_after_assignment | overdue_condition(settings, now)


def overdue_condition(settings, now):
    """Assigned, not contacted, and the SLA (calendar or business hours) has run out by ``now``; never
    a backfilled lead."""
    waiting = Q(first_contacted_at__isnull=True, assigned_at__isnull=False) & ~backfill_q()
    if not settings.sla_business_hours:
        return waiting & Q(assigned_at__lt=now - datetime.timedelta(hours=settings.sla_hours))
    zone = timezone.get_default_timezone()
    clock_now = Value(business_clock(now, settings.business_day_start, settings.business_day_end, zone))
    return waiting & Q(GreaterThan(_business_elapsed(settings, clock_now), settings.sla_hours * HOUR))


def _business_elapsed(settings, until):
    """Business seconds from the lead's assignment to ``until`` (an expression)."""
    zone = str(timezone.get_default_timezone())
    start, end = settings.business_day_start, settings.business_day_end
    if not isinstance(until, Value):
        until = BusinessClock(until, start, end, zone)
    return ExpressionWrapper(
        until - BusinessClock(F("assigned_at"), start, end, zone), output_field=FloatField()
    )


def _response():
    contacted_after_assignment = Q(first_contacted_at__isnull=False, first_contacted_at__gte=F("assigned_at"))
    return Case(
        When(contacted_after_assignment, then=Seconds(F("first_contacted_at"), F("assigned_at"))),
        output_field=FloatField(),
    )


def _lead_figures(settings, now):
    """Per-lead aggregates of the personal panel (the team table uses the same conditions)."""
    met, due = sla_conditions(settings, now)
    return {
        "leads": Count("pk"),
        "contacted": Count("pk", filter=Q(first_contacted_at__isnull=False)),
        "median_response": Percentile(_response(), 0.5),
        "p90_response": Percentile(_response(), 0.9),
        "sla_met": Count("pk", filter=met),
        "sla_due": Count("pk", filter=due),
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
        .filter(_periods_q(flt, "assigned_at"), assignee__isnull=False)
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
            columns[f"{name}_{index}"] = _if(span.q() & condition)
            aggregates[f"{name}_{index}"] = ("count", f"{name}_{index}", None)
        columns[f"response_{index}"] = Case(
            When(
                span.q() & contacted_after_assignment, then=Seconds(F("first_contacted_at"), F("assigned_at"))
            ),
            output_field=FloatField(),
        )
        aggregates[f"median_response_{index}"] = ("percentile", f"response_{index}", 0.5)
        aggregates[f"p90_response_{index}"] = ("percentile", f"response_{index}", 0.9)
    leads = flt.scope(user).filter(_periods_q(flt), assignee__isnull=False)
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
        for week in _buckets(flt.range.first_day, flt.range.last_day, "week")
    }

    def period_of(day):
        return next(
            (period for period, span in ranges.items() if span.first_day <= day <= span.last_day), None
        )

    def week_of(day):
        return day - datetime.timedelta(days=day.weekday())

    for row in _assigned_days(user, flt):
        day = _bucket_day(row["day"])
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
        day = _bucket_day(row["day"])
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


# ---------------------------------------------------------------- campaigns

CAMPAIGN_DIMENSIONS = {
    "campaign": ("campaign_id",),
    "utm": ("utm_source", "utm_medium", "utm_campaign"),
    "service": ("service_id",),
    "brand": ("brand_id",),
}
CAMPAIGN_COMPARED = ("leads", "won", "conversion")


def campaign_effectiveness(user, flt, groups, catalogue):
    """Per campaign, UTM combination, service and brand. Two queries.

    The counts come grouped by every dimension at once (a few hundred groups at most) and are added
    up per table; the median time to won comes from the won leads, grouped per table in one query
    (GROUPING SETS). A campaign's spend is shared equally among its leads of the period, so every
    group's cost is the spend of the campaigns its leads belong to, in proportion. With comparison,
    every row also holds the previous period's leads, won and conversion (``previous_*``).
    """
    period = _period(flt, "submitted_at")
    leads = leads_counted_for(user).filter(flt.lead_q, _periods_q(flt))
    dimensions = sorted({field for fields in CAMPAIGN_DIMENSIONS.values() for field in fields})
    counted = {
        "leads": Q(),
        "valid": ~Q(status_id__in=groups.junk),
        "contacted": Q(first_contacted_at__isnull=False),
        "quoted": Q(status_id__in=groups.quoted_or_later),
        "won": Q(status_id__in=groups.won),
    }
    spans = {0: flt.range, 1: flt.previous} if flt.compare else {0: flt.range}
    finest = leads.values(*dimensions).annotate(
        **{
            f"{name}_{index}": Count("pk", filter=span.q() & condition)
            for name, condition in counted.items()
            for index, span in spans.items()
        }
    )
    finest = [
        {
            **{field: row[field] for field in dimensions},
            "period": index,
            **{name: row[f"{name}_{index}"] for name in counted},
        }
        for row in finest.order_by()
        for index in spans
        if row[f"leads_{index}"]
    ]
    names = list(CAMPAIGN_DIMENSIONS)
    medians = GroupingSets(
        leads.filter(status_id__in=groups.won),
        {
            "period": period,
            **{field: F(field) for field in dimensions},
            "to_won": Seconds(F("status_changed_at"), F("submitted_at")),
        },
        [("period", *fields) for fields in CAMPAIGN_DIMENSIONS.values()],
        {"median_to_won": ("percentile", "to_won", 0.5)},
    ).rows()
    per_campaign = {}
    for row in finest:
        key = (row["period"], row["campaign_id"])
        per_campaign[key] = per_campaign.get(key, 0) + row["leads"]
    tables = {(period_, name): {} for period_ in (0, 1) for name in names}
    for row in finest:
        campaign = catalogue.campaigns.get(row["campaign_id"])
        share = (
            float(campaign["spend"]) * row["leads"] / per_campaign[(row["period"], row["campaign_id"])]
            if campaign is not None
            else None
        )
        for name, fields in CAMPAIGN_DIMENSIONS.items():
            key = tuple(row[field] for field in fields)
            group = tables[(row["period"], name)].setdefault(
                key,
                {
                    **dict(zip(fields, key, strict=True)),
                    "leads": 0,
                    "valid": 0,
                    "contacted": 0,
                    "quoted": 0,
                    "won": 0,
                    "cost": None,
                    "median_to_won": None,
                },
            )
            for figure in ("leads", "valid", "contacted", "quoted", "won"):
                group[figure] += row[figure]
            if share is not None:
                group["cost"] = (group["cost"] or 0) + share
    for index, row in medians:
        name = names[index]
        key = tuple(row[field] for field in CAMPAIGN_DIMENSIONS[name])
        group = tables[(row["period"], name)].get(key)
        if group is not None:
            group["median_to_won"] = row["median_to_won"]
    result = {}
    for name in names:
        rows = [_finish_campaign_row(row) for row in tables[(0, name)].values()]
        if flt.compare:
            before = {key: _finish_campaign_row(row) for key, row in tables[(1, name)].items()}
            for row in rows:
                previous = before.get(tuple(row[field] for field in CAMPAIGN_DIMENSIONS[name]), {})
                for figure in CAMPAIGN_COMPARED:
                    row[f"previous_{figure}"] = previous.get(figure, 0 if figure != "conversion" else None)
        result[name] = rows
    return result


def _finish_campaign_row(row):
    for name in ("leads", "valid", "contacted", "quoted", "won"):
        row[name] = int(row[name] or 0)
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
    stale_before = now - datetime.timedelta(days=settings.stale_days)
    overdue_q = overdue_condition(settings, now) | Q(last_activity_at__lt=stale_before)
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
        **_lead_figures(settings, now), won=Count("pk", filter=Q(status_id__in=won_ids))
    )
    figures = _team_row({**figures, "assigned": figures["leads"]})
    figures["won_share"] = ratio(figures["won"], figures["leads"])
    return {"by_status": by_status, "overdue": overdue, "figures": figures, "days": days}
