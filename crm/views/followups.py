"""Follow-up actions: plan one on a lead, reschedule, mark done, cancel. Thin views over ``crm.followups``;
a follow-up is reached only through ``crm.access.follow_ups_for``, so its lead's row-level rules hold."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy

from crm import access, followups
from crm.forms.followups import CloseFollowUpForm, FollowUpForm

from .leads import LeadActionView, visible_leads


class ScheduleFollowUpView(LeadActionView):
    action = "follow_up"
    form_class = FollowUpForm
    page_title = gettext_lazy("Schedule a follow-up")
    success_message = gettext_lazy("Follow-up scheduled.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def perform(self, form):
        data = form.cleaned_data
        followups.schedule_follow_up(
            self.lead,
            self.request.user,
            due_at=data["due_at"],
            kind=data["kind"],
            assignee=data.get("assignee"),
            note=data["note"],
        )


class FollowUpActionView(LeadActionView):
    """An action on one follow-up (``pk`` is the follow-up's); its lead must be visible to the user."""

    action = "follow_up"

    def setup(self, request, *args, **kwargs):
        super(LeadActionView, self).setup(request, *args, **kwargs)
        self.follow_up = get_object_or_404(
            access.follow_ups_for(request.user).select_related("lead"), pk=kwargs["pk"]
        )
        queryset = visible_leads(request.user).select_related("status", "brand", "assignee")
        self.lead = get_object_or_404(queryset, pk=self.follow_up.lead_id)

    def get_page_subtitle(self):
        return f"{self.follow_up.get_kind_display()} · {self.lead}"


class RescheduleFollowUpView(FollowUpActionView):
    form_class = FollowUpForm
    page_title = gettext_lazy("Reschedule the follow-up")
    success_message = gettext_lazy("Follow-up rescheduled.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "follow_up": self.follow_up}

    def perform(self, form):
        data = form.cleaned_data
        followups.reschedule_follow_up(
            self.follow_up,
            self.request.user,
            due_at=data["due_at"],
            kind=data["kind"],
            assignee=data.get("assignee"),
            note=data["note"],
        )


class CompleteFollowUpView(FollowUpActionView):
    form_class = CloseFollowUpForm
    page_title = gettext_lazy("Mark the follow-up done")
    success_message = gettext_lazy("Follow-up done.")

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs.pop("lead")
        return kwargs

    def perform(self, form):
        followups.complete_follow_up(self.follow_up, self.request.user, form.cleaned_data["note"])


class CancelFollowUpView(CompleteFollowUpView):
    page_title = gettext_lazy("Cancel the follow-up")
    success_message = gettext_lazy("Follow-up cancelled.")

    def perform(self, form):
        followups.cancel_follow_up(self.follow_up, self.request.user, form.cleaned_data["note"])
