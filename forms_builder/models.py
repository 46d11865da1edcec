"""The lead forms' models, as Django finds them: the pages (``pages``) and what submissions leave behind (``records``)."""

from .pages import EXTRA, LeadFormField, LeadFormPage
from .records import (
    DeviceClass,
    FormDailyStats,
    FormFieldErrorDaily,
    LeadFormSubmission,
    RejectedSubmission,
    RejectionReason,
    SubmissionBehaviour,
)

__all__ = [
    "DeviceClass",
    "FormDailyStats",
    "FormFieldErrorDaily",
    "EXTRA",
    "LeadFormField",
    "LeadFormPage",
    "LeadFormSubmission",
    "RejectedSubmission",
    "RejectionReason",
    "SubmissionBehaviour",
]
