"""The bench's follow-up due times: office hours on weekdays, inside the window whatever today is."""

import random
from datetime import UTC, datetime, timedelta

from bench.follow_up_history import LOCAL_OFFSET, WINDOW, office_hours


def test_due_times_stay_in_the_window_on_every_day_of_the_week():
    rng = random.Random(3)
    for hours in range(0, 14 * 24, 5):
        now = datetime(2026, 12, 7, 13, 58, tzinfo=UTC) + timedelta(hours=hours)
        for moment in (now - WINDOW, now - WINDOW + timedelta(hours=20), now + WINDOW - timedelta(minutes=1)):
            due = office_hours(rng, moment, now - WINDOW)
            local = due - LOCAL_OFFSET
            assert local.weekday() < 5 and 9 <= local.hour <= 18, (now, moment, due)
            earliest, latest = now - WINDOW - timedelta(days=1), now + WINDOW + timedelta(days=1)
            assert earliest < due < latest, (now, moment, due)


def test_a_weekend_moves_to_friday_when_friday_is_in_the_window():
    saturday = datetime(2026, 11, 14, 15, 0, tzinfo=UTC)
    due = office_hours(random.Random(1), saturday, saturday - timedelta(days=10))
    assert (due - LOCAL_OFFSET).date().isoformat() == "2026-11-13"
