"""A source's application password and webhook secret are encrypted at rest and read back in clear."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from tests.fake_wordpress import *  # noqa: F403 - fixtures
from wordpress.client import WordPressClient
from wordpress.models import SyncRun, WordPressSource
from wordpress.sync import sync_source

PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"


def _stored(source, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM wordpress_wordpresssource WHERE id = %s", [source.pk])  # noqa: S608
        return cursor.fetchone()[0]


def _source(**extra):
    return WordPressSource.objects.create(
        name="Sitio", slug="sitio", shape="legacy", url="https://example.com/wp-json/leads/v1/forms", **extra
    )


@pytest.mark.django_db
def test_credentials_are_stored_encrypted_and_read_back_in_clear():
    source = _source(username="sync", app_password=PASSWORD)
    secret = source.webhook_secret
    stored_password, stored_secret = _stored(source, "app_password"), _stored(source, "webhook_secret")
    assert "abcd" not in stored_password and stored_password != PASSWORD
    assert secret not in stored_secret
    again = WordPressSource.objects.get(pk=source.pk)
    assert (again.app_password, again.webhook_secret) == (PASSWORD, secret)
    assert WordPressClient(again).session.auth == ("sync", PASSWORD.replace(" ", ""))


@pytest.mark.django_db
def test_a_source_without_a_password_stores_none_and_authenticates_with_an_empty_one():
    source = _source(username="sync")
    assert _stored(source, "app_password") is None
    again = WordPressSource.objects.get(pk=source.pk)
    assert not again.has_password
    assert WordPressClient(again).session.auth == ("sync", "")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_encrypts_existing_credentials_and_its_reverse_decrypts_them():
    source = _source(username="sync", app_password=PASSWORD)
    secret = source.webhook_secret
    try:
        call_command("migrate", "wordpress", "0003", verbosity=0)
        assert (_stored(source, "app_password"), _stored(source, "webhook_secret")) == (PASSWORD, secret)
    finally:
        call_command("migrate", "wordpress", verbosity=0)
    assert PASSWORD not in _stored(source, "app_password") and secret not in _stored(source, "webhook_secret")
    again = WordPressSource.objects.get(pk=source.pk)
    assert (again.app_password, again.webhook_secret) == (PASSWORD, secret)


@pytest.mark.django_db
def test_a_password_no_key_decrypts_fails_the_sync_as_credentials_with_the_reason(
    fake_wp, make_source, fast_retries
):
    source = make_source(fake_wp, "legacy")
    assert not source.password_unreadable
    other_key = Fernet(Fernet.generate_key()).encrypt(fake_wp.password.encode()).decode()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wordpress_wordpresssource SET app_password = %s WHERE id = %s", [other_key, source.pk]
        )
    source = WordPressSource.objects.get(pk=source.pk)
    assert source.password_unreadable
    asked = len(fake_wp.requests)
    run = sync_source(source)
    source.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED and "cannot be decrypted" in run.error
    assert source.health == WordPressSource.Health.CREDENTIALS_INVALID
    assert len(fake_wp.requests) == asked
