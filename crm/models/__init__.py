from .leads import (
    Campaign,
    Lead,
    LeadEvent,
    PipelineStatus,
    Priority,
    Service,
    Source,
    Stage,
    TaggedLead,
)
from .people import Brand, Invitation, Role, User

__all__ = [
    "Brand",
    "Campaign",
    "Invitation",
    "Lead",
    "LeadEvent",
    "PipelineStatus",
    "Priority",
    "Role",
    "Service",
    "Source",
    "Stage",
    "TaggedLead",
    "User",
]
