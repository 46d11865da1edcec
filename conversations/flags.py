"""The lead page's badge for a lead that asked for no more messages (``crm.lead_flags``)."""

from collections.abc import Iterable
from datetime import datetime

from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from crm.lead_flags import LeadFlag
from crm.models import Lead


def opted_out(lead: Lead, now: datetime) -> Iterable[LeadFlag]:
    if lead.opted_out_at is None:
        return []
    when = date_format(localtime(lead.opted_out_at), "SHORT_DATETIME_FORMAT")
    return [
        LeadFlag(
            "opted_out",
            _("Opted out of messages"),
            "warning",
            _("Asked for no more messages on %(time)s.") % {"time": when},
        )
    ]
