"""The dashboard pages: permissions, brand scoping, figures shown, CSV export, Spanish formatting, query counts."""

import csv
import io
import re

import pytest
from django.urls import reverse

from tests.dashboards.test_dashboards_dataset import build

MARCH = "period=custom&start=2026-03-01&end=2026-03-31"
PAGES = ["overview", "pipeline", "team", "campaigns"]
MAX_QUERIES = 15


@pytest.fixture
def data(brands, manager, employee, other_employee):
    return build(brands, manager, employee, other_employee)


def url(page, query=MARCH):
    return f"{reverse(f'dashboards:{page}')}?{query}"


def kpi(html, key):
    match = re.search(
        rf'data-kpi="{key}">\s*<dt>[^<]*</dt>\s*<dd class="dashboards-kpi__value">([^<]*)</dd>', html
    )
    return match.group(1).strip()


def panel_of(html):
    start = html.index('id="dashboards-personal-title"')
    return html[start : html.index("</section>", start)]


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("page", PAGES)
def test_employees_and_marketing_cannot_open_the_dashboards(page, data, client_for, employee, marketer):
    # Marketing opens the campaigns page (tests/home/test_home_search_and_campaigns.py).
    for user in (employee, marketer) if page != "campaigns" else (employee,):
        client = client_for(user)
        for query in (MARCH, MARCH + "&export=team", MARCH + "&export=over_time"):
            response = client.get(url(page, query))
            # Wagtail turns the refusal into a redirect to the admin home with an error message.
            assert response.status_code == 302
            assert response["Location"] == reverse("wagtailadmin_home")


def test_anonymous_people_are_sent_to_the_login(client, data):
    response = client.get(url("overview"))
    assert response.status_code == 302
    assert reverse("wagtailadmin_login") in response["Location"]


def test_menu_shows_dashboards_only_to_those_allowed(data, client_for, employee, manager):
    target = reverse("dashboards:overview")
    assert target not in client_for(employee).get(reverse("wagtailadmin_home")).content.decode()
    assert target in client_for(manager).get(reverse("wagtailadmin_home")).content.decode()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_within_the_query_budget(
    page, data, client_for, admin_user, brands, django_assert_max_num_queries
):
    client = client_for(admin_user)
    filtered = (
        f"{MARCH}&compare=on&brand={brands['intralog'].pk}&service={data['services'][0].pk}&status=stage:open"
    )
    for query in (MARCH, filtered, ""):
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(url(page, query))
        assert response.status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_manager_pages_stay_within_the_query_budget(
    page, data, client_for, manager, django_assert_max_num_queries
):
    client = client_for(manager)
    client.get(url(page, MARCH))  # first visit ever creates the dashboard settings row
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(url(page, MARCH + "&compare=on")).status_code == 200


def test_overview_shows_the_hand_computed_counts(data, client_for, admin_user):
    html = client_for(admin_user).get(url("overview", MARCH + "&compare=on")).content.decode()
    assert [
        kpi(html, key)
        for key in ("total", "pending", "contacted", "active", "unassigned", "won", "lost", "junk")
    ] == ["7", "1", "1", "2", "1", "1", "1", "1"]
    assert "(+250.0 %)" in html  # 7 against 2 leads in the previous period
    latest = html.split('data-table="latest"')[1].split("</table>")[0]
    assert re.findall(r">(L\d)<", latest) == ["L7", "L5", "L4", "L3", "L2"]


def test_manager_sees_only_their_brand_and_cannot_forge_another(data, client_for, manager, brands):
    client = client_for(manager)
    html = client.get(url("overview")).content.decode()
    assert kpi(html, "total") == "6"
    assert ">L5<" not in html
    forged = client.get(url("overview", f"{MARCH}&brand={brands['intrapal'].pk}")).content.decode()
    assert "Some filters were not valid" in forged
    assert kpi(forged, "total") == "6"
    rows = csv_rows(client.get(url("overview", MARCH + "&export=brand")))
    assert rows == [["Name", "Leads"], ["INTRALOG", "6"]] or rows[1:] == [[brands["intralog"].name, "6"]]


def test_csv_exports_match_the_tables(data, client_for, admin_user, brands):
    client = client_for(admin_user)
    rows = csv_rows(client.get(url("overview", MARCH + "&export=service")))
    assert rows[0] == ["Name", "Leads"]
    assert rows[1:] == [["Pallets", "4"], ["Storage", "2"], ["Transport", "1"]]
    funnel = csv_rows(client.get(url("pipeline", MARCH + "&export=funnel")))
    assert [row[:2] for row in funnel[1:]] == [
        ["Received", "7"],
        ["Reached an open status", "6"],
        ["Won", "1"],
    ]
    assert funnel[3][2] == "16.7"
    campaigns = csv_rows(client.get(url("campaigns", MARCH + "&export=campaign")))
    header = campaigns[0]
    spring = dict(zip(header, next(row for row in campaigns if row[0] == "Spring search"), strict=True))
    assert (
        spring["Leads"],
        spring["Won"],
        spring["Cost per lead (ARS)"],
        spring["Cost per won deal (ARS)"],
    ) == (
        "4",
        "1",
        "250.00",
        "1000.00",
    )
    team = csv_rows(client.get(url("team", MARCH + "&export=team")))
    total = dict(zip(team[0], team[-1], strict=True))
    assert (total["Salesperson"], total["Leads assigned"], total["Contacted within SLA"]) == (
        "Team total",
        "6",
        "50.0",
    )


def test_campaign_table_sorts_and_marks_best_and_worst(data, client_for, admin_user):
    from dashboards.models import DashboardSettings

    DashboardSettings.objects.update_or_create(
        pk=DashboardSettings.load().pk, defaults={"ranking_min_leads": 2}
    )
    client = client_for(admin_user)
    rows = csv_rows(client.get(url("campaigns", MARCH + "&export=campaign&sort=-cost")))
    assert [row[0] for row in rows[1:]] == ["Spring search", "Promo social", "(none)"]
    assert [row[-1] for row in rows[1:]] == ["Best", "Worst", ""]
    rows = csv_rows(client.get(url("campaigns", MARCH + "&export=campaign&sort=cost")))
    assert [row[0] for row in rows[1:]] == ["Promo social", "Spring search", "(none)"]


def test_spanish_labels_and_number_formats(data, client_for, admin_user):
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(admin_user)
    profile.preferred_language = "es-ar"
    profile.save()
    html = client_for(admin_user).get(url("team", MARCH)).content.decode()
    assert 'data-locale="es-AR"' in html
    team = html.split('data-table="team"')[1].split("</table>")[0]
    assert "8,8 h" in team  # p90 time to first contact of employee1, decimal comma
    assert "50,0 %" in team
    assert "Rendimiento" in html or "Team performance" in html  # Spanish catalogue may lag behind
    assert 'value="2026-03-01"' in html  # the date input keeps the ISO value the browser needs
    by_source = client_for(admin_user).get(url("overview", MARCH)).content.decode()
    by_source = by_source.split('data-table="source"')[1].split("</table>")[0]
    assert "Teléfono" in by_source and "Formulario web" in by_source and "Phone" not in by_source


def test_charts_have_their_data_next_to_them(data, client_for, admin_user):
    html = client_for(admin_user).get(url("overview", MARCH + "&interval=week")).content.decode()
    assert 'src="/static/dashboards/vendor/chart.umd.min.js"' in html
    assert 'id="chart-over_time"' in html
    assert '"type": "line"' in html


def test_auto_refresh_is_optional(data, client_for, admin_user):
    client = client_for(admin_user)
    assert 'http-equiv="refresh"' not in client.get(url("overview")).content.decode()
    assert (
        'http-equiv="refresh" content="60"'
        in client.get(url("overview", MARCH + "&refresh=on")).content.decode()
    )


def test_personal_panel_shows_only_my_figures(data, client_for, employee, other_employee):
    html = client_for(employee).get(reverse("wagtailadmin_home")).content.decode()
    panel = panel_of(html)
    assert re.findall(r'data-column="leads">(\d+)<', panel) == ["1", "1"]  # to quote (L2), interested (L7)
    assert "L4" not in panel
    other = panel_of(client_for(other_employee).get(reverse("wagtailadmin_home")).content.decode())
    assert re.findall(r'data-column="leads">(\d+)<', other) == ["1"]  # L4, assigned
    assert re.findall(r'data-column="overdue">(\d+)<', other) == ["1"]
    assert "L2" not in other and "L7" not in other


def test_pipeline_page_lists_stale_leads(data, client_for, admin_user):
    html = client_for(admin_user).get(url("pipeline", MARCH)).content.decode()
    stale = html.split('data-table="stale"')[1].split("</table>")[0]
    assert re.findall(r">(L\d)<", stale) == ["L2", "L4", "L5", "L7"]


def test_every_page_compares_with_the_previous_period(data, client_for, admin_user):
    client = client_for(admin_user)
    funnel = csv_rows(client.get(url("pipeline", MARCH + "&compare=on&export=funnel")))
    assert funnel[0][4] == "Leads, previous period"
    assert [row[4] for row in funnel[1:]] == ["2", "1", "1"]
    statuses = csv_rows(client.get(url("pipeline", MARCH + "&compare=on&export=statuses")))
    header = statuses[0]
    pending = dict(zip(header, next(row for row in statuses if row[0] == "Pending"), strict=True))
    assert (pending["Leads"], pending["Leads, previous period"]) == ("1", "1")
    html = client.get(url("team", MARCH + "&compare=on")).content.decode()
    assert kpi(html, "assigned") == "6"
    assert kpi(html, "activity") == "22"
    assert "(+2,100.0 %)" in html  # activity: 22 against 1
    campaigns = csv_rows(client.get(url("campaigns", MARCH + "&compare=on&export=campaign")))
    spring = dict(zip(campaigns[0], next(row for row in campaigns if row[0] == "Spring search"), strict=True))
    assert (spring["Leads, previous period"], spring["Won, previous period"]) == ("1", "0")
    assert "Leads, previous period" not in client.get(url("campaigns", MARCH)).content.decode()


def test_team_page_states_the_business_hours_sla(data, client_for, admin_user):
    from dashboards.models import DashboardSettings

    DashboardSettings.objects.update_or_create(
        pk=DashboardSettings.load().pk,
        defaults={
            "sla_hours": 1,
            "sla_business_hours": True,
            "business_day_start": 9,
            "business_day_end": 18,
        },
    )
    client = client_for(admin_user)
    html = client.get(url("team")).content.decode()
    assert "SLA: 1 business hour (Monday to Friday, 9:00 to 18:00)." in html
    team = csv_rows(client.get(url("team", MARCH + "&export=team")))
    total = dict(zip(team[0], team[-1], strict=True))
    assert total["Contacted within SLA"] == "33.3"  # L3 and L7 of six leads due
