"""Money on the demo leads: a year of exchange rates, quotes, won amounts and lost reasons (idempotent)."""

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from crm.models import Currency, ExchangeRate, Lead, LostReason, PipelineStatus, Stage

from .leads import DEMO_SOURCE

QUOTED_SHARE = 6
"""Of every ten demo leads in the quoted status or later, how many carry a quote."""

CENT = Decimal("0.01")


def seed_demo_money() -> tuple[int, int]:
    """Rates for every day the demo leads span, then money on the demo leads that have none yet.

    Leads in the quoted status or later (open or won) get a quote (one in five in dollars, dated the day they
    last moved, with an expected close one to five months later); won leads a won amount of 90-100 % of it,
    won the day they were won; lost leads a reason from the catalogue. Returns ``(leads, rates)`` added.
    """
    demo = Lead.objects.filter(external_source=DEMO_SOURCE)
    first = demo.order_by("submitted_at").values_list("submitted_at", flat=True).first()
    if first is None:
        return 0, 0
    with transaction.atomic():
        rates = _ensure_rates(timezone.localdate(first), timezone.localdate())
        leads = _quote_leads(demo) + _give_lost_reasons(demo)
    return leads, rates


def _ensure_rates(start: date, end: date) -> int:
    known = set(ExchangeRate.objects.filter(day__range=(start, end)).values_list("day", flat=True))
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    missing = [
        ExchangeRate(day=day, ars_per_usd=Decimal(850) + Decimal("0.9") * n + Decimal("1.3") * (n % 7))
        for n, day in enumerate(days)
        if day not in known
    ]
    ExchangeRate.objects.bulk_create(missing)
    return len(missing)


def _quote_leads(demo) -> int:
    quoted_order = PipelineStatus.objects.filter(key="quoted").values_list("order", flat=True).first()
    if quoted_order is None:
        return 0
    leads = list(
        demo.filter(
            quote_amount__isnull=True,
            won_amount__isnull=True,
            status__stage__in=(Stage.OPEN, Stage.WON),
            status__order__gte=quoted_order,
        ).select_related("status")
    )
    changed = []
    for lead in leads:
        if lead.pk % 10 >= QUOTED_SHARE:
            continue
        in_dollars = lead.pk % 5 == 0
        lead.quote_currency = Currency.USD if in_dollars else Currency.ARS
        lead.quote_amount = Decimal(
            300 + (lead.pk * 7919) % 25_000 if in_dollars else 150_000 + (lead.pk * 7919) % 12_000_000
        )
        moved_on = timezone.localdate(lead.status_changed_at)
        lead.quoted_on = max(timezone.localdate(lead.submitted_at), moved_on - timedelta(days=lead.pk % 20))
        lead.expected_close_on = lead.quoted_on + timedelta(days=30 + lead.pk % 120)
        if lead.status.stage == Stage.WON:
            share = Decimal(90 + lead.pk % 11) / 100
            lead.won_amount = (lead.quote_amount * share).quantize(CENT)
            lead.won_currency = lead.quote_currency
            lead.won_on = moved_on
        changed.append(lead)
    fields = ["quote_amount", "quote_currency", "quoted_on", "expected_close_on"]
    Lead.objects.bulk_update(changed, [*fields, "won_amount", "won_currency", "won_on"], batch_size=500)
    return len(changed)


def _give_lost_reasons(demo) -> int:
    reasons = list(LostReason.objects.filter(is_active=True).values_list("pk", flat=True))
    if not reasons:
        return 0
    leads = list(demo.filter(status__stage=Stage.LOST, lost_reason__isnull=True).only("pk"))
    for lead in leads:
        lead.lost_reason_id = reasons[lead.pk % len(reasons)]
    Lead.objects.bulk_update(leads, ["lost_reason"], batch_size=500)
    return len(leads)
