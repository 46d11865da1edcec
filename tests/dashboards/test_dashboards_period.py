"""The period box shows the period the figures are for, and submitting the form unchanged keeps it."""

import datetime
import re

import pytest
from django.http import QueryDict
from django.urls import reverse

from dashboards.filters import DEFAULT_PERIOD, load_catalogue, read_filters

TODAY = datetime.date(2026, 4, 1)


def submitted(form):
    """What the browser sends back when the rendered form is submitted without changes."""
    data = QueryDict(mutable=True)
    for field in form:
        value = field.value()
        if field.name in ("compare", "refresh"):
            if value:
                data[field.name] = "on"
        elif value not in (None, ""):
            data[field.name] = value.isoformat() if isinstance(value, datetime.date) else str(value)
    return data


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("", DEFAULT_PERIOD),
        ("period=", DEFAULT_PERIOD),
        ("period=bogus", DEFAULT_PERIOD),
        ("period=custom&start=2026-03-10", DEFAULT_PERIOD),
        ("period=custom&start=2026-03-10&end=2026-03-01", DEFAULT_PERIOD),
        ("period=today", "today"),
        ("period=last_7&compare=on", "last_7"),
        ("period=custom&start=2026-03-01&end=2026-03-31", "custom"),
    ],
)
def test_period_box_shows_the_applied_period_and_resubmitting_keeps_it(query, shown, manager):
    catalogue = load_catalogue(manager)
    form, flt = read_filters(QueryDict(query), catalogue, today=TODAY)
    assert form["period"].value() == flt.period == shown

    again, kept = read_filters(submitted(form), catalogue, today=TODAY)
    assert (kept.period, kept.range, kept.compare) == (flt.period, flt.range, flt.compare)
    assert again["period"].value() == shown


def test_unbound_default_is_the_last_30_days(manager):
    form, flt = read_filters(QueryDict(""), load_catalogue(manager), today=TODAY)
    assert not form.errors
    assert (flt.range.first_day, flt.range.last_day) == (datetime.date(2026, 3, 3), TODAY)


def test_dashboard_page_selects_the_default_period(client_for, manager):
    html = client_for(manager).get(reverse("dashboards:overview")).content.decode()
    select = re.search(r'<select name="period"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="(\w+)" selected>', select) == [DEFAULT_PERIOD]
