""" "My day" on the admin home of people who hold leads: their overdue follow-ups, those due today and
tomorrow, and their new leads nobody has contacted yet. Each row opens the lead; a follow-up is marked
done with one click (a POST back to the home page). Two queries, whatever the number of tasks."""

from urllib.parse import urlencode

from django.forms import Media
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.ui.components import Component

from crm import access, agenda
from crm.filters import ASSIGNEE_MINE, CONTACTED_NO, STAGE_ACTIVE
from crm.models import FollowUp, Role
from crm.views import leads as views

from .leads import lead_viewset

TITLES = {
    agenda.OVERDUE: (_("Overdue"), _("Nothing overdue.")),
    agenda.TODAY: (_("Due today"), _("Nothing else due today.")),
    agenda.TOMORROW: (_("Due tomorrow"), _("Nothing due tomorrow yet.")),
    "waiting": (_("New leads not contacted yet"), _("Every lead of yours has been contacted.")),
}


def listing_url(**query: str) -> str:
    return f"{reverse(lead_viewset.get_url_name('list'))}?{urlencode(query)}"


def bucket_url(key: str) -> str:
    """The lead listing filtered as the bucket is (its "See all" link)."""
    if key == "waiting":
        return listing_url(assignee=ASSIGNEE_MINE, stage=STAGE_ACTIVE, contacted=CONTACTED_NO)
    return listing_url(assignee=ASSIGNEE_MINE, next_action=key, ordering="next_action_at")


class MyDayPanel(Component):
    name = "my_day"
    order = 8
    template_name = "crm/home/my_day.html"
    limit = agenda.LIMIT

    def __init__(self, request):
        self.request = request
        self.user = request.user

    @property
    def media(self):
        return Media(css={"all": ["crm/my-day.css"]})

    @staticmethod
    def is_shown_to(user):
        return views.has_lead_access(user) and (
            user.role == Role.EMPLOYEE or (user.role == Role.MANAGER and access.holds_open_leads(user))
        )

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        days = agenda.Days.at()
        buckets = [*agenda.my_tasks(self.user, days, self.limit).values(), agenda.waiting_leads(self.user)]
        home = reverse("wagtailadmin_home")
        done_name = lead_viewset.get_url_name("follow_up_done")
        inspect_name = lead_viewset.get_url_name("inspect")
        # Each kind's label translated once, not once a row (``get_kind_display`` hashes every choice).
        kinds = {value: str(label) for value, label in FollowUp.Kind.choices}
        for bucket in buckets:
            bucket.title, bucket.empty_text = TITLES[bucket.key]
            bucket.url = bucket_url(bucket.key)
            for row in bucket.rows:
                lead = row if bucket.key == "waiting" else row.lead
                row.page_url = reverse(inspect_name, args=[lead.pk])
                if bucket.key != "waiting":
                    row.kind_label = kinds.get(row.kind, row.kind)
                    row.done_url = f"{reverse(done_name, args=[row.pk])}?{urlencode({'next': home})}"
        # The panel renders outside the page's request context: its "done" forms need the token given.
        context.update({"buckets": buckets, "days": days, "csrf_token": get_token(self.request)})
        return context


@hooks.register("construct_homepage_panels")
def add_my_day_panel(request, panels):
    if MyDayPanel.is_shown_to(request.user):
        panels.append(MyDayPanel(request))
