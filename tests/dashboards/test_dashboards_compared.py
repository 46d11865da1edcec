"""A page compared with the previous period (``compare=on``) shows, for each period, what the page shows
for that period alone: the figures each page reads for both periods at once equal the two periods
computed separately. And comparing costs the queries it always did: each figure's count is fixed, and a
compared page takes at most one query more than the same page alone.

The dashboards' dataset, its money, leads of the previous period that exercise the funnel (one that left
an open status for a lost one, one that was won and went back to pending) and a lead on each side of the
moment the periods meet.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import services
from dashboards import campaigns as campaign_metrics
from dashboards import metrics, revenue, rollup
from dashboards import team as team_metrics
from dashboards.campaigns import CAMPAIGN_DIMENSIONS
from dashboards.filters import load_catalogue, read_filters
from dashboards.models import DashboardSettings
from tests.dashboards.test_dashboards_dataset import at, build, local, new_lead
from tests.dashboards.test_dashboards_money import add_money

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
FEBRUARY = {"period": "custom", "start": "2026-01-29", "end": "2026-02-28"}  # March's previous period
NOW = local(4, 1, 12)
PAGES = ["overview", "pipeline", "revenue", "team", "campaigns"]


@pytest.fixture
def data(brands, manager, employee, other_employee):
    data = add_money(build(brands, manager, employee, other_employee), brands, manager, other_employee)
    intralog = brands["intralog"]

    def move(lead, when, key):
        return at(when, lambda lead_: services.change_status(lead_, key, manager, lost_reason="price"), lead)

    lead = new_lead(local(2, 3, 10), intralog, "P3", service=data["services"][0])
    lead = at(local(2, 3, 11), services.assign, lead, employee, manager)
    lead = at(local(2, 3, 12), services.log_contact_attempt, lead, employee, "phone", "reached")
    lead = move(lead, local(2, 4, 10), "quoted")
    move(lead, local(2, 9, 10), "not_advanced")  # left an open status for a lost one
    lead = new_lead(local(2, 14, 10), intralog, "P4", service=data["services"][1])
    lead = move(lead, local(2, 15, 10), "won")
    move(lead, local(2, 20, 10), "pending")  # won, then back to pending
    new_lead(local(2, 28, 23, 59), intralog, "E1")  # the last minute of the previous period
    new_lead(local(3, 1, 0, 0), intralog, "E2")  # the first moment of the period
    rollup.rebuild()  # the events were moved in time after the rollup counted them
    return data


def context(user, params, compare=False, **extra):
    catalogue = load_catalogue(user)
    query = {**params, **extra, **({"compare": "on"} if compare else {})}
    form, flt = read_filters(query, catalogue, today=datetime.date(2026, 4, 1))
    assert not form.errors, form.errors
    return flt, metrics.StatusGroups.from_catalogue(catalogue), catalogue


def three_ways(user, figures, **extra):
    """``figures(flt, groups, catalogue)`` of March compared, of March alone and of February alone."""
    return (
        figures(*context(user, MARCH, compare=True, **extra)),
        figures(*context(user, MARCH, **extra)),
        figures(*context(user, FEBRUARY, **extra)),
    )


@pytest.fixture(params=["admin_user", "manager"])
def viewer(request, data):
    return request.getfixturevalue(request.param)


def test_the_dataset_has_both_periods(data, admin_user):
    flt, groups, _catalogue = context(admin_user, FEBRUARY)
    funnel = metrics.stage_funnel(
        admin_user,
        flt,
        groups,
        metrics.status_distribution(admin_user, flt, groups, DashboardSettings.load()),
    )
    assert [step["leads"] for step in funnel] == [5, 3, 2]  # P1-P4, E1; P2, P3, P4 reached open; P2, P4 won


@pytest.mark.parametrize("interval", ["day", "week", "month"])
def test_overview_compared_equals_each_period_alone(viewer, interval):
    compared, march, february = three_ways(
        viewer, lambda flt, groups, _c: metrics.overview_figures(viewer, flt, groups, NOW), interval=interval
    )
    kpis, recent, series = compared
    assert [(kpi["key"], kpi["value"]) for kpi in kpis] == [(kpi["key"], kpi["value"]) for kpi in march[0]]
    assert [kpi["previous"] for kpi in kpis] == [kpi["value"] for kpi in february[0]]
    assert recent == march[1] == february[1]
    # A week or month both periods touch counts both periods' leads (as it always has), every other bucket
    # its own period's: the sum of the two periods alone, bucket by bucket.
    alone = {row["bucket"]: row["leads"] for row in march[2]}
    before = {row["bucket"]: row["leads"] for row in february[2]}
    assert [(row["bucket"], row["leads"]) for row in series] == [
        (bucket, leads + before.get(bucket, 0)) for bucket, leads in alone.items()
    ]
    previous = [leads + alone.get(bucket, 0) for bucket, leads in before.items()]
    assert [row["previous"] for row in series] == (previous + [None] * len(series))[: len(series)]
    if interval == "day":
        assert [row["previous"] for row in series] == [row["leads"] for row in february[2]]
    assert sum(kpi["value"] for kpi in kpis if kpi["key"] == "total") > 0
    assert sum(kpi["previous"] for kpi in kpis if kpi["key"] == "total") > 0


def test_pipeline_compared_equals_each_period_alone(viewer):
    settings = DashboardSettings.load()

    def figures(flt, groups, _catalogue):
        distribution = metrics.status_distribution(viewer, flt, groups, settings, NOW)
        return distribution, metrics.stage_funnel(viewer, flt, groups, distribution)

    (distribution, funnel), (march, march_funnel), (february, february_funnel) = three_ways(viewer, figures)
    for status, row in distribution.items():
        alone = march.get(status, {"leads": 0, "median_age": None, "p90_age": None, "stale": 0})
        assert {name: row[name] for name in ("leads", "median_age", "p90_age", "stale")} == pytest.approx(
            {name: alone[name] for name in ("leads", "median_age", "p90_age", "stale")}
        )
        assert row["previous"] == february.get(status, {"leads": 0})["leads"]
    assert set(march) <= set(distribution) and set(february) <= set(distribution)
    for step, alone, before in zip(funnel, march_funnel, february_funnel, strict=True):
        assert (step["leads"], step["from_previous"], step["from_start"]) == (
            alone["leads"],
            alone["from_previous"],
            alone["from_start"],
        )
        assert (step["previous"], step["previous_from_previous"], step["previous_from_start"]) == (
            before["leads"],
            before["from_previous"],
            before["from_start"],
        )


TEAM_FIGURES = [
    "leads",
    "assigned",
    "contacted_leads",
    "median_response_hours",
    "p90_response_hours",
    "sla_share",
    "quoted",
    "won",
    "conversion",
    "open",
    "stale",
    "activity",
    "revenue",
    "revenue_deals",
]


@pytest.mark.parametrize("currency", ["ARS", "USD"])
def test_team_compared_equals_each_period_alone(viewer, currency):
    settings = DashboardSettings.load()
    compared, march, february = three_ways(
        viewer,
        lambda flt, groups, _c: team_metrics.team_figures(viewer, flt, groups, settings, NOW),
        currency=currency,
    )

    def figures(row):
        return {name: row[name] for name in TEAM_FIGURES}

    assert figures(compared["total"]) == figures(march["total"])
    assert figures(compared["previous"]) == figures(february["total"])
    assert sorted(map(figures, compared["rows"]), key=repr) == sorted(map(figures, march["rows"]), key=repr)
    assert compared["trend"] == march["trend"]
    assert compared["missing"] == march["missing"]
    assert compared["previous"]["activity"] and compared["total"]["activity"]


def campaign_rows(tables, name):
    return {tuple(row[field] for field in CAMPAIGN_DIMENSIONS[name]): row for row in tables[name]}


@pytest.mark.parametrize("currency", ["ARS", "USD"])
def test_campaigns_compared_equal_each_period_alone(viewer, currency):
    compared, march, february = three_ways(
        viewer,
        lambda flt, groups, catalogue: campaign_metrics.campaign_effectiveness(
            viewer, flt, groups, catalogue
        ),
        currency=currency,
    )
    for name in CAMPAIGN_DIMENSIONS:
        rows, alone, before = (campaign_rows(tables, name) for tables in (compared, march, february))
        assert set(rows) == set(alone)
        for key, row in rows.items():
            shown = {figure: value for figure, value in row.items() if not figure.startswith("previous_")}
            assert shown == alone[key]
            previous = before.get(key, {"leads": 0, "won": 0, "conversion": None})
            assert (row["previous_leads"], row["previous_won"], row["previous_conversion"]) == (
                previous["leads"],
                previous["won"],
                previous["conversion"],
            )
    assert (compared["missing"], compared["spend_rate"]) == (march["missing"], march["spend_rate"])
    assert any(row["previous_leads"] for row in compared["campaign"])


@pytest.mark.parametrize("currency", ["ARS", "USD"])
def test_won_revenue_compared_equals_each_period_alone(viewer, currency):
    compared, march, february = three_ways(
        viewer, lambda flt, _groups, _catalogue: revenue.won_revenue(viewer, flt), currency=currency
    )
    assert [(kpi["key"], kpi["value"]) for kpi in compared["kpis"]] == [
        (kpi["key"], kpi["value"]) for kpi in march["kpis"]
    ]
    assert [kpi["previous"] for kpi in compared["kpis"]] == [kpi["value"] for kpi in february["kpis"]]
    assert [row["previous"] for row in compared["series"]] == [row["revenue"] for row in february["series"]]
    assert (compared["missing"], compared["previous_missing"]) == (march["missing"], february["missing"])


# ---------------------------------------------------------------- queries


@pytest.mark.parametrize("compare", [False, True])
def test_each_figure_takes_a_fixed_number_of_queries(data, admin_user, compare, django_assert_num_queries):
    settings = DashboardSettings.load()
    flt, groups, catalogue = context(admin_user, MARCH, compare=compare)
    with django_assert_num_queries(1):
        metrics.overview_figures(admin_user, flt, groups, NOW)
    with django_assert_num_queries(2 if compare else 1):  # the previous period's counts per status
        distribution = metrics.status_distribution(admin_user, flt, groups, settings, NOW)
    with django_assert_num_queries(1):
        metrics.stage_funnel(admin_user, flt, groups, distribution)
    with django_assert_num_queries(5 if compare else 4):  # the previous period's lead figures
        team_metrics.team_figures(admin_user, flt, groups, settings, NOW)
    with django_assert_num_queries(3):
        campaign_metrics.campaign_effectiveness(admin_user, flt, groups, catalogue)
    with django_assert_num_queries(1):
        revenue.won_revenue(admin_user, flt)
    flt, groups, catalogue = context(admin_user, MARCH, compare=compare, currency="USD")
    with django_assert_num_queries(5 if compare else 4):  # the newest rate of each period, for the spend
        campaign_metrics.campaign_effectiveness(admin_user, flt, groups, catalogue)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("currency", ["ARS", "USD"])
def test_a_compared_page_takes_at_most_one_query_more(data, client_for, admin_user, page, currency):
    client = client_for(admin_user)
    query = "period=custom&start=2026-03-01&end=2026-03-31&currency=" + currency
    path = reverse(f"dashboards:{page}")
    client.get(f"{path}?{query}")  # the first visit creates the dashboard settings row
    counted = []
    for compared in ("", "&compare=on"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{path}?{query}{compared}").status_code == 200
        counted.append(len(queries))
    alone, compared = counted
    assert alone <= compared <= alone + 1
    assert compared <= 15
