"""Flags on one lead for its page: "first contact overdue", "stale", and what other apps have to say.

The rules behind them belong to the apps that hold their settings (the first-contact SLA and the stale
threshold are the dashboards' settings), and ``crm`` imports no feature app: such an app registers a
function here from its ``ready``, as it registers its system notes (``crm.system_notes.register``). The
lead page asks every registered function and shows what they return.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django_stubs_ext import StrOrPromise

from .models import Lead

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeadFlag:
    """A badge on the lead page. ``level``: "critical", "warning" or "info"; ``title``: the detail on hover."""

    code: str
    label: StrOrPromise
    level: str = "info"
    title: StrOrPromise = ""


FlagProvider = Callable[[Lead, datetime], Iterable[LeadFlag]]

_PROVIDERS: dict[str, FlagProvider] = {}


def register(name: str, provider: FlagProvider) -> None:
    """Have ``provider(lead, now)`` add its flags to every lead page (``name`` keeps it registered once)."""
    _PROVIDERS[name] = provider


def unregister(name: str) -> None:
    _PROVIDERS.pop(name, None)


def flags_for(lead: Lead, now: datetime | None = None) -> list[LeadFlag]:
    """The flags every registered provider gives ``lead``; a provider that fails is logged and skipped, so
    a broken rule never takes the lead page down."""
    now = now or timezone.now()
    flags: list[LeadFlag] = []
    for name, provider in list(_PROVIDERS.items()):
        try:
            flags.extend(provider(lead, now))
        except Exception:
            logger.exception("Lead flag provider %s failed on lead %s", name, lead.pk)
    return flags
