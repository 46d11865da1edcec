"""The admin search finds leads, a manager's home shows their brands' leads, marketing opens the campaigns
dashboard (figures only, never a lead)."""

import csv
import io
import json
import re

import pytest
from django.test import RequestFactory
from django.urls import reverse
from wagtail.admin.search import admin_search_areas

from crm.intake import LeadData, create_lead
from crm.models import Campaign, Source
from crm.services import assign

LEADS_URL = reverse("crm_leads:list")
SEARCH_URL = reverse("crm_leads:search")


@pytest.fixture
def leads(brands, manager, other_manager, employee):
    phone = Source.objects.get(key="phone")
    spring = Campaign.objects.create(name="Spring pallets", brand=brands["intralog"], utm_campaign="spring")

    def lead(brand, name, **fields):
        return create_lead(LeadData(brand=brands[brand], contact_name=name, source=phone, **fields))

    waiting = lead("intralog", "Waiting Unassigned", company="Depot SA", utm_campaign="spring")
    waiting.campaign = spring
    waiting.save(update_fields=["campaign"])
    taken = assign(lead("intralog", "Taken By Employee", utm_campaign="spring"), employee, actor=manager)
    foreign = lead("intrapal", "Intrapal Only Lead")
    return {"waiting": waiting, "taken": taken, "foreign": foreign, "campaign": spring}


def first_search_area(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    areas = admin_search_areas.search_items_for_request(request)
    return areas[0].url if areas else None


def sidebar_search_url(client):
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    props = json.loads(re.search(r'id="wagtail-sidebar-props"[^>]*>(.*?)</script>', html, re.S).group(1))
    modules = props["modules"]
    search = [module for module in modules if module["_type"] == "wagtail.sidebar.SearchModule"]
    return search[0]["_args"][0] if search else None


@pytest.mark.parametrize("role", ["admin_user", "manager", "employee"])
def test_the_admin_search_searches_leads_for_lead_users(request, leads, client_for, role):
    user = request.getfixturevalue(role)
    assert first_search_area(user) == SEARCH_URL
    assert sidebar_search_url(client_for(user)) == SEARCH_URL


def test_marketing_has_no_lead_search(marketer, leads, client_for):
    assert first_search_area(marketer) != SEARCH_URL
    assert sidebar_search_url(client_for(marketer)) != SEARCH_URL


SEARCHES = {
    "Unassigned": "Waiting Unassigned",
    "Depot": "Waiting Unassigned",
    "Employee": "Taken By Employee",
    "Intrapal": "Intrapal Only Lead",
}


@pytest.mark.parametrize(
    ("role", "found"),
    [
        ("manager", {"Waiting Unassigned", "Taken By Employee"}),
        ("employee", {"Taken By Employee"}),
        ("other_manager", {"Intrapal Only Lead"}),
    ],
)
def test_searching_from_the_sidebar_finds_only_visible_leads(request, leads, client_for, role, found):
    client = client_for(request.getfixturevalue(role))
    for query, name in SEARCHES.items():
        content = client.get(LEADS_URL, {"q": query}).content.decode()
        assert (name in content) == (name in found), query


def brand_panel(html):
    start = html.index('id="crm-brand-leads-heading"')
    return html[start : html.index("</section>", start)]


def test_the_managers_home_shows_their_brands_leads(leads, client_for, manager):
    html = client_for(manager).get(reverse("wagtailadmin_home")).content.decode()
    panel = brand_panel(html)
    waiting_section, newest_section = panel.split("Newest", 1)
    assert "Waiting Unassigned" in waiting_section and "Taken By Employee" not in waiting_section
    assert "Waiting Unassigned" in newest_section and "Taken By Employee" in newest_section
    assert "Intrapal Only Lead" not in html
    # Exactly the leads the section lists: unassigned and still being worked (not closed ones).
    assert f'href="{LEADS_URL}?assignee=unassigned&amp;stage=active"' in panel
    assert "You have no open leads." not in html


def test_a_manager_holding_leads_also_sees_their_own(leads, client_for, manager):
    assign(leads["waiting"], manager, actor=manager)
    html = client_for(manager).get(reverse("wagtailadmin_home")).content.decode()
    assert 'id="crm-my-leads-heading"' in html and 'id="crm-brand-leads-heading"' in html


def test_employees_and_marketing_get_no_brand_panel(leads, client_for, employee, marketer):
    for user in (employee, marketer):
        assert (
            'id="crm-brand-leads-heading"'
            not in client_for(user).get(reverse("wagtailadmin_home")).content.decode()
        )


CAMPAIGNS = reverse("dashboards:campaigns")


def test_marketing_opens_the_campaigns_dashboard_from_the_menu(leads, client_for, marketer):
    client = client_for(marketer)
    assert f'"{CAMPAIGNS}"' in client.get(reverse("wagtailadmin_home")).content.decode()
    response = client.get(CAMPAIGNS)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Spring pallets" in html
    for name in ("Waiting Unassigned", "Taken By Employee", "Intrapal Only Lead", "Depot SA", "employee1"):
        assert name not in html
    assert 'name="assignee"' not in html
    for page in ("overview", "pipeline", "team"):
        assert f'href="{reverse(f"dashboards:{page}")}"' not in html
        response = client.get(reverse(f"dashboards:{page}"))
        assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")


def test_marketing_campaign_figures_and_csv(leads, client_for, marketer, brands):
    client = client_for(marketer)
    rows = list(csv.reader(io.StringIO(client.get(CAMPAIGNS + "?export=campaign").content.decode())))
    by_name = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_name["Spring pallets"]["Leads"] == "1"
    utm = client.get(CAMPAIGNS + "?export=utm").content.decode()
    assert "spring" in utm
    brand_rows = client.get(CAMPAIGNS + "?export=brand").content.decode()
    assert "INTRALOG" in brand_rows and "INTRAPAL" in brand_rows
    for export in ("campaign", "utm", "service", "brand"):
        text = client.get(CAMPAIGNS + f"?export={export}").content.decode()
        assert "Waiting Unassigned" not in text and "Intrapal Only Lead" not in text


def test_marketing_sees_only_their_brands_figures(leads, client_for, make_user, brands):
    from crm.models import Role

    intrapal_marketer = make_user("marketing2", Role.MARKETING, ("intrapal",))
    client = client_for(intrapal_marketer)
    text = client.get(CAMPAIGNS + "?export=brand").content.decode()
    assert "INTRAPAL" in text and "INTRALOG" not in text
    forged = client.get(CAMPAIGNS + f"?export=brand&brand={brands['intralog'].pk}").content.decode()
    assert "INTRALOG" not in forged
