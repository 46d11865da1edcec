"""The lead listing's filter widgets drawn in Python (``crm.views.widget_drawing``) are, to the character,
what Django's and Wagtail's widget templates draw: every filter of the listing for each role, empty, set
and given values the filters refuse; widgets of each kind with values to escape, safe values, booleans,
numbers, groups and translated labels; and the templates draw what an override or an unknown option
template asks for."""

from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from wagtail.admin.filters import DateRangePickerWidget
from wagtail.admin.widgets import AdminDateInput

from crm.models import Campaign, Lead, PipelineStatus, Service
from crm.views import widget_drawing
from crm.views.listing import LeadFilterSet
from crm.views.widget_drawing import FILTER_WIDGETS, WidgetRenderer
from tests.crm.follow_up_support import lead_for

pytestmark = pytest.mark.django_db

TEMPLATES = DjangoTemplates()


@pytest.fixture
def catalogue(brands, employee):
    intralog = brands["intralog"]
    Service.objects.create(brand=intralog, name="Compra & venta <pallets>")
    Campaign.objects.create(name='Otoño "2026"', brand=intralog)
    lead_for(intralog, employee, "Ana", tags=["vip", "wp-spam"])


def filter_form(user, query):
    request = RequestFactory().get(reverse("crm_leads:list"), query)
    request.user = user
    form = LeadFilterSet(request.GET, Lead.objects.all(), request=request).form
    form.is_valid()
    return form


def both_drawings(bound_field, monkeypatch):
    """The field's widget drawn by the listing's renderer (loading none of the templates it draws in
    Python) and by Django's default one."""
    assert FILTER_WIDGETS.drawings
    loads = FILTER_WIDGETS.get_template

    def load(name):
        assert name not in widget_drawing.DRAWINGS, f"{name} drawn by its template"
        return loads(name)

    with monkeypatch.context() as patch:
        patch.setattr(FILTER_WIDGETS, "get_template", load)
        drawn = bound_field.as_widget()
    bound_field.form.renderer = TEMPLATES
    try:
        return drawn, bound_field.as_widget()
    finally:
        bound_field.form.renderer = FILTER_WIDGETS


QUERIES = [
    {},
    {"q": "ana", "stage": "active", "contacted": "no", "next_action": "overdue", "sla": "breached"},
    {"status": ["1", "3"], "tags": ["1", "2"], "duplicates": "only", "assigned_within": "7"},
    {"submitted_from": "2026-03-01", "submitted_to": "2026-03-31", "received_from": "2026-01-01"},
    {"assignee": "mine", "brand": "1", "service": "999", "campaign": "x", "import_run": "5"},
    {"next_action": "bogus", "assigned_within": "NaN", "submitted_from": "nope", "status": ["x"]},
]


@pytest.mark.parametrize("role", ["admin_user", "manager", "employee"])
@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_every_filter_draws_as_its_templates_do(role, query, request, catalogue, monkeypatch):
    form = filter_form(request.getfixturevalue(role), query)
    assert form.renderer is FILTER_WIDGETS
    for bound_field in form:
        drawn, templated = both_drawings(bound_field, monkeypatch)
        assert drawn == templated, bound_field.name


def test_the_statuses_are_offered_from_the_statuses_the_page_read(
    manager, catalogue, django_assert_num_queries
):
    form = filter_form(manager, {})
    with django_assert_num_queries(0):
        offered = [label for _value, label in form.fields["status"].widget.choices]
    assert offered == [status.display_label for status in PipelineStatus.objects.all()]


def test_model_choices_are_read_once_each_and_only_when_drawn(manager, catalogue, django_assert_num_queries):
    form = filter_form(manager, {})
    names = ["brand", "service", "source", "campaign", "tags"]
    with django_assert_num_queries(len(names)):
        first = {name: list(form.fields[name].widget.choices) for name in names}
    with django_assert_num_queries(0):
        again = {name: list(form.fields[name].widget.choices) for name in names}
    assert again == first
    assert "Compra & venta <pallets>" in [label for _value, label in first["service"]]


class Choice(forms.Form):
    text = forms.CharField(widget=forms.TextInput(attrs={"data-flag": True, "data-off": False}))
    number = forms.DecimalField()
    day = forms.DateField(widget=forms.DateInput(attrs={"placeholder": "<day>"}))
    hidden = forms.CharField(widget=forms.HiddenInput)
    grouped = forms.ChoiceField(
        choices=[("", "---"), ("Fruit", [("a", "Apple & <pear>"), ("b", 'Bana"na')]), (3, 1234)]
    )
    many = forms.MultipleChoiceField(choices=[("x", gettext_lazy("Unknown")), ("y", mark_safe("<b>y</b>"))])
    boxes = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple(attrs={"class": "boxes"}),
        choices=[("Group", [("1", "One"), ("2", "Two")]), ("3", "Three")],
    )
    radios = forms.ChoiceField(widget=forms.RadioSelect, choices=[("r", "Red"), ("g", "Green")])
    span = forms.CharField(widget=DateRangePickerWidget)
    date = forms.DateField(widget=AdminDateInput)


DATA = {
    "text": "<script>'x' & \"y\"</script>",
    "number": "1234.5",
    "day": "2026-03-09",
    "hidden": "a&b",
    "grouped": "b",
    "many": ["x", "y"],
    "boxes": ["1", "3"],
    "radios": "g",
    "span_from": "2026-03-01",
    "span_to": "",
    "date": "2026-03-10",
}


@pytest.mark.parametrize("data", [None, DATA, {"number": Decimal("12.50"), "text": mark_safe("<i>safe</i>")}])
@pytest.mark.parametrize("language", ["en", "es"])
def test_each_kind_of_widget_draws_as_its_template_does(data, language, settings, monkeypatch):
    settings.USE_THOUSAND_SEPARATOR = True
    with translation.override(language):
        form = Choice(data, renderer=FILTER_WIDGETS)
        for bound_field in form:
            drawn, templated = both_drawings(bound_field, monkeypatch)
            assert drawn == templated, bound_field.name


def test_an_option_template_of_its_own_is_drawn_by_the_templates():
    widget = forms.Select(choices=[("a", "A")])
    widget.option_template_name = "wagtailadmin/shared/attrs.html"
    drawn = widget.render("pick", "a", renderer=FILTER_WIDGETS)
    assert drawn == widget.render("pick", "a", renderer=TEMPLATES)


def test_an_overridden_template_has_every_widget_drawn_by_the_templates(monkeypatch):
    renderer = WidgetRenderer()
    found = renderer.get_template

    def overridden(name):
        template = found(name)
        if name == "django/forms/widgets/select_option.html":
            monkeypatch.setattr(template.origin, "name", "/elsewhere/templates/" + name)
        return template

    monkeypatch.setattr(renderer, "get_template", overridden)
    assert renderer.drawings == {}
    drawn = forms.Select(choices=[("a", "A")]).render("pick", "a", renderer=renderer)
    assert drawn == forms.Select(choices=[("a", "A")]).render("pick", "a", renderer=TEMPLATES)
    assert widget_drawing.FILTER_WIDGETS.drawings  # the listing's renderer finds Django's and Wagtail's own
