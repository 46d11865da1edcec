"""Customer accounts (a company by its razón social and CUIT), their contact people and their leads."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel

from crm.models import Brand, Lead
from crm.normalise import normalise_email, phone_to_e164

from . import cuit as cuit_rules


def email_domain(email: str) -> str:
    """The part after the @ of a valid address, lower-cased; "" for an empty or invalid one."""
    address, valid = normalise_email(email)
    if not valid or "@" not in address:
        return ""
    return address.rsplit("@", 1)[1]


class Account(ClusterableModel):
    """A customer: the company (or person) that bought, by its legal name and CUIT."""

    legal_name = models.CharField(_("legal name (razón social)"), max_length=200)
    cuit = models.CharField(
        _("CUIT"),
        max_length=11,
        unique=True,
        null=True,
        blank=True,
        validators=[cuit_rules.validate],
        help_text=_("11 digits; dashes are removed."),
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    brands = ParentalManyToManyField(
        Brand, related_name="customer_accounts", blank=True, verbose_name=_("brands it buys from")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["legal_name", "pk"]
        verbose_name = _("customer account")
        verbose_name_plural = _("customer accounts")

    def __str__(self) -> str:
        return self.legal_name

    def clean(self) -> None:
        super().clean()
        if self.cuit:
            self.cuit = cuit_rules.normalise(self.cuit)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.cuit = cuit_rules.normalised_or_empty(self.cuit) or None
        super().save(*args, **kwargs)

    @property
    def formatted_cuit(self) -> str:
        return cuit_rules.formatted(self.cuit or "")


class Contact(models.Model):
    """A person at a customer: who to call, write to or visit."""

    account = ParentalKey(
        Account, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("account")
    )
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("position"), max_length=120, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    email_domain = models.CharField(_("email domain"), max_length=254, blank=True, editable=False)
    phone_e164 = models.CharField(_("phone (E.164)"), max_length=20, blank=True, editable=False)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(
                fields=["email_domain"], condition=~models.Q(email_domain=""), name="customers_contact_domain"
            ),
            models.Index(
                fields=["phone_e164"], condition=~models.Q(phone_e164=""), name="customers_contact_phone"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        address, valid = normalise_email(self.email)
        if valid:
            self.email = address
        self.email_domain = email_domain(self.email)
        self.phone_e164 = phone_to_e164(self.phone) if self.phone else ""
        super().save(*args, **kwargs)


class AccountLead(models.Model):
    """A lead that became (or bought again as) the account's business: at most one account per lead."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lead_links")
    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="customer_link")
    linked_at = models.DateTimeField(_("linked"), default=timezone.now)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("customer's lead")
        verbose_name_plural = _("customers' leads")

    def __str__(self) -> str:
        return f"{self.account_id} · {self.lead_id}"
