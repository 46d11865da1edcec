"""The lead board: columns by status with counts and first cards, the listing's filters and the row-level
scope, and the move a drop makes (the status form's rules and messages, the dialog's reason and date,
the concurrent move answered 409, bad input answered 400), in a number of queries that does not grow."""

import copy
import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import access, board, followups, intake, services
from crm.models import FollowUp, Lead, LeadEvent, LostReason, PipelineStatus, Priority, Service, Stage
from tests.threads import in_thread

pytestmark = pytest.mark.django_db

BOARD = "crm_leads:board"


def status(key):
    return PipelineStatus.objects.get(key=key)


def reason(key):
    return LostReason.objects.get(key=key)


def make_lead(brands, name, assignee=None, brand="intralog", key=None, **fields):
    lead = intake.create_lead(intake.LeadData(brand=brands[brand], contact_name=name, **fields))
    if assignee is not None:
        lead = services.assign(lead, assignee)
    if key is not None:
        lead = services.change_status(lead, status(key), note="set up")
    return lead


def move_url(lead):
    return reverse("crm_leads:board_move", args=[lead.pk])


def move(client, lead, to, seen=None, **data):
    """POST a drop of ``lead`` on ``to``, the card drawn in ``seen`` (default: where the lead is)."""
    seen = seen or Lead.objects.get(pk=lead.pk).status
    return client.post(
        move_url(lead),
        {"status": status(to).pk, "from_status": seen.pk, **data},
        HTTP_ACCEPT="application/json",
    )


def status_events(lead):
    return list(
        LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.STATUS_CHANGED)
        .order_by("pk")
        .values_list("from_value", "to_value", "actor__username")
    )


def cards_by_column(response):
    return {
        column.status.key: [card.contact_name for card in column.cards]
        for column in response.context["board"].columns
    }


@pytest.fixture
def leads(brands, employee, other_employee, intrapal_employee):
    return {
        "own": make_lead(brands, "Ana Propia", employee, company="Pallets SA"),
        "own_contacted": make_lead(brands, "Beto Contactado", employee, key="contacted"),
        "colleague": make_lead(brands, "Carla Colega", other_employee),
        "unassigned": make_lead(brands, "Dario Libre"),
        "intrapal": make_lead(brands, "Elena Intrapal", intrapal_employee, brand="intrapal"),
        "closed": make_lead(brands, "Fabio Ganado", employee, key="won"),
    }


class TestColumns:
    def test_a_column_per_open_status_in_pipeline_order_and_closed_ones_as_targets(
        self, client_for, manager, leads
    ):
        response = client_for(manager).get(reverse(BOARD))
        assert response.status_code == 200
        the_board = response.context["board"]
        statuses = list(PipelineStatus.objects.order_by("order", "pk"))
        assert [c.status.key for c in the_board.columns] == [s.key for s in statuses if not s.is_closed]
        assert [c.status.key for c in the_board.closed] == [s.key for s in statuses if s.is_closed]
        counts = {c.status.key: c.count for c in [*the_board.columns, *the_board.closed]}
        assert counts["assigned"] == 2 and counts["contacted"] == 1 and counts["pending"] == 1
        assert counts["won"] == 1
        assert cards_by_column(response)["assigned"] == ["Carla Colega", "Ana Propia"]  # newest first
        assert not any(column.cards for column in the_board.closed)
        content = response.content.decode()
        assert "Fabio Ganado" not in content  # closed leads are counted, not shown
        assert "data-requires-follow-up" in content and "data-requires-lost-reason" in content

    def test_card_shows_company_service_assignee_priority_and_next_action(
        self, client_for, manager, employee, brands
    ):
        service = Service.objects.filter(brand=brands["intralog"]).first()
        lead = make_lead(brands, "Gina Tarjeta", employee, company="Logistica Sur", service=service)
        services.edit_lead(lead, manager, {"priority": Priority.URGENT})
        due = timezone.now() + datetime.timedelta(days=2)
        followups.schedule_follow_up(lead, employee, due_at=due)
        card = client_for(manager).get(reverse(BOARD)).content.decode()
        card = card[card.index(f'data-lead="{lead.pk}"') :]
        card = card[: card.index("</li>")]
        assert "Gina Tarjeta" in card and "Logistica Sur" in card and service.name in card
        assert "employee1" in card and "Urgent" in card and "Next:" in card
        assert reverse("crm_leads:inspect", args=[lead.pk]) in card

    def test_sla_and_stale_badges(self, client_for, manager, employee, brands):
        late = make_lead(brands, "Hugo Atrasado", employee)
        Lead.objects.filter(pk=late.pk).update(
            assigned_at=timezone.now() - datetime.timedelta(hours=30),
            last_activity_at=timezone.now() - datetime.timedelta(days=30),
        )
        fresh = make_lead(brands, "Ines Reciente", employee)
        response = client_for(manager).get(reverse(BOARD))
        cards = {card.pk: card for column in response.context["board"].columns for card in column.cards}
        assert {flag.name for flag in cards[late.pk].board_flags} == {"sla", "stale"}
        assert cards[fresh.pk].board_flags == []
        assert "SLA overdue" in response.content.decode() and "Stale" in response.content.decode()

    def test_load_more_reads_after_the_last_card(self, client_for, manager, brands):
        for n in range(board.COLUMN_CARDS + 5):
            make_lead(brands, f"Lead {n:02d}")
        client = client_for(manager)
        response = client.get(reverse(BOARD))
        pending = response.context["board"].columns[0]
        assert pending.status.key == "pending" and pending.count == board.COLUMN_CARDS + 5
        assert len(pending.cards) == board.COLUMN_CARDS and pending.has_more
        more = client.get(pending.more_url)
        assert more.status_code == 200 and more.json()["more_url"] == ""
        html = more.json()["html"]
        assert [f"Lead {n:02d}" in html for n in range(5)] == [True] * 5
        assert "Lead 05" not in html

    def test_load_more_with_a_bad_cursor_is_a_400(self, client_for, manager, leads):
        client = client_for(manager)
        more = reverse("crm_leads:board_more")
        pending = status("pending").pk
        for query in (
            "",
            "?column=x",
            "?column=99999999999999999999&after=1-1",
            f"?column={pending}&after=nope",
            f"?column={pending}&after=9" * 30,
            f"?column={pending}&after=999999999999999999-1",
        ):
            assert client.get(more + query).status_code == 400
        assert client.get(more + "?column=999999&after=1-1").status_code == 400


class TestFiltersAndScope:
    def test_the_listing_filters_and_search_apply(self, client_for, manager, leads):
        client = client_for(manager)
        searched = cards_by_column(client.get(reverse(BOARD), {"q": "Ana"}))
        assert searched["assigned"] == ["Ana Propia"] and searched["pending"] == []
        unassigned = cards_by_column(client.get(reverse(BOARD), {"assignee": "unassigned"}))
        assert unassigned["pending"] == ["Dario Libre"] and unassigned["assigned"] == []
        results = client.get(reverse("crm_leads:board_results"), {"q": "Beto"})
        assert results.status_code == 200 and "Beto Contactado" in results.content.decode()
        assert "Ana Propia" not in results.content.decode()

    def test_bad_filter_values_are_ignored_not_a_500(self, client_for, manager, leads):
        response = client_for(manager).get(reverse(BOARD), {"assignee": "x", "status": "zz", "brand": "-1"})
        assert response.status_code == 200

    def test_employee_sees_own_leads_manager_their_brands(self, client_for, employee, manager, leads):
        own = cards_by_column(client_for(employee).get(reverse(BOARD)))
        assert own["assigned"] == ["Ana Propia"] and own["contacted"] == ["Beto Contactado"]
        assert own["pending"] == []
        brand = cards_by_column(client_for(manager).get(reverse(BOARD)))
        assert brand["assigned"] == ["Carla Colega", "Ana Propia"] and brand["pending"] == ["Dario Libre"]
        assert "Elena Intrapal" not in str(brand)

    def test_marketing_has_no_board(self, client_for, marketer, leads):
        client = client_for(marketer)
        for name in ("board", "board_results", "board_more"):
            response = client.get(reverse(f"crm_leads:{name}"))
            assert response.status_code in (302, 403) and "Ana Propia" not in response.content.decode()
        response = move(client, leads["own"], "contacted")
        assert response.status_code == 403
        assert Lead.objects.get(pk=leads["own"].pk).status.key == "assigned"

    def test_listing_and_board_link_to_each_other_with_the_filters(self, client_for, manager, leads):
        client = client_for(manager)
        listing = client.get(reverse("crm_leads:list"), {"q": "Ana"}).content.decode()
        assert f'href="{reverse(BOARD)}?q=Ana"' in listing
        board_page = client.get(reverse(BOARD), {"q": "Ana"}).content.decode()
        assert f'href="{reverse("crm_leads:list")}?q=Ana"' in board_page


class TestMove:
    def test_a_drop_moves_the_lead_through_the_service(self, client_for, employee, leads):
        lead = leads["own"]
        response = move(client_for(employee), lead, "contacted")
        assert response.status_code == 200
        data = response.json()
        assert data["ok"] and data["status"]["key"] == "contacted"
        assert (
            f'data-lead="{lead.pk}"' in data["card"]
            and f'data-status="{status("contacted").pk}"' in data["card"]
        )
        assert status_events(lead)[-1] == ("assigned", "contacted", "employee1")

    def test_into_a_closed_status_the_card_leaves_the_board(self, client_for, manager, leads):
        response = move(client_for(manager), leads["own"], "won")
        assert response.status_code == 200 and response.json()["card"] == ""

    def test_a_backward_move_is_refused_with_the_pipeline_rule_message(self, client_for, employee, leads):
        lead = leads["own_contacted"]
        before = status_events(lead)
        response = move(client_for(employee), lead, "assigned")
        assert response.status_code == 403
        with pytest.raises(PermissionDenied) as refusal:
            access.check_status_change(employee, lead, status("assigned"))
        assert response.json()["message"] == str(refusal.value)
        assert "forward" in response.json()["message"]
        assert Lead.objects.get(pk=lead.pk).status.key == "contacted" and status_events(lead) == before

    def test_lost_needs_a_reason(self, client_for, employee, leads):
        lead, client = leads["own"], client_for(employee)
        response = move(client, lead, "not_viable")
        assert response.status_code == 400 and response.json()["needs"] == "lost_reason"
        assert "reason" in response.json()["message"]
        assert Lead.objects.get(pk=lead.pk).status.key == "assigned"
        response = move(client, lead, "not_viable", note="No budget", lost_reason=reason("price").pk)
        assert response.status_code == 200
        event = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.STATUS_CHANGED).latest("pk")
        assert event.to_value == "not_viable" and event.note == "No budget"
        assert event.data["lost_reason"] == "price"
        assert Lead.objects.get(pk=lead.pk).lost_reason.key == "price"

    def test_a_status_that_waits_for_a_date_needs_the_follow_up(self, client_for, employee, leads):
        lead, client = leads["own"], client_for(employee)
        response = move(client, lead, "postponed")
        assert response.status_code == 400 and response.json()["needs"] == "follow_up_at"
        assert not FollowUp.objects.filter(lead=lead).exists()
        due = timezone.localtime() + datetime.timedelta(days=3)
        response = move(client, lead, "postponed", follow_up_at=due.strftime("%Y-%m-%dT%H:%M"))
        assert response.status_code == 200
        lead.refresh_from_db()
        assert lead.status.key == "postponed" and lead.next_action_at is not None
        assert FollowUp.objects.filter(lead=lead, state=FollowUp.State.OPEN).count() == 1

    def test_an_open_follow_up_is_enough(self, client_for, employee, leads):
        lead = leads["own"]
        followups.schedule_follow_up(lead, employee, due_at=timezone.now() + datetime.timedelta(days=1))
        assert move(client_for(employee), lead, "to_quote").status_code == 200

    def test_a_card_moved_meanwhile_answers_409_and_changes_nothing(
        self, client_for, manager, employee, leads
    ):
        lead = leads["own"]
        drawn_in = status("assigned")
        assert move(client_for(employee), lead, "contacted", seen=drawn_in).status_code == 200
        before = status_events(lead)
        response = move(client_for(manager), lead, "quoted", seen=drawn_in)
        assert response.status_code == 409
        data = response.json()
        assert data["status"]["key"] == "contacted" and "Contacted" in data["message"]
        assert f'data-status="{status("contacted").pk}"' in data["card"]  # the card as it now is
        assert Lead.objects.get(pk=lead.pk).status.key == "contacted" and status_events(lead) == before

    def test_bad_input_is_a_400_never_a_500(self, client_for, manager, leads):
        client = client_for(manager)
        lead = leads["own"]
        assigned = status("assigned").pk
        for data in (
            {},
            {"status": "x", "from_status": assigned},
            {"status": 999999, "from_status": assigned},
            {"status": status("contacted").pk},
            {"status": status("contacted").pk, "from_status": "0"},
            {"status": status("postponed").pk, "from_status": assigned, "follow_up_at": "soon"},
            {"status": status("postponed").pk, "from_status": assigned, "follow_up_at": "1999-01-01T10:00"},
            {"status": status("contacted").pk, "from_status": assigned, "note": "x" * 6000},
            {"status": "99999999999999999999", "from_status": assigned},
        ):
            response = client.post(move_url(lead), data, HTTP_ACCEPT="application/json")
            assert response.status_code == 400, data
            assert response.json()["message"]
        assert Lead.objects.get(pk=lead.pk).status.key == "assigned"
        assert client.get(move_url(lead)).status_code == 405
        huge = move_url(lead).replace(f"/{lead.pk}/", "/99999999999999999999/")
        assert client.post(huge, {}, HTTP_ACCEPT="application/json").status_code == 404

    def test_a_forged_move_on_another_persons_lead_is_a_404(self, client_for, employee, other_manager, leads):
        for user, lead in ((employee, leads["colleague"]), (other_manager, leads["own"])):
            before = status_events(lead)
            response = move(client_for(user), lead, "contacted")
            assert response.status_code == 404
            assert Lead.objects.get(pk=lead.pk).status.key == "assigned" and status_events(lead) == before

    def test_without_javascript_the_menu_posts_and_comes_back(self, client_for, employee, leads):
        client = client_for(employee)
        back = reverse(BOARD) + "?q=Ana"
        lead = leads["own"]
        response = client.post(
            move_url(lead),
            {"status": status("contacted").pk, "from_status": status("assigned").pk, "next": back},
        )
        assert response.status_code == 302 and response["Location"] == back
        assert Lead.objects.get(pk=lead.pk).status.key == "contacted"
        response = client.post(
            move_url(lead),
            {"status": status("not_viable").pk, "from_status": status("contacted").pk, "next": back},
        )
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("crm_leads:change_status", args=[lead.pk]) + "?next=")
        forged = client.post(
            move_url(leads["colleague"]),
            {"status": status("contacted").pk, "from_status": status("assigned").pk, "next": back},
        )
        assert forged.status_code == 404


def test_query_count_is_flat_from_3_to_30_leads(client_for, manager, employee, brands):
    client = client_for(manager)
    for n in range(3):
        make_lead(brands, f"Few {n}", employee)
    client.get(reverse(BOARD))  # caches that any first request fills (settings, content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(BOARD)).status_code == 200
    for n in range(27):
        make_lead(brands, f"Many {n}", employee if n % 2 else None, key=("contacted" if n % 3 else None))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse(BOARD))
    assert sum(len(column.cards) for column in response.context["board"].columns) == 30
    assert len(many) == len(few), [query["sql"][:120] for query in many.captured_queries]
    assert len(many) <= 20


def copies(lead, status, count):
    """``count`` new leads like ``lead`` in ``status``, high priority (a badge on their cards)."""
    made = []
    for n in range(count):
        clone = copy.copy(lead)
        clone.pk, clone._state.adding = None, True
        clone.status, clone.priority, clone.contact_name = status, Priority.HIGH, f"{status.key} {n}"
        made.append(clone)
    return made


def board_queries(client):
    """The queries of one board request, after one that fills the caches any first request fills."""
    client.get(reverse(BOARD))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(BOARD))
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries], response.context["board"]


@pytest.mark.parametrize("role", ["admin_user", "manager", "employee"])
def test_query_count_does_not_grow_with_columns_or_leads(request, client_for, role, employee, brands):
    """Twice the open columns, a closed one more, and each column fuller than it shows: the same queries."""
    client = client_for(request.getfixturevalue(role))
    make_lead(brands, "Sola", employee)
    few, first = board_queries(client)

    last = PipelineStatus.objects.order_by("-order").first().order
    extra = [
        PipelineStatus.objects.create(
            key=f"extra_{n}", label=f"Extra {n}", label_es=f"Extra {n}", order=last + n + 1, stage=stage
        )
        for n, stage in enumerate([Stage.OPEN] * len(first.columns) + [Stage.LOST])
    ]
    sola = Lead.objects.get(contact_name="Sola")
    statuses = [*(column.status for column in first.columns), *extra]
    Lead.objects.bulk_create(
        clone for status in statuses for clone in copies(sola, status, board.COLUMN_CARDS + 1)
    )
    many, fuller = board_queries(client)

    assert len(fuller.columns) == 2 * len(first.columns) and len(fuller.closed) == len(first.closed) + 1
    assert all(len(column.cards) == board.COLUMN_CARDS and column.has_more for column in fuller.columns)
    assert len(many) == len(few) <= 20, [sql[:120] for sql in many]


def test_move_query_count_is_small(client_for, manager, brands):
    lead = make_lead(brands, "Rapida")
    client = client_for(manager)
    move(client, make_lead(brands, "Calentar"), "contacted")
    with CaptureQueriesContext(connection) as queries:
        assert move(client, lead, "contacted").status_code == 200
    assert len(queries) <= 25


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_people_moving_the_same_card_at_once(brands, manager, employee):
    """Both drops start together: one moves the lead, the other hears it moved; one event, in order."""
    lead = make_lead(brands, "Disputada", employee)
    drawn_in = status("assigned")
    barrier = threading.Barrier(2)

    def drop(person, to):
        barrier.wait(10)
        return services.change_status(lead, status(to), person, expected_status=drawn_in)

    threads = [in_thread(drop, employee, "contacted"), in_thread(drop, manager, "quoted")]
    for thread, _result in threads:
        thread.join(30)
    outcomes = [result.get("error") or result.get("value") for _thread, result in threads]
    conflicts = [outcome for outcome in outcomes if isinstance(outcome, services.StatusConflict)]
    assert len(conflicts) == 1, outcomes
    final = Lead.objects.get(pk=lead.pk).status.key
    assert final in ("contacted", "quoted") and conflicts[0].status.key == final
    assert [event[:2] for event in status_events(lead)][-1] == ("assigned", final)
    assert len([e for e in status_events(lead) if e[0] == "assigned"]) == 1
