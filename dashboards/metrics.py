"""The dashboards' lead figures (overview, pipeline, stale leads) and the rules they share with the team
(``team``) and campaign (``campaigns``) figures: periods, SLA and overdue conditions, response times.

Functions take the viewer, the cleaned filters (``filters.DashboardFilter``), the catalogue and the
settings, and return plain dicts and lists sized by the number of groups, never by leads or events.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Q,
    Value,
    When,
)
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

from crm.agenda import open_status_ids
from crm.models import Lead, LeadEvent, PipelineStatus, Stage, backfill_age

from .segments import Segments, bucket_of, buckets
from .sql import AnyOf, BusinessClock, Duration, Percentile, Seconds, business_clock

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
    closed_or_new: list = field(default_factory=list)
    not_won: list = field(default_factory=list)
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
            closed_or_new=ids(lambda row: row["stage"] not in (Stage.OPEN, Stage.WON)),
            not_won=ids(lambda row: row["stage"] != Stage.WON),
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


KPI_STATUSES = ("pending", "contacted", "active", "won", "lost", "junk")  # each a list of ``StatusGroups``


def _kpis_of(groups, status, unassigned):
    """The landing counts a lead is in, from its status and whether anyone holds it."""
    names = ["total", *(name for name in KPI_STATUSES if status in getattr(groups, name))]
    return [*names, "unassigned"] if unassigned else names


def overview_figures(user, flt, groups, now=None):
    """``(kpis, recent, series)``: ``overview_kpis`` and ``leads_over_time`` from one query."""
    counts = _lead_counts(user, flt, now or timezone.now())
    return (*_kpis(counts, flt, groups), _series(counts, flt))


def overview_kpis(user, flt, groups, now=None):
    """The landing counts for the period (and the previous one), plus new today and this week. One query."""
    return _kpis(_lead_counts(user, flt, now or timezone.now()), flt, groups)


def leads_over_time(user, flt):
    """Leads submitted per day, week or month of the period (and the previous period, aligned). One query."""
    return _series(_lead_counts(user, flt, timezone.now()), flt)


def _lead_counts(user, flt, now):
    """The leads of every span the overview counts (the period and the previous one, the chart's buckets
    over both, today and this week), per segment of time (``segments``), status and whether anyone holds
    them: one grouped query, its rows and the segments for ``_kpis`` and ``_series``."""
    today = timezone.localdate(now)
    today_start = _midnight(today)
    week_start = _midnight(today - datetime.timedelta(days=today.weekday()))
    earliest = flt.previous if flt.compare else flt.range
    chart = buckets(earliest.first_day, flt.range.last_day, flt.interval)
    cuts = [
        min(flt.range.start, week_start, earliest.start),
        max(flt.range.end, today_start + datetime.timedelta(days=1), now),
        earliest.start,
        flt.range.start,
        flt.range.end,
        today_start,
        week_start,
        *(start for start in map(_midnight, chart) if earliest.start < start < flt.range.end),
    ]
    segments = Segments(cuts)
    rows = (
        flt.scope(user)
        .filter(segments.window("submitted_at"))
        .values(
            "status_id",
            segment=segments.of("submitted_at"),
            unassigned=ExpressionWrapper(Q(assignee__isnull=True), output_field=BooleanField()),
        )
        .annotate(leads=Count("*"))
        .order_by()
    )
    return {
        "rows": list(rows),
        "segments": segments,
        "today": today_start,
        "week": week_start,
        "chart": chart,
    }


def _kpis(counts, flt, groups):
    segments = counts["segments"]
    spans = {0: flt.range, 1: flt.previous} if flt.compare else {0: flt.range}
    values = {(period, name): 0 for period in spans for name in OVERVIEW_KPIS}
    recent = {"new_today": 0, "new_this_week": 0}
    counted: dict = {}  # (status, unassigned) -> the counts such a lead is in
    for row in counts["rows"]:
        segment, leads, kind = row["segment"], row["leads"], (row["status_id"], row["unassigned"])
        start, _end = segments.span(segment)
        recent["new_today"] += leads if start >= counts["today"] else 0
        recent["new_this_week"] += leads if start >= counts["week"] else 0
        if kind not in counted:
            counted[kind] = _kpis_of(groups, *kind)
        for period, span in spans.items():
            if segments.within(segment, span.start, span.end):
                for name in counted[kind]:
                    values[(period, name)] += leads
    kpis = []
    for name in OVERVIEW_KPIS:
        current, previous = values[(0, name)], values.get((1, name))
        kpis.append(
            {"key": name, "value": current, "previous": previous, "change": change(current, previous)}
        )
    return kpis, recent


def _midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _series(counts, flt):
    """Leads per bucket of the chart (a bucket the two periods share counts both periods' leads)."""
    segments, chart = counts["segments"], counts["chart"]
    earliest = flt.previous if flt.compare else flt.range
    found: dict = {}
    for row in counts["rows"]:
        if segments.within(row["segment"], earliest.start, flt.range.end):
            bucket = bucket_of(segments.day(row["segment"]), chart)
            found[bucket] = found.get(bucket, 0) + row["leads"]
    current = buckets(flt.range.first_day, flt.range.last_day, flt.interval)
    series = []
    previous_buckets = (
        buckets(flt.previous.first_day, flt.previous.last_day, flt.interval) if flt.compare else []
    )
    for index, bucket in enumerate(current):
        row = {"bucket": bucket, "leads": found.get(bucket, 0)}
        if flt.compare:
            row["previous"] = found.get(previous_buckets[index], 0) if index < len(previous_buckets) else None
        series.append(row)
    return series


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


def period_range(flt, field):
    """0 for rows of the period, 1 for the previous period's (only when comparing)."""
    if not flt.compare:
        return Value(0, output_field=IntegerField())
    whens = [When(flt.range.q(field), then=Value(0))]
    if flt.compare:
        whens.append(When(flt.previous.q(field), then=Value(1)))
    return Case(*whens, default=None, output_field=IntegerField())


def in_period(flt, field):
    """True for rows of the period, False for the previous period's (a boolean: PostgreSQL plans a
    grouping by it as two groups, where a ``period_range`` counts as one group per row)."""
    if not flt.compare:
        return Value(True, output_field=BooleanField())
    return ExpressionWrapper(flt.range.q(field), output_field=BooleanField())


def periods_q(flt, field="submitted_at"):
    """The period, or the period and the previous one (they touch: one range, one index scan)."""
    if not flt.compare:
        return flt.range.q(field)
    return Q(**{f"{field}__gte": flt.previous.start, f"{field}__lt": flt.range.end})


def counted_if(condition, then=1):
    return Case(When(condition, then=then), default=None, output_field=FloatField())


# ---------------------------------------------------------------- pipeline


def status_distribution(user, flt, groups, settings, now=None):
    """Per status: leads, median and p90 days in the status, stale leads, and the previous period's
    leads (``previous``, when comparing). One query grouped by status, and one more when comparing:
    the previous period is only counted, so the percentiles read the period's rows alone.

    Both read the leads status by status (``AnyOf``: every status, in the order of the (status,
    submission time) index on PostgreSQL), already grouped: no sort before the percentiles.
    """
    now = now or timezone.now()
    age = Seconds(Value(now, output_field=DateTimeField()), F("status_changed_at"))
    stale_before = now - datetime.timedelta(days=settings.stale_days)
    every_status = AnyOf("status_id", PipelineStatus.objects.order_by().values("pk"))
    rows = (
        flt.leads(user)
        .filter(every_status)
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
        before = (
            flt.scope(user)
            .filter(flt.previous.q(), every_status)
            .values("status_id")
            .annotate(leads=Count("*"))
        )
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
    Those are counted lead by lead: the leads of the statuses in question (read status by status on
    PostgreSQL) that have such a change, each part of one ``UNION ALL``.
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
    changes = LeadEvent.objects.filter(kind=LeadEvent.Kind.STATUS_CHANGED, created_at__gte=earliest.start)
    leads = flt.scope(user).filter(periods_q(flt)).annotate(period=period_range(flt, "submitted_at"))

    def reached(kind, statuses, events):
        """The leads in ``statuses`` with one of ``events``, per period (a semi-join on the events)."""
        return (
            leads.filter(status_id__in=statuses, pk__in=events.values("lead_id"))
            .values_list("period")
            .annotate(leads=Count("*"), kind=Value(kind, output_field=CharField()))
            .order_by()
        )

    left_open = changes.filter(to_value__in=groups.keys_closed_or_new, from_value__in=groups.keys_open_or_won)
    moved_to_won = changes.filter(to_value__in=groups.keys_won)
    both = reached("open", groups.closed_or_new, left_open).union(
        reached("won", groups.not_won, moved_to_won), all=True
    )
    for period, found, kind in both:
        counts[period][kind] += found
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
    contacted_after_assignment = Q(first_contacted_at__isnull=False, first_contacted_at__gte=F("assigned_at"))
    if not settings.sla_business_hours:
        sla = Duration(datetime.timedelta(hours=settings.sla_hours))
        within = Q(first_contacted_at__lte=F("assigned_at") + sla)
    else:
        within = Q(
            LessThanOrEqual(_business_elapsed(settings, F("first_contacted_at")), settings.sla_hours * HOUR)
        )
    # Both conditions leave out backfilled leads, tested once per lead.
    met = not_backfilled() & contacted_after_assignment & within
    return met, not_backfilled() & (contacted_after_assignment | _waiting_too_long(settings, now))


def not_backfilled():
    """``~crm.models.backfill_q()``, with the backfill age in seconds on PostgreSQL (``sql.Duration``)."""
    return ~Q(submitted_at__lt=F("received_at") - Duration(backfill_age()))


def overdue_condition(settings, now):
    """Assigned, not contacted, and the SLA (calendar or business hours) has run out by ``now``; never
    a backfilled lead."""
    return not_backfilled() & _waiting_too_long(settings, now)


def _waiting_too_long(settings, now):
    """Assigned, not contacted, and the SLA has run out by ``now`` (backfilled or not)."""
    waiting = Q(first_contacted_at__isnull=True, assigned_at__isnull=False)
    if not settings.sla_business_hours:
        return waiting & Q(assigned_at__lt=now - datetime.timedelta(hours=settings.sla_hours))
    zone = timezone.get_default_timezone()
    clock_now = Value(business_clock(now, settings.business_day_start, settings.business_day_end, zone))
    return waiting & Q(GreaterThan(_business_elapsed(settings, clock_now), settings.sla_hours * HOUR))


def sla_breached(settings, now, open_ids=None):
    """Open (new or open stage) leads whose first-contact SLA ran out: a manager's "SLA breaches".
    ``open_ids``: the open statuses' ids when the caller has read them (else a subquery)."""
    return overdue_condition(settings, now) & Q(
        status_id__in=open_status_ids() if open_ids is None else open_ids
    )


def needs_attention(settings, now):
    """What a salesperson's home counts as overdue: the first-contact SLA ran out (``overdue_condition``)
    or no activity for ``stale_days``. For open leads: the caller narrows to them."""
    stale_before = now - datetime.timedelta(days=settings.stale_days)
    return overdue_condition(settings, now) | Q(last_activity_at__lt=stale_before)


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


def lead_figures(settings, now):
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
