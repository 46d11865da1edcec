"""Forms of follow-ups: plan one, reschedule it, close it; and the follow-up date other lead forms ask."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.widgets import AdminDateTimeInput

from crm.assignment import assignable_users
from crm.filters import user_label
from crm.models import FollowUp, Lead, Role, User

DEFAULT_HOUR = 10


def default_due_at(now: datetime.datetime | None = None) -> datetime.datetime:
    """Tomorrow at 10:00 local time: the usual answer to "when do I call again?"."""
    local = timezone.localtime(now or timezone.now())
    tomorrow = (local + datetime.timedelta(days=1)).replace(
        hour=DEFAULT_HOUR, minute=0, second=0, microsecond=0
    )
    return tomorrow


def follow_up_date_field(required: bool = False, **kwargs) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=kwargs.pop("label", _("Next follow-up")),
        required=required,
        widget=AdminDateTimeInput(),
        **kwargs,
    )


def follow_up_kind_field(**kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Follow-up by"), choices=FollowUp.Kind.choices, initial=FollowUp.Kind.CALL, **kwargs
    )


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return user_label(obj)


class FollowUpForm(forms.Form):
    """Plan or reschedule a follow-up. Employees plan their own; managers pick anyone of the brand."""

    kind = follow_up_kind_field()
    due_at = follow_up_date_field(required=True, label=_("Due"))
    assignee = PersonChoiceField(queryset=User.objects.none(), label=_("Who does it"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, lead: Lead, user: User, follow_up: FollowUp | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        people = User.objects.filter(pk=user.pk)
        if user.role != Role.EMPLOYEE:
            # Employees open only the leads they hold: of them, the lead's assignee is offered.
            people = assignable_users(lead.brand_id).exclude(role=Role.EMPLOYEE) | User.objects.filter(
                pk__in=[pk for pk in (lead.assignee_id, user.pk) if pk]
            )
        self.fields["assignee"].queryset = people.distinct().order_by("first_name", "last_name", "pk")
        self.fields["assignee"].empty_label = None
        if follow_up is not None:
            self.initial.update(
                {
                    "kind": follow_up.kind,
                    "due_at": timezone.localtime(follow_up.due_at),
                    "assignee": follow_up.assignee_id,
                    "note": follow_up.note,
                }
            )
        else:
            self.initial.setdefault("due_at", default_due_at())
            self.initial.setdefault("assignee", lead.assignee_id or user.pk)
        if user.role == Role.EMPLOYEE:
            self.fields["assignee"].widget = forms.HiddenInput()
            self.initial["assignee"] = user.pk


class CloseFollowUpForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
