"""The people who use the CRM: brands they work for, their role, and invitations to join."""

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
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

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    EMPLOYEE = "employee", _("Employee")
    MARKETING = "marketing", _("Marketing")


class UserManager(DjangoUserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A CRM user. The role decides the Wagtail group; see ``crm.roles``."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.EMPLOYEE)
    phone = PhoneNumberField(_("phone"), blank=True)
    whatsapp = PhoneNumberField(
        _("WhatsApp number"), blank=True, help_text=_("International format, e.g. +54 9 11 5555 1234.")
    )
    brands = models.ManyToManyField(Brand, blank=True, related_name="people", verbose_name=_("brands"))

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.get_full_name().strip() or self.get_username()

    @property
    def is_management(self):
        return self.role in (Role.ADMIN, Role.MANAGER)

    def save(self, *args, **kwargs):
        from crm.roles import apply_role_flags, sync_role_group

        apply_role_flags(self)
        super().save(*args, **kwargs)
        sync_role_group(self)


def _new_nonce():
    return secrets.token_urlsafe(16)


class InvitationQuerySet(models.QuerySet):
    def expired(self, now=None):
        return self.filter(expires_at__lte=now or timezone.now())

    def pending(self, now=None):
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

    def __str__(self):
        return self.email

    def make_token(self):
        return signing.dumps([self.pk, self.nonce], salt=self.TOKEN_SALT, compress=True)

    @classmethod
    def from_token(cls, token):
        """The invitation a token names, or None when the token is tampered with or unknown."""
        try:
            pk, nonce = signing.loads(token, salt=cls.TOKEN_SALT)
        except (signing.BadSignature, TypeError, ValueError):
            return None
        return cls.objects.filter(pk=pk, nonce=nonce).first()

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()

    @property
    def is_used(self):
        return self.accepted_at is not None
