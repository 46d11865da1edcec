"""The audit trail: who exported what, changed whose access, reset a second factor, signed in.

Rows are only ever added (``crm.audit.record``). The model refuses updates and deletes, the admin grants
nobody a change or delete permission (there are none: ``default_permissions`` is view only), and the
migration adds a database trigger that refuses them too (on PostgreSQL updates and deletes, on SQLite
updates: Django's test flush empties SQLite tables with ``DELETE``). An "update" that writes a row back
unchanged passes the triggers: that is how Django restores a test database from its serialized copy.
No foreign keys: the people and objects a row names may be deleted, the row stays as it was written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def now_to_the_millisecond() -> datetime:
    """Now, to the millisecond: what Django's serializers keep, so a test database restored from its
    serialized copy rewrites each entry as it was (an unchanged row is no change to the triggers)."""
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class AppendOnlyError(Exception):
    """An audit entry was about to be changed or deleted."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit entries cannot be changed.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """One audited action, as it was when it happened."""

    at = models.DateTimeField(_("time"), default=now_to_the_millisecond, editable=False)
    action = models.CharField(_("action"), max_length=64, editable=False)
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, editable=False)
    actor_name = models.CharField(_("actor"), max_length=150, blank=True, editable=False)
    actor_role = models.CharField(_("actor's role"), max_length=16, blank=True, editable=False)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True, editable=False)
    target = models.CharField(_("target"), max_length=255, blank=True, editable=False)
    detail = models.JSONField(_("detail"), default=dict, blank=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        default_permissions = ("view",)
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["-at", "-id"], name="crm_audit_at"),
            models.Index(fields=["action", "-at"], name="crm_audit_action_at"),
            models.Index(fields=["actor_id", "-at"], name="crm_audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.action} · {self.actor_name or '-'} · {timezone.localtime(self.at):%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit entries cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Audit entries cannot be deleted.")
