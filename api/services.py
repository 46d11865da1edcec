"""What the API writes, each through crm's own path: a new lead through ``crm.intake.create_lead`` (as
every channel), kept once per ``Idempotency-Key``; a note through ``crm.services.add_note``; a status
through ``crm.services.change_status`` with the token's owner as the actor, so the admin's rules apply."""

import datetime
import hashlib
import inspect
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import access, intake, system_notes
from crm import services as crm_services
from crm.filters import brands_for
from crm.models import Campaign, Lead, LeadEvent, LostReason, PipelineStatus, Role, Service, Source, User

from .models import IdempotencyRecord

CONTACT_FIELDS = ("contact_name", "company", "email", "phone")


class LeadNotFound(Exception):
    """No such lead among those the user may see."""


class IdempotencyConflict(Exception):
    """The key was used before with another body."""


@dataclass
class Created:
    lead: Lead
    replayed: bool


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def visible_lead(user: User, lead_id: int) -> Lead:
    lead = access.leads_for(user).select_related("status").filter(pk=lead_id).first()
    if lead is None:
        raise LeadNotFound(lead_id)
    return lead


def purge_idempotency_records(now: datetime.datetime | None = None) -> int:
    """Forget the keys older than ``API_IDEMPOTENCY_KEEP_DAYS`` (their leads stay); returns how many."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.API_IDEMPOTENCY_KEEP_DAYS)
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _recorded(user: User, key: str, digest: str) -> Created | None:
    record = IdempotencyRecord.objects.filter(user=user, key=key).select_related("lead").first()
    if record is None:
        return None
    if record.body_sha256 != digest:
        raise IdempotencyConflict(key)
    if record.lead is None:
        raise LeadNotFound(key)
    return Created(record.lead, replayed=True)


def _one(model: Any, condition: Q, field: str) -> Any:
    found = model.objects.filter(condition).first()
    if found is None:
        raise ValidationError({field: _("Unknown or not yours to use.")})
    return found


def lead_data(user: User, fields: dict[str, Any]) -> intake.LeadData:
    """The ``LeadData`` of an API body: its brand, service and campaign among the user's, its source by
    key, at least a name, a company, an email or a phone."""
    values = dict(fields)
    brands = brands_for(user)
    brand = _one(brands.model, Q(pk=values.pop("brand"), pk__in=brands.values("pk")), "brand")
    if values.get("service") is not None:
        values["service"] = _one(Service, Q(pk=values["service"], brand=brand), "service")
    if values.get("campaign") is not None:
        condition = Q(pk=values["campaign"]) & (Q(brand=brand) | Q(brand__isnull=True))
        values["campaign"] = _one(Campaign, condition, "campaign")
    if values.get("source") is not None:
        values["source"] = _one(Source, Q(key=values["source"]), "source")
    if not any((values.get(name) or "").strip() for name in CONTACT_FIELDS):
        raise ValidationError(_("Give at least a name, a company, an email or a phone."))
    submitted_at = values.pop("submitted_at", None)
    present = {name: value for name, value in values.items() if value is not None}
    return intake.LeadData(brand, submitted_at=submitted_at, created_by=user, **present)


def create_lead_once(user: User, key: str, body: bytes, fields: dict[str, Any]) -> Created:
    """Create a lead from an API body once per ``key``: the same key and body again answers with the
    lead made the first time (also when two such requests race), another body raises
    ``IdempotencyConflict``. Employees' new leads are theirs, as in the admin's new-lead form."""
    if not (access.role_may(user, "edit") and user.has_perm("crm.add_lead")):
        raise PermissionDenied(_("You may not create leads."))
    digest = body_digest(body)
    earlier = _recorded(user, key, digest)
    if earlier is not None:
        return earlier
    data = lead_data(user, fields)
    try:
        with transaction.atomic():
            lead = _create(user, data)
            IdempotencyRecord.objects.create(user=user, key=key, body_sha256=digest, lead=lead)
    except IntegrityError:
        earlier = _recorded(user, key, digest)
        if earlier is None:
            raise
        return earlier
    return Created(lead, replayed=False)


def _create(user: User, data: intake.LeadData) -> Lead:
    try:
        lead = intake.create_lead(data, actor=user)
    except intake.PersonErased as error:
        raise ValidationError(
            _("This person asked to have their data erased: the CRM takes no lead of theirs.")
        ) from error
    if user.role == Role.EMPLOYEE and lead.assignee_id is None:
        lead = crm_services.assign(
            lead, user, actor=user, note=system_notes.encode(system_notes.TAKEN_BY_HAND)
        )
    return lead


def add_note(user: User, lead_id: int, note: str) -> LeadEvent:
    lead = visible_lead(user, lead_id)
    if not access.can_act_on_lead(user, lead, "note"):
        raise PermissionDenied(_("You may not add notes to this lead."))
    return crm_services.add_note(lead, user, note)


def _accepts(function: Any, name: str) -> bool:
    return name in inspect.signature(function).parameters


def change_status(  # noqa: PLR0913 - the move and what the admin's form asks with it
    user: User,
    lead_id: int,
    status_key: str,
    note: str = "",
    *,
    lost_reason: str | None = None,
    follow_up_at: datetime.datetime | None = None,
) -> Lead:
    """Move a lead as its owner would in the admin (``crm.services.change_status`` with the pipeline
    rule). ``lost_reason`` (a key of ``crm.LostReason``) goes to the service when it takes one."""
    lead = visible_lead(user, lead_id)
    if not access.can_act_on_lead(user, lead, "change_status"):
        raise PermissionDenied(_("You may not change the status of this lead."))
    status = _one(PipelineStatus, Q(key=status_key), "status")
    extra: dict[str, Any] = {}
    if lost_reason and _accepts(crm_services.change_status, "lost_reason"):
        extra["lost_reason"] = _one(LostReason, Q(key=lost_reason), "lost_reason")
    return crm_services.change_status(lead, status, actor=user, note=note, follow_up_at=follow_up_at, **extra)
