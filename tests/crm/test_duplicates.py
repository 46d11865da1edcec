"""Duplicates are linked and tagged, never merged silently; an explicit merge keeps both histories."""

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from wagtail.models import ModelLogEntry

from crm import intake, services, system_notes
from crm.duplicates import DUPLICATE_TAG
from crm.models import Lead, LeadEvent

pytestmark = pytest.mark.django_db


def new_lead(brand, **fields):
    return intake.create_lead(intake.LeadData(brand=brand, **fields))


class TestDetection:
    def test_same_email_ignoring_case_links_to_the_original(self, brands):
        original = new_lead(brands["intralog"], email="ana@acme.com", contact_name="Ana")
        repeat = new_lead(brands["intralog"], email="ANA@acme.com ", contact_name="Ana P.")
        assert repeat.duplicate_of == original
        assert DUPLICATE_TAG in repeat.tags.names()
        assert original.duplicate_of is None and not original.tags.names()
        assert Lead.objects.count() == 2
        event = repeat.events.filter(kind="classified", to_value=DUPLICATE_TAG).get()
        assert event.data["duplicate_of"] == original.pk
        assert (
            ModelLogEntry.objects.filter(object_id=str(repeat.pk), action="crm.lead.classified").count() == 2
        )

    def test_same_phone_in_other_formats(self, brands):
        original = new_lead(brands["intrapal"], phone="+54 11 4555-1234")
        repeat = new_lead(brands["intrapal"], phone="011 4555 1234")
        assert repeat.phone_e164 == original.phone_e164 == "+541145551234"
        assert repeat.duplicate_of == original

    def test_other_brand_is_not_a_duplicate(self, brands):
        new_lead(brands["intralog"], email="ana@acme.com")
        other = new_lead(brands["intrapal"], email="ana@acme.com")
        assert other.duplicate_of is None
        assert DUPLICATE_TAG not in other.tags.names()

    def test_links_to_the_earliest_original(self, brands):
        first = new_lead(brands["intralog"], email="ana@acme.com")
        second = new_lead(brands["intralog"], email="ana@acme.com", phone="1145551234")
        third = new_lead(brands["intralog"], phone="+54 11 4555 1234")
        assert second.duplicate_of == first
        assert third.duplicate_of == first
        fourth = new_lead(brands["intralog"], email="ana@acme.com", phone="+54 11 4555 1234")
        assert fourth.duplicate_of == first

    @pytest.mark.parametrize("email", ["@@", "x@gmail", "ventas@empresa", "a @b.com"])
    def test_an_unusable_email_links_nobody(self, brands, email):
        new_lead(brands["intralog"], email=email, contact_name="Ana")
        assert new_lead(brands["intralog"], email=email, contact_name="Beto").duplicate_of is None

    def test_no_contact_data_no_duplicate(self, brands):
        new_lead(brands["intralog"], contact_name="Ana")
        assert new_lead(brands["intralog"], contact_name="Ana").duplicate_of is None

    def test_created_event_already_sees_the_link(self, brands):
        from crm.signals import lead_event_recorded

        original = new_lead(brands["intralog"], email="ana@acme.com")
        seen = []

        def watch(sender, event, **kwargs):
            if event.kind == "created":
                seen.append(event.lead.duplicate_of_id)

        lead_event_recorded.connect(watch, dispatch_uid="test-watch")
        try:
            new_lead(brands["intralog"], email="ana@acme.com")
        finally:
            lead_event_recorded.disconnect(dispatch_uid="test-watch")
        assert seen == [original.pk]


def submitted(minutes):
    return datetime(2025, 3, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=minutes)


class TestSubmissionOrder:
    """The original of a group is its earliest submission, not the first lead to reach the CRM."""

    def test_an_earlier_submission_arriving_later_becomes_the_original(self, brands):
        intralog = brands["intralog"]
        later = new_lead(intralog, email="ana@acme.com", submitted_at=submitted(60))
        repeat = new_lead(intralog, email="ANA@acme.com", phone="011 4555-1234", submitted_at=submitted(90))
        assert repeat.duplicate_of == later
        earliest = new_lead(intralog, phone="+54 11 4555 1234", contact_name="Ana", submitted_at=submitted(0))
        assert earliest.duplicate_of is None and DUPLICATE_TAG not in earliest.tags.names()
        later.refresh_from_db()
        repeat.refresh_from_db()
        assert later.duplicate_of == earliest and repeat.duplicate_of == earliest
        assert DUPLICATE_TAG in later.tags.names()
        demoted = later.events.get(kind="classified", to_value=DUPLICATE_TAG)
        assert demoted.data == {
            "duplicate_of": earliest.pk,
            "previous_original": None,
            "tags": [DUPLICATE_TAG],
        }
        assert f"#{earliest.pk}" in system_notes.render(demoted.note)
        moved = repeat.events.filter(kind="classified", to_value=DUPLICATE_TAG).order_by("pk").last()
        assert moved.data["duplicate_of"] == earliest.pk and moved.data["previous_original"] == later.pk
        assert moved.from_value == f"#{later.pk}"
        for lead in (later, repeat):
            assert ModelLogEntry.objects.filter(object_id=str(lead.pk), action="crm.lead.classified").exists()

    def test_equal_submission_times_are_ordered_by_id(self, brands):
        intralog = brands["intralog"]
        first = new_lead(intralog, email="ana@acme.com", submitted_at=submitted(5))
        second = new_lead(intralog, email="ana@acme.com", submitted_at=submitted(5))
        assert first.pk < second.pk and second.duplicate_of == first

    def test_a_submission_dated_after_its_arrival_counts_from_its_arrival(self, brands):
        lead = new_lead(
            brands["intralog"], email="ana@acme.com", submitted_at=datetime.now(UTC) + timedelta(days=2)
        )
        assert lead.submitted_at <= lead.received_at

    @pytest.mark.parametrize("path", ["one by one", "batches"])
    def test_links_do_not_depend_on_arrival_order(self, brands, path):
        """The same submissions reach two brands in submission order and shuffled: same links."""
        rng = random.Random(14)
        emails = [f"p{number}@acme.com" for number in range(8)]
        phones = [f"+54 11 4555 {1000 + number}" for number in range(8)]
        people = []
        for number in range(40):
            fields = {}
            if rng.random() < 0.8:
                fields["email"] = rng.choice(emails)
            if rng.random() < 0.5 or not fields:
                fields["phone"] = rng.choice(phones)
            people.append((f"s{number}", submitted(rng.randrange(100_000)), fields))

        def arrive(brand, items):
            drafts = [
                intake.LeadData(
                    brand=brand, external_source=brand.code, external_id=ref, submitted_at=moment, **fields
                )
                for ref, moment, fields in items
            ]
            if path == "one by one":
                for draft in drafts:
                    intake.create_lead(draft)
            else:
                for start in range(0, len(drafts), 7):
                    intake.create_leads(drafts[start : start + 7])

        shuffled = people[:]
        rng.shuffle(shuffled)
        arrive(brands["intralog"], sorted(people, key=lambda item: item[1]))
        arrive(brands["intrapal"], shuffled)

        def links(brand):
            leads = Lead.objects.filter(brand=brand)
            refs = dict(leads.values_list("pk", "external_id"))
            return {
                ref: refs.get(original)
                for ref, original in leads.values_list("external_id", "duplicate_of_id")
            }

        in_order, out_of_order = links(brands["intralog"]), links(brands["intrapal"])
        assert out_of_order == in_order
        times = {ref: moment for ref, moment, _fields in people}
        originals = {original for original in in_order.values() if original}
        assert all(in_order[original] is None for original in originals)
        assert all(times[original] < times[ref] for ref, original in in_order.items() if original)
        tagged = set(
            Lead.objects.filter(brand=brands["intrapal"], tags__name=DUPLICATE_TAG).values_list(
                "external_id", flat=True
            )
        )
        assert tagged >= {ref for ref, original in out_of_order.items() if original}


class TestMerge:
    @pytest.fixture
    def pair(self, brands, manager, employee):
        original = new_lead(brands["intralog"], email="ana@acme.com", contact_name="Ana")
        repeat = new_lead(
            brands["intralog"], email="ana@acme.com", company="Acme SA", phone="1145551234", tags=["fair"]
        )
        services.assign(repeat, employee, manager)
        services.add_note(repeat, employee, "Called from the second form")
        services.add_note(original, manager, "First contact pending")
        return original, repeat

    def test_merge_keeps_both_histories(self, pair, manager):
        original, repeat = pair
        repeat_events = set(repeat.events.values_list("pk", flat=True))
        original_events = set(original.events.values_list("pk", flat=True))
        survivor = services.merge_leads(repeat, original, manager)
        repeat.refresh_from_db()
        assert survivor.pk == original.pk
        assert Lead.objects.filter(pk=repeat.pk).exists()
        assert repeat.merged_into == original and repeat.duplicate_of == original
        assert repeat.merged_at is not None
        history = set(original.history().values_list("pk", flat=True))
        assert repeat_events | original_events <= history
        assert set(repeat.events.values_list("pk", flat=True)) >= repeat_events
        notes = set(original.history().filter(kind="note").values_list("note", flat=True))
        assert notes == {"Called from the second form", "First contact pending"}

    def test_merge_records_event_and_log_on_both(self, pair, manager):
        original, repeat = pair
        services.merge_leads(repeat, original, manager)
        on_repeat = repeat.events.get(kind="merged")
        on_original = original.events.get(kind="merged")
        assert (on_repeat.actor, on_repeat.data["into"]) == (manager, original.pk)
        assert (on_original.actor, on_original.data["merged_from"]) == (manager, repeat.pk)
        for lead in (original, repeat):
            assert ModelLogEntry.objects.filter(object_id=str(lead.pk), action="crm.lead.merged").count() == 1

    def test_merge_fills_blanks_and_copies_tags(self, pair, manager):
        original, repeat = pair
        services.merge_leads(repeat, original, manager)
        original.refresh_from_db()
        assert original.company == "Acme SA"
        assert original.phone_e164 == "+541145551234"
        assert original.contact_name == "Ana"
        assert set(original.tags.names()) == {"fair"}
        assert original.events.get(kind="merged").data["filled"]["company"] == "Acme SA"

    def test_merging_a_lead_that_absorbed_others_moves_them_along(self, brands, pair, manager):
        original, repeat = pair
        third = new_lead(brands["intralog"], email="other@acme.com")
        services.merge_leads(third, repeat, manager)
        services.merge_leads(repeat, original, manager)
        third.refresh_from_db()
        assert third.merged_into == original
        assert third.events.filter(kind="merged").exists()
        assert set(third.events.values_list("pk", flat=True)) <= set(
            original.history().values_list("pk", flat=True)
        )

    def test_merge_refusals(self, brands, pair, manager, employee, other_manager):
        original, repeat = pair
        foreign = new_lead(brands["intrapal"], email="ana@acme.com")
        with pytest.raises(ValidationError):
            services.merge_leads(original, original, manager)
        with pytest.raises(ValidationError):
            services.merge_leads(foreign, original, None)
        with pytest.raises(PermissionDenied):
            services.merge_leads(repeat, original, employee)
        with pytest.raises(PermissionDenied):
            services.merge_leads(repeat, original, other_manager)
        services.merge_leads(repeat, original, manager)
        with pytest.raises(ValidationError):
            services.merge_leads(repeat, original, manager)
        assert LeadEvent.objects.filter(kind="merged").count() == 2

    def test_merge_rolls_back_on_failure(self, pair, manager):
        from crm.signals import lead_event_recorded

        original, repeat = pair

        def explode(sender, event, **kwargs):
            if event.lead_id == original.pk:
                raise RuntimeError("boom")

        lead_event_recorded.connect(explode, dispatch_uid="test-explode-merge")
        try:
            with pytest.raises(RuntimeError):
                services.merge_leads(repeat, original, manager)
        finally:
            lead_event_recorded.disconnect(dispatch_uid="test-explode-merge")
        repeat.refresh_from_db()
        assert repeat.merged_into is None
        assert not LeadEvent.objects.filter(kind="merged").exists()
        assert not ModelLogEntry.objects.filter(action="crm.lead.merged").exists()


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL advisory locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_copies_link_to_one_original(brands):
    brand = brands["intrapal"]
    copies = 6
    barrier = threading.Barrier(copies)
    errors = []

    def submit():
        try:
            barrier.wait()
            new_lead(brand, email="same@acme.com", contact_name="Same")
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    leads = Lead.objects.filter(brand=brand, email="same@acme.com")
    originals = leads.filter(duplicate_of__isnull=True)
    assert leads.count() == copies and originals.count() == 1
    assert leads.filter(duplicate_of=originals.get()).count() == copies - 1
