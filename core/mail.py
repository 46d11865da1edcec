"""Development email: each message is written to its own file and announced in one log line."""

import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

logger = logging.getLogger(__name__)


class FileEmailBackend(BaseEmailBackend):
    """Writes each message to ``EMAIL_FILE_PATH`` as an ``.eml`` file and logs
    ``Email to <recipients>: <subject> -> <file>``, instead of printing whole emails to the console."""

    def __init__(self, *args: Any, file_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.folder = Path(file_path or settings.EMAIL_FILE_PATH)  # type: ignore[misc]  # a dev-only setting

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            path = self.folder / f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
            # Django's MIME message takes ``linesep``; django-stubs types it as the stdlib base class.
            path.write_bytes(message.message().as_bytes(linesep="\n"))  # type: ignore[call-arg]
            logger.info("Email to %s: %s -> %s", ", ".join(message.recipients()), message.subject, path)
            sent += 1
        return sent
