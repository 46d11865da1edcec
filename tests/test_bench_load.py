"""The load benchmark's post-run checks on a tiny scale (no Locust, no servers): what the users sent,
found in the database once, lost, or doubled."""

import json

import pytest

from bench import load_scenario
from crm import services
from crm.intake import LeadData, create_lead
from crm.models import Lead, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(brands, manager, other_manager, jobs_in_process):
    load_scenario._alert_rule()
    return brands


def _lead(brands, marker, brand="intralog"):
    data = LeadData(
        brand=brands[brand],
        contact_name="Contacto de carga",
        email=f"{marker}{load_scenario.LOAD_DOMAIN}",
        source=Source.objects.get(key="web_form"),
        message="Quiero cotizar almacenaje.",
    )
    return create_lead(data)


def _marks(tmp_path, *marks):
    path = tmp_path / "marks.jsonl"
    path.write_text("".join(json.dumps(mark) + "\n" for mark in marks))
    return path


def _row(checks, start):
    return next(row for row in checks.rows if row.name.startswith(start))


def test_everything_found_once_passes(scenario, employee, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        form_lead = _lead(scenario, "r1-f1x1")
        _lead(scenario, "r1-w1x1", brand="intrapal")
        services.add_note(form_lead, employee, "Carga r1-n1x1: llamé, pide cotización.")
    marks = _marks(
        tmp_path,
        {"kind": "form", "marker": "r1-f1x1", "ok": True},
        {"kind": "webhook", "marker": "r1-w1x1", "ok": True},
        {"kind": "note", "marker": "r1-n1x1", "ok": True},
        {"kind": "form", "marker": "r1-f1x2", "ok": False},
    )

    checks = load_scenario.check(marks, since=form_lead.received_at)

    assert checks.ok, checks.table()
    assert _row(checks, "lead form").found == 1
    assert "1 not acknowledged" in _row(checks, "lead form").note
    assert _row(checks, "signed webhooks").found == 1
    assert _row(checks, "notes").found == 1
    assert _row(checks, "new leads").found == 2  # noqa: PLR2004
    alerts = _row(checks, "new-lead alerts")
    assert (alerts.sent, alerts.found) == (2, 2)
    assert _row(checks, "dashboards rollup").lost == 0


def test_lost_and_doubled_are_counted(scenario, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _lead(scenario, "r2-w1x1")
        Lead.objects.filter(pk=first.pk).update(email="r2-w1x1@load.example")
        _lead(scenario, "r2-w1x1")
    marks = _marks(
        tmp_path,
        {"kind": "webhook", "marker": "r2-w1x1", "ok": True},
        {"kind": "form", "marker": "r2-f1x1", "ok": True},
        {"kind": "status", "marker": "r2-s1x1", "ok": True},
    )

    checks = load_scenario.check(marks, since=first.received_at)

    assert not checks.ok
    assert _row(checks, "signed webhooks").doubled == 1
    assert _row(checks, "lead form").lost == 1
    assert _row(checks, "status changes").lost == 1
    assert "❌" in checks.table()


def test_the_rollup_check_sees_a_row_the_events_do_not_explain(scenario, employee, tmp_path):
    from dashboards.models import PersonDay

    lead = _lead(scenario, "r3-f1x1")
    services.add_note(lead, employee, "Carga r3-n1x1: nota")
    row = PersonDay.objects.filter(person_id=employee.pk).first()
    assert row is not None
    PersonDay.objects.filter(pk=row.pk).update(activity=row.activity + 1)

    checks = load_scenario.check(_marks(tmp_path), since=lead.received_at)

    assert _row(checks, "dashboards rollup").lost == 1


def test_the_scale_out_run_uses_the_shipped_proxy_config_with_its_own_servers():
    from bench.load import WEB_WORKERS, haproxy_config

    config = haproxy_config(18080, [18001, 18002])
    lines = [line.strip() for line in config.splitlines()]
    assert "bind 127.0.0.1:18080" in lines
    assert [line for line in lines if line.startswith("server ")] == [
        "server app1 127.0.0.1:18001",
        "server app2 127.0.0.1:18002",
    ]
    assert "http-request disable-l7-retry if METH_POST !wordpress_webhook !carried_out_once" in lines
    assert "acl carried_out_once url_param(once) -m found" in lines
    assert "option http-buffer-request" in lines
    assert "acl wordpress_webhook path_reg ^/integrations/wordpress/[^/]+/hook/" in lines
    default_server = next(line for line in lines if line.startswith("default-server "))
    assert f"maxconn {WEB_WORKERS}" in default_server and "on-error mark-down" in default_server


def test_capacity_modes_scale_out_like_their_kin_and_reject_unknown_modes():
    from bench.load import MODE_TITLES, child, scaled_out

    assert [mode for mode in MODE_TITLES if scaled_out(mode)] == ["two", "capacity-two"]
    with pytest.raises(SystemExit, match="Unknown load modes three"):
        child(1, ["one", "three"], quick=True)


def test_an_app_servers_cpu_quota_is_its_share_of_the_cgroup_period(tmp_path, monkeypatch):
    from bench import load

    group = tmp_path / "intralog-load-app1"
    group.mkdir()
    (group / "cpu.cfs_period_us").write_text("100000\n")
    monkeypatch.setattr(load, "CPU_CGROUPS", tmp_path)

    assert load.cpu_quota("intralog-load-app1", 0.5) == group / "cgroup.procs"
    assert (group / "cpu.cfs_quota_us").read_text() == "50000"
    monkeypatch.setattr(load, "CPU_CGROUPS", tmp_path / "missing" / "cpu")
    with pytest.raises(RuntimeError, match="LOAD_APP_CORES needs a writable CPU cgroup"):
        load.cpu_quota("intralog-load-app1", 0.5)
