"""Campaign effectiveness: leads, won leads, conversion and cost per campaign, UTM combination, service
and brand."""

from django.db.models import Count, F, Q

from crm.access import leads_counted_for

from .metrics import DAY, period_range, periods_q, ratio
from .sql import GroupingSets, Seconds

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
    period = period_range(flt, "submitted_at")
    leads = leads_counted_for(user).filter(flt.lead_q, periods_q(flt))
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
