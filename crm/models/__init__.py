from crm import lookups  # noqa: F401 - registers ``field__any``

from .audit import LeadLogEntry, ScopedModelLogEntry
from .audit_trail import AppendOnlyError, AuditEntry
from .contact import ContactTemplate
from .followups import FollowUp
from .leads import (
    CLOSED_STAGES,
    AssignmentRule,
    Campaign,
    ClassificationRule,
    Lead,
    LeadEvent,
    PipelineStatus,
    Priority,
    Service,
    Source,
    Stage,
    TaggedLead,
    backfill_age,
    backfill_q,
)
from .money import Currency, ExchangeRate, LostReason
from .people import Brand, Invitation, Role, User
from .tombstones import Tombstone
from .views import DefaultView, SavedView

__all__ = [
    "CLOSED_STAGES",
    "AppendOnlyError",
    "AssignmentRule",
    "AuditEntry",
    "Brand",
    "Campaign",
    "ClassificationRule",
    "ContactTemplate",
    "Currency",
    "DefaultView",
    "ExchangeRate",
    "FollowUp",
    "Invitation",
    "Lead",
    "LeadEvent",
    "LeadLogEntry",
    "LostReason",
    "PipelineStatus",
    "Priority",
    "Role",
    "SavedView",
    "ScopedModelLogEntry",
    "Service",
    "Source",
    "Stage",
    "TaggedLead",
    "Tombstone",
    "User",
    "backfill_age",
    "backfill_q",
]
