"""Which customer accounts a lead may belong to: by CUIT, by the company's email domain, by phone.

Cheap by design: one query per lead, on the unique CUIT and the indexed contact domain and phone.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value

from crm.models import Lead
from crm.normalise import fold

from . import access
from . import cuit as cuit_rules
from .models import Account, AccountLead, Contact, email_domain

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "hotmail.com.ar",
        "hotmail.es",
        "outlook.com",
        "outlook.com.ar",
        "outlook.es",
        "live.com",
        "live.com.ar",
        "msn.com",
        "yahoo.com",
        "yahoo.com.ar",
        "yahoo.es",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "protonmail.com",
        "proton.me",
        "gmx.com",
        "zoho.com",
        "mail.com",
        "fibertel.com.ar",
        "speedy.com.ar",
        "arnet.com.ar",
        "ciudad.com.ar",
    }
)
"""Domains anyone can get an address at: a shared one says nothing about the company."""

SUGGESTION_LIMIT = 5
CUIT_KEYS = ("cuit", "cuil", "cuit_cuil", "cuit/cuil", "nro de cuit", "numero de cuit")


def company_domain(email: str) -> str:
    """The email's domain when it can name a company (not a free-mail domain), else ""."""
    domain = email_domain(email)
    return "" if domain in FREE_MAIL_DOMAINS else domain


def lead_cuit(lead: Lead) -> str:
    """The valid CUIT a lead carries among its extra answers (a field named CUIT or CUIL), or ""."""
    extra = lead.extra if isinstance(lead.extra, dict) else {}
    for key, value in extra.items():
        if fold(str(key)).strip() in CUIT_KEYS or "cuit" in fold(str(key)):
            found = cuit_rules.normalised_or_empty(value)
            if found:
                return found
    return ""


@dataclass(frozen=True)
class Suggestion:
    account: Account
    linked: bool
    by_cuit: bool
    by_domain: bool
    by_phone: bool

    @property
    def reasons(self) -> list[str]:
        from django.utils.translation import gettext as _

        return [
            label
            for matched, label in (
                (self.by_cuit, _("same CUIT")),
                (self.by_domain, _("same email domain")),
                (self.by_phone, _("same phone")),
            )
            if matched
        ]


def _flag(condition: Any) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


def candidates(lead: Lead, user: Any) -> QuerySet[Account]:
    """The accounts ``user`` may see that the lead is linked to or matches, annotated with why."""
    cuit = lead_cuit(lead)
    domain = company_domain(lead.email)
    phone = lead.phone_e164
    contacts = Contact.objects.filter(account_id=OuterRef("pk"))
    by_cuit: Any = Q(cuit=cuit) if cuit else Value(False)
    by_domain: Any = Exists(contacts.filter(email_domain=domain)) if domain else Value(False)
    by_phone: Any = Exists(contacts.filter(phone_e164=phone)) if phone else Value(False)
    linked = Exists(AccountLead.objects.filter(account_id=OuterRef("pk"), lead_id=lead.pk))
    matches = Q(linked)
    for condition in (by_cuit, by_domain, by_phone):
        if not isinstance(condition, Value):
            matches |= Q(condition)
    return (
        access.accounts_for(user)
        .filter(matches)
        .annotate(
            is_linked=_flag(linked),
            by_cuit=_flag(by_cuit),
            by_domain=_flag(by_domain),
            by_phone=_flag(by_phone),
        )
        .order_by("-is_linked", "-by_cuit", "legal_name", "pk")
    )


def suggestions(lead: Lead, user: Any) -> tuple[Account | None, list[Suggestion]]:
    """``(the lead's account, other matching accounts)`` as ``user`` may see them, in one query."""
    rows = list(candidates(lead, user)[: SUGGESTION_LIMIT + 1])
    linked = next((row for row in rows if row.is_linked), None)
    others = [
        Suggestion(row, False, bool(row.by_cuit), bool(row.by_domain), bool(row.by_phone))
        for row in rows
        if not row.is_linked
    ]
    return linked, others[:SUGGESTION_LIMIT]
