"""Follow-ups by day: the windows of a lead's next action (overdue, today, tomorrow, this week) and a
person's day (their open follow-ups in those windows, and their new leads nobody has contacted yet).

Days are local: midnight in the active time zone (``TIME_ZONE``, or the one the person chose in their
account). "Overdue" is due before now; "today" is due from now until midnight, so the windows of one day
never overlap; "week" is from now until the end of the seventh day, today included.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Subquery, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .access import follow_ups_for
from .models import FollowUp, Lead, PipelineStatus, Stage, User

OVERDUE, TODAY, TOMORROW, WEEK, NONE = "overdue", "today", "tomorrow", "week", "none"
NEXT_ACTION_CHOICES = [
    (OVERDUE, _("Overdue")),
    (TODAY, _("Due today")),
    (TOMORROW, _("Due tomorrow")),
    (WEEK, _("Due in the next 7 days")),
    (NONE, _("No follow-up planned")),
]
TASK_BUCKETS = (OVERDUE, TODAY, TOMORROW)
WEEK_DAYS = 7
LIMIT = 10
LEAD_NAME_FIELDS = ("contact_name", "company", "email")
"""The columns a lead's name (``str(lead)``) is made of."""
LEAD_ROW_FIELDS = (
    *LEAD_NAME_FIELDS,
    "brand__name",
    "status__key",
    "status__colour",
    "status__label",
    "status__label_es",
)
"""What a lead's row on a home panel shows (its name, brand and status badge): lists of a few leads read
these columns only (``only``, with ``select_related("status", "brand")``), not the lead's wide row."""


@dataclass(frozen=True)
class Days:
    """``now`` and the local midnights that bound today, tomorrow and the coming week."""

    now: datetime.datetime
    today: datetime.datetime
    tomorrow: datetime.datetime
    day_after: datetime.datetime
    week_end: datetime.datetime

    @classmethod
    def at(cls, now: datetime.datetime | None = None) -> Days:
        now = now or timezone.now()
        local = timezone.localtime(now)
        zone = local.tzinfo

        def midnight(days: int) -> datetime.datetime:
            day = local.date() + datetime.timedelta(days=days)
            return datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)

        return cls(now, midnight(0), midnight(1), midnight(2), midnight(WEEK_DAYS))

    def window(self, value: str) -> tuple[datetime.datetime | None, datetime.datetime | None]:
        """``[start, end)`` of a window (None: open-ended); ``KeyError`` for an unknown one."""
        return {
            OVERDUE: (None, self.now),
            TODAY: (self.now, self.tomorrow),
            TOMORROW: (self.tomorrow, self.day_after),
            WEEK: (self.now, self.week_end),
        }[value]


def _in_window(name: str, start: datetime.datetime | None, end: datetime.datetime | None) -> Q:
    condition = Q()
    if start is not None:
        condition &= Q(**{f"{name}__gte": start})
    if end is not None:
        condition &= Q(**{f"{name}__lt": end})
    return condition


def next_action_q(value: str, now: datetime.datetime | None = None) -> Q | None:
    """Leads whose follow-ups fall in window ``value`` (``NEXT_ACTION_CHOICES``); None for an unknown value.

    Overdue: the next action (the earliest open follow-up) is past. None: no open follow-up. Today,
    tomorrow, week: an open follow-up is due in that window (the lead may also have an overdue one).
    """
    if value == NONE:
        return Q(next_action_at__isnull=True)
    if value == OVERDUE:
        return Q(next_action_at__lt=Days.at(now).now)
    if value not in (TODAY, TOMORROW, WEEK):
        return None
    start, end = Days.at(now).window(value)
    due = FollowUp.objects.filter(_in_window("due_at", start, end), state=FollowUp.State.OPEN)
    # The lead's next action is the earliest open follow-up: none can be in the window if it is later.
    return Q(next_action_at__lt=end, pk__in=due.values("lead_id"))


def open_status_ids() -> QuerySet[PipelineStatus, Any]:
    """The statuses of leads still being worked (new and open stages), as a subquery."""
    return PipelineStatus.objects.filter(stage__in=[Stage.NEW, Stage.OPEN]).values("pk")


def waiting_q() -> Q:
    """New or open leads nobody has contacted yet."""
    return Q(first_contacted_at__isnull=True, status_id__in=open_status_ids())


@dataclass
class Bucket:
    """One list of a person's day: its first ``limit`` rows and how many there are in all."""

    key: str
    rows: list[Any] = field(default_factory=list)
    total: int = 0


def my_tasks(user: User, days: Days, limit: int = LIMIT) -> dict[str, Bucket]:
    """``user``'s open follow-ups that are overdue, due today and due tomorrow, earliest first, on leads
    they may see: the first ``limit`` of each window with the window's total. Two queries: the ranking,
    over the follow-ups' index alone, then the few rows shown with their leads. The ranking partitions by
    the window's place in ``TASK_BUCKETS`` (a number sorts cheaper than its name)."""
    bucket = Case(
        When(due_at__lt=days.now, then=Value(TASK_BUCKETS.index(OVERDUE))),
        When(due_at__lt=days.tomorrow, then=Value(TASK_BUCKETS.index(TODAY))),
        default=Value(TASK_BUCKETS.index(TOMORROW)),
        output_field=IntegerField(),
    )
    ranked = (
        follow_ups_for(user)
        .filter(assignee=user, state=FollowUp.State.OPEN, due_at__lt=days.day_after)
        .annotate(
            bucket=bucket,
            rank=Window(RowNumber(), partition_by=[bucket], order_by=[F("due_at").asc(), F("pk").asc()]),
            total=Window(Count("pk"), partition_by=[bucket]),
        )
        .filter(rank__lte=limit)
        .values_list("pk", "bucket", "total")
    )
    placed = {pk: (TASK_BUCKETS[index], total) for pk, index, total in ranked}
    buckets = {key: Bucket(key) for key in TASK_BUCKETS}
    tasks = (
        FollowUp.objects.filter(pk__in=placed)
        .select_related("lead")
        .only("kind", "due_at", "note", "lead", *(f"lead__{name}" for name in LEAD_NAME_FIELDS))
        .order_by("due_at", "pk")
    )
    for task in tasks if placed else ():
        key, total = placed[task.pk]
        buckets[key].rows.append(task)
        buckets[key].total = total
    return buckets


def waiting_leads(user: User, limit: int = LIMIT) -> Bucket:
    """New or open leads assigned to ``user`` that nobody has contacted yet, newest first (as the lead
    listing orders them): the first ``limit`` with the total. One query (the total is a subquery)."""
    waiting = Lead.objects.filter(waiting_q(), assignee=user)
    total = waiting.order_by().values("assignee").annotate(total=Count("pk")).values("total")
    leads = (
        waiting.annotate(total=Subquery(total))
        .select_related("status", "brand")
        .only(*LEAD_ROW_FIELDS, "assigned_at")
        .order_by("-submitted_at", "-pk")[:limit]
    )
    rows = list(leads)
    return Bucket("waiting", rows, rows[0].total if rows else 0)
