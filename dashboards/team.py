"""The people's figures: the team dashboard (per salesperson, from their leads and the per-person daily
rollup) and a salesperson's own panel on the admin home."""

import datetime

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from crm.access import brand_ids, leads_for
from crm.agenda import LEAD_ROW_FIELDS, open_status_ids
from crm.models import Lead, PipelineStatus, Role, Stage, User

from .metrics import (
    HOUR,
    lead_figures,
    needs_attention,
    periods_q,
    ratio,
    sla_breached,
    sla_conditions,
)
from .models import DashboardSettings, PersonBrandDay, PersonDay
from .revenue import won_by_person
from .segments import buckets
from .sql import AnyOf, GroupingSets, Seconds

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


def _rollup_weeks(user, flt, mondays):
    """Rollup sums per person by week (``bucket``, as in ``_week_bucket``) over the period (and the
    previous one). One query, on the sums per day, person and brand when the filters name nothing finer
    (a brand, a person)."""
    scope = _rollup_scope(user)
    if scope is None:
        return []
    rollup = PersonBrandDay if _fields(scope & flt.rollup_q) <= BRAND_DAY_FIELDS else PersonDay
    first = (flt.previous if flt.compare else flt.range).first_day
    return list(
        rollup.objects.filter(scope, flt.rollup_q, day__gte=first, day__lte=flt.range.last_day)
        .annotate(bucket=_week_bucket(flt, mondays, "day", lambda day: day))
        .values("person_id", "bucket")
        .annotate(**{name: Sum(name) for name in ROLLUP_COUNTERS})
        .order_by()
    )


BRAND_DAY_FIELDS = {"brand_id", "person_id", "pk"}


def _fields(condition):
    """The fields a ``Q`` tests (the part of each lookup before its first ``__``)."""
    fields = set()
    for child in condition.children:
        if isinstance(child, Q):
            fields |= _fields(child)
        else:
            fields.add(child[0].split("__")[0] if isinstance(child, tuple) else repr(child))
    return fields


def _assigned_weeks(user, flt, mondays):
    """Leads per current assignee by the week their assignment was made in (``bucket``, as in
    ``_week_bucket``). One query."""
    return list(
        flt.scope(user)
        .filter(periods_q(flt, "assigned_at"), assignee__isnull=False)
        .annotate(bucket=_week_bucket(flt, mondays, "assigned_at", _midnight))
        .values("assignee_id", "bucket")
        .annotate(assigned=Count("pk"))
        .order_by()
    )


def _week_bucket(flt, mondays, field, bound):
    """The index in ``mondays`` (the period's weeks) of the week of ``field``, or -1 in the previous
    period, for rows of the period (and the previous one). ``bound(day)``: where a day starts, in the
    field's terms (a local midnight for a time), so the field is compared as it is, with no conversion
    to a local day on each row."""
    whens = [When(**{f"{field}__lt": bound(flt.range.first_day)}, then=-1)] if flt.compare else []
    whens += [When(**{f"{field}__lt": bound(monday)}, then=index) for index, monday in enumerate(mondays[1:])]
    return Case(*whens, default=len(mondays) - 1, output_field=IntegerField()) if whens else Value(0)


def _midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _lead_columns(groups, settings, now):
    """Per lead: whether it counts in each count of the team table, and its first-response seconds (NULL
    when not contacted after its assignment); and the aggregates of them, for ``GroupingSets``."""
    met, due = sla_conditions(settings, now)
    stale_before = now - datetime.timedelta(days=settings.stale_days)
    contacted_after_assignment = Q(first_contacted_at__isnull=False, first_contacted_at__gte=F("assigned_at"))
    counted = {
        "contacted": Q(first_contacted_at__isnull=False),
        "sla_met": met,
        "sla_due": due,
        "open": Q(status_id__in=groups.open),
        "stale": Q(status_id__in=groups.open, last_activity_at__lt=stale_before),
    }
    columns = {
        name: ExpressionWrapper(condition, output_field=BooleanField()) for name, condition in counted.items()
    }
    columns["response"] = Case(
        When(contacted_after_assignment, then=Seconds(F("first_contacted_at"), F("assigned_at"))),
        output_field=FloatField(),
    )
    columns["leads"] = Value(1)
    aggregates = {"leads": ("count", "leads", None)}
    aggregates |= {name: ("count_true", name, None) for name in counted}
    aggregates["median_response"] = ("percentile", "response", 0.5)
    aggregates["p90_response"] = ("percentile", "response", 0.9)
    return columns, aggregates


def _lead_rows(user, flt, groups, settings, now):
    """Lead figures of the leads submitted in the period: ``(0, row)`` per assignee and ``(1, row)`` for
    everyone, each row with its ``period`` (0); with comparison, ``(1, row)`` of the previous period
    (``period`` 1) too. One query, and one more for the previous period.

    On PostgreSQL the period's leads are read assignee by assignee from the index of their submission
    times per assignee (``dashboards_lead_assignee_submitted_cover``, index-only), already in the order
    the grouping needs: no sort of the period's leads before the percentiles. The previous period is
    only needed for everyone, so its leads are aggregated without any grouping.
    """
    columns, aggregates = _lead_columns(groups, settings, now)
    leads = flt.scope(user).filter(assignee__isnull=False)
    current = leads.filter(flt.range.q(), AnyOf("assignee_id", User.objects.values("pk")))
    per_assignee = GroupingSets(
        current, {"assignee": F("assignee_id"), **columns}, [("assignee",), ()], aggregates
    )
    rows = [(index, {"period": 0, **row}) for index, row in per_assignee.rows()]
    if flt.compare:
        everyone = GroupingSets(leads.filter(flt.previous.q()), columns, [()], aggregates)
        rows += [(1, {"period": 1, **row}) for _index, row in everyone.rows()]
    return rows


def team_figures(user, flt, groups, settings, now=None):
    """Everything the team page shows, from four queries (five with comparison).

    Per salesperson and for the team: leads assigned in the period (their current assignment), first
    contacts, quotes and wins they made and their activity (the rollup), and the first-contact times,
    SLA, open and stale leads of the leads submitted in the period. With comparison, ``previous`` holds
    the previous period's team totals. ``trend``: per week of the period, leads assigned, leads
    contacted for the first time and leads won. ``revenue``: the won amounts whose day won falls in the
    period, per current assignee (``revenue.won_by_person``, in ``flt.currency``); ``missing``: the wins
    left out for want of their day's rate.
    """
    now = now or timezone.now()
    people, totals = {}, {0: {}, 1: {}}

    def person(pk):
        return people.setdefault(pk, {"person_id": pk})

    for index, row in _lead_rows(user, flt, groups, settings, now):
        period, assignee = row.pop("period"), row.pop("assignee", None)
        if index == 1:
            totals[period].update(row)
        elif row["leads"]:
            person(assignee).update(row)
    mondays = buckets(flt.range.first_day, flt.range.last_day, "week")
    weeks = [{"bucket": monday, "assigned": 0, "contacted": 0, "won": 0} for monday in mondays]
    for row in _assigned_weeks(user, flt, mondays):
        period = 1 if row["bucket"] < 0 else 0
        _add(totals[period], "assigned", row["assigned"])
        if period == 0:
            _add(person(row["assignee_id"]), "assigned", row["assigned"])
            weeks[row["bucket"]]["assigned"] += row["assigned"]
    for row in _rollup_weeks(user, flt, mondays):
        period = 1 if row["bucket"] < 0 else 0
        for name, target in TOTAL_COUNTERS:
            _add(totals[period], target, row[name])
        if period == 0:
            mine = person(row["person_id"])
            for name, target in PERSON_COUNTERS:
                _add(mine, target, row[name])
            weeks[row["bucket"]]["contacted"] += row["first_contacts"]
            weeks[row["bucket"]]["won"] += row["won"]
    won, missing = won_by_person(user, flt)
    _add_revenue(won, totals, person)
    return {
        "missing": missing,
        "rows": [_team_row(row) for row in people.values()],
        "total": _team_row(totals[0]),
        "previous": _team_row(totals[1]) if flt.compare else None,
        "trend": weeks,
    }


def _add_revenue(won, totals, person):
    """Won revenue into the team's totals of each period and the rows of the period's people."""
    for period, per_person in won.items():
        for assignee, (deals, amount) in per_person.items():
            targets = [totals[period]] + ([person(assignee)] if period == 0 and assignee is not None else [])
            for target in targets:
                _add(target, "revenue_deals", deals)
                if amount is not None:
                    target["revenue"] = (target.get("revenue") or 0) + amount


def _add(row, name, value):
    row[name] = row.get(name, 0) + value


# rollup counter → figure, for the team's totals (each lead's first contact once) and for each person
TOTAL_COUNTERS = (
    ("activity", "activity"),
    ("first_contacts", "contacted_leads"),
    ("quoted", "quoted"),
    ("won", "won"),
)
PERSON_COUNTERS = (
    ("activity", "activity"),
    ("contacted", "contacted_leads"),
    ("quoted", "quoted"),
    ("won", "won"),
)


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
        "revenue_deals",
    ):
        row[name] = int(row.get(name) or 0)
    row.setdefault("revenue", None)
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
        Lead.objects.filter(pk__in=first_overdue)
        .select_related("status", "brand")
        .only(*LEAD_ROW_FIELDS, "assigned_at", "last_activity_at")
        .order_by(*order)
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

    One query (after the small status table): the three counts as branches of one ``UNION ALL``, which
    PostgreSQL may run side by side (a parallel append). The open statuses are given as ids, so each
    branch reads one index of leads without joining the statuses. The lead listing's
    ``assignee=unassigned&stage=active``, ``sla=breached`` and ``next_action=overdue`` filters list
    exactly what they count.
    """
    now = now or timezone.now()
    leads = leads_for(user)
    open_ids = list(open_status_ids().values_list("pk", flat=True))

    def counted(condition, kind, person=None):
        return (
            leads.filter(condition)
            .annotate(person=F("assignee_id") if person is None else person)
            .values_list("person")
            .annotate(leads=Count("*"), kind=Value(kind, output_field=CharField()))
            .order_by()
        )

    counts: dict[str, dict] = {"unassigned": {}, "breached": {}, "overdue": {}}
    # Nobody's leads are one count, not grouped, from the index of unassigned leads by brand and status
    # (``dashboards_lead_open_unassigned``): it holds no assignee, and a manager's brands are named even
    # when they are every brand (``leads_for`` then leaves them out), so only the open ones are read.
    unassigned = Q(assignee__isnull=True, status_id__in=open_ids)
    if user.role == Role.MANAGER:
        unassigned &= Q(brand_id__in=sorted(brand_ids(user)))
    nobody = Value(None, output_field=IntegerField())
    rows = counted(unassigned, "unassigned", nobody).union(
        counted(sla_breached(settings, now, open_ids), "breached"),
        counted(Q(next_action_at__lt=now), "overdue"),
        all=True,
    )
    for pk, count, kind in rows:
        counts[kind][pk] = count
    breached, overdue = counts["breached"], counts["overdue"]
    people = [
        {"person_id": pk, "breached": breached.get(pk, 0), "overdue": overdue.get(pk, 0)}
        for pk in {*breached, *overdue}
    ]
    people.sort(key=lambda row: (-(row["breached"] + row["overdue"]), row["person_id"] or 0))
    return {
        "unassigned": sum(counts["unassigned"].values()),
        "breached": sum(breached.values()),
        "overdue": sum(overdue.values()),
        "people": people,
    }
