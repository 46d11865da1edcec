"""Admin registrations of the CRM app live in ``crm.viewsets``; importing them registers their hooks."""

from .viewsets import leads, people  # noqa: F401
