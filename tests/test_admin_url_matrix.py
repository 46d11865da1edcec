"""Every admin URL without arguments, as every role: no other brand's or other person's data, no 500.

Leads, people, invitations and rules carry distinctive strings; each role may read only the strings of
what it may see (the same rules as the lead listing and the people admin). Every URL from
``tests.admin_urls`` is requested, then every export link the page offers, and ``?export=csv`` and
``?export=xlsx`` where the view exports spreadsheets; no body may hold a string the role may not see.
"""

from html import unescape
from io import BytesIO
from zipfile import BadZipFile

import pytest
from django.urls import resolve, reverse
from openpyxl import load_workbook
from wagtail.admin.views.mixins import SpreadsheetExportMixin
from wagtail.log_actions import log

from alerts.models import AlertRule, Trigger
from crm import audit, saved_views
from crm import people as people_service
from crm.intake import LeadData, create_lead
from crm.models import AssignmentRule, ClassificationRule, Role, Source, User
from crm.services import add_note, assign
from imports.models import ImportRun
from legacy.models import LegacyImport
from tests.two_factor_support import sign_in_fully
from webhooks import interest as webhook_interest
from webhooks.models import Subscription
from webhooks.services import send_test

from .admin_urls import argless_admin_urls

ROLES = ["admin", "manager", "other_manager", "employee", "other_employee", "marketer"]

# Wagtail's deliberate error page (it raises for everyone) and the URL that ends the session.
SKIPPED = {"/admin/failwhale/", "/admin/logout/"}

SECRETS = {
    "employee_lead": [
        "Ernesto Propiolead",
        "Compania Propia Intralog",
        "ernesto.propio@lead-intralog.example",
    ],
    "colleague_lead": ["Otto Colegalead", "Compania Colega Intralog", "otto.colega@lead-intralog.example"],
    "intrapal_lead": ["Paloma Ajenalead", "Compania Ajena Intrapal", "paloma.ajena@lead-intrapal.example"],
    "employee_note": ["Nota reservada del vendedor propio"],
    "intrapal_note": ["Nota reservada de la marca ajena"],
    "intralog_person": ["vendedora.propia@people-intralog.example"],
    "intrapal_person": ["vendedor.ajeno@people-intrapal.example"],
    "intralog_invitation": ["invitada.propia@invite-intralog.example"],
    "intrapal_invitation": ["invitada.ajena@invite-intrapal.example"],
    "intrapal_rules": ["Regla alerta marca ajena", "Regla clasifica marca ajena", "Regla asigna marca ajena"],
    "global_rules": ["Regla alerta global reservada", "Regla clasifica global reservada"],
    "intrapal_view": ["Vista del equipo ajeno"],
    "manager_private_view": ["Vista privada del gerente"],
    "audit_entry": ["Registro de auditoria reservado"],
    "legacy_import": ["base-vieja-reservada.sqlite3"],
    "intralog_import": ["planilla-propia-intralog.csv"],
    "intrapal_import": ["planilla-ajena-intrapal.csv"],
    "webhook_subscription": ["Receptor reservado del ERP", "erp-reservado.example"],
}

SEES = {
    "admin": set(SECRETS) - {"manager_private_view"},
    "manager": {
        "employee_lead",
        "colleague_lead",
        "employee_note",
        "intralog_person",
        "intralog_invitation",
        "manager_private_view",
        "intralog_import",
    },
    "other_manager": {
        "intrapal_lead",
        "intrapal_note",
        "intrapal_person",
        "intrapal_invitation",
        "intrapal_rules",
        "intrapal_view",
        "intrapal_import",
    },
    "employee": {"employee_lead", "employee_note"},
    "other_employee": {"colleague_lead"},
    "marketer": set(),
}


@pytest.fixture
def people(admin_user, manager, other_manager, employee, other_employee, marketer):
    return {
        "admin": admin_user,
        "manager": manager,
        "other_manager": other_manager,
        "employee": employee,
        "other_employee": other_employee,
        "marketer": marketer,
    }


@pytest.fixture
def seeded(request, people, brands):
    """Leads, people, invitations and rules of both brands, each with log entries of its own."""
    intralog, intrapal = brands["intralog"], brands["intrapal"]
    phone = Source.objects.get(key="phone")
    manager, other_manager = people["manager"], people["other_manager"]

    def lead(brand, key, actor):
        name, company, email = SECRETS[key]
        return create_lead(
            LeadData(brand=brand, contact_name=name, company=company, email=email, source=phone), actor=actor
        )

    own = assign(lead(intralog, "employee_lead", manager), people["employee"], actor=manager)
    add_note(own, people["employee"], SECRETS["employee_note"][0])
    assign(lead(intralog, "colleague_lead", manager), people["other_employee"], actor=manager)

    def seller(key, brand):
        email = SECRETS[key][0]
        user = User.objects.create_user(username=email, email=email, role=Role.EMPLOYEE)
        user.brands.set([brand])
        return user

    intrapal_seller, intralog_seller = (
        seller("intrapal_person", intrapal),
        seller("intralog_person", intralog),
    )
    log(instance=intrapal_seller, action="wagtail.create", user=other_manager)
    log(instance=intralog_seller, action="wagtail.create", user=manager)
    people_service.set_active(other_manager, [intrapal_seller], False)
    people_service.set_active(other_manager, [intrapal_seller], True)

    foreign = assign(lead(intrapal, "intrapal_lead", other_manager), intrapal_seller, actor=other_manager)
    add_note(foreign, other_manager, SECRETS["intrapal_note"][0])

    people_service.invite(manager, SECRETS["intralog_invitation"][0], Role.EMPLOYEE, [intralog])
    people_service.invite(other_manager, SECRETS["intrapal_invitation"][0], Role.EMPLOYEE, [intrapal])

    alert_name, classification_name, assignment_name = SECRETS["intrapal_rules"]
    alert = AlertRule.objects.create(name=alert_name, trigger=Trigger.NEW_LEAD, notify_brand_managers=True)
    alert.brands.set([intrapal])
    alert.users.set([intrapal_seller])
    classification = ClassificationRule.objects.create(
        name=classification_name, brand=intrapal, pattern="zzz-never", add_tags="x", is_enabled=False
    )
    assignment = AssignmentRule.objects.create(
        name=assignment_name, brand=intrapal, mode="fixed", owner=intrapal_seller, is_enabled=False
    )
    global_alert_name, global_classification_name = SECRETS["global_rules"]
    global_alert = AlertRule.objects.create(name=global_alert_name, trigger=Trigger.NEW_LEAD, is_active=False)
    global_classification = ClassificationRule.objects.create(
        name=global_classification_name, pattern="zzz-never", add_tags="x", is_enabled=False
    )
    for rule in (alert, classification, assignment):
        log(instance=rule, action="wagtail.create", user=other_manager)
    for rule in (global_alert, global_classification):
        log(instance=rule, action="wagtail.create", user=people["admin"])
    saved_views.save_view(
        other_manager,
        name=SECRETS["intrapal_view"][0],
        kind="listing",
        query="stage=active",
        visibility="brand",
        brands=[intrapal],
    )
    saved_views.save_view(manager, name=SECRETS["manager_private_view"][0], kind="board", query="")
    audit.record(audit.PERSONAL_DATA_EXPORT, other_manager, target=SECRETS["audit_entry"][0])
    LegacyImport.objects.create(source=SECRETS["legacy_import"][0], started_by=people["admin"])
    for key, brand, owner in (
        ("intralog_import", intralog, manager),
        ("intrapal_import", intrapal, other_manager),
    ):
        ImportRun.objects.create(
            brand=brand, created_by=owner, file_name=SECRETS[key][0], file_hash="0" * 64, state="done"
        )
    name, host = SECRETS["webhook_subscription"]
    subscription = Subscription.objects.create(name=name, url=f"https://{host}/hook", events=["lead.created"])
    send_test(subscription)
    request.addfinalizer(webhook_interest.invalidate)  # later tests see no subscriber
    return {"intrapal_seller": intrapal_seller, "intralog_seller": intralog_seller}


def body_text(response):
    """The response body as text; spreadsheets are read cell by cell."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        try:
            workbook = load_workbook(BytesIO(raw))
        except BadZipFile:
            return raw.decode(errors="replace")
        return "\n".join(
            str(cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
        )
    return raw.decode(errors="replace")


def export_links(path, text):
    """The export links a page offers, as paths with their query strings."""
    links = set()
    for chunk in text.split('href="')[1:]:
        href = unescape(chunk.split('"', 1)[0])
        if "export=" not in href:
            continue
        if href.startswith("?"):
            href = path + href
        if href.startswith("/admin/"):
            links.add(href)
    return links


def exports_spreadsheets(path):
    view_class = getattr(resolve(path).func, "view_class", None)
    return bool(view_class and issubclass(view_class, SpreadsheetExportMixin))


def forbidden_for(role):
    return {text: key for key, texts in SECRETS.items() if key not in SEES[role] for text in texts}


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_url_shows_only_what_the_role_may_see(role, people, seeded, client):
    sign_in_fully(client, people[role])
    client.raise_request_exception = False
    forbidden = forbidden_for(role)
    leaks, errors, requested = [], [], set()

    def visit(url):
        if url in requested:
            return ""
        requested.add(url)
        response = client.get(url)
        if response.status_code >= 500:
            errors.append((url, response.status_code))
            return ""
        text = body_text(response)
        leaks.extend((url, key) for secret, key in forbidden.items() if secret.lower() in text.lower())
        return text

    for path, _name in argless_admin_urls():
        if path in SKIPPED:
            continue
        text = visit(path)
        for link in sorted(export_links(path, text)):
            visit(link)
        if exports_spreadsheets(path):
            visit(path + "?export=csv")
            visit(path + "?export=xlsx")

    assert (errors, sorted(set(leaks))) == ([], [])
    assert "/admin/reports/site-history/?export=csv" in requested
    assert reverse("crm_audit_trail:index") + "?export=csv" in requested


PERSONAL_DATA_URLS = [
    ("get", "privacy:request", {}),
    (
        "post",
        "privacy:request",
        {"subject_kind": "email", "subject": SECRETS["employee_lead"][2], "action": "export_json"},
    ),
    (
        "post",
        "privacy:request",
        {"subject_kind": "email", "subject": SECRETS["intrapal_lead"][2], "action": "export_html"},
    ),
    ("get", "privacy_request:index", {}),
]


@pytest.mark.parametrize("role", ROLES)
def test_personal_data_actions_are_for_admins_only(role, people, seeded, client):
    """The personal-data page, its exports and the request log: admins only (no role is given
    ``privacy.manage_personal_data``); the others are turned away without a byte of the person."""
    from privacy.models import PrivacyRequest

    sign_in_fully(client, people[role])
    client.raise_request_exception = False
    for method, name, data in PERSONAL_DATA_URLS:
        url = reverse(name)
        response = client.post(url, data) if method == "post" else client.get(url)
        text = body_text(response)
        if role == "admin":
            assert response.status_code == 200, (name, data)
        else:
            assert response.status_code in (302, 403), (role, name)
            assert not any(secret.lower() in text.lower() for secret in forbidden_for("marketer")), (
                role,
                name,
            )
    logged = PrivacyRequest.objects.first()
    if role == "admin":
        assert PrivacyRequest.objects.count() == 2
        inspect = client.get(reverse("privacy_request:inspect", args=[logged.pk]))
        assert inspect.status_code == 200
    else:
        assert logged is None
