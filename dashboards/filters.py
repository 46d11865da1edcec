"""The filters every dashboard page shares, read from (and written back to) the URL."""

import datetime
from dataclasses import dataclass

from django import forms
from django.db.models import CharField, DecimalField, IntegerField, Q, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.access import leads_for
from crm.languages import localised
from crm.models import Brand, Campaign, Currency, PipelineStatus, Role, Service, Source, Stage, User

PERIODS = [
    ("today", _("Today")),
    ("last_7", _("Last 7 days")),
    ("last_30", _("Last 30 days")),
    ("last_90", _("Last 90 days")),
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
    ("this_quarter", _("This quarter")),
    ("this_year", _("This year")),
    ("custom", _("Custom")),
]
DEFAULT_PERIOD = "last_30"
DEFAULT_CURRENCY = Currency.ARS
INTERVALS = [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))]
MAX_CUSTOM_DAYS = 3 * 366


def period_dates(period, today, start=None, end=None):
    """First and last day (inclusive) of a preset period, or of the custom one."""
    if period == "today":
        return today, today
    if period in ("last_7", "last_30", "last_90"):
        days = int(period.split("_")[1])
        return today - datetime.timedelta(days=days - 1), today
    if period == "this_month":
        return today.replace(day=1), today
    if period == "last_month":
        last_day = today.replace(day=1) - datetime.timedelta(days=1)
        return last_day.replace(day=1), last_day
    if period == "this_quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today
    if period == "this_year":
        return today.replace(month=1, day=1), today
    return start, end


@dataclass(frozen=True)
class DateRange:
    """Half-open ``[start, end)`` in aware datetimes, from the first to the day after the last day."""

    first_day: datetime.date
    last_day: datetime.date

    @property
    def start(self):
        return _midnight(self.first_day)

    @property
    def end(self):
        return _midnight(self.last_day + datetime.timedelta(days=1))

    @property
    def days(self):
        return (self.last_day - self.first_day).days + 1

    def previous(self):
        """The period of the same length just before this one."""
        return DateRange(
            self.first_day - datetime.timedelta(days=self.days),
            self.first_day - datetime.timedelta(days=1),
        )

    def q(self, field="submitted_at"):
        return Q(**{f"{field}__gte": self.start, f"{field}__lt": self.end})


def _midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@dataclass
class Catalogue:
    """Everything the filters and tables need to label rows, loaded in one query."""

    brands: dict
    statuses: dict
    services: dict
    sources: dict
    campaigns: dict
    people: dict

    def status_keys(self, *stages):
        return [status["key"] for status in self.statuses.values() if status["stage"] in stages]

    def status_ids(self, *keys):
        return [pk for pk, status in self.statuses.items() if status["key"] in keys]


def _part(queryset, kind, pk="pk", a=None, b=None, c=None, d=None, number=None, money=None):  # noqa: PLR0913 - known debt (ARCHITECTURE.md, Habits)
    def text(name):
        return name if name else Value("", output_field=CharField())

    return queryset.order_by().values_list(
        Value(kind, output_field=CharField()),
        pk,
        text(a),
        text(b),
        text(c),
        text(d),
        number or Value(0, output_field=IntegerField()),
        money or Value(0, output_field=DecimalField(max_digits=12, decimal_places=2)),
    )


def load_catalogue(user):
    """Brands, statuses, services, sources, campaigns and people visible to ``user``, in one UNION query."""
    brands = Brand.objects.all()
    people = User.objects.filter(is_active=True, role__in=[Role.EMPLOYEE, Role.MANAGER, Role.ADMIN])
    if user.role != Role.ADMIN:
        brand_ids = user.brands.values("pk")
        brands = brands.filter(pk__in=brand_ids)
        people = people.filter(pk__in=User.brands.through.objects.filter(brand__in=brand_ids).values("user"))
    if user.role == Role.EMPLOYEE:
        people = people.filter(pk=user.pk)
    services = Service.objects.filter(brand__in=brands.values("pk"))
    campaigns = Campaign.objects.filter(Q(brand__isnull=True) | Q(brand__in=brands.values("pk")))
    parts = [
        _part(brands, "brand", a="name", b="code"),
        _part(
            PipelineStatus.objects.all(),
            "status",
            a="key",
            b="label",
            c="label_es",
            d="stage",
            number="order",
            money="probability",
        ),
        _part(services, "service", a="name", b="brand__name", number="brand_id"),
        _part(Source.objects.all(), "source", a="key", b="name", c="name_es"),
        _part(
            campaigns, "campaign", a="name", b="utm_source", c="utm_medium", d="utm_campaign", money="spend"
        ),
        _part(people, "person", a="username", b="first_name", c="last_name", d="role"),
    ]
    rows = parts[0].union(*parts[1:], all=True)
    found = {"brand": {}, "status": {}, "service": {}, "source": {}, "campaign": {}, "person": {}}
    for kind, pk, a, b, c, d, number, money in rows:
        found[kind][pk] = _catalogue_row(kind, a, b, c, d, number, money)
    return Catalogue(
        brands=_sorted(found["brand"], "name"),
        statuses=_sorted(found["status"], "order"),
        services=_sorted(found["service"], "name"),
        sources=_sorted(found["source"], "name"),
        campaigns=_sorted(found["campaign"], "name"),
        people=_sorted(found["person"], "name"),
    )


def _catalogue_row(kind, a, b, c, d, number, money):
    if kind == "brand":
        return {"name": a, "code": b}
    if kind == "status":
        return {
            "key": a,
            "label": b,
            "label_es": c,
            "stage": d,
            "order": number,
            "name": b,
            "probability": int(money or 0),
        }
    if kind == "service":
        return {"name": a, "brand": b, "brand_id": number}
    if kind == "source":
        return {"key": a, "name": localised(b, c)}
    if kind == "campaign":
        return {"name": a, "utm_source": b, "utm_medium": c, "utm_campaign": d, "spend": money}
    full_name = f"{b} {c}".strip()
    return {"name": full_name or a, "username": a, "role": d}


def _sorted(rows, key):
    return dict(sorted(rows.items(), key=lambda item: (item[1][key], item[0])))


def status_label(status):
    return localised(status["label"], status["label_es"])


class DashboardFilterForm(forms.Form):
    """Every field optional; an invalid value is reported and ignored, never lost from the URL.

    A missing period reads as the default one, so the period box shows the period the figures are
    for and submitting the form unchanged keeps it.
    """

    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    brand = forms.TypedChoiceField(label=_("Brand"), coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(label=_("Status or stage"), required=False)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    service = forms.TypedChoiceField(label=_("Service"), coerce=int, required=False, empty_value=None)
    source = forms.TypedChoiceField(label=_("Source"), coerce=int, required=False, empty_value=None)
    campaign = forms.TypedChoiceField(label=_("Campaign"), coerce=int, required=False, empty_value=None)
    compare = forms.BooleanField(label=_("Compare with the previous period"), required=False)
    interval = forms.ChoiceField(label=_("Group by"), choices=INTERVALS, required=False)
    currency = forms.ChoiceField(label=_("Show amounts in"), choices=Currency.choices, required=False)
    refresh = forms.BooleanField(label=_("Refresh every 60 s"), required=False)

    def __init__(self, data, catalogue, *, show_assignee=True):
        data = data.copy()
        if not data.get("period"):
            data["period"] = DEFAULT_PERIOD
        if not data.get("currency"):
            data["currency"] = DEFAULT_CURRENCY
        super().__init__(data)
        everything = [("", _("All"))]
        self.fields["brand"].choices = everything + [
            (pk, row["name"]) for pk, row in catalogue.brands.items()
        ]
        self.fields["status"].choices = (
            everything
            + [(f"stage:{value}", _("Stage: %(stage)s") % {"stage": label}) for value, label in Stage.choices]
            + [(f"status:{pk}", status_label(row)) for pk, row in catalogue.statuses.items()]
        )
        self.fields["assignee"].choices = (
            everything
            + [("none", _("Unassigned"))]
            + [(str(pk), row["name"]) for pk, row in catalogue.people.items()]
        )
        self.fields["service"].choices = everything + [
            (pk, f"{row['name']} ({row['brand']})") for pk, row in catalogue.services.items()
        ]
        self.fields["source"].choices = everything + [
            (pk, row["name"]) for pk, row in catalogue.sources.items()
        ]
        self.fields["campaign"].choices = everything + [
            (pk, row["name"]) for pk, row in catalogue.campaigns.items()
        ]
        if not show_assignee:
            del self.fields["assignee"]

    def show_applied_period(self, period):
        """Show ``period`` in the period box when an invalid choice or custom range was set aside for it."""
        if self.data.get("period") != period:
            self.data["period"] = period

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                self.add_error("start", _("Give both dates of a custom period."))
            elif end < start:
                self.add_error("end", _("The end date is before the start date."))
            elif (end - start).days > MAX_CUSTOM_DAYS:
                self.add_error("end", _("A custom period can be at most three years long."))
        return data


@dataclass
class DashboardFilter:
    """The cleaned filters: the period, its predecessor and the lead conditions besides the date."""

    period: str
    range: DateRange
    compare: bool
    interval: str
    refresh: bool
    lead_q: Q
    values: dict
    rollup_q: Q = Q()
    currency: str = DEFAULT_CURRENCY

    @property
    def previous(self):
        return self.range.previous()

    def scope(self, user, queryset=None):
        """Leads ``user`` may see that match every filter but the date."""
        return leads_for(user, queryset).filter(self.lead_q)

    def leads(self, user):
        """Leads in scope submitted in the period."""
        return self.scope(user).filter(self.range.q())


def read_filters(params, catalogue, *, show_assignee=True, today=None):
    """Validate the query string; return the form (with any errors) and the filters to apply."""
    form = DashboardFilterForm(params, catalogue, show_assignee=show_assignee)
    form.is_valid()
    good = {name: value for name, value in form.cleaned_data.items() if name not in form.errors}
    if "__all__" in form.errors or "start" in form.errors or "end" in form.errors:
        good["period"] = good.get("period") if good.get("period") != "custom" else None
    today = today or timezone.localdate()
    period = good.get("period") or DEFAULT_PERIOD
    first, last = period_dates(period, today, good.get("start"), good.get("end"))
    if first is None or last is None:
        period = DEFAULT_PERIOD
        first, last = period_dates(period, today)
    form.show_applied_period(period)
    lead_q = Q()
    if good.get("brand"):
        lead_q &= Q(brand_id=good["brand"])
    status = good.get("status") or ""
    if status.startswith("stage:"):
        lead_q &= Q(
            status_id__in=[pk for pk, row in catalogue.statuses.items() if row["stage"] == status[6:]]
        )
    elif status.startswith("status:"):
        lead_q &= Q(status_id=int(status[7:]))
    for name in ("service", "source", "campaign"):
        if good.get(name):
            lead_q &= Q(**{f"{name}_id": good[name]})
    rollup_q = lead_q
    assignee = good.get("assignee") or ""
    if assignee == "none":
        lead_q &= Q(assignee__isnull=True)
        rollup_q &= Q(pk__in=[])
    elif assignee:
        lead_q &= Q(assignee_id=int(assignee))
        rollup_q &= Q(person_id=int(assignee))
    return form, DashboardFilter(
        period=period,
        range=DateRange(first, last),
        compare=bool(good.get("compare")),
        interval=good.get("interval") or "day",
        refresh=bool(good.get("refresh")),
        lead_q=lead_q,
        values=good,
        rollup_q=rollup_q,
        currency=good.get("currency") or DEFAULT_CURRENCY,
    )
