"""The money figures: open pipeline value per status, the weighted forecast by expected close month and
won revenue per period, in pesos or dollars (``conversion``: each amount at the rate of its own day).

Pipeline and forecast are the period's leads (submitted in it, as every dashboard's lead figures) that are
open today (a new or open status) with a quote: a long period ("This year") shows the older pipeline too.
Won revenue counts the won amounts whose ``won_on`` falls in the period (and the previous period, when
comparing).
"""

import datetime
from decimal import Decimal

from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from .conversion import Missing, converted_sums
from .metrics import change, ratio
from .segments import buckets

FORECAST_MONTHS = 6
HUNDRED = Decimal(100)


def _month_after(day):
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def weighted(amount, probability):
    return None if amount is None else (amount * Decimal(probability) / HUNDRED).quantize(Decimal("0.01"))


def open_pipeline(user, flt, groups, catalogue, today=None):
    """Per open status and per expected close month, quotes, value and weighted value. One query.

    ``statuses``: one row per open status with quotes; ``forecast``: the months before this one still
    open (``overdue``), this month and the next five, ``later`` and ``undated`` (no expected close);
    ``missing``: quotes left out for want of their day's rate.
    """
    today = today or timezone.localdate()
    quoted = flt.leads(user).filter(status_id__in=groups.open, quote_amount__isnull=False)
    found = converted_sums(
        quoted,
        {"status": F("status_id"), "month": TruncMonth("expected_close_on")},
        "quote_amount",
        "quote_currency",
        "quoted_on",
        flt.currency,
    )
    this_month = today.replace(day=1)
    months = [this_month]
    while len(months) < FORECAST_MONTHS:
        months.append(_month_after(months[-1]))
    forecast = {key: _figures() for key in ["overdue", *months, "later", "undated"]}
    per_status: dict = {}
    missing = Missing()
    for group in found:
        status_id, month = group.key[0], group.key[1]
        missing.merge(group.missing)
        if not group.counted:
            continue
        month = month if month is None else _as_date(month)
        probability = catalogue.statuses.get(status_id, {}).get("probability", 0)
        row = per_status.setdefault(
            status_id, {"status_id": status_id, "probability": probability, **_figures()}
        )
        if month is None:
            bucket = "undated"
        elif month < this_month:
            bucket = "overdue"
        elif month > months[-1]:
            bucket = "later"
        else:
            bucket = month
        for figures in (row, forecast[bucket]):
            _add(figures, group.counted, group.amount, weighted(group.amount, probability))
    statuses = [per_status[pk] for pk in catalogue.statuses if pk in per_status]
    forecast_rows = [{"bucket": key, **figures} for key, figures in forecast.items()]
    return {"statuses": statuses, "forecast": forecast_rows, "missing": missing}


def _as_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _figures():
    return {"quotes": 0, "value": None, "weighted": None}


def _add(figures, count, amount, weighted_amount):
    figures["quotes"] += count
    if amount is not None:
        figures["value"] = (figures["value"] or Decimal(0)) + amount
        figures["weighted"] = (figures["weighted"] or Decimal(0)) + weighted_amount


def _won_q(flt):
    earliest = flt.previous if flt.compare else flt.range
    return Q(won_amount__isnull=False, won_on__gte=earliest.first_day, won_on__lte=flt.range.last_day)


def won_revenue(user, flt):
    """Won revenue of the period (and the previous one): totals, per bucket of ``flt.interval`` and the
    wins left out for want of a rate. One query, grouped by the day won."""
    found = converted_sums(
        flt.scope(user).filter(_won_q(flt)),
        {"day": F("won_on")},
        "won_amount",
        "won_currency",
        "won_on",
        flt.currency,
    )
    current = buckets(flt.range.first_day, flt.range.last_day, flt.interval)
    before = buckets(flt.previous.first_day, flt.previous.last_day, flt.interval) if flt.compare else []
    per_bucket = {bucket: {"deals": 0, "revenue": None} for bucket in {*current, *before}}
    totals = {0: {"deals": 0, "revenue": None}, 1: {"deals": 0, "revenue": None}}
    missing = {0: Missing(), 1: Missing()}
    for group in found:
        day = _as_date(group.key[0])
        period = 0 if day >= flt.range.first_day else 1
        missing[period].merge(group.missing)
        if not group.counted:
            continue
        bucket = _bucket_of(day, current if period == 0 else before)
        for figures in (totals[period], per_bucket.get(bucket)):
            if figures is None:
                continue
            figures["deals"] += group.counted
            if group.amount is not None:
                figures["revenue"] = (figures["revenue"] or Decimal(0)) + group.amount
    series = []
    for index, bucket in enumerate(current):
        row = {"bucket": bucket, **per_bucket[bucket]}
        if flt.compare:
            previous = per_bucket[before[index]] if index < len(before) else {}
            row["previous"] = previous.get("revenue")
        series.append(row)
    kpis = _won_kpis(totals, flt.compare)
    return {"kpis": kpis, "series": series, "missing": missing[0], "previous_missing": missing[1]}


def _bucket_of(day, starts):
    found = None
    for start in starts:
        if start <= day:
            found = start
    return found


def _won_kpis(totals, compare):
    kpis = []
    for key in ("revenue", "deals", "average"):
        values = []
        for period in (0, 1):
            figures = totals[period]
            if key == "average":
                value = ratio(figures["revenue"], figures["deals"])
                values.append(None if value is None else Decimal(value).quantize(Decimal("0.01")))
            else:
                values.append(figures[key] if key != "revenue" else figures["revenue"])
        kpi = {"key": key, "value": values[0]}
        if compare:
            kpi["previous"] = values[1]
            kpi["change"] = change(values[0], values[1])
        kpis.append(kpi)
    return kpis


def missing_days_text(missing):
    """``2026-03-04, 2026-03-05``: the days without a rate, oldest first (at most five, then "…")."""
    days = sorted(missing.days)
    text = ", ".join(day.isoformat() for day in days[:5])
    return text + (", …" if len(days) > 5 else "")


def won_by_person(user, flt):
    """Won revenue per current assignee (None: nobody) in the period, and the team's in the previous
    period when comparing: ``{period: {assignee_id: (deals, revenue)}}`` and the wins left out. One
    query."""
    period = Case(
        When(won_on__gte=flt.range.first_day, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    found = converted_sums(
        flt.scope(user).filter(_won_q(flt)),
        {"period": period, "assignee": F("assignee_id")},
        "won_amount",
        "won_currency",
        "won_on",
        flt.currency,
    )
    people: dict = {0: {}, 1: {}}
    missing = Missing()
    for group in found:
        index, assignee = group.key
        if index == 0:
            missing.merge(group.missing)
        if group.counted:
            people[index][assignee] = (group.counted, group.amount)
    return people, missing
