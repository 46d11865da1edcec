"""The connector registry: a WordPress shape is one connector class, registered in ``connectors.REGISTERED``."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from crm.models import Lead
from tests.fake_wordpress import run_queued_jobs
from wordpress import connectors
from wordpress.connectors import (
    CollectionConnector,
    Connector,
    connector_for,
    pulled_shapes,
    record,
    webhook_kind,
)
from wordpress.models import SourceForm, Submission, WordPressSource
from wordpress.retry import retry_submission


def test_every_pulled_shape_is_a_source_shape_and_the_reverse():
    assert set(pulled_shapes()) == set(WordPressSource.Shape.values)


@pytest.mark.parametrize(
    ("payload", "form_encoded", "kind"),
    [
        (
            {"form[id]": "3", "fields[name][value]": "Ana", "form_id": "3", "1": "x"},
            True,
            "elementor_advanced",
        ),
        ({"form_id": "3", "1.3": "Ana"}, True, "gravity"),
        ({"form_id": "3", "1.3": "Ana"}, False, "gravity"),
        ({"form_id": "3", "Nombre": "Ana"}, True, "elementor_simple"),
        ({"form[id]": "3"}, False, "generic"),
        ([{"form_id": "3", "1": "Ana"}], False, "generic"),
        ("text", False, "generic"),
    ],
)
def test_webhook_bodies_go_to_the_first_registered_connector_that_reads_them(payload, form_encoded, kind):
    assert webhook_kind(payload, form_encoded) == kind


class FormidableConnector(Connector):
    """A made-up shape that only sends webhooks: ``item_key``, ``form_id`` and ``item_meta[<label>]``."""

    WEBHOOK_KIND = "formidable"

    @classmethod
    def reads_webhook(cls, payload, form_encoded):
        return form_encoded and isinstance(payload, dict) and "item_key" in payload

    def webhook_record(self, item, raw, fallback_id, received_at):
        fields = {
            key[len("item_meta[") : -1]: value for key, value in item.items() if key.startswith("item_meta[")
        }
        return record(self.source, item.get("form_id", ""), item["item_key"], received_at, fields, raw)


class OtherCollectionConnector(CollectionConnector):
    SHAPE = "other-collection"


@pytest.fixture
def added_shapes(monkeypatch):
    monkeypatch.setattr(
        connectors, "REGISTERED", (FormidableConnector, OtherCollectionConnector, *connectors.REGISTERED)
    )


def test_a_shape_registered_in_one_place_is_pulled_by_its_connector(added_shapes):
    source = WordPressSource(name="Other", shape="other-collection", url="http://127.0.0.1:9/none")
    assert type(connector_for(source)) is OtherCollectionConnector


def test_a_shape_registered_in_one_place_reads_its_webhooks_and_their_retries(
    added_shapes, brands, client, django_capture_on_commit_callbacks
):
    source = WordPressSource.objects.create(
        name="Sitio Formidable", slug="formidable", shape="collection", url="http://127.0.0.1:9/none"
    )
    SourceForm.objects.create(source=source, form_id="3", brand=brands["intralog"])
    url = reverse("wordpress:webhook_token", args=[source.slug, source.webhook_token])

    def send(form_id, key):
        body = {
            "item_key": key,
            "form_id": form_id,
            "item_meta[Nombre]": "Ana Paz",
            "item_meta[Email]": "ana@x.com",
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                url, data=urlencode(body), content_type="application/x-www-form-urlencoded"
            )
        run_queued_jobs("high")
        assert response.status_code == 202

    send("3", "fm-1")
    lead = Lead.objects.get(external_source=source.external_key, external_id="fm-1")
    assert (lead.contact_name, lead.email) == ("Ana Paz", "ana@x.com")
    assert Submission.objects.get(lead=lead).payload["_webhook"] == "formidable"

    send("9", "fm-2")
    held = Submission.objects.get(source=source, external_id="fm-2")
    assert held.state == Submission.State.QUARANTINED
    SourceForm.objects.create(source=source, form_id="9", brand=brands["intralog"])
    retried = retry_submission(held)
    assert (retried.contact_name, retried.external_form) == ("Ana Paz", "9")
