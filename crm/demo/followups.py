"""Demo follow-ups: a few tasks for each demo salesperson (overdue, today, tomorrow, later), so "My day"
has something to show on a fresh install.

Planned through ``crm.followups.schedule_follow_up``. The overdue ones cannot be planned in the past, so
they are planned and then moved back, row for row as if planned a day earlier: the follow-up, its
``scheduled`` event and the lead's next action agree.
"""

import datetime

from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from crm import followups
from crm.models import FollowUp, Lead, LeadEvent, Role, Stage, User

from .leads import DEMO_SALES_TEAM
from .people import DEMO_PEOPLE

# (when, kind, note): "when" is hours from now, or ("tomorrow"/"later", local hour).
PLAN = [
    (-26, FollowUp.Kind.CALL, "Llamar para confirmar volumen mensual"),
    (-2, FollowUp.Kind.WHATSAPP, "Mandar la cotización por WhatsApp"),
    ("today", FollowUp.Kind.EMAIL, "Enviar presentación comercial"),
    (("tomorrow", 10), FollowUp.Kind.CALL, "Seguimiento de la propuesta"),
    (("later", 11), FollowUp.Kind.VISIT, "Visita a la planta"),
]
LATER_DAYS = 4


def _due(when, now: datetime.datetime) -> datetime.datetime:
    if isinstance(when, int):
        return now + datetime.timedelta(hours=when)
    local = timezone.localtime(now)
    if when == "today":
        midnight = (local + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return min(local + datetime.timedelta(hours=2), midnight - datetime.timedelta(minutes=5))
    label, hour = when
    days = 1 if label == "tomorrow" else LATER_DAYS
    return (local + datetime.timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def _backdate(follow_up: FollowUp, due_at: datetime.datetime) -> None:
    """Move a just-planned follow-up to ``due_at`` in the past, as if planned the day before it."""
    planned = due_at - datetime.timedelta(days=1)
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=due_at, created_at=planned)
    event = LeadEvent.objects.filter(kind=LeadEvent.Kind.FOLLOW_UP, data__follow_up=follow_up.pk).get()
    event.data["due_at"] = due_at.isoformat()
    LeadEvent.objects.filter(pk=event.pk).update(data=event.data, created_at=planned)
    Lead.objects.filter(pk=follow_up.lead_id).update(next_action_at=followups.next_action_of(follow_up.lead))


def _leads_to_follow(person: User, count: int) -> list[Lead]:
    """The person's newest open leads, those whose status asks for a follow-up first."""
    first = Case(
        When(status__requires_follow_up=True, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return list(
        Lead.objects.filter(
            assignee=person, status__stage__in=[Stage.NEW, Stage.OPEN], merged_into__isnull=True
        )
        .select_related("status")
        .order_by(first, "-submitted_at")[:count]
    )


def seed_demo_follow_ups(now: datetime.datetime | None = None) -> int:
    """Plan ``PLAN`` for every demo employee who has no follow-up yet (idempotent). Returns how many."""
    now = now or timezone.now()
    usernames = [row[0] for row in [*DEMO_PEOPLE, *DEMO_SALES_TEAM] if row[1] == Role.EMPLOYEE]
    employees = User.objects.filter(username__in=usernames, role=Role.EMPLOYEE, is_active=True)
    people = employees.exclude(pk__in=FollowUp.objects.filter(assignee__isnull=False).values("assignee_id"))
    planned = 0
    for person in people.order_by("pk"):
        with transaction.atomic():
            for lead, (when, kind, note) in zip(_leads_to_follow(person, len(PLAN)), PLAN, strict=False):
                due_at = _due(when, now)
                later = max(due_at, now + datetime.timedelta(minutes=1))
                follow_up = followups.schedule_follow_up(lead, person, due_at=later, kind=kind, note=note)
                if due_at < now:
                    _backdate(follow_up, due_at)
                planned += 1
    return planned
