"""An erasure and an intake of the same person at once, on PostgreSQL: whichever starts first, nothing of
the person is left afterwards (the intake's lead is erased, or the intake is refused)."""

import threading
import time

import pytest
from django.db import connection, transaction

from crm.intake import LeadData, PersonErased, create_lead
from crm.models import Lead, Source
from privacy import services as privacy
from tests.threads import in_thread

from .support import EMAIL, MESSAGE, NAME, PHONE

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks need PostgreSQL"),
]


def _data(brands):
    return LeadData(
        brand=brands["intralog"],
        contact_name=NAME,
        email=EMAIL,
        phone=PHONE,
        message=MESSAGE,
        source=Source.objects.get(key="phone"),
    )


def _hold(work, ready, release):
    with transaction.atomic():
        value = work()
        ready.set()
        release.wait(10)
    return value


def test_an_erasure_waits_for_an_intake_in_flight_and_erases_its_lead(brands, admin_user):
    create_lead(_data(brands))
    ready, release = threading.Event(), threading.Event()
    intake, intake_result = in_thread(_hold, lambda: create_lead(_data(brands)).pk, ready, release)
    assert ready.wait(10)
    erasure, erasure_result = in_thread(privacy.erase_person, "email", EMAIL, admin_user)
    time.sleep(0.5)
    assert erasure.is_alive(), "the erasure waits for the intake's commit"
    release.set()
    intake.join(10)
    erasure.join(10)
    assert "error" not in erasure_result and "error" not in intake_result
    assert intake_result["value"] in erasure_result["value"].lead_ids
    assert not Lead.objects.filter(contact_name=NAME).exists()
    assert not Lead.objects.filter(email=EMAIL.lower()).exists()


def test_an_intake_waits_for_an_erasure_in_flight_and_is_refused(brands, admin_user):
    create_lead(_data(brands))
    ready, release = threading.Event(), threading.Event()
    erasure, erasure_result = in_thread(
        _hold, lambda: privacy.erase_person("email", EMAIL, admin_user), ready, release
    )
    assert ready.wait(10)
    intake, intake_result = in_thread(create_lead, _data(brands))
    time.sleep(0.5)
    assert intake.is_alive(), "the intake waits for the erasure's commit"
    release.set()
    erasure.join(10)
    intake.join(10)
    assert "error" not in erasure_result
    assert isinstance(intake_result.get("error"), PersonErased)
    assert not Lead.objects.filter(contact_name=NAME).exists()
