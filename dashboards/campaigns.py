"""Campaign effectiveness: leads, won leads, conversion, cost, revenue and return per campaign, UTM
combination, service and brand."""

from decimal import Decimal

from django.db.models import Count, F, Q

from crm.access import leads_counted_for
from crm.models import Currency

from .conversion import Missing, as_money, converted_sums, latest_rate
from .metrics import DAY, in_period, period_range, periods_q, ratio
from .sql import GroupingSets, Seconds

CAMPAIGN_DIMENSIONS = {
    "campaign": ("campaign_id",),
    "utm": ("utm_source", "utm_medium", "utm_campaign"),
    "service": ("service_id",),
    "brand": ("brand_id",),
}
CAMPAIGN_COMPARED = ("leads", "won", "conversion")


def campaign_effectiveness(user, flt, groups, catalogue):
    """Per campaign, UTM combination, service and brand. Three queries (in dollars, one more per period:
    the newest rate for the spend).

    The counts come grouped by every dimension at once (a few hundred groups at most) and are added
    up per table; the median time to won comes from the won leads, grouped per table in one query
    (GROUPING SETS). A campaign's spend is shared equally among its leads of the period, so every
    group's cost is the spend of the campaigns its leads belong to, in proportion. With comparison,
    every row also holds the previous period's leads, won and conversion (``previous_*``).

    Revenue: the won amounts of the period's leads, each converted at the rate of its day won
    (``conversion``); wins whose day has no rate are left out and counted in ``missing``. Spend is in
    pesos: in dollars it is converted at the newest rate of the period (``spend_rate``), or shown as
    unknown when the period has none.
    """
    period = period_range(flt, "submitted_at")
    leads = leads_counted_for(user).filter(flt.lead_q, periods_q(flt))
    dimensions = sorted({field for fields in CAMPAIGN_DIMENSIONS.values() for field in fields})
    spans = {0: flt.range, 1: flt.previous} if flt.compare else {0: flt.range}
    finest = _finest_counts(leads, flt, groups, dimensions)
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
    revenue = converted_sums(
        leads.filter(won_amount__isnull=False),
        {"period": period, **{field: F(field) for field in dimensions}},
        "won_amount",
        "won_currency",
        "won_on",
        flt.currency,
    )
    spend_rates = {index: _spend_rate(span, flt.currency) for index, span in spans.items()}
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
                    "revenue": None,
                    "revenue_deals": 0,
                },
            )
            for figure in ("leads", "valid", "contacted", "quoted", "won"):
                group[figure] += row[figure]
            if share is not None:
                group["cost"] = (group["cost"] or 0) + share
    missing = _add_revenue(tables, revenue, dimensions)
    for index, row in medians:
        name = names[index]
        key = tuple(row[field] for field in CAMPAIGN_DIMENSIONS[name])
        group = tables[(row["period"], name)].get(key)
        if group is not None:
            group["median_to_won"] = row["median_to_won"]
    result = {}
    for name in names:
        rows = [_finish_campaign_row(row, flt.currency, spend_rates[0]) for row in tables[(0, name)].values()]
        if flt.compare:
            before = {
                key: _finish_campaign_row(row, flt.currency, spend_rates[1])
                for key, row in tables[(1, name)].items()
            }
            for row in rows:
                previous = before.get(tuple(row[field] for field in CAMPAIGN_DIMENSIONS[name]), {})
                for figure in CAMPAIGN_COMPARED:
                    row[f"previous_{figure}"] = previous.get(figure, 0 if figure != "conversion" else None)
        result[name] = rows
    result["missing"] = missing
    result["spend_rate"] = spend_rates[0]
    return result


def _finest_counts(leads, flt, groups, dimensions):
    """The leads counted per period and combination of every dimension. One query, grouped by whether a
    lead is of the period (a boolean, planned as two groups) rather than by a period number."""
    counted = {
        "leads": Q(),
        "valid": ~Q(status_id__in=groups.junk),
        "contacted": Q(first_contacted_at__isnull=False),
        "quoted": Q(status_id__in=groups.quoted_or_later),
        "won": Q(status_id__in=groups.won),
    }
    finest = list(
        leads.values(*dimensions, current=in_period(flt, "submitted_at"))
        .annotate(**{name: Count("pk", filter=condition) for name, condition in counted.items()})
        .order_by()
    )
    for row in finest:
        row["period"] = 0 if row.pop("current") else 1
    return finest


def _add_revenue(tables, revenue, dimensions):
    """Add each group's converted revenue to the rows of every table it belongs to; return the wins of
    the period left out for want of a rate."""
    missing = Missing()
    for group in revenue:
        row = dict(zip(["period", *dimensions], group.key, strict=True))
        if row["period"] == 0:
            missing.merge(group.missing)
        for name, fields in CAMPAIGN_DIMENSIONS.items():
            target = tables[(row["period"], name)].get(tuple(row[field] for field in fields))
            if target is None or not group.counted:
                continue
            target["revenue_deals"] += group.counted
            if group.amount is not None:
                target["revenue"] = (target["revenue"] or Decimal(0)) + group.amount
    return missing


def _spend_rate(span, currency):
    """``(day, rate)`` that converts the period's spend (pesos) to ``currency``: none needed in pesos."""
    if Currency(currency) == Currency.ARS:
        return (None, None)
    return latest_rate(span.first_day, span.last_day) or (None, None)


def _finish_campaign_row(row, currency, spend_rate):
    for name in ("leads", "valid", "contacted", "quoted", "won"):
        row[name] = int(row[name] or 0)
    if row.get("cost") is not None:
        row["cost"] = spend_in(row["cost"], currency, spend_rate[1])
    row["revenue"] = as_money(row.get("revenue"))
    row["revenue_per_won"] = _money_ratio(row["revenue"], row.get("revenue_deals"))
    row["return_on_spend"] = (
        ratio(float(row["revenue"]), row["cost"]) if row["revenue"] is not None and row["cost"] else None
    )
    row["conversion"] = ratio(row["won"], row["valid"])
    row["cost_per_lead"] = ratio(row["cost"], row["leads"]) if row.get("cost") is not None else None
    row["cost_per_won"] = ratio(row["cost"], row["won"]) if row.get("cost") is not None else None
    row["median_to_won_days"] = row["median_to_won"] / DAY if row["median_to_won"] is not None else None
    return row


def spend_in(pesos, currency, rate):
    """Spend (pesos, a float) in ``currency`` at ``rate`` pesos per dollar; None without a rate."""
    if Currency(currency) == Currency.ARS:
        return pesos
    return pesos / float(rate) if rate else None


def _money_ratio(amount, count):
    return None if amount is None or not count else as_money(amount / count)


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
