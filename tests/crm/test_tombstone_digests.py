"""Tombstone digests stay Django's ``salted_hmac`` (SHA-256) of the same text, under the current secret."""

from django.utils.crypto import salted_hmac

from crm import tombstones
from crm.models import Tombstone


def test_a_digest_is_the_salted_hmac_of_its_kind_and_value():
    for kind, value in [(Tombstone.Kind.EMAIL, "ana@example.com"), (Tombstone.Kind.PHONE, "+5491155550000")]:
        expected = salted_hmac("intralog.crm.tombstones", f"{kind}:{value}", algorithm="sha256").hexdigest()
        assert tombstones.digest(kind, value) == expected


def test_a_digest_follows_the_secret_key(settings):
    before = tombstones.digest(Tombstone.Kind.EMAIL, "ana@example.com")
    settings.SECRET_KEY = "another secret, another key"
    after = tombstones.digest(Tombstone.Kind.EMAIL, "ana@example.com")
    assert after != before
    assert (
        after
        == salted_hmac(
            "intralog.crm.tombstones", "email:ana@example.com", secret=settings.SECRET_KEY, algorithm="sha256"
        ).hexdigest()
    )
