"""The person a privacy test fills the database with, and the sweep that looks for them in every column."""

import json

from django.apps import apps
from django.db import models

from crm.models import Tombstone
from privacy.models import PrivacyRequest

NAME = "Zenobia Quintanilla"
EMAIL = "Zenobia.Quintanilla@Privado-Zq.example"
PHONE = "011 15-6789-4321"
E164 = "+5491167894321"
COMPANY = "Fabrica Quintanillesca SRL"
LOCATION = "Barrio Zenobiano"
MESSAGE = "Mensaje intimo ZQX-7781"

NEEDLES = [
    "zenobia",
    "quintanilla",
    "quintanillesca",
    "privado-zq",
    "5491167894321",
    "1167894321",
    "6789-4321",
    "zqx-7781",
]
"""What must be gone (compared in lower case): every part of the person's data above."""

SKIPPED = {(Tombstone, "digest"), (PrivacyRequest, "subject_hash")}
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.BinaryField)


def text_columns():
    """``(model, field name)`` of every text, JSON and binary column of every table Django knows."""
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        for field in meta.concrete_fields:
            if isinstance(field, TEXT_FIELDS) and (model, field.name) not in SKIPPED:
                yield model, field


def _as_text(value):
    if value is None:
        return ""
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def find_person(needles=NEEDLES):
    """``[(table.column, row pk, needle)]`` wherever a needle is found in any text/JSON/binary column."""
    found = []
    for model, field in text_columns():
        for pk, value in model._default_manager.values_list("pk", field.attname).iterator():
            text = _as_text(value).lower()
            for needle in needles:
                if needle in text:
                    found.append((f"{model._meta.db_table}.{field.column}", pk, needle))
    return found
