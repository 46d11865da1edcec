"""The money on a lead: its quote, what it was won for, why it was lost.

The rules, each a plain function called by the lead's one service path (``crm.services``) or offering a
verb of its own that writes its event the same way:

- A quote is an amount (0 or more) in pesos or dollars, its date (today unless given) and an optional
  expected close date (not before the quote). Only people who may edit the lead quote it
  (``crm.access``, action "edit"). A quote changes amount and dates freely, but not its currency: to quote
  in the other currency, clear the quote first (so a figure never silently changes currency in reports).
- Moving a lead into a won status records the day it was won and what for: the amount given, else the
  quote's amount and currency (without a quote, an amount already on the lead stays); a won lead's
  amount can be corrected later (``record_won_amount``). Leaving the won stage clears the won day and amount (the status event keeps what they were).
- A person moving a lead into a lost status picks a reason from the active catalogue (``LostReason``);
  the system's moves (classification, imports, WordPress sync) need none. The reason is kept on the
  lead and in the status event; leaving the lost stage clears it from the lead (the event keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .access import can_act_on_lead
from .events import Actor, record_event
from .models import Currency, Lead, LeadEvent, LostReason, PipelineStatus, Stage
from .search import with_search_text

MAX_AMOUNT = Decimal("999999999999.99")
"""The largest amount the columns hold (14 digits, 2 decimals)."""


def is_person(actor: Actor) -> bool:
    return actor is not None and bool(getattr(actor, "is_authenticated", False))


def clean_amount(amount: Decimal | int | str | None, *, field_name: str = "amount") -> Decimal | None:
    """``amount`` as a Decimal of cents; ``ValidationError`` when negative, too large or not a number."""
    if amount is None or amount == "":
        return None
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise ValidationError({field_name: _("Enter an amount.")}, code="invalid_amount") from None
    if not value.is_finite():
        raise ValidationError({field_name: _("Enter an amount.")}, code="invalid_amount")
    if value < 0:
        raise ValidationError({field_name: _("An amount cannot be negative.")}, code="negative_amount")
    if value > MAX_AMOUNT:
        raise ValidationError({field_name: _("This amount is too large.")}, code="amount_too_large")
    return value.quantize(Decimal("0.01"))


def clean_currency(currency: str, *, field_name: str = "currency") -> str:
    if currency not in Currency.values:
        raise ValidationError({field_name: _("Choose pesos (ARS) or dollars (USD).")}, code="currency")
    return currency


def money_text(amount: Decimal | None, currency: str) -> str:
    """How an amount reads in an event: "1500.00 USD", "" for none."""
    return "" if amount is None else f"{amount} {currency}"


def check_may_quote(actor: Actor, lead: Lead) -> None:
    if not is_person(actor) or not can_act_on_lead(actor, lead, "edit"):
        raise PermissionDenied(_("You may not change the quote of this lead."))


# Verbs ------------------------------------------------------------------------------------------------


@transaction.atomic
def set_quote(  # noqa: PLR0913 - the quote's four parts
    lead: Lead,
    actor: Actor,
    amount: Decimal | int | str,
    currency: str,
    quoted_on: date | None = None,
    expected_close_on: date | None = None,
) -> Lead:
    """Quote ``lead``: ``amount`` in ``currency`` on ``quoted_on`` (today when None), closing on
    ``expected_close_on``. Records a ``quoted`` event; returns the lead. See the module's rules."""
    lead = _locked(lead)
    check_may_quote(actor, lead)
    value = clean_amount(amount)
    if value is None:
        raise ValidationError({"amount": _("Enter an amount.")}, code="amount_required")
    currency = clean_currency(currency)
    if lead.quote_amount is not None and lead.quote_currency != currency:
        raise ValidationError(
            {
                "currency": _(
                    "This lead is quoted in %(currency)s. Clear the quote first to quote it in another currency."
                )
                % {"currency": lead.quote_currency}
            },
            code="currency_switch",
        )
    quoted_on = quoted_on or timezone.localdate()
    if expected_close_on is not None and expected_close_on < quoted_on:
        raise ValidationError(
            {"expected_close_on": _("The expected close cannot be before the quote date.")},
            code="close_before_quote",
        )
    before = (lead.quote_amount, lead.quote_currency, lead.quoted_on, lead.expected_close_on)
    after = (value, currency, quoted_on, expected_close_on)
    if before == after:
        return lead
    lead.quote_amount, lead.quote_currency, lead.quoted_on, lead.expected_close_on = after
    record_event(
        lead,
        LeadEvent.Kind.QUOTED,
        actor,
        from_value=money_text(before[0], before[1]),
        to_value=money_text(value, currency),
        data={
            "amount": str(value),
            "currency": currency,
            "quoted_on": quoted_on.isoformat(),
            "expected_close_on": expected_close_on.isoformat() if expected_close_on else None,
        },
    )
    _save(lead, ["quote_amount", "quote_currency", "quoted_on", "expected_close_on"])
    return lead


@transaction.atomic
def clear_quote(lead: Lead, actor: Actor) -> Lead:
    """Take the quote off ``lead`` (amount, currency, dates), with a ``quoted`` event; nothing to clear is
    no change."""
    lead = _locked(lead)
    check_may_quote(actor, lead)
    if lead.quote_amount is None and lead.quoted_on is None and lead.expected_close_on is None:
        return lead
    previous = money_text(lead.quote_amount, lead.quote_currency)
    lead.quote_amount, lead.quote_currency, lead.quoted_on, lead.expected_close_on = None, "", None, None
    record_event(lead, LeadEvent.Kind.QUOTED, actor, from_value=previous, data={"cleared": True})
    _save(lead, ["quote_amount", "quote_currency", "quoted_on", "expected_close_on"])
    return lead


@transaction.atomic
def record_won_amount(
    lead: Lead, actor: Actor, amount: Decimal | int | str | None, currency: str = ""
) -> Lead:
    """Correct what a won lead was won for (``amount`` None: not known), with a ``won_value`` event."""
    lead = _locked(lead)
    check_may_quote(actor, lead)
    if lead.status.stage != Stage.WON:
        raise ValidationError(_("Only a won lead has a won amount."), code="not_won")
    value = clean_amount(amount)
    currency = "" if value is None else clean_currency(currency)
    if (value, currency) == (lead.won_amount, lead.won_currency):
        return lead
    previous = money_text(lead.won_amount, lead.won_currency)
    lead.won_amount, lead.won_currency = value, currency
    record_event(
        lead,
        LeadEvent.Kind.WON_VALUE,
        actor,
        from_value=previous,
        to_value=money_text(value, currency),
        data={"amount": str(value) if value is not None else None, "currency": currency},
    )
    _save(lead, ["won_amount", "won_currency"])
    return lead


# Closing a lead (called by crm.services.change_status) ------------------------------------------------


@dataclass
class Closing:
    """What a status move changes of the lead's money, and what its status event records of it."""

    fields: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def lost_reason_from(value: LostReason | str | int | None) -> LostReason | None:
    """The active reason ``value`` names (the reason, its key or id); ``ValidationError`` if it is none."""
    if value is None or value == "":
        return None
    if isinstance(value, LostReason):
        reason = value if value.is_active else None
    else:
        lookup = {"pk": value} if isinstance(value, int) else {"key": value}
        reason = LostReason.objects.filter(is_active=True, **lookup).first()
    if reason is None:
        raise ValidationError(_("Choose why the lead was lost from the list."), code="lost_reason_unknown")
    return reason


def check_move(status: PipelineStatus, actor: Actor, note: str, lost_reason: LostReason | None) -> None:
    """A lost lead says why: a person picks a reason from the catalogue, the system writes a note."""
    if status.stage != Stage.LOST:
        return
    if is_person(actor) and lost_reason is None:
        raise ValidationError(
            _("Give a reason when a lead is lost or not viable: choose one from the list."),
            code="lost_reason_required",
        )
    if not is_person(actor) and lost_reason is None and not note.strip():
        raise ValidationError(_("Give a reason when a lead is lost or not viable."), code="note_required")


def closing(
    lead: Lead,
    status: PipelineStatus,
    *,
    lost_reason: LostReason | None = None,
    won_amount: Decimal | int | str | None = None,
    won_currency: str = "",
) -> Closing:
    """Apply to ``lead`` (moving from its current status to ``status``) the money rules of the move."""
    result = Closing()
    previous = lead.status.stage
    if status.stage == Stage.LOST:
        lead.lost_reason = lost_reason
        result.fields.append("lost_reason")
        if lost_reason is not None:
            result.data["lost_reason"] = lost_reason.key
    elif lead.lost_reason is not None:
        result.data["cleared_lost_reason"] = lead.lost_reason.key
        lead.lost_reason = None
        result.fields.append("lost_reason")
    if status.stage == Stage.WON:
        _won(lead, previous, won_amount, won_currency, result)
    elif previous == Stage.WON and (lead.won_on or lead.won_amount is not None):
        result.data["cleared_won"] = {
            "amount": str(lead.won_amount) if lead.won_amount is not None else None,
            "currency": lead.won_currency,
            "won_on": lead.won_on.isoformat() if lead.won_on else None,
        }
        lead.won_amount, lead.won_currency, lead.won_on = None, "", None
        result.fields += ["won_amount", "won_currency", "won_on"]
    return result


def _won(
    lead: Lead,
    previous: str,
    amount: Decimal | int | str | None,
    currency: str,
    result: Closing,
) -> None:
    value = clean_amount(amount, field_name="won_amount")
    if value is not None:
        currency = currency or lead.quote_currency
        currency = clean_currency(currency, field_name="won_currency")
    elif previous == Stage.WON and lead.won_on is not None:
        return  # from one won status to another: the day and amount stay
    elif lead.quote_amount is not None:
        value, currency = lead.quote_amount, lead.quote_currency
    else:
        value, currency = lead.won_amount, lead.won_currency
    if previous != Stage.WON or lead.won_on is None:
        lead.won_on = timezone.localdate()
    lead.won_amount, lead.won_currency = value, currency
    result.fields += ["won_amount", "won_currency", "won_on"]
    result.data["won_on"] = lead.won_on.isoformat()
    if value is not None:
        result.data["won_amount"] = str(value)
        result.data["won_currency"] = currency


def _locked(lead: Lead) -> Lead:
    return Lead.objects.select_for_update().get(pk=lead.pk)


def _save(lead: Lead, fields: list[str]) -> None:
    lead.last_activity_at = timezone.now()
    lead.save(update_fields=with_search_text(lead, [*fields, "last_activity_at", "updated_at"]))
