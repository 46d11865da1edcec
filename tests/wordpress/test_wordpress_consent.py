"""A WordPress form's consent box reaches the lead (by label or by the form's field mapping), over real HTTP."""

from datetime import UTC, datetime

import pytest

from crm.lead_fields import consent_answer
from crm.models import Lead
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from wordpress.models import SourceForm, SyncRun
from wordpress.sync import sync_source

SUBMITTED = datetime(2026, 2, 3, 14, 0, tzinfo=UTC)


def lead_of(source, submission_id):
    return Lead.objects.get(external_source=source.external_key, external_id=str(submission_id))


# The fake Gravity form has a fixed field list; the mapping after the connector is the same for every shape.
@pytest.mark.parametrize("shape", ["legacy", "collection"])
def test_a_consent_answer_by_its_label_is_kept_with_the_submission_time(
    fake_wp, make_source, fast_retries, shape
):
    agreed = fake_wp.add(
        "3",
        fields={"Nombre y apellido": "Ana Paz", "Consentimiento": "Acepto la política v2"},
        created=SUBMITTED,
    )
    declined = fake_wp.add(
        "3", fields={"Nombre y apellido": "Luis Paz", "Consentimiento": "0"}, created=SUBMITTED
    )
    source = make_source(fake_wp, shape)
    assert sync_source(source).status == SyncRun.Status.SUCCEEDED
    lead = lead_of(source, agreed)
    assert lead.consent_version == "Acepto la política v2"
    assert lead.consent_at == SUBMITTED
    assert "Consentimiento" not in lead.extra
    other = lead_of(source, declined)
    assert other.consent_version == "" and other.consent_at is None


def test_the_field_mapping_can_name_the_consent_field(fake_wp, make_source, fast_retries):
    submission_id = fake_wp.add(
        "3", fields={"Nombre y apellido": "Ana", "Acepto términos 2026-03": "1"}, created=SUBMITTED
    )
    source = make_source(fake_wp, "legacy")
    SourceForm.objects.filter(source=source, form_id="3").update(
        field_mapping={"Acepto términos 2026-03": "consent"}
    )
    sync_source(source)
    lead = lead_of(source, submission_id)
    assert lead.consent_version == "1"
    assert lead.consent_at == SUBMITTED


@pytest.mark.parametrize(
    ("answer", "kept"),
    [("", ""), ("0", ""), ("No", ""), ("false", ""), (["Acepto"], "Acepto"), (True, "yes"), ("on", "on")],
)
def test_consent_answers(answer, kept):
    assert consent_answer(answer) == kept
