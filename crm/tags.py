"""Readable labels of the tags the system puts on leads (people's own tags read as they typed them)."""

import re

from django.utils.translation import gettext_lazy as _

TAG_LABELS = {
    "duplicate": _("Duplicate"),
    "invalid-email": _("Invalid email"),
    "job_seeker_or_vendor": _("Job seeker or vendor"),
    "spam": _("Spam"),
    "unknown-service": _("Unknown service"),
    "wp-spam": _("Spam in WordPress"),
    "wp-trash": _("Trashed in WordPress"),
}

KEY_LIKE = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)+$")


def tag_label(name):
    """The translated label of a system tag; another key-like tag (``wp_trash``) in words."""
    label = TAG_LABELS.get(name.casefold())
    if label is not None:
        return str(label)
    if KEY_LIKE.match(name):
        words = re.sub(r"[_-]+", " ", name)
        return words[:1].upper() + words[1:]
    return name


def tag_labels(names):
    return [tag_label(name) for name in names]
