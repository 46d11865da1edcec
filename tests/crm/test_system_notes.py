"""What the system writes about a lead is stored as a code and read in the reader's language; rule
names (seeded or not) have a Spanish name; the Spanish admin says "Agregar", never "Añadir"."""

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import translation
from wagtail.users.models import UserProfile

from alerts.demo import seed as seed_alert_rules
from alerts.models import AlertRule, Trigger
from crm import system_notes
from crm.intake import LeadData, create_lead
from crm.models import AssignmentRule, ClassificationRule, Lead, LeadEvent
from tests.admin_urls import argless_admin_urls
from tests.page_text import visible_text

JOB_SEEKER_OPTION = "Busco trabajo / Ofrezco productos o servicios"
ENGLISH_REASON = "Matched rules: “Job seeker or vendor”."
SPANISH_REASON = "Reglas que coincidieron: “Busca trabajo u ofrece productos”."


def in_spanish(user):
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "es-ar"
    profile.save()
    return user


def job_seeker(brands, language, **fields):
    with translation.override(language):
        return create_lead(
            LeadData(
                brand=brands["intralog"], contact_name="Juan Busca", service_text=JOB_SEEKER_OPTION, **fields
            )
        )


def test_the_reason_is_stored_the_same_whoever_triggers_it(brands):
    spanish, english = job_seeker(brands, "es-ar"), job_seeker(brands, "en")
    assert spanish.classification_reason == english.classification_reason
    assert system_notes.decode(spanish.classification_reason)[0] == system_notes.MATCHED_RULES
    notes = set(LeadEvent.objects.filter(kind="classified").values_list("note", flat=True))
    assert notes == {spanish.classification_reason}


def test_the_reason_reads_in_the_readers_language(brands):
    lead = job_seeker(brands, "es-ar")
    with translation.override("en"):
        assert lead.get_classification_reason_display() == ENGLISH_REASON
    with translation.override("es-ar"):
        assert lead.get_classification_reason_display() == SPANISH_REASON


def test_the_lead_page_shows_reason_and_notes_in_the_readers_language(
    brands, admin_user, manager, client_for
):
    first = create_lead(LeadData(brand=brands["intralog"], contact_name="Ana", email="ana@example.com"))
    with translation.override("es-ar"):
        repeat = create_lead(LeadData(brand=brands["intralog"], contact_name="Ana", email="ana@example.com"))
    url = reverse("crm_leads:inspect", args=[repeat.pk])
    english = visible_text(client_for(admin_user).get(url).content.decode())
    assert "No classification rule matched." in english and f"Repeats lead #{first.pk}." in english
    spanish = visible_text(client_for(in_spanish(manager)).get(url).content.decode())
    assert "No coincidió ninguna regla de clasificación." in spanish
    assert f"Repite el lead #{first.pk}." in spanish
    assert "No classification rule matched." not in spanish


def test_rule_assignment_note_reads_in_the_readers_language(brands, employee):
    rule = AssignmentRule.objects.create(
        name="Todo a Elena", mode=AssignmentRule.Mode.FIXED, owner=employee, brand=brands["intralog"]
    )
    with translation.override("es-ar"):
        lead = create_lead(LeadData(brand=brands["intralog"], contact_name="Ana"))
    note = lead.events.get(kind="assigned").note
    assert system_notes.decode(note) == (system_notes.ASSIGNED_BY_RULE, {"rule": {"name": rule.name}})
    with translation.override("en"):
        assert system_notes.render(note) == "Assigned by rule “Todo a Elena”."


def test_people_notes_stay_as_written():
    assert system_notes.render("Llamar el lunes") == "Llamar el lunes"
    assert system_notes.render('{"code": "not_a_code"}') == '{"code": "not_a_code"}'
    assert system_notes.render('{"code": broken') == '{"code": broken'


def test_the_migration_turns_recognisable_texts_into_codes(brands):
    migration = importlib.import_module("crm.migrations.0055_system_notes_as_codes")
    legacy = {
        "No classification rule matched.": system_notes.encode(system_notes.NO_RULE_MATCHED),
        "Reglas que coincidieron: “Busca trabajo u ofrece productos”.": system_notes.encode(
            system_notes.MATCHED_RULES,
            rules=[{"name": "Job seeker or vendor", "name_es": "Busca trabajo u ofrece productos"}],
        ),
        "Matched rules: “Gone rule”, “Link spam”.": system_notes.encode(
            system_notes.MATCHED_RULES,
            rules=[{"name": "Gone rule"}, {"name": "Link spam", "name_es": "Spam de enlaces"}],
        ),
        "Written by hand": "Written by hand",
    }
    leads = {}
    for text in legacy:
        lead = create_lead(LeadData(brand=brands["intralog"], contact_name=text[:20]))
        Lead.objects.filter(pk=lead.pk).update(classification_reason=text)
        lead.events.filter(kind="classified").update(note=text)
        leads[text] = lead
    extra = create_lead(LeadData(brand=brands["intralog"], contact_name="Otra"))
    repeat = extra.events.get(kind="classified")
    repeat.note = "Repite el lead #12345."
    repeat.save()
    assigned = extra.events.get(kind="created")
    assigned.kind, assigned.note = "assigned", "Tomado manualmente."
    assigned.save()

    migration.code_system_notes(apps, None)

    for text, code in legacy.items():
        lead = Lead.objects.get(pk=leads[text].pk)
        assert lead.classification_reason == code
        assert lead.events.get(kind="classified").note == code
    repeat.refresh_from_db()
    assigned.refresh_from_db()
    assert system_notes.decode(repeat.note) == (system_notes.REPEATS_LEAD, {"pk": 12345})
    assert assigned.note == system_notes.encode(system_notes.TAKEN_BY_HAND)


def test_seeded_classification_rules_have_spanish_names(db):
    names = dict(ClassificationRule.objects.values_list("name", "name_es"))
    assert names["Job seeker or vendor"] == "Busca trabajo u ofrece productos"
    assert names["Link spam"] and names["Spam keywords"]


def test_alert_rule_names_read_in_the_readers_language(admin_user, client_for):
    seed_alert_rules(StringIO(), {})
    rule = AlertRule.objects.get(name="New leads to the brand managers")
    assert rule.name_es == "Leads nuevos a los gerentes de la marca"
    AlertRule.objects.create(name="Solo inglés", trigger=Trigger.NEW_LEAD)
    english = visible_text(client_for(admin_user).get(reverse("alert_rules:index")).content.decode())
    assert "New leads to the brand managers" in english and "Solo inglés" in english
    spanish = visible_text(
        client_for(in_spanish(admin_user)).get(reverse("alert_rules:index")).content.decode()
    )
    assert "Leads nuevos a los gerentes de la marca" in spanish
    assert "New leads to the brand managers" not in spanish and "Solo inglés" in spanish


@pytest.mark.django_db  # declared, not only requested by name: pytest-django orders db tests before transactional ones
@pytest.mark.parametrize("who", ["admin_user", "manager", "marketer"])
def test_the_spanish_admin_says_agregar(request, client_for, who):
    client = client_for(in_spanish(request.getfixturevalue(who)))
    said = {}
    for path, _name in argless_admin_urls():
        if any(part in path for part in ("logout", "failwhale", "test404", "sprite", "jsi18n", "/api/")):
            continue
        response = client.get(path)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            text = response.content.decode()
            if "Añad" in text or "añad" in text:
                said[path] = [line.strip() for line in text.splitlines() if "ñad" in line][:3]
    assert said == {}
    if who == "admin_user":
        users = visible_text(client.get(reverse("wagtailusers_users:index")).content.decode())
        assert "Agregar un usuario" in users or "Agregar usuario" in users


def test_the_spanish_admin_scripts_say_agregar(client_for, admin_user):
    """Wagtail's JavaScript catalogue (comments, choosers) follows the same vocabulary."""
    catalogue = client_for(in_spanish(admin_user)).get(reverse("wagtailadmin_javascript_catalog"))
    text = catalogue.content.decode()
    assert "Agregar un comentario" in text
    assert "Añad" not in text and "añad" not in text
