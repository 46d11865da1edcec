"""Figures of several spans of time (a period and the previous one, the chart's buckets, today, this week)
from ONE read of their rows, and the buckets of a chart.

The window runs from the earliest moment any figure needs to the latest, and is cut at every moment one
of them starts or ends: every span is then a run of whole segments. One grouped query counts the rows per
segment (``sql.SegmentOf``, and whatever else the figures tell apart, a status say), and each figure adds
up the segments inside its span, in Python: a few dozen segments times the groups, never the rows.
"""

import bisect
import datetime

from django.db.models import Q
from django.utils import timezone

from .sql import SegmentOf


class Segments:
    """A window of time cut at ``cuts`` (aware datetimes); the earliest and latest are its ends."""

    def __init__(self, cuts: list[datetime.datetime]):
        self.bounds = sorted(set(cuts))

    @property
    def start(self) -> datetime.datetime:
        return self.bounds[0]

    @property
    def end(self) -> datetime.datetime:
        return self.bounds[-1]

    def window(self, field: str) -> Q:
        """The rows whose ``field`` falls in the window."""
        return Q(**{f"{field}__gte": self.start, f"{field}__lt": self.end})

    def of(self, field: str) -> SegmentOf:
        """The number of the segment each row's ``field`` falls in, from 1 (an expression)."""
        return SegmentOf(field, self.bounds)

    def span(self, segment: int) -> tuple[datetime.datetime, datetime.datetime]:
        """``[start, end)`` of a segment."""
        return self.bounds[segment - 1], self.bounds[segment]

    def within(self, segment: int, start: datetime.datetime, end: datetime.datetime) -> bool:
        """Whether the segment lies inside ``[start, end)`` (it lies inside or outside, never across, when
        ``start`` and ``end`` are cuts)."""
        first, last = self.span(segment)
        return start <= first and last <= end

    def day(self, segment: int) -> datetime.date:
        """The local day the segment starts on."""
        return timezone.localdate(self.bounds[segment - 1])


def buckets(first: datetime.date, last: datetime.date, interval: str) -> list[datetime.date]:
    """The start day of every bucket (``interval``: a day, a week from Monday, a month) touching
    ``[first, last]``."""
    if interval == "week":
        cursor = first - datetime.timedelta(days=first.weekday())
        step = lambda day: day + datetime.timedelta(days=7)  # noqa: E731
    elif interval == "month":
        cursor = first.replace(day=1)
        step = lambda day: (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)  # noqa: E731
    else:
        cursor = first
        step = lambda day: day + datetime.timedelta(days=1)  # noqa: E731
    buckets = []
    while cursor <= last:
        buckets.append(cursor)
        cursor = step(cursor)
    return buckets


def bucket_of(day: datetime.date, starts: list[datetime.date]) -> datetime.date | None:
    """The bucket (of sorted start days ``starts``) that ``day`` falls in; None before the first."""
    index = bisect.bisect_right(starts, day)
    return starts[index - 1] if index else None
