"""The per-source sync lease: one run of a source at a time, taken over from a worker that died."""

import os
import socket
import uuid
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .conf import setting
from .connectors import numeric_id
from .models import SyncRun, WordPressSource

HOST = socket.gethostname()


def acquire_lock(source: WordPressSource) -> str | None:
    """Take the source's sync lease; returns the owner token, or None when another live run holds it."""
    owner = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex}"
    now = timezone.now()
    expires = now + timedelta(seconds=setting("WORDPRESS_LOCK_SECONDS"))
    free = Q(lock_owner="") | Q(lock_expires_at__lt=now)
    if WordPressSource.objects.filter(free, pk=source.pk).update(lock_owner=owner, lock_expires_at=expires):
        return owner
    holder = WordPressSource.objects.filter(pk=source.pk).values_list("lock_owner", flat=True).first()
    if holder and not _owner_alive(holder):
        stolen = WordPressSource.objects.filter(pk=source.pk, lock_owner=holder).update(
            lock_owner=owner, lock_expires_at=expires
        )
        if stolen:
            SyncRun.objects.filter(source=source, status=SyncRun.Status.RUNNING).update(
                status=SyncRun.Status.FAILED, finished_at=now, error=_("The worker running this sync died.")
            )
            return owner
    return None


def renew_lock(source: WordPressSource, owner: str) -> None:
    expires = timezone.now() + timedelta(seconds=setting("WORDPRESS_LOCK_SECONDS"))
    WordPressSource.objects.filter(pk=source.pk, lock_owner=owner).update(lock_expires_at=expires)


def release_lock(source: WordPressSource, owner: str) -> None:
    WordPressSource.objects.filter(pk=source.pk, lock_owner=owner).update(lock_owner="", lock_expires_at=None)


def _owner_alive(owner: str) -> bool:
    host, _sep, rest = owner.partition(":")
    pid = numeric_id(rest.partition(":")[0])
    if host != HOST or pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
