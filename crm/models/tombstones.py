"""Tombstones: keyed hashes of an erased person's references, so no intake path brings them back."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Tombstone(models.Model):
    """A keyed hash (``crm.tombstones.digest``) of an erased external reference, email or phone.

    Only the hash is kept: it says "this was erased" to whoever already holds the value, and nothing to
    anyone else.
    """

    class Kind(models.TextChoices):
        REFERENCE = "ref", _("External reference")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    digest = models.CharField(_("keyed hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("erased"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("tombstone")
        verbose_name_plural = _("tombstones")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.digest[:12]}"
