"""The people who use the CRM: brands they work for, their role, and invitations to join."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core import signing
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class Brand(models.Model):
    """A brand the sales team sells under (INTRALOG, INTRAPAL)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("brand")
        verbose_name_plural = _("brands")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    EMPLOYEE = "employee", _("Employee")
    MARKETING = "marketing", _("Marketing")


ROLE_GROUP_NAMES = {
    Role.ADMIN: "Admins",
    Role.MANAGER: "Managers",
    Role.EMPLOYEE: "Employees",
    Role.MARKETING: "Marketing",
}
"""The Wagtail group each role is (``crm.roles`` gives the groups their permissions)."""


class UserManager(DjangoUserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra_fields: Any
    ) -> User:
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A CRM user. The role decides the Wagtail group and the superuser flag; see ``crm.roles``."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.EMPLOYEE)
    phone = PhoneNumberField(_("phone"), blank=True)
    whatsapp = PhoneNumberField(
        _("WhatsApp number"), blank=True, help_text=_("International format, e.g. +54 9 11 5555 1234.")
    )
    brands = models.ManyToManyField(Brand, blank=True, related_name="people", verbose_name=_("brands"))

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name().strip() or self.get_username()

    @property
    def is_management(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.apply_role_flags()
        super().save(*args, **kwargs)
        self.sync_role_group()

    def apply_role_flags(self) -> None:
        """Set the flags that follow from the role. Admins are Wagtail superusers."""
        self.is_superuser = self.role == Role.ADMIN
        self.is_staff = self.role == Role.ADMIN

    def sync_role_group(self) -> None:
        """Make the user a member of exactly their role's group."""
        wanted = ROLE_GROUP_NAMES[Role(self.role)]
        current = list(self.groups.values_list("name", flat=True))
        if current != [wanted]:
            group, _created = Group.objects.get_or_create(name=wanted)
            self.groups.set([group])


def _new_nonce() -> str:
    return secrets.token_urlsafe(16)


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def expired(self, now: datetime | None = None) -> InvitationQuerySet:
        return self.filter(expires_at__lte=now or timezone.now())

    def pending(self, now: datetime | None = None) -> InvitationQuerySet:
        return self.filter(accepted_at__isnull=True, expires_at__gt=now or timezone.now())


class Invitation(models.Model):
    """A single-use, time-limited invitation to join with a given role.

    The link carries a signed (pk, nonce) pair, so nothing secret is stored or queued.
    """

    TOKEN_SALT = "crm.invitation"  # noqa: S105 (a salt, not a secret)

    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    brands = models.ManyToManyField(Brand, blank=True, verbose_name=_("brands"))
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    nonce = models.CharField(max_length=32, default=_new_nonce, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return self.email

    def make_token(self) -> str:
        return signing.dumps([self.pk, self.nonce], salt=self.TOKEN_SALT, compress=True)

    @classmethod
    def from_token(cls, token: str) -> Invitation | None:
        """The invitation a token names, or None when the token is tampered with or unknown."""
        try:
            pk, nonce = signing.loads(token, salt=cls.TOKEN_SALT)
        except (signing.BadSignature, TypeError, ValueError):
            return None
        return cls.objects.filter(pk=pk, nonce=nonce).first()

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_used(self) -> bool:
        return self.accepted_at is not None
