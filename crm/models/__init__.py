from crm import lookups  # noqa: F401 - registers ``field__any``

from .audit import LeadLogEntry, ScopedModelLogEntry
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
from .people import Brand, Invitation, Role, User

__all__ = [
    "CLOSED_STAGES",
    "AssignmentRule",
    "Brand",
    "Campaign",
    "ClassificationRule",
    "ContactTemplate",
    "FollowUp",
    "Invitation",
    "Lead",
    "LeadEvent",
    "LeadLogEntry",
    "PipelineStatus",
    "Priority",
    "Role",
    "ScopedModelLogEntry",
    "Service",
    "Source",
    "Stage",
    "TaggedLead",
    "User",
    "backfill_age",
    "backfill_q",
]
