"""The money figures (pipeline value, weighted forecast, won revenue, campaign return, revenue per person)
against hand computations, in pesos and dollars, with the days that have no exchange rate reported."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from crm import services
from crm.models import ExchangeRate, Lead
from dashboards import campaigns as campaign_metrics
from dashboards import metrics, revenue
from dashboards import team as team_metrics
from dashboards.filters import load_catalogue, read_filters
from dashboards.models import DashboardSettings
from tests.dashboards.test_dashboards_dataset import at, build, local, new_lead

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
MARCH_QUERY = "period=custom&start=2026-03-01&end=2026-03-31"
TODAY = datetime.date(2026, 3, 15)
NOW = local(4, 1, 12)
RATES = {
    datetime.date(2026, 2, 21): "900",
    datetime.date(2026, 3, 2): "1000",
    datetime.date(2026, 3, 12): "1100",
    datetime.date(2026, 3, 20): "1200",
}  # no rate for 2026-03-04 or 2026-03-05


def add_money(data, brands, manager, other_employee):
    """Quotes on open leads and amounts on won ones; the rates above. See each test for the sums.

    L2 to quote (30 %): 200,000 ARS quoted on 03-04 (no rate), closes in April.
    L7 interested (75 %): 1,000 USD quoted on 03-02 (1,000), closes in March.
    O1 pending (5 %), submitted in 2025: 50,000 ARS quoted on 03-20 (1,200), no close date: not a lead of
    March, in no figure of March (in those of a period that includes December 2025).
    L8 pending (5 %), the other brand, submitted 03-18: 300 USD quoted on 03-20 (1,200), closes in May.
    L1 won: also quoted (800 USD on 03-05, no rate), not open: in no pipeline figure.
    Won: L1 1,500 USD on 03-12 (1,100, employee), L4 400,000 ARS on 03-20 (1,200, other employee),
    L5 100,000 ARS on 03-04 (no rate, unassigned, other brand); previous period: P2 90,000 ARS on 02-21 (900).
    """
    for day, rate in RATES.items():
        ExchangeRate.objects.create(day=day, ars_per_usd=Decimal(rate))
    leads = data["leads"]
    leads["L8"] = new_lead(local(3, 18, 10), brands["intrapal"], "L8")
    leads["L4"] = at(
        local(3, 20, 11), lambda lead: services.change_status(lead, "won", other_employee), leads["L4"]
    )
    leads["L5"] = at(local(3, 20, 11), lambda lead: services.change_status(lead, "won", manager), leads["L5"])

    def quote(name, amount, currency, quoted_on, closes=None):
        Lead.objects.filter(pk=leads[name].pk).update(
            quote_amount=Decimal(amount),
            quote_currency=currency,
            quoted_on=quoted_on,
            expected_close_on=closes,
        )

    def win(name, amount, currency, won_on):
        Lead.objects.filter(pk=leads[name].pk).update(
            won_amount=Decimal(amount), won_currency=currency, won_on=won_on
        )

    quote("L2", "200000", "ARS", datetime.date(2026, 3, 4), datetime.date(2026, 4, 15))
    quote("L7", "1000", "USD", datetime.date(2026, 3, 2), datetime.date(2026, 3, 30))
    quote("O1", "50000", "ARS", datetime.date(2026, 3, 20))
    quote("L8", "300", "USD", datetime.date(2026, 3, 20), datetime.date(2026, 5, 10))
    quote("L1", "800", "USD", datetime.date(2026, 3, 5), datetime.date(2026, 3, 12))
    win("L1", "1500", "USD", datetime.date(2026, 3, 12))
    win("L4", "400000", "ARS", datetime.date(2026, 3, 20))
    win("L5", "100000", "ARS", datetime.date(2026, 3, 4))
    win("P2", "90000", "ARS", datetime.date(2026, 2, 21))
    return data


@pytest.fixture
def data(brands, manager, employee, other_employee):
    return add_money(build(brands, manager, employee, other_employee), brands, manager, other_employee)


@pytest.fixture
def settings_row(db):
    return DashboardSettings.load()


def context(user, currency="ARS", **params):
    catalogue = load_catalogue(user)
    form, flt = read_filters(
        {**MARCH, "currency": currency, **params}, catalogue, today=datetime.date(2026, 4, 1)
    )
    assert not form.errors, form.errors
    return flt, metrics.StatusGroups.from_catalogue(catalogue), catalogue


def by_status(pipeline, catalogue):
    return {
        catalogue.statuses[row["status_id"]]["key"]: (row["quotes"], row["value"], row["weighted"])
        for row in pipeline["statuses"]
    }


def money(value):
    return Decimal(value)


def test_pipeline_value_per_status_in_pesos(data, admin_user, manager, django_assert_num_queries):
    flt, groups, catalogue = context(admin_user)
    with django_assert_num_queries(1):
        pipeline = revenue.open_pipeline(admin_user, flt, groups, catalogue, TODAY)
    # L7: 1,000 USD × 1,000 = 1,000,000 at 75 %; L8: 300 × 1,200 = 360,000 and O1 50,000 at 5 %; L2 at 30 %.
    assert by_status(pipeline, catalogue) == {
        "pending": (1, money("360000.00"), money("18000.00")),
        "to_quote": (1, money("200000.00"), money("60000.00")),
        "interested": (1, money("1000000.00"), money("750000.00")),
    }
    assert not pipeline["missing"]
    flt, groups, catalogue = context(manager)
    mine = revenue.open_pipeline(manager, flt, groups, catalogue, TODAY)
    assert "pending" not in by_status(mine, catalogue)  # not L8, the other brand's
    flt, groups, catalogue = context(admin_user, start="2025-12-01")
    longer = revenue.open_pipeline(admin_user, flt, groups, catalogue, TODAY)
    assert by_status(longer, catalogue)["pending"] == (2, money("410000.00"), money("20500.00"))  # and O1


def test_pipeline_in_dollars_reports_the_quote_without_a_rate(data, admin_user):
    flt, groups, catalogue = context(admin_user, "USD")
    pipeline = revenue.open_pipeline(admin_user, flt, groups, catalogue, TODAY)
    # L8 300 (15.00); L2 left out (no rate on 03-04).
    assert by_status(pipeline, catalogue) == {
        "pending": (1, money("300.00"), money("15.00")),
        "interested": (1, money("1000.00"), money("750.00")),
    }
    assert pipeline["missing"].days == {datetime.date(2026, 3, 4): 1}


def test_weighted_forecast_by_expected_close_month(data, admin_user):
    flt, groups, catalogue = context(admin_user)
    pipeline = revenue.open_pipeline(admin_user, flt, groups, catalogue, TODAY)
    forecast = {row["bucket"]: (row["quotes"], row["value"], row["weighted"]) for row in pipeline["forecast"]}
    march, april, may = datetime.date(2026, 3, 1), datetime.date(2026, 4, 1), datetime.date(2026, 5, 1)
    assert list(forecast)[:2] == ["overdue", march] and list(forecast)[-2:] == ["later", "undated"]
    assert len(forecast) == 6 + 3
    assert forecast[march] == (1, money("1000000.00"), money("750000.00"))
    assert forecast[april] == (1, money("200000.00"), money("60000.00"))
    assert forecast[may] == (1, money("360000.00"), money("18000.00"))
    assert forecast["undated"] == (0, None, None)  # O1 is not a lead of March
    assert forecast["overdue"] == (0, None, None)
    later = revenue.open_pipeline(admin_user, flt, groups, catalogue, datetime.date(2026, 4, 20))
    overdue = next(row for row in later["forecast"] if row["bucket"] == "overdue")
    assert (overdue["quotes"], overdue["weighted"]) == (1, money("750000.00"))  # L7, March, still open


def kpis(figures):
    return {kpi["key"]: (kpi["value"], kpi.get("previous")) for kpi in figures["kpis"]}


def test_won_revenue_with_the_previous_period(data, admin_user, manager, django_assert_num_queries):
    flt, _groups, _catalogue = context(admin_user, compare="on", interval="week")
    with django_assert_num_queries(1):
        won = revenue.won_revenue(admin_user, flt)
    # 1,500 USD × 1,100 + 400,000 + 100,000 against P2's 90,000 in February.
    assert kpis(won) == {
        "revenue": (money("2150000.00"), money("90000.00")),
        "deals": (3, 1),
        "average": (money("716666.67"), money("90000.00")),
    }
    change = next(kpi["change"] for kpi in won["kpis"] if kpi["key"] == "revenue")
    assert float(change) == pytest.approx((2150000 - 90000) / 90000)
    weeks = {row["bucket"]: (row["revenue"], row["deals"]) for row in won["series"]}
    assert weeks[datetime.date(2026, 3, 2)] == (money("100000.00"), 1)  # L5 on 03-04
    assert weeks[datetime.date(2026, 3, 9)] == (money("1650000.00"), 1)
    assert weeks[datetime.date(2026, 3, 16)] == (money("400000.00"), 1)
    assert not won["missing"]
    mine = revenue.won_revenue(manager, context(manager)[0])
    assert kpis(mine)["revenue"] == (money("2050000.00"), None)


def test_won_revenue_in_dollars_leaves_out_the_win_without_a_rate(data, admin_user):
    flt, _groups, _catalogue = context(admin_user, "USD", compare="on", interval="month")
    won = revenue.won_revenue(admin_user, flt)
    # 1,500 + 400,000 / 1,200 = 333.33; L5 (03-04) left out; February: 90,000 / 900 = 100.
    assert kpis(won) == {
        "revenue": (money("1833.33"), money("100.00")),
        "deals": (2, 1),
        "average": (money("916.66"), money("100.00")),
    }
    assert won["missing"].days == {datetime.date(2026, 3, 4): 1}
    # One bucket, March; its previous is the previous period's first bucket (January 29-31), as in
    # "Leads over time": nothing was won then.
    assert won["series"] == [
        {"bucket": datetime.date(2026, 3, 1), "revenue": money("1833.33"), "deals": 2, "previous": None}
    ]


def test_campaign_revenue_and_return_on_spend(data, admin_user, manager, settings_row):
    flt, groups, catalogue = context(admin_user)
    tables = campaign_metrics.campaign_effectiveness(admin_user, flt, groups, catalogue)
    rows = {
        catalogue.campaigns[row["campaign_id"]]["name"]: row
        for row in tables["campaign"]
        if row["campaign_id"]
    }
    spring, promo = rows["Spring search"], rows["Promo social"]
    # Spring search: spend 1,000, L1 won 1,650,000. Promo social: spend 300, L4 400,000 + L5 100,000.
    assert (spring["cost"], spring["revenue"], spring["revenue_per_won"], spring["cost_per_won"]) == (
        money("1000.00"),
        money("1650000.00"),
        money("1650000.00"),
        money("1000.00"),
    )
    assert spring["return_on_spend"] == pytest.approx(1650)
    assert (promo["won"], promo["revenue"], promo["revenue_per_won"]) == (
        2,
        money("500000.00"),
        money("250000.00"),
    )
    assert float(promo["return_on_spend"]) == pytest.approx(500000 / 300)
    assert not tables["missing"]
    brand = {row["brand_id"]: row["revenue"] for row in tables["brand"]}
    assert sum(brand.values()) == money("2150000.00")
    flt, groups, catalogue = context(manager)
    mine = campaign_metrics.campaign_effectiveness(manager, flt, groups, catalogue)
    promo = next(row for row in mine["campaign"] if row["campaign_id"] == data["campaigns"][1].pk)
    assert promo["revenue"] == money("400000.00")  # L5 is the other brand's


def test_campaign_figures_in_dollars_convert_spend_at_the_newest_rate(data, admin_user, settings_row):
    flt, groups, catalogue = context(admin_user, "USD")
    tables = campaign_metrics.campaign_effectiveness(admin_user, flt, groups, catalogue)
    spring = next(row for row in tables["campaign"] if row["campaign_id"] == data["campaigns"][0].pk)
    # spend 1,000 pesos at 1,200 (03-20, the newest rate of March) = 0.8333; revenue 1,500 USD.
    assert spring["cost"] == pytest.approx(1000 / 1200)
    assert spring["revenue"] == money("1500.00")
    assert spring["return_on_spend"] == pytest.approx(1500 / (1000 / 1200))
    assert tables["spend_rate"] == (datetime.date(2026, 3, 20), Decimal("1200"))
    assert tables["missing"].days == {datetime.date(2026, 3, 4): 1}  # L5's win
    ExchangeRate.objects.filter(day__month=3).delete()
    tables = campaign_metrics.campaign_effectiveness(admin_user, flt, groups, catalogue)
    spring = next(row for row in tables["campaign"] if row["campaign_id"] == data["campaigns"][0].pk)
    assert spring["cost"] is None and spring["return_on_spend"] is None  # never at zero


def test_revenue_per_person_on_the_team(data, admin_user, manager, employee, other_employee, settings_row):
    flt, groups, _catalogue = context(admin_user, compare="on")
    figures = team_metrics.team_figures(admin_user, flt, groups, settings_row, NOW)
    people = {row["person_id"]: row["revenue"] for row in figures["rows"]}
    assert people[employee.pk] == money("1650000.00")
    assert people[other_employee.pk] == money("400000.00")
    assert figures["total"]["revenue"] == money("2150000.00")  # with L5, unassigned
    assert figures["previous"]["revenue"] == money("90000.00")
    flt, groups, _catalogue = context(admin_user, "USD")
    figures = team_metrics.team_figures(admin_user, flt, groups, settings_row, NOW)
    people = {row["person_id"]: row["revenue"] for row in figures["rows"]}
    assert (people[employee.pk], people[other_employee.pk]) == (money("1500.00"), money("333.33"))
    assert figures["missing"].days == {datetime.date(2026, 3, 4): 1}


# ---------------------------------------------------------------- pages


def url(page, query):
    return f"{reverse(f'dashboards:{page}')}?{query}"


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_revenue_page_in_both_currencies(data, client_for, admin_user):
    client = client_for(admin_user)
    html = client.get(url("revenue", MARCH_QUERY + "&compare=on")).content.decode()
    assert re.search(r'data-kpi="revenue">\s*<dt>Won revenue \(ARS\)</dt>\s*<dd[^>]*>\$ 2,150,000.00<', html)
    assert "previously $ 90,000.00" in html
    assert "data-missing-rates" not in html
    rows = csv_rows(client.get(url("revenue", MARCH_QUERY + "&export=pipeline_value")))
    assert rows[0] == ["Status", "Probability", "Quotes", "Quoted value (ARS)", "Weighted value (ARS)"]
    assert rows[-1] == ["Open pipeline total", "", "3", "1560000.00", "828000.00"]
    dollars = client.get(url("revenue", MARCH_QUERY + "&currency=USD")).content.decode()
    assert "US$ 1,833.33" in dollars
    assert "1 quote left out: no exchange rate for 2026-03-04." in dollars
    assert "1 won deal left out: no exchange rate for 2026-03-04." in dollars
    assert '<option value="USD" selected>' in dollars
    rows = csv_rows(client.get(url("revenue", MARCH_QUERY + "&currency=USD&export=pipeline_value")))
    assert rows[-1] == ["Open pipeline total", "", "2", "1300.00", "765.00"]


def test_an_unknown_currency_is_reported_and_pesos_shown(data, client_for, admin_user):
    html = client_for(admin_user).get(url("revenue", MARCH_QUERY + "&currency=EUR")).content.decode()
    assert "Some filters were not valid" in html
    assert "$ 2,150,000.00" in html


def test_campaign_and_team_exports_carry_the_money_columns(data, client_for, admin_user):
    client = client_for(admin_user)
    rows = csv_rows(client.get(url("campaigns", MARCH_QUERY + "&export=campaign")))
    spring = dict(zip(rows[0], next(row for row in rows if row[0] == "Spring search"), strict=True))
    assert (
        spring["Spend attributed (ARS)"],
        spring["Revenue (ARS)"],
        spring["Revenue per won deal (ARS)"],
    ) == (
        "1000.00",
        "1650000.00",
        "1650000.00",
    )
    assert spring["Return on spend (revenue / spend)"] == "1650.00"
    rows = csv_rows(client.get(url("team", MARCH_QUERY + "&export=team&currency=USD&sort=-revenue")))
    assert rows[0][-1] == "Won revenue (USD)"
    assert [row[-1] for row in rows[1:]] == ["1500.00", "333.33", "", "1833.33"]
    html = client.get(url("team", MARCH_QUERY + "&currency=USD")).content.decode()
    assert "1 won deal left out: no exchange rate for 2026-03-04." in html


def test_manager_sees_the_money_of_their_brand_only(data, client_for, manager):
    client = client_for(manager)
    html = client.get(url("revenue", MARCH_QUERY)).content.decode()
    assert re.search(r'data-kpi="revenue">\s*<dt>[^<]*</dt>\s*<dd[^>]*>\$ 2,050,000.00<', html)
    rows = csv_rows(client.get(url("revenue", MARCH_QUERY + "&export=pipeline_value")))
    assert rows[-1] == ["Open pipeline total", "", "2", "1200000.00", "810000.00"]
    rows = csv_rows(client.get(url("team", MARCH_QUERY + "&export=team")))
    assert rows[-1][-1] == "2050000.00"


def test_marketing_sees_campaign_money_but_not_the_revenue_page(data, client_for, marketer, brands):
    marketer.brands.set([brands["intralog"]])
    client = client_for(marketer)
    assert client.get(url("revenue", MARCH_QUERY)).status_code == 302
    rows = csv_rows(client.get(url("campaigns", MARCH_QUERY + "&export=brand")))
    assert [row[0] for row in rows[1:]] == [brands["intralog"].name]
    brand = dict(zip(rows[0], rows[1], strict=True))
    assert brand["Revenue (ARS)"] == "2050000.00"


def test_employees_cannot_open_the_revenue_page(data, client_for, employee):
    response = client_for(employee).get(url("revenue", MARCH_QUERY + "&export=pipeline_value"))
    assert response.status_code == 302


def test_csv_neutralises_formulas_in_money_tables(data, client_for, admin_user):
    from crm.models import PipelineStatus

    PipelineStatus.objects.filter(key="interested").update(label="=HYPERLINK(1)")
    rows = csv_rows(client_for(admin_user).get(url("revenue", MARCH_QUERY + "&export=pipeline_value")))
    assert any(row[0].startswith("'=HYPERLINK") for row in rows)


@pytest.mark.parametrize("currency", ["ARS", "USD"])
@pytest.mark.parametrize("page", ["revenue", "campaigns", "team"])
def test_money_pages_stay_within_the_query_budget(
    page, currency, data, client_for, admin_user, manager, django_assert_max_num_queries
):
    for user in (admin_user, manager):
        client = client_for(user)
        client.get(url(page, MARCH_QUERY))
        with django_assert_max_num_queries(15):
            response = client.get(url(page, f"{MARCH_QUERY}&compare=on&currency={currency}"))
        assert response.status_code == 200
