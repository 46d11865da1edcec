"""Wagtail's page panels on the admin home (moderation, recent edits, locked pages) are for people who
work with pages: marketing and admins see them, salespeople and sales managers do not."""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.admin_branding import PAGE_PANELS
from home.models import HomePage

pytestmark = pytest.mark.django_db


def panel_names(client_for, user):
    response = client_for(user).get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    return {panel.name for panel in response.context["panels"]}


@pytest.mark.parametrize("person", ["employee", "manager"])
def test_sales_people_get_no_page_panels(request, client_for, person):
    user = request.getfixturevalue(person)
    HomePage.objects.update(locked=True, locked_by=user, locked_at=timezone.now())
    assert not panel_names(client_for, user) & set(PAGE_PANELS)


@pytest.mark.parametrize("person", ["marketer", "admin_user"])
def test_people_who_edit_pages_keep_them(request, client_for, person):
    user = request.getfixturevalue(person)
    page = HomePage.objects.first()
    page.locked, page.locked_by, page.locked_at = True, user, timezone.now()
    page.save()
    names = panel_names(client_for, user)
    assert {"recent_edits", "locked_pages"} <= names
    response = client_for(user).get(reverse("wagtailadmin_home"))
    assert page.title in response.content.decode()
