"""Images and documents contacts send: fetched from the Cloud API once received, kept with the lead within
the size and type limits (``CONVERSATIONS_MEDIA_MAX_BYTES``, ``CONVERSATIONS_MEDIA_TYPES``)."""

from __future__ import annotations

import mimetypes
import re

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from core import whatsapp as cloud_api

from .models import Message, WhatsAppNumber

_UNSAFE = re.compile(r"[^\w.\- ]+")


def safe_name(message: Message, mime_type: str) -> str:
    """A file name for download: the sender's, without path or odd characters, else one by kind and id."""
    name = _UNSAFE.sub("_", (message.media_name or "").replace("\\", "/").split("/")[-1]).strip(" ._")
    if not name:
        extension = mimetypes.guess_extension(mime_type) or ""
        name = f"{message.kind}-{message.pk}{extension}"
    return name[:150]


def refusal(error: cloud_api.ApiError) -> str:
    if error.code == "too_large":
        return _("Not kept: the file is larger than %(size)s MB.") % {
            "size": settings.CONVERSATIONS_MEDIA_MAX_BYTES // (1024 * 1024)
        }
    if error.code == "type_not_allowed":
        return _("Not kept: files of this type are not accepted.")
    return _("The file could not be fetched (error %(code)s): %(detail)s") % {
        "code": error.code,
        "detail": error.message,
    }


def download(message_id: int) -> Message | None:
    """Fetch and keep the file of a received message; a refusal is kept on the message, in words."""
    message = (
        Message.objects.select_related("lead__brand")
        .filter(pk=message_id, media_state=Message.MediaState.PENDING)
        .first()
    )
    if message is None:
        return None
    number = WhatsAppNumber.objects.filter(brand_id=message.lead.brand_id).first()
    token = cloud_api.token_for(message.lead.brand.code)
    account = cloud_api.Account(number.phone_number_id if number else "", token)
    try:
        media = cloud_api.fetch_media(
            account,
            message.media_id,
            settings.CONVERSATIONS_MEDIA_MAX_BYTES,
            settings.CONVERSATIONS_MEDIA_TYPES,
        )
    except cloud_api.ApiError as error:
        refused = error.code in ("too_large", "type_not_allowed")
        message.media_state = Message.MediaState.REFUSED if refused else Message.MediaState.FAILED
        message.error = refusal(error)[:2000]
        message.error_code = error.code[:40]
        message.save(update_fields=["media_state", "error", "error_code"])
        return message
    with transaction.atomic():
        message.media_file.save(safe_name(message, media.mime_type), ContentFile(media.content), save=False)
        message.media_type = media.mime_type
        message.media_size = len(media.content)
        message.media_state = Message.MediaState.STORED
        message.save(update_fields=["media_file", "media_type", "media_size", "media_state"])
    return message
