"""Alert channels and their registry.

A channel is one module: a subclass of ``AlertChannel`` saying how to reach a person (address), what to
send (drafts, rendered in the thread that holds the database connection), how to send it, and which
failures are worth retrying (``DeliveryError``). ``settings.ALERT_CHANNELS`` declares the channels, in
order, by the dotted path of their class; nothing else lists them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from crm.models import User

    from .messages import Digest, Message
    from .models import AlertRule, Notification

Draft = TypeVar("Draft")
NAME_LENGTH = 12


class DeliveryError(Exception):
    """A failed delivery: ``code`` is the provider's (or our) code; ``transient`` ones are retried."""

    def __init__(self, code: object, message: str, *, transient: bool = False, needs_admin: bool = False):
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.transient = transient
        self.needs_admin = needs_admin


class AlertChannel(ABC, Generic[Draft]):
    """One way of reaching a person. ``Draft`` is what the channel renders for one message."""

    name: ClassVar[str]
    label: ClassVar[StrOrPromise]
    send_order: ClassVar[int] = 100
    """Lower goes first: rows of this channel are claimed and sent before the others."""
    spread_evenly: ClassVar[bool] = False
    """True: a batch is divided evenly among the sender threads (one connection serves many messages);
    False: one task per message, each thread taking the next as it frees up."""
    error_texts: ClassVar[Mapping[str, StrOrPromise]] = {}
    """Readable texts of the channel's own error codes (``Notification.get_error_display``)."""

    @abstractmethod
    def wanted_by(self, rule: AlertRule) -> bool:
        """Whether the rule sends on this channel."""

    @abstractmethod
    def address(self, person: User) -> str:
        """Where the person receives this channel's messages; a permanent ``DeliveryError`` if nowhere."""

    @abstractmethod
    def drafts(self, pairs: Sequence[tuple[Notification, Message]], now: datetime) -> list[Draft]:
        """One draft per notification, in order (database queries allowed: one batch, not one a row)."""

    @abstractmethod
    def digest_draft(self, digest: Digest, notifications: Sequence[Notification], now: datetime) -> Draft:
        """The draft of a recipient's daily digest."""

    @abstractmethod
    def send(self, to: str, draft: Draft) -> str:
        """Send from a sender thread; returns the provider's message id ('' if none) or raises
        ``DeliveryError``."""

    def send_digest(self, to: str, draft: Draft) -> str:
        """Send a digest (from the digest job's own thread)."""
        return self.send(to, draft)


@cache
def _load(paths: tuple[str, ...]) -> tuple[AlertChannel[Any], ...]:
    loaded = tuple(import_string(path)() for path in paths)
    names = [channel.name for channel in loaded]
    if len(set(names)) != len(names):
        raise ImproperlyConfigured(f"ALERT_CHANNELS names a channel twice: {names}")
    too_long = [name for name in names if len(name) > NAME_LENGTH]
    if too_long:
        raise ImproperlyConfigured(f"Alert channel names have at most {NAME_LENGTH} characters: {too_long}")
    return loaded


def registered() -> tuple[AlertChannel[Any], ...]:
    """The channels of ``settings.ALERT_CHANNELS``, in their declared order."""
    return _load(tuple(settings.ALERT_CHANNELS))


def by_name(name: str) -> AlertChannel[Any] | None:
    return next((channel for channel in registered() if channel.name == name), None)


def in_send_order() -> list[AlertChannel[Any]]:
    return sorted(registered(), key=lambda channel: channel.send_order)


def undeclared(name: str) -> DeliveryError:
    """The error of a row whose channel is no longer declared: it fails, for an admin to see."""
    return DeliveryError("unknown_channel", f"No alert channel named {name!r} is declared.", needs_admin=True)


def choices() -> list[tuple[str, StrOrPromise]]:
    """``Notification.channel`` choices (a callable: declaring a channel changes no migration)."""
    return [(channel.name, channel.label) for channel in registered()]
