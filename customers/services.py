"""Turning a won lead into a customer: the account made or found, its contact person, the link, the event."""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from crm import access as lead_access
from crm.events import record_event
from crm.models import Lead, LeadEvent, Stage, User

from . import access
from . import cuit as cuit_rules
from .models import Account, AccountLead, Contact

EVENT_DATA_KEY = "customer_account"
"""The key of the account's id in the data of the lead's conversion event (a note)."""


@dataclass(frozen=True)
class AccountData:
    legal_name: str
    cuit: str = ""
    address: str = ""


@dataclass(frozen=True)
class ContactData:
    name: str = ""
    email: str = ""
    phone: str = ""
    role: str = ""

    def is_empty(self) -> bool:
        return not (self.name.strip() or self.email.strip() or self.phone.strip())


@dataclass
class Conversion:
    account: Account
    created: bool
    contact: Contact | None = None
    messages: list[str] = field(default_factory=list)


def check_may_convert(actor: User, lead: Lead) -> None:
    """Raise unless ``actor`` may convert ``lead``: someone who may edit it, a won lead, not linked yet."""
    if not lead_access.can_act_on_lead(actor, lead, "edit"):
        raise PermissionDenied(_("You may not convert this lead."))
    if lead.status.stage != Stage.WON:
        raise ValidationError(_("Only a won lead can become a customer."), code="not_won")
    if AccountLead.objects.filter(lead_id=lead.pk).exists():
        raise ValidationError(_("This lead is already linked to a customer account."), code="linked")


def may_convert(actor: User, lead: Lead) -> bool:
    """Whether the lead page offers the conversion (no query: the link is checked on conversion)."""
    return lead_access.can_act_on_lead(actor, lead, "edit") and lead.status.stage == Stage.WON


@transaction.atomic
def convert_to_customer(
    lead: Lead,
    actor: User,
    *,
    account: Account | None = None,
    account_data: AccountData | None = None,
    contact: ContactData | None = None,
) -> Conversion:
    """Link a won ``lead`` to ``account`` (one ``actor`` may see) or to a new one from ``account_data``.

    A new account whose CUIT is already an account's links to that account instead: a CUIT is one company.
    The lead's brand joins the account's brands; ``contact`` (when given) becomes a contact person unless
    the account has one with that email already. Written on the lead's timeline as a note event.
    """
    lead = Lead.objects.select_for_update().select_related("status").get(pk=lead.pk)
    check_may_convert(actor, lead)
    if account is not None:
        if not access.can_see_account(actor, account):
            raise PermissionDenied(_("You may not link leads to this account."))
        result = Conversion(account=account, created=False)
    elif account_data is not None:
        result = _account_from(account_data, actor)
    else:
        raise ValidationError(_("Choose an account or enter the new account's legal name."))
    account = result.account
    Account.brands.through.objects.get_or_create(account_id=account.pk, brand_id=lead.brand_id)
    if contact is not None and not contact.is_empty():
        result.contact = _contact_for(account, contact)
    try:
        with transaction.atomic():
            AccountLead.objects.create(account=account, lead=lead, linked_by=actor)
    except IntegrityError as error:
        raise ValidationError(_("This lead is already linked to a customer account.")) from error
    note = _("Converted to customer: %(account)s") % {"account": account.legal_name}
    record_event(
        lead,
        LeadEvent.Kind.NOTE,
        actor,
        note=note,
        data={EVENT_DATA_KEY: account.pk, "account_created": result.created},
    )
    return result


def _account_from(data: AccountData, actor: User) -> Conversion:
    legal_name = data.legal_name.strip()
    cuit = cuit_rules.normalise(data.cuit) if data.cuit.strip() else ""
    if cuit:
        existing = Account.objects.select_for_update().filter(cuit=cuit).first()
        if existing is not None:
            message = _("An account with this CUIT already exists (%(account)s): the lead was linked to it.")
            return Conversion(existing, False, messages=[message % {"account": existing.legal_name}])
    if not legal_name:
        raise ValidationError(_("Enter the account's legal name (razón social)."), code="legal_name")
    account = Account(
        legal_name=legal_name, cuit=cuit or None, address=data.address.strip(), created_by=actor
    )
    account.full_clean(exclude=["brands"])
    account.save()
    log(instance=account, action="wagtail.create", user=actor)
    return Conversion(account, True)


def _contact_for(account: Account, data: ContactData) -> Contact:
    contact = Contact(
        account=account,
        name=data.name.strip() or data.email.strip() or data.phone.strip(),
        email=data.email.strip(),
        phone=data.phone.strip(),
        role=data.role.strip(),
    )
    contact.full_clean(exclude=["account"])
    if contact.email:
        known = Contact.objects.filter(account=account, email__iexact=contact.email).first()
        if known is not None:
            return known
    contact.save()
    return contact
