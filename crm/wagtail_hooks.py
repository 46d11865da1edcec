"""Admin registrations of the CRM app live in ``crm.viewsets``; importing them registers their hooks."""

from . import admin_branding, log_actions  # noqa: F401
from .viewsets import audit_trail, catalogues, leads, my_day, people, two_factor  # noqa: F401
