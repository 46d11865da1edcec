"""Filters of the lead listing that measure against the dashboards' settings (the first-contact SLA and
the stale threshold), added to it through ``crm``'s ``register_lead_listing_filter`` hook, so the homes'
figures link to the leads they count."""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.agenda import open_status_ids

from .metrics import needs_attention, sla_breached
from .models import DashboardSettings

SLA_PARAMETER = "sla"
BREACHED, ATTENTION = "breached", "attention"


def sla_condition(value, settings, now):
    """``BREACHED``: open leads whose first-contact SLA ran out; ``ATTENTION``: open leads overdue as a
    salesperson's home counts them (SLA ran out, or no activity for the stale threshold). None otherwise."""
    if value == BREACHED:
        return sla_breached(settings, now)
    if value == ATTENTION:
        return needs_attention(settings, now) & Q(status_id__in=open_status_ids())
    return None


class SlaFilter(django_filters.ChoiceFilter):
    def __init__(self, **options):
        options.setdefault("label", _("First contact"))
        options.setdefault("empty_label", _("Any"))
        choices = [
            (BREACHED, _("SLA breached (not contacted in time)")),
            (ATTENTION, _("Overdue: SLA breached or no recent activity")),
        ]
        super().__init__(choices=choices, **options)

    def filter(self, qs, value):
        condition = sla_condition(value, DashboardSettings.current(), timezone.now()) if value else None
        return qs if condition is None else qs.filter(condition)


def sla_filter():
    return SLA_PARAMETER, SlaFilter(field_name="first_contacted_at")
