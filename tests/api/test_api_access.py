"""Every role through the API: a token sees exactly what its owner sees in the admin (crm.access), in
the listing, the detail, the events and incremental paging, and acts only where the admin lets them."""

import pytest

from crm.intake import LeadData, create_lead
from crm.models import Lead, LeadEvent, Source
from crm.services import add_note, assign
from tests.api.conftest import extract

ROLES = ["admin", "manager", "other_manager", "employee", "other_employee", "marketer"]
SEES = {
    "admin": {"victim", "target", "intrapal"},
    "manager": {"victim", "target"},
    "other_manager": {"intrapal"},
    "employee": {"victim"},
    "other_employee": set(),
    "marketer": set(),
}
ACTS = {"admin", "manager", "employee"}


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
def leads(people, brands):
    phone = Source.objects.get(key="phone")

    def lead(brand, name):
        return create_lead(
            LeadData(brand=brands[brand], contact_name=name, source=phone), actor=people["admin"]
        )

    victim = assign(lead("intralog", "Victima Uno"), people["employee"], actor=people["manager"])
    add_note(victim, people["employee"], "Called")
    target = lead("intralog", "Destino Dos")
    intrapal = lead("intrapal", "Intrapal Tres")
    return {"victim": victim, "target": target, "intrapal": intrapal}


def names_of(rows, leads):
    by_id = {lead.pk: name for name, lead in leads.items()}
    return {by_id[row["id"]] for row in rows}


@pytest.mark.parametrize("role", ROLES)
def test_listing_and_paging_show_only_the_owners_leads(role, people, leads, api_for):
    api = api_for(people[role])
    rows, _pages = extract(api, limit=1)
    assert names_of(rows, leads) == SEES[role]
    assert len(rows) == len(SEES[role])


@pytest.mark.parametrize("role", ROLES)
def test_filters_never_widen_what_a_token_sees(role, people, leads, api_for, brands):
    api = api_for(people[role])
    for params in (
        {"assignee": str(people["employee"].pk)},
        {"assignee": "unassigned"},
        {"q": "Intrapal"},
        {"stage": "active"},
    ):
        response = api.get("/leads", params)
        assert response.status_code in (200, 400), (params, response.content)
        if response.status_code == 200:
            assert names_of(response.json()["results"], leads) <= SEES[role]
    foreign = api.get("/leads", {"brand": str(brands["intrapal"].pk)})
    if "intrapal" in SEES[role]:
        assert names_of(foreign.json()["results"], leads) == {"intrapal"}
    else:
        assert foreign.status_code == 400 or foreign.json()["results"] == []


@pytest.mark.parametrize("role", ROLES)
def test_detail_and_events_only_of_visible_leads(role, people, leads, api_for):
    api = api_for(people[role])
    for name, lead in leads.items():
        detail = api.get(f"/leads/{lead.pk}")
        events = api.get(f"/leads/{lead.pk}/events")
        if name in SEES[role]:
            assert detail.status_code == 200 and detail.json()["id"] == lead.pk
            assert {row["id"] for row in events.json()} == set(
                LeadEvent.objects.filter(lead=lead).values_list("pk", flat=True)
            )
        else:
            assert detail.status_code == 404
            assert events.status_code == 404
    rows, _pages = extract(api, "/events", limit=3)
    visible = {leads[name].pk for name in SEES[role]}
    assert {row["lead_id"] for row in rows} == visible
    assert len(rows) == LeadEvent.objects.filter(lead_id__in=visible).count()


@pytest.mark.parametrize("role", ROLES)
def test_writes_follow_the_admins_rules(role, people, leads, api_for):
    api = api_for(people[role])
    victim = leads["victim"]
    before = LeadEvent.objects.filter(lead=victim).count()
    note = api.post(f"/leads/{victim.pk}/notes", {"note": "From the API"})
    moved = api.post(f"/leads/{victim.pk}/status", {"status": "contacted"})
    if role in ACTS:
        assert note.status_code == 201, note.content
        assert moved.status_code == 200, moved.content
        assert LeadEvent.objects.filter(lead=victim).count() == before + 2
        assert Lead.objects.get(pk=victim.pk).status.key == "contacted"
    else:
        assert note.status_code == 404
        assert moved.status_code == 404
        assert LeadEvent.objects.filter(lead=victim).count() == before


def test_employee_moves_only_forward_and_lost_needs_a_reason(people, leads, api_for):
    api = api_for(people["employee"])
    victim = leads["victim"]
    assert api.post(f"/leads/{victim.pk}/status", {"status": "contacted"}).status_code == 200
    assert api.post(f"/leads/{victim.pk}/status", {"status": "assigned"}).status_code == 403
    lost = api.post(f"/leads/{victim.pk}/status", {"status": "not_viable"})
    assert lost.status_code == 422
    lost = api.post(
        f"/leads/{victim.pk}/status", {"status": "not_viable", "note": "No budget", "lost_reason": "price"}
    )
    assert lost.status_code in (200, 422), lost.content
    assert api.post(f"/leads/{victim.pk}/status", {"status": "no-such"}).status_code == 422


@pytest.mark.parametrize("role", ROLES)
def test_catalogues_and_people_say_no_more_than_names_and_roles(role, people, leads, api_for):
    api = api_for(people[role])
    for path in ("/statuses", "/services", "/sources", "/campaigns"):
        assert api.get(path).status_code == 200
    persons = api.get("/people").json()
    for person in persons:
        assert set(person) == {"id", "name", "role", "is_active"}
    if role == "other_manager":
        assert people["employee"].pk not in {person["id"] for person in persons}


@pytest.mark.parametrize("role", ROLES)
def test_daily_figures_follow_the_dashboards_scope(role, people, leads, api_for, brands):
    from dashboards.models import PersonBrandDay

    rows = PersonBrandDay.objects.all()
    api = api_for(people[role])
    response = api.get("/dashboards/daily", {"since": "2000-01-01", "until": "2000-12-31"})
    assert response.status_code == 200
    response = api.get("/dashboards/daily", {"since": "2000-01-01", "until": "2030-12-31"})
    assert response.status_code == 400
    today = leads["victim"].updated_at.date().isoformat()
    served = api.get("/dashboards/daily", {"since": today, "until": today}).json()
    if role == "admin":
        assert len(served) == rows.filter(day=today).count()
    if role in ("marketer", "other_employee"):
        assert served == []
    for row in served:
        if role == "employee":
            assert row["person_id"] == people["employee"].pk
        if role == "manager":
            assert row["brand_id"] == brands["intralog"].pk
        if role == "other_manager":
            assert row["brand_id"] == brands["intrapal"].pk
