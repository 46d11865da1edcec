"""Every dashboard figure against a hand computation on the fixed dataset of ``dashboards_data``."""

import datetime

import pytest

from crm.models import Role
from dashboards import campaigns as campaign_metrics
from dashboards import metrics
from dashboards import team as team_metrics
from dashboards.filters import load_catalogue, read_filters
from dashboards.models import DashboardSettings
from dashboards.sql import percentile_of
from tests.dashboards.test_dashboards_dataset import at, build, local

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
NOW = local(4, 1, 12)
HOUR = 3600


@pytest.fixture
def data(brands, manager, employee, other_employee):
    return build(brands, manager, employee, other_employee)


@pytest.fixture
def settings_row(db):
    return DashboardSettings.load()


def context(user, params=MARCH):
    catalogue = load_catalogue(user)
    form, flt = read_filters(params, catalogue, today=datetime.date(2026, 4, 1))
    assert not form.errors, form.errors
    return flt, metrics.StatusGroups.from_catalogue(catalogue), catalogue


def kpis_by_key(kpis):
    return {kpi["key"]: kpi for kpi in kpis}


def test_percentile_matches_percentile_cont():
    assert percentile_of([2, 10, 4], 0.5) == 4
    assert percentile_of([2, 10, 4], 0.9) == pytest.approx(8.8)
    assert percentile_of([1, 2, 4, 10], 0.5) == 3
    assert percentile_of([], 0.5) is None


def test_overview_counts_and_previous_period(data, admin_user):
    flt, groups, _catalogue = context(admin_user, {**MARCH, "compare": "on"})
    assert flt.previous.first_day == datetime.date(2026, 1, 29)
    assert flt.previous.last_day == datetime.date(2026, 2, 28)
    kpis, recent = metrics.overview_kpis(admin_user, flt, groups, NOW)
    figures = {key: (kpi["value"], kpi["previous"]) for key, kpi in kpis_by_key(kpis).items()}
    assert figures == {
        "total": (7, 2),
        "pending": (1, 1),
        "contacted": (1, 0),
        "active": (2, 1),
        "unassigned": (1, 2),
        "won": (1, 1),
        "lost": (1, 0),
        "junk": (1, 0),
    }
    assert kpis_by_key(kpis)["total"]["change"] == pytest.approx(2.5)
    assert kpis_by_key(kpis)["contacted"]["change"] is None
    assert recent == {"new_today": 0, "new_this_week": 0}


def test_new_today_and_this_week(data, admin_user):
    flt, groups, _catalogue = context(admin_user)
    # 1 April 2026 is a Wednesday: L7 (28 March) is not this week; nothing today.
    kpis, recent = metrics.overview_kpis(admin_user, flt, groups, local(3, 28, 18))
    assert recent == {"new_today": 1, "new_this_week": 2}  # L7 today (Sat 28), L6 (Wed 25) same week


def test_manager_sees_only_their_brands(data, manager, other_manager):
    flt, groups, _catalogue = context(manager)
    assert kpis_by_key(metrics.overview_kpis(manager, flt, groups, NOW)[0])["total"]["value"] == 6
    flt, groups, _catalogue = context(other_manager)
    kpis = kpis_by_key(metrics.overview_kpis(other_manager, flt, groups, NOW)[0])
    assert (kpis["total"]["value"], kpis["pending"]["value"], kpis["won"]["value"]) == (1, 1, 0)


def test_leads_over_time_by_day_with_previous(data, admin_user):
    flt, _groups, _catalogue = context(admin_user, {**MARCH, "compare": "on", "interval": "day"})
    series = metrics.leads_over_time(admin_user, flt)
    assert len(series) == 31
    assert {row["bucket"].day: row["leads"] for row in series if row["leads"]} == {
        2: 1,
        3: 1,
        9: 1,
        16: 1,
        20: 1,
        25: 1,
        28: 1,
    }
    # The previous period starts on 29 January, so 10 February is its 13th day and 20 February its 23rd.
    assert {index: row["previous"] for index, row in enumerate(series) if row["previous"]} == {12: 1, 22: 1}


def test_leads_over_time_by_week_and_month(data, admin_user):
    flt, _groups, _catalogue = context(admin_user, {**MARCH, "interval": "week"})
    weeks = {row["bucket"]: row["leads"] for row in metrics.leads_over_time(admin_user, flt)}
    assert weeks == {
        datetime.date(2026, 2, 23): 0,
        datetime.date(2026, 3, 2): 2,
        datetime.date(2026, 3, 9): 1,
        datetime.date(2026, 3, 16): 2,
        datetime.date(2026, 3, 23): 2,
        datetime.date(2026, 3, 30): 0,
    }
    flt, _groups, _catalogue = context(
        admin_user, {"period": "custom", "start": "2026-02-01", "end": "2026-03-31", "interval": "month"}
    )
    months = {row["bucket"]: row["leads"] for row in metrics.leads_over_time(admin_user, flt)}
    assert months == {datetime.date(2026, 2, 1): 2, datetime.date(2026, 3, 1): 7}


def test_breakdowns_by_brand_service_source(data, admin_user, brands):
    flt, _groups, catalogue = context(admin_user)
    parts = metrics.breakdowns(admin_user, flt)
    s1, s2, s3 = data["services"]
    assert dict(parts["brand_id"]) == {brands["intralog"].pk: 6, brands["intrapal"].pk: 1}
    assert dict(parts["service_id"]) == {s1.pk: 4, s2.pk: 2, s3.pk: 1}
    sources = {catalogue.sources[pk]["key"]: count for pk, count in parts["source_id"]}
    assert sources == {"web_form": 4, "phone": 1, "whatsapp": 1, "email": 1}


def test_latest_leads_skip_negative(data, admin_user):
    flt, groups, _catalogue = context(admin_user)
    assert [str(lead) for lead in metrics.latest_leads(admin_user, flt, groups)] == [
        "L7",
        "L5",
        "L4",
        "L3",
        "L2",
    ]


def test_filters_combine(data, admin_user, brands):
    s1 = data["services"][0]
    c1 = data["campaigns"][0]
    flt, groups, _catalogue = context(
        admin_user,
        {
            **MARCH,
            "brand": brands["intralog"].pk,
            "service": s1.pk,
            "campaign": c1.pk,
            "status": "stage:open",
        },
    )
    kpis = kpis_by_key(metrics.overview_kpis(admin_user, flt, groups, NOW)[0])
    assert kpis["total"]["value"] == 2  # L2 (to quote) and L7 (interested)


def test_status_distribution_aging_and_stale(data, admin_user, settings_row, employee):
    flt, groups, catalogue = context(admin_user)
    rows = metrics.status_distribution(admin_user, flt, groups, settings_row, NOW)
    by_key = {catalogue.statuses[pk]["key"]: row for pk, row in rows.items()}
    assert {key: row["leads"] for key, row in by_key.items()} == {
        "won": 1,
        "to_quote": 1,
        "not_advanced": 1,
        "assigned": 1,
        "pending": 1,
        "negative": 1,
        "interested": 1,
    }
    assert by_key["to_quote"]["median_age"] == pytest.approx((NOW - local(3, 4, 10)).total_seconds(), abs=1)
    assert by_key["assigned"]["p90_age"] == pytest.approx((NOW - local(3, 16, 10)).total_seconds(), abs=1)
    # Stale (7 days without activity, open stages): L2, L4, L5; L7 was active on 28 March.
    assert {key: row["stale"] for key, row in by_key.items() if row["stale"]} == {
        "to_quote": 1,
        "assigned": 1,
        "pending": 1,
    }
    stale = metrics.stale_leads(admin_user, flt, groups, settings_row, NOW)
    assert [str(lead) for lead in stale] == ["L2", "L4", "L5"]
    settings_row.stale_days = 20
    assert [str(lead) for lead in metrics.stale_leads(admin_user, flt, groups, settings_row, NOW)] == ["L2"]


def test_aging_median_across_leads(data, admin_user, settings_row):
    flt, groups, catalogue = context(
        admin_user, {"period": "custom", "start": "2026-02-01", "end": "2026-03-31"}
    )
    rows = metrics.status_distribution(admin_user, flt, groups, settings_row, NOW)
    by_key = {catalogue.statuses[pk]["key"]: row for pk, row in rows.items()}
    # Pending: L5 (20 March) and P1 (10 February) → median halfway between their ages.
    ages = [(NOW - local(3, 20, 10)).total_seconds(), (NOW - local(2, 10, 10)).total_seconds()]
    assert by_key["pending"]["median_age"] == pytest.approx(sum(ages) / 2, abs=1)
    assert by_key["won"]["leads"] == 2


def test_stage_funnel(data, admin_user):
    flt, groups, _catalogue = context(admin_user)
    distribution = metrics.status_distribution(admin_user, flt, groups, DashboardSettings.load(), NOW)
    funnel = metrics.stage_funnel(admin_user, flt, groups, distribution)
    assert [(step["stage"], step["leads"]) for step in funnel] == [("new", 7), ("open", 6), ("won", 1)]
    assert funnel[1]["from_previous"] == pytest.approx(6 / 7)
    assert funnel[2]["from_previous"] == pytest.approx(1 / 6)
    assert funnel[2]["from_start"] == pytest.approx(1 / 7)


def test_team_performance(data, admin_user, manager, employee, other_employee, settings_row):
    flt, groups, _catalogue = context(admin_user)
    rows, total = team_metrics.team_performance(admin_user, flt, groups, settings_row, NOW)
    rows = {row["person_id"]: row for row in rows}
    emp1, emp2, boss = rows[employee.pk], rows[other_employee.pk], rows[manager.pk]
    assert (emp1["assigned"], emp1["contacted_leads"], emp1["quoted"], emp1["won"], emp1["activity"]) == (
        4,
        3,
        1,
        1,
        8,
    )
    assert emp1["median_response_hours"] == pytest.approx(4)
    assert emp1["p90_response_hours"] == pytest.approx(8.8)
    assert (emp1["sla_met"], emp1["sla_due"], emp1["sla_share"]) == (2, 4, 0.5)
    assert emp1["conversion"] == 0.25
    assert (emp1["open"], emp1["stale"]) == (2, 1)
    assert (emp2["assigned"], emp2["contacted_leads"], emp2["quoted"], emp2["won"], emp2["activity"]) == (
        2,
        1,
        0,
        0,
        2,
    )
    assert emp2["median_response_hours"] == pytest.approx(1)
    assert (emp2["sla_share"], emp2["conversion"], emp2["open"], emp2["stale"]) == (0.5, 0, 1, 1)
    assert (boss["assigned"], boss["activity"], boss["median_response_hours"]) == (0, 12, None)
    assert (
        total["assigned"],
        total["contacted_leads"],
        total["quoted"],
        total["won"],
        total["activity"],
    ) == (6, 4, 1, 1, 22)
    assert total["median_response_hours"] == pytest.approx(3)
    assert total["p90_response_hours"] == pytest.approx(8.2)
    assert (total["sla_met"], total["sla_due"], total["sla_share"]) == (3, 6, 0.5)
    assert total["conversion"] == pytest.approx(1 / 6)
    assert (total["open"], total["stale"]) == (3, 2)


def test_sla_hours_are_configurable(data, admin_user, employee, settings_row):
    settings_row.sla_hours = 10
    flt, groups, _catalogue = context(admin_user)
    rows, total = team_metrics.team_performance(admin_user, flt, groups, settings_row, NOW)
    emp1 = next(row for row in rows if row["person_id"] == employee.pk)
    assert (emp1["sla_met"], emp1["sla_due"]) == (3, 4)  # 2 h, 10 h and 4 h are all within 10 hours
    assert total["sla_share"] == pytest.approx(4 / 6)


def test_weekly_trend(data, admin_user):
    flt, groups, _catalogue = context(admin_user)
    trend = {
        row["bucket"]: (row["assigned"], row["contacted"], row["won"])
        for row in team_metrics.weekly_trend(admin_user, flt, groups)
    }
    assert trend == {
        datetime.date(2026, 2, 23): (0, 0, 0),
        datetime.date(2026, 3, 2): (2, 2, 0),
        datetime.date(2026, 3, 9): (1, 1, 1),
        datetime.date(2026, 3, 16): (1, 0, 0),
        datetime.date(2026, 3, 23): (2, 1, 0),
        datetime.date(2026, 3, 30): (0, 0, 0),
    }


def test_team_performance_for_a_manager_counts_only_their_brands(
    data, admin_user, manager, intrapal_employee, settings_row
):
    from crm import services

    at(local(3, 30), services.assign, data["leads"]["L5"], intrapal_employee, admin_user)
    flt, groups, _catalogue = context(admin_user)
    rows, total = team_metrics.team_performance(admin_user, flt, groups, settings_row, NOW)
    assert next(row for row in rows if row["person_id"] == intrapal_employee.pk)["assigned"] == 1
    assert total["assigned"] == 7
    flt, groups, _catalogue = context(manager)
    rows, total = team_metrics.team_performance(manager, flt, groups, settings_row, NOW)
    assert intrapal_employee.pk not in {row["person_id"] for row in rows}
    assert admin_user.pk not in {row["person_id"] for row in rows}
    assert (total["assigned"], total["activity"], total["open"]) == (6, 22, 3)


def test_campaign_effectiveness(data, admin_user, settings_row, brands):
    c1, c2 = data["campaigns"]
    s1, s2, s3 = data["services"]
    flt, groups, catalogue = context(admin_user)
    tables = campaign_metrics.campaign_effectiveness(admin_user, flt, groups, catalogue)
    campaigns = {row["campaign_id"]: row for row in tables["campaign"]}
    first = campaigns[c1.pk]
    assert (first["leads"], first["valid"], first["contacted"], first["quoted"], first["won"]) == (
        4,
        3,
        3,
        2,
        1,
    )
    assert first["conversion"] == pytest.approx(1 / 3)
    assert (first["cost"], first["cost_per_lead"], first["cost_per_won"]) == (1000, 250, 1000)
    assert first["median_to_won_days"] == pytest.approx(10)
    second = campaigns[c2.pk]
    assert (second["leads"], second["valid"], second["won"], second["conversion"]) == (2, 2, 0, 0)
    assert (
        second["cost"],
        second["cost_per_lead"],
        second["cost_per_won"],
        second["median_to_won_days"],
    ) == (300, 150, None, None)
    none = campaigns[None]
    assert (none["leads"], none["contacted"], none["cost"], none["cost_per_lead"]) == (1, 1, None, None)

    utm = {(row["utm_source"], row["utm_medium"], row["utm_campaign"]): row for row in tables["utm"]}
    assert utm[("google", "cpc", "spring")]["leads"] == 3
    assert utm[("google", "cpc", "spring")]["cost"] == pytest.approx(750)
    assert utm[("google", "cpc", "spring")]["cost_per_won"] == pytest.approx(750)
    assert utm[("facebook", "social", "promo")]["cost_per_lead"] == pytest.approx(150)
    # L3 (no campaign) and L7 (a quarter of campaign 1) share the empty combination.
    assert utm[("", "", "")]["cost"] == pytest.approx(250)
    assert utm[("", "", "")]["cost_per_lead"] == pytest.approx(125)
    assert utm[("", "", "")]["quoted"] == 1

    services = {row["service_id"]: row for row in tables["service"]}
    assert services[s1.pk]["cost"] == pytest.approx(1000)
    assert services[s2.pk]["cost"] == pytest.approx(150)
    assert services[s3.pk]["cost"] == pytest.approx(150)
    by_brand = {row["brand_id"]: row for row in tables["brand"]}
    assert by_brand[brands["intralog"].pk]["cost"] == pytest.approx(1150)
    assert by_brand[brands["intralog"].pk]["cost_per_lead"] == pytest.approx(1150 / 6)
    assert by_brand[brands["intrapal"].pk]["won"] == 0

    ranked = campaign_metrics.mark_best_and_worst(tables["campaign"], 2)
    assert {row["campaign_id"]: row["rank"] for row in ranked} == {c1.pk: "best", c2.pk: "worst", None: ""}
    assert {row["rank"] for row in campaign_metrics.mark_best_and_worst(tables["campaign"], 5)} == {""}


def test_personal_figures(data, employee, other_employee, settings_row):
    from crm import services

    at(local(3, 31, 10), services.assign, data["leads"]["L5"], employee, None)
    figures = team_metrics.personal_figures(employee, settings_row, now=NOW)
    assert [(row["status__key"], row["leads"], row["overdue"]) for row in figures["by_status"]] == [
        ("assigned", 1, 1),
        ("to_quote", 1, 1),
        ("interested", 1, 0),
    ]
    assert [str(lead) for lead in figures["overdue"]] == ["L2", "L5"]
    mine = figures["figures"]  # assigned since 2 March 12:00: L2, L6, L7, L5
    assert (mine["leads"], mine["contacted"], mine["won"]) == (4, 2, 0)
    assert mine["median_response_hours"] == pytest.approx(7)
    assert (mine["sla_met"], mine["sla_due"], mine["sla_share"]) == (1, 4, 0.25)
    theirs = team_metrics.personal_figures(other_employee, settings_row, now=NOW)
    assert [(row["status__key"], row["leads"]) for row in theirs["by_status"]] == [("assigned", 1)]
    assert theirs["figures"]["leads"] == 2


def test_period_presets():
    from dashboards.filters import period_dates

    today = datetime.date(2026, 5, 14)
    assert period_dates("today", today) == (today, today)
    assert period_dates("last_7", today) == (datetime.date(2026, 5, 8), today)
    assert period_dates("last_30", today) == (datetime.date(2026, 4, 15), today)
    assert period_dates("last_90", today) == (datetime.date(2026, 2, 14), today)
    assert period_dates("this_month", today) == (datetime.date(2026, 5, 1), today)
    assert period_dates("last_month", today) == (datetime.date(2026, 4, 1), datetime.date(2026, 4, 30))
    assert period_dates("this_quarter", today) == (datetime.date(2026, 4, 1), today)
    assert period_dates("this_year", today) == (datetime.date(2026, 1, 1), today)


def test_bad_filters_are_reported_and_ignored(data, manager, brands):
    catalogue = load_catalogue(manager)
    form, flt = read_filters(
        {"period": "custom", "start": "2026-03-31", "end": "2026-03-01", "brand": brands["intrapal"].pk},
        catalogue,
        today=datetime.date(2026, 4, 1),
    )
    assert set(form.errors) == {"end", "brand"}
    assert flt.period == "last_30"
    assert flt.values.get("brand") is None
    assert manager.role == Role.MANAGER


# ---------------------------------------------------------------- business-hours SLA


def test_business_clock_counts_weekday_opening_hours():
    from dashboards.sql import business_clock

    from .test_dashboards_dataset import LOCAL

    def hours(start, end):
        return (business_clock(end, 9, 18, LOCAL) - business_clock(start, 9, 18, LOCAL)) / HOUR

    # 2 March 2026 is a Monday.
    assert hours(local(3, 2, 10), local(3, 6, 17)) == 8 + 3 * 9 + 8  # Monday 10:00 to Friday 17:00
    assert hours(local(3, 6, 17), local(3, 9, 10)) == 2  # across the weekend
    assert hours(local(3, 7, 11), local(3, 8, 20)) == 0  # Saturday to Sunday
    assert hours(local(3, 9, 7), local(3, 9, 9, 30)) == 0.5  # before opening
    assert hours(local(3, 9, 17), local(3, 10, 8)) == 1  # after closing, to before the next opening


@pytest.fixture
def business_hours(settings_row):
    settings_row.sla_business_hours = True
    settings_row.business_day_start, settings_row.business_day_end = 9, 18
    return settings_row


def test_sla_share_in_business_hours(data, admin_user, employee, other_employee, business_hours):
    # Business time from assignment to first contact: L1 2 h (Mon 10→12), L2 9 h (Tue 09→19 closes
    # at 18), L3 0 h (Mon 08→09, before opening), L7 0 h (Saturday). Calendar: 2, 10, 1 and 4 hours.
    business_hours.sla_hours = 1
    flt, groups, _catalogue = context(admin_user)
    rows, total = team_metrics.team_performance(admin_user, flt, groups, business_hours, NOW)
    rows = {row["person_id"]: row for row in rows}
    assert (rows[employee.pk]["sla_met"], rows[employee.pk]["sla_due"]) == (1, 4)  # L7
    assert (rows[other_employee.pk]["sla_met"], rows[other_employee.pk]["sla_due"]) == (1, 2)  # L3
    assert (total["sla_met"], total["sla_due"], total["sla_share"]) == (2, 6, pytest.approx(2 / 6))
    business_hours.sla_business_hours = False
    rows, total = team_metrics.team_performance(admin_user, flt, groups, business_hours, NOW)
    assert (total["sla_met"], total["sla_due"]) == (1, 6)  # only L3, exactly one hour


def test_uncontacted_leads_fall_due_after_the_business_hours(data, admin_user, business_hours):
    # Waiting leads at NOW (Wed 1 April 12:00): L4 assigned Mon 16 March 10:00 has waited 8 + 4 × 9
    # + 5 × 9 + 2 × 9 + 3 = 110 business hours (386 calendar hours); L6, assigned Wed 25 March 10:00,
    # 8 + 2 × 9 + 2 × 9 + 3 = 47 (170 calendar hours).
    business_hours.sla_hours = 120
    flt, groups, _catalogue = context(admin_user)
    _rows, total = team_metrics.team_performance(admin_user, flt, groups, business_hours, NOW)
    assert (total["sla_met"], total["sla_due"], total["sla_share"]) == (4, 4, 1.0)
    business_hours.sla_hours = 100
    _rows, total = team_metrics.team_performance(admin_user, flt, groups, business_hours, NOW)
    assert (total["sla_met"], total["sla_due"]) == (4, 5)  # L4 is now due, L6 not yet
    business_hours.sla_business_hours = False
    _rows, total = team_metrics.team_performance(admin_user, flt, groups, business_hours, NOW)
    assert (total["sla_met"], total["sla_due"]) == (4, 6)


def test_personal_panel_sla_in_business_hours(data, employee, business_hours):
    from crm import services

    at(local(3, 31, 10), services.assign, data["leads"]["L5"], employee, None)
    business_hours.sla_hours = 40
    # Assigned since 2 March 12:00: L2 (9 business hours to contact: met), L6 (waiting 47 h: due),
    # L7 (0 h: met), L5 (Tue 31 March 10:00, waiting 8 + 3 = 11 h: not due yet).
    mine = team_metrics.personal_figures(employee, business_hours, now=NOW)["figures"]
    assert (mine["sla_met"], mine["sla_due"], mine["sla_share"]) == (2, 3, pytest.approx(2 / 3))
    # Overdue with a 20-hour SLA: L5 has waited 11 business hours (26 calendar hours); L2 is stale.
    business_hours.sla_hours = 20
    assert [
        str(lead) for lead in team_metrics.personal_figures(employee, business_hours, now=NOW)["overdue"]
    ] == ["L2"]
    business_hours.sla_business_hours = False
    overdue = team_metrics.personal_figures(employee, business_hours, now=NOW)["overdue"]
    assert [str(lead) for lead in overdue] == ["L2", "L5"]


def test_business_day_must_close_after_it_opens(settings_row):
    from django.core.exceptions import ValidationError

    settings_row.business_day_start, settings_row.business_day_end = 18, 9
    with pytest.raises(ValidationError):
        settings_row.full_clean()


# ---------------------------------------------------------------- comparison with the previous period

COMPARED = {**MARCH, "compare": "on"}


def test_status_distribution_and_funnel_of_the_previous_period(data, admin_user, settings_row):
    # The previous period (29 January – 28 February) received P1 (still pending) and P2 (won).
    flt, groups, catalogue = context(admin_user, COMPARED)
    rows = metrics.status_distribution(admin_user, flt, groups, settings_row, NOW)
    previous = {catalogue.statuses[pk]["key"]: row["previous"] for pk, row in rows.items() if row["previous"]}
    assert previous == {"pending": 1, "won": 1}
    assert sum(row["leads"] for row in rows.values()) == 7
    funnel = metrics.stage_funnel(admin_user, flt, groups, rows)
    assert [(step["stage"], step["leads"], step["previous"]) for step in funnel] == [
        ("new", 7, 2),
        ("open", 6, 1),
        ("won", 1, 1),
    ]
    assert funnel[1]["previous_from_previous"] == 0.5
    assert funnel[2]["previous_from_previous"] == 1.0
    assert funnel[2]["previous_from_start"] == 0.5


def test_funnel_counts_leads_that_left_an_open_or_won_status(data, admin_user, manager, settings_row):
    from crm import services

    # L1 (won) goes back to pending: it still reached an open status and won.
    at(local(3, 30), lambda lead: services.change_status(lead, "pending", manager), data["leads"]["L1"])
    flt, groups, _catalogue = context(admin_user)
    rows = metrics.status_distribution(admin_user, flt, groups, settings_row, NOW)
    funnel = metrics.stage_funnel(admin_user, flt, groups, rows)
    assert [(step["stage"], step["leads"]) for step in funnel] == [("new", 7), ("open", 6), ("won", 1)]


def test_team_totals_of_the_previous_period(data, admin_user, manager, settings_row):
    flt, groups, _catalogue = context(admin_user, COMPARED)
    figures = team_metrics.team_figures(admin_user, flt, groups, settings_row, NOW)
    previous, total = figures["previous"], figures["total"]
    # February: nobody was assigned a lead; the manager moved P2 to won (one event).
    assert (previous["assigned"], previous["contacted_leads"], previous["quoted"], previous["won"]) == (
        0,
        0,
        0,
        1,
    )
    assert (previous["activity"], previous["median_response_hours"], previous["sla_share"]) == (1, None, None)
    assert previous["conversion"] is None
    assert (total["assigned"], total["won"], total["activity"]) == (6, 1, 22)
    assert metrics.change(total["activity"], previous["activity"]) == 21


def test_campaign_rows_carry_the_previous_period(data, admin_user):
    c1, c2 = data["campaigns"]
    flt, groups, catalogue = context(admin_user, COMPARED)
    tables = campaign_metrics.campaign_effectiveness(admin_user, flt, groups, catalogue)
    campaigns = {row["campaign_id"]: row for row in tables["campaign"]}
    assert {
        pk: (row["previous_leads"], row["previous_won"], row["previous_conversion"])
        for pk, row in campaigns.items()
    } == {
        c1.pk: (1, 0, 0.0),  # P1
        c2.pk: (0, 0, None),
        None: (1, 1, 1.0),  # P2
    }
    assert (campaigns[c1.pk]["leads"], campaigns[c1.pk]["cost"]) == (4, 1000)  # the period's own figures
    utm = {(row["utm_source"], row["utm_medium"], row["utm_campaign"]): row for row in tables["utm"]}
    assert utm[("google", "cpc", "spring")]["previous_leads"] == 1
    assert (utm[("", "", "")]["previous_leads"], utm[("", "", "")]["previous_won"]) == (1, 1)
