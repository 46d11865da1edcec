"""The salesperson's admin home: overdue leads and status rows link where they say, one "My leads"
heading, the figures styled like the dashboards', and a number of queries that does not grow with leads."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import intake, services
from crm.models import Lead, PipelineStatus
from tests.dashboards.test_dashboards_dataset import build


@pytest.fixture
def data(brands, manager, employee, other_employee):
    return build(brands, manager, employee, other_employee)


def home(client):
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    return response.content.decode()


def panel_of(html):
    start = html.index('id="dashboards-personal-title"')
    return html[start : html.index("</section>", start)]


def test_overdue_leads_link_to_their_pages(data, client_for, employee):
    client = client_for(employee)
    panel = panel_of(home(client))
    overdue = panel.split('data-list="overdue"')[1].split("</table>")[0]
    links = re.findall(r'<a href="([^"]+)">(L\d)</a>', overdue)
    assert [name for _href, name in links] == ["L2", "L7"]  # every open lead of theirs is stale by now
    for href, name in links:
        assert href == f"/admin/leads/inspect/{data['leads'][name].pk}/"
        response = client.get(href)
        assert response.status_code == 200
        assert name in response.content.decode()


def test_status_rows_link_to_my_leads_in_that_status(data, client_for, employee, other_employee):
    services.assign(Lead.objects.get(contact_name="L4"), employee, None)  # now theirs too: assigned
    client = client_for(employee)
    panel = panel_of(home(client))
    rows = re.findall(r'<tr><td><a href="([^"]+)">([^<]+)</a></td><td data-column="leads">(\d+)<', panel)
    assert [(label, count) for _href, label, count in rows] == [
        ("Assigned", "1"),
        ("To quote", "1"),
        ("Interested in going ahead", "1"),
    ]
    listing_url = reverse("crm_leads:list")
    for href, label, _count in rows:
        status = PipelineStatus.objects.get(label=label)
        assert href.replace("&amp;", "&") == f"{listing_url}?assignee=mine&status={status.pk}"
        listing = client.get(href.replace("&amp;", "&")).content.decode()
        shown = set(re.findall(r">(L\d)<", listing))
        assert shown == {
            lead.contact_name for lead in Lead.objects.filter(assignee=employee, status=status)
        }, label


def test_one_my_leads_heading_and_styled_figures(data, client_for, employee, manager):
    manager_html = home(client_for(manager))
    manager_headings = re.findall(r"<h[1-6][^>]*>\s*([^<]+?)\s*</h[1-6]>", manager_html)
    assert "My leads" not in manager_headings, "a manager holding no leads has no personal panel"
    assert "Leads of your brands" in manager_headings
    services.assign(Lead.objects.get(contact_name="L4"), manager, None)
    for user in (employee, manager):
        html = home(client_for(user))
        headings = re.findall(r"<h[1-6][^>]*>\s*([^<]+?)\s*</h[1-6]>", html)
        assert headings.count("My leads") == 1, headings
        assert "dashboards/dashboards.css" in html
        figures = panel_of(html).split('data-list="my-figures"')[1].split("</dl>")[0]
        assert figures.count('class="dashboards-kpi"') == 6
        assert figures.count('class="dashboards-kpi__value"') == 6


def _home_queries(client):
    with CaptureQueriesContext(connection) as captured:
        home(client)
    return len(captured.captured_queries)


def test_home_queries_do_not_grow_with_leads(data, client_for, employee, manager, brands):
    client = client_for(employee)
    home(client)  # the first visit may create per-user rows (settings, profile)
    before = _home_queries(client)
    statuses = ["assigned", "contacted", "to_quote", "quoted", "postponed", "interested"]
    for index in range(30):
        lead = intake.create_lead(intake.LeadData(brand=brands["intralog"], contact_name=f"More {index}"))
        lead = services.assign(lead, employee, manager)
        services.change_status(lead, statuses[index % len(statuses)], employee)
    assert _home_queries(client) == before
    assert before <= 20
