"""The command line: wp_source add/list/show/remove, wp_sync, wp_reconcile."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from crm.models import Lead
from tests.fake_wordpress import *  # noqa: F403 - fixtures
from wordpress.models import SourceForm, WordPressSource


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


@pytest.fixture
def added(fake_wp, brands, monkeypatch):
    monkeypatch.setenv("WP_PASS", fake_wp.password)
    run(
        "wp_source", "add", "Sitio INTRAPAL",
        "--shape", "collection", "--url", fake_wp.collection_url, "--user", fake_wp.username,
        "--password-env", "WP_PASS", "--timezone", "America/Argentina/Cordoba",
        "--form", "3:intralog", "--form", "7:INTRAPAL:Compra de pallets",
    )  # fmt: skip
    return WordPressSource.objects.get(name="Sitio INTRAPAL")


def test_add_reads_the_password_from_the_environment(added, fake_wp):
    assert added.app_password == fake_wp.password
    assert added.slug == "sitio-intrapal" and added.timezone == "America/Argentina/Cordoba"
    forms = {form.form_id: form for form in SourceForm.objects.filter(source=added)}
    assert forms["3"].brand.code == "intralog"
    assert forms["7"].brand.code == "intrapal" and forms["7"].default_service.name == "Compra de pallets"


def test_list_and_show_never_print_the_password(added, fake_wp):
    listing = run("wp_source", "list")
    assert "Sitio INTRAPAL" in listing and "collection" in listing
    shown = run("wp_source", "show", "Sitio INTRAPAL")
    assert "Sitio INTRAPAL" in shown and "set" in shown
    for text in (listing, shown):
        assert fake_wp.password not in text and fake_wp.password.replace(" ", "") not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--password-env", "NOT_THERE", "--form", "3:intralog"], "NOT_THERE"),
        (["--form", "3:nobrand"], "nobrand"),
        (["--form", "3"], "ID:BRAND"),
        (["--timezone", "Mars/Olympus", "--form", "3:intralog"], "Mars/Olympus"),
        ([], "--form"),
    ],
)
def test_add_rejects_bad_input_clearly(brands, args, message):
    with pytest.raises(CommandError, match=message):
        run("wp_source", "add", "X", "--shape", "legacy", "--url", "http://127.0.0.1:9/x", *args)
    assert not WordPressSource.objects.exists()


def test_add_refuses_a_second_source_with_the_same_name(added):
    with pytest.raises(CommandError, match="exists"):
        run(
            "wp_source",
            "add",
            "Sitio INTRAPAL",
            "--shape",
            "legacy",
            "--url",
            "http://x.example/",
            "--form",
            "3:intralog",
        )


def test_remove(added):
    assert "Removed" in run("wp_source", "remove", "Sitio INTRAPAL")
    assert not WordPressSource.objects.exists()
    with pytest.raises(CommandError):
        run("wp_source", "remove", "Sitio INTRAPAL")


def test_wp_sync_prints_counts_and_reconcile_agrees(added, fake_wp, fast_retries):
    output = run("wp_sync", "Sitio INTRAPAL")
    assert "form 3: fetched=12 created=12 updated=0 duplicates=0 quarantined=0" in output
    assert "form 7: fetched=5 created=5" in output
    assert Lead.objects.count() == 17
    assert "No differences" in run("wp_reconcile", "Sitio INTRAPAL")
    full = run("wp_sync", "Sitio INTRAPAL", "--full")
    assert "form 3: fetched=12 created=0 updated=0 duplicates=12" in full


def test_wp_sync_exits_non_zero_on_failure(added, fake_wp, fast_retries):
    fake_wp.fail(path="form_id=7", status=500, body="html", times=5)
    with pytest.raises(CommandError, match="Sitio INTRAPAL"):
        run("wp_sync")
    assert Lead.objects.filter(external_form="3").count() == 12


def test_wp_sync_unknown_name(added):
    with pytest.raises(CommandError, match="No source"):
        run("wp_sync", "Otro")


def test_wp_reconcile_reports_missing_and_extra(added, fake_wp, fast_retries):
    run("wp_sync", "Sitio INTRAPAL")
    new_id = fake_wp.add("3")
    gone = fake_wp.submissions["7"].pop(0)["id"]
    out = StringIO()
    with pytest.raises(CommandError, match="2 differences"):
        call_command("wp_reconcile", "Sitio INTRAPAL", stdout=out)
    text = out.getvalue()
    assert f"missing: {new_id}" in text
    assert f"extra: {gone}" in text


def test_wp_reconcile_fails_clearly_when_the_site_is_down(added, fake_wp, fast_retries):
    fake_wp.stop()
    with pytest.raises(CommandError, match="connect"):
        run("wp_reconcile", "Sitio INTRAPAL")
