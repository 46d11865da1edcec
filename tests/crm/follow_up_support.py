"""Helpers of the follow-up day tests: a clock the code under test reads, local times in Buenos Aires,
follow-ups planned through ``crm.followups`` and the lead ids a listing page shows."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import followups, intake, services
from crm.models import Lead

ZONE = "America/Argentina/Buenos_Aires"
LOCAL = ZoneInfo(ZONE)
LISTING_URL = reverse("crm_leads:list")


def local(day, hour, minute=0, month=3, year=2026):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=LOCAL)


class Clock:
    """``timezone.now()`` for the code under test, moved by hand."""

    def __init__(self, now):
        self.now = now

    def set(self, now):
        self.now = now


@pytest.fixture
def clock(monkeypatch, settings):
    """Buenos Aires time (UTC-3), starting on Monday 9 March 2026 at 08:00."""
    settings.TIME_ZONE = ZONE
    fixed = Clock(local(9, 8))
    monkeypatch.setattr(timezone, "now", lambda: fixed.now)
    return fixed


def lead_for(brand, person, name, **fields):
    lead = intake.create_lead(intake.LeadData(brand=brand, contact_name=name, **fields))
    return services.assign(lead, person) if person is not None else lead


def plan(lead, actor, due_at, **fields):
    return followups.schedule_follow_up(lead, actor, due_at=due_at, **fields)


def listed_ids(html):
    """The leads a listing page shows, in order."""
    return [int(pk) for pk in re.findall(r'id="snippet_(\d+)_title"', html)]


def listed_names(html):
    ids = listed_ids(html)
    names = dict(Lead.objects.filter(pk__in=ids).values_list("pk", "contact_name"))
    return [names[pk] for pk in ids]


def listing(client, query=""):
    """A lead listing page (``query`` as a link gives it, with or without the path), asserted 200."""
    url = query if query.startswith("/") else f"{LISTING_URL}?{query}"
    response = client.get(url.replace("&amp;", "&"))
    assert response.status_code == 200, url
    return response.content.decode()
