"""What the dashboards' rules say about one lead, for its page (``crm.lead_flags``): first contact due or
overdue by the SLA, and no activity for the stale threshold.

These are the conditions of ``metrics.overdue_condition`` and the stale leads of ``team.personal_figures``
(the salesperson's home panel), worked out in Python for a lead already loaded, with the same settings.
"""

import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.lead_flags import LeadFlag
from crm.models import Lead, Stage

from .models import DashboardSettings
from .sql import business_clock

OPEN_STAGES = (Stage.NEW, Stage.OPEN)


def waits_for_first_contact(lead: Lead) -> bool:
    """Assigned, open, not contacted, and new demand (a backfilled lead has no SLA)."""
    return (
        lead.assigned_at is not None
        and lead.first_contacted_at is None
        and lead.status.stage in OPEN_STAGES
        and not lead.is_backfill
    )


def is_overdue(lead: Lead, settings: DashboardSettings, now: datetime.datetime) -> bool:
    """``metrics.overdue_condition`` for one open lead: its first-contact SLA has run out by ``now``."""
    assigned = lead.assigned_at
    if assigned is None or not waits_for_first_contact(lead):
        return False
    if not settings.sla_business_hours:
        return assigned < now - datetime.timedelta(hours=settings.sla_hours)
    zone = timezone.get_default_timezone()
    start, end = settings.business_day_start, settings.business_day_end
    elapsed = business_clock(now, start, end, zone) - business_clock(assigned, start, end, zone)
    return elapsed > settings.sla_hours * 3600


def business_deadline(
    start: datetime.datetime, seconds: float, opens: int, closes: int, zone: datetime.tzinfo
) -> datetime.datetime:
    """When ``seconds`` of business time (Monday to Friday, ``opens`` to ``closes`` local) after ``start`` end."""
    moment = start.astimezone(zone)
    remaining = seconds
    for _day in range(4000):
        day = moment.date()
        if day.weekday() < 5:
            opening = datetime.datetime.combine(day, datetime.time(opens), zone)
            closing = datetime.datetime.combine(day, datetime.time(0), zone) + datetime.timedelta(
                hours=closes
            )
            begin = max(opening, moment)
            if begin < closing:
                available = (closing - begin).total_seconds()
                if remaining <= available:
                    return begin + datetime.timedelta(seconds=remaining)
                remaining -= available
        moment = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0), zone)
    return moment


def first_contact_due(lead: Lead, settings: DashboardSettings) -> datetime.datetime | None:
    """When the lead's first-contact SLA runs out (None: it was never assigned, so no SLA runs)."""
    assigned = lead.assigned_at
    if assigned is None:
        return None
    if not settings.sla_business_hours:
        return assigned + datetime.timedelta(hours=settings.sla_hours)
    return business_deadline(
        assigned,
        settings.sla_hours * 3600,
        settings.business_day_start,
        settings.business_day_end,
        timezone.get_default_timezone(),
    )


def is_stale(lead: Lead, settings: DashboardSettings, now: datetime.datetime) -> bool:
    return lead.status.stage in OPEN_STAGES and lead.last_activity_at < now - datetime.timedelta(
        days=settings.stale_days
    )


def _sla_text(settings: DashboardSettings) -> str:
    if settings.sla_business_hours:
        return ngettext(
            "Not contacted within %(hours)s business hour of assignment.",
            "Not contacted within %(hours)s business hours of assignment.",
            settings.sla_hours,
        ) % {"hours": settings.sla_hours}
    return ngettext(
        "Not contacted within %(hours)s hour of assignment.",
        "Not contacted within %(hours)s hours of assignment.",
        settings.sla_hours,
    ) % {"hours": settings.sla_hours}


def lead_flags(lead: Lead, now: datetime.datetime) -> list[LeadFlag]:
    """The lead page's SLA and stale badges (registered with ``crm.lead_flags`` in ``apps.ready``)."""
    settings = DashboardSettings.current()
    flags = []
    if is_overdue(lead, settings, now):
        flags.append(LeadFlag("sla_overdue", _("First contact overdue"), "critical", _sla_text(settings)))
    elif waits_for_first_contact(lead) and (deadline := first_contact_due(lead, settings)) is not None:
        due = timezone.localtime(deadline)
        flags.append(
            LeadFlag(
                "sla_due",
                _("First contact due by %(time)s") % {"time": date_format(due, "SHORT_DATETIME_FORMAT")},
                "info",
            )
        )
    if is_stale(lead, settings, now):
        flags.append(
            LeadFlag(
                "stale",
                ngettext("No activity for %(days)s day", "No activity for %(days)s days", settings.stale_days)
                % {"days": settings.stale_days},
                "warning",
            )
        )
    return flags
