"""A small fixed dataset for the dashboard tests, written through ``crm.services`` at chosen times."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Max
from django.utils import timezone

from crm import intake, services
from crm.models import Campaign, Lead, LeadEvent, PipelineStatus, Service, Source
from dashboards import rollup

LOCAL = ZoneInfo("America/Argentina/Buenos_Aires")
TIMESTAMPS = [
    "received_at",
    "submitted_at",
    "assigned_at",
    "first_contacted_at",
    "status_changed_at",
    "last_activity_at",
]


def local(month, day, hour=10, minute=0, year=2026):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=LOCAL)


def at(when, action, lead, *args, **kwargs):
    """Run one service call, then move every timestamp it wrote (events and lead fields) to ``when``."""
    started = timezone.now()
    last_event = LeadEvent.objects.aggregate(last=Max("pk"))["last"] or 0
    result = action(lead, *args, **kwargs)
    lead = Lead.objects.get(pk=(result if isinstance(result, Lead) else lead).pk)
    LeadEvent.objects.filter(pk__gt=last_event).update(created_at=when)
    moved = {name: when for name in TIMESTAMPS if getattr(lead, name) and getattr(lead, name) >= started}
    if moved:
        Lead.objects.filter(pk=lead.pk).update(**moved)
    return Lead.objects.get(pk=lead.pk)


def new_lead(when, brand, name, **fields):
    started = timezone.now()
    last_event = LeadEvent.objects.aggregate(last=Max("pk"))["last"] or 0
    lead = intake.create_lead(intake.LeadData(brand=brand, contact_name=name, **fields))
    LeadEvent.objects.filter(pk__gt=last_event).update(created_at=when)
    Lead.objects.filter(pk=lead.pk).update(
        **{name: when for name in TIMESTAMPS if getattr(lead, name) and getattr(lead, name) >= started}
    )
    return Lead.objects.get(pk=lead.pk)


def build(brands, manager, emp1, emp2):
    """Seven leads in March 2026, two in the previous period, one earlier. See the tests for the sums.

    The history predates follow-ups: its moves into postponed or to-quote carry no date."""
    PipelineStatus.objects.update(requires_follow_up=False)
    intralog, intrapal = brands["intralog"], brands["intrapal"]
    s1 = Service.objects.create(brand=intralog, name="Pallets")
    s2 = Service.objects.create(brand=intralog, name="Storage")
    s3 = Service.objects.create(brand=intrapal, name="Transport")
    web, phone, whatsapp, email = (
        Source.objects.get(key=key) for key in ("web_form", "phone", "whatsapp", "email")
    )
    c1 = Campaign.objects.create(
        name="Spring search", brand=intralog, spend=Decimal("1000"), utm_source="google"
    )
    c2 = Campaign.objects.create(name="Promo social", spend=Decimal("300"), utm_source="facebook")
    google = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"}
    facebook = {"utm_source": "facebook", "utm_medium": "social", "utm_campaign": "promo"}

    def assign(lead, when, person):
        return at(when, services.assign, lead, person, manager)

    def contact(lead, when, person):
        return at(when, services.log_contact_attempt, lead, person, "phone", "reached")

    def move(lead, when, key, person, note=""):
        return at(
            when, lambda lead_: services.change_status(lead_, key, person, note, lost_reason="price"), lead
        )

    leads = {}
    lead = new_lead(local(3, 2, 10), intralog, "L1", service=s1, source=web, campaign=c1, **google)
    lead = assign(lead, local(3, 2, 10), emp1)
    lead = contact(lead, local(3, 2, 12), emp1)
    lead = move(lead, local(3, 5, 10), "quoted", emp1)
    leads["L1"] = move(lead, local(3, 12, 10), "won", emp1)

    lead = new_lead(local(3, 3, 9), intralog, "L2", service=s1, source=web, campaign=c1, **google)
    lead = assign(lead, local(3, 3, 9), emp1)
    lead = contact(lead, local(3, 3, 19), emp1)
    leads["L2"] = move(lead, local(3, 4, 10), "to_quote", emp1)

    lead = new_lead(local(3, 9, 8), intralog, "L3", service=s2, source=phone)
    lead = assign(lead, local(3, 9, 8), emp2)
    lead = contact(lead, local(3, 9, 9), emp2)
    leads["L3"] = move(lead, local(3, 10, 10), "not_advanced", emp2, "Too expensive")

    lead = new_lead(local(3, 16, 10), intralog, "L4", service=s2, source=whatsapp, campaign=c2, **facebook)
    leads["L4"] = assign(lead, local(3, 16, 10), emp2)

    leads["L5"] = new_lead(local(3, 20, 10), intrapal, "L5", service=s3, source=web, campaign=c2, **facebook)

    lead = new_lead(local(3, 25, 10), intralog, "L6", service=s1, source=web, campaign=c1, **google)
    lead = assign(lead, local(3, 25, 10), emp1)
    leads["L6"] = move(lead, local(3, 25, 12), "negative", emp1)

    lead = new_lead(local(3, 28, 10), intralog, "L7", service=s1, source=email, campaign=c1)
    lead = assign(lead, local(3, 28, 10), emp1)
    lead = contact(lead, local(3, 28, 14), emp1)
    leads["L7"] = move(lead, local(3, 28, 15), "interested", emp1)

    leads["P1"] = new_lead(local(2, 10, 10), intralog, "P1", service=s1, source=web, campaign=c1, **google)
    lead = new_lead(local(2, 20, 10), intralog, "P2", service=s2, source=phone)
    leads["P2"] = move(lead, local(2, 21, 10), "won", manager)
    leads["O1"] = new_lead(local(12, 1, 10, year=2025), intralog, "O1", service=s1, source=phone)
    rollup.rebuild()  # the events were moved in time after the rollup counted them
    return {"leads": leads, "services": (s1, s2, s3), "campaigns": (c1, c2)}
