"""When a request is due: five business days (Ley 25.326, art. 14 and 16).

Business days are Monday to Friday; Argentine public holidays are not counted out (a request may come due
a day or two early, never late).
"""

from datetime import date, timedelta

BUSINESS_DAYS = 5


def due_on(start: date, days: int = BUSINESS_DAYS) -> date:
    """The ``days``-th business day after ``start``."""
    current, left = start, days
    while left:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current
