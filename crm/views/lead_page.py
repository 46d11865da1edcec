"""The lead page (the lead snippet's inspect view): a working record, not a field dump.

A header with who, what and where the lead stands (status with the moves open to the reader, assignee,
priority, age, SLA and stale flags), the ways to reach the contact, the actions, the timeline and the
fields by section. The lead is looked up through ``crm.access.leads_for`` (out of scope: 404); every
button posts to an action view of ``crm.views.leads``, which checks the reader's rights again.

The page costs a fixed number of queries whatever the lead holds: the lead with its relations and tags,
its merged leads' ids, up to ``TIMELINE_LIMIT`` events with their actors, the people they assign, the
statuses (once, for the timeline and the moves), the linked leads, the brand's contact templates and
the assignee choices.
"""

import json

from django import forms
from django.db import models
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail import hooks
from wagtail.snippets.views import snippets as snippet_views

from core import once
from crm import access, contact, lead_fields, lead_flags, lead_page, money
from crm.field_spec import Section
from crm.filters import user_label
from crm.forms.deals import QuoteForm
from crm.forms.followups import default_due_at
from crm.forms.leads import ContactAttemptForm, NoteForm
from crm.models import FollowUp, Lead, LeadEvent, LostReason, PipelineStatus, Stage
from crm.tags import tag_labels
from crm.views.leads import lead_url, visible_leads

TIMELINE_LIMIT = 200
LINKED_LIMIT = 50
FOLLOW_UPS_LIMIT = 20
LINKED_FIELDS = (
    "contact_name",
    "company",
    "email",
    "brand_id",
    "assignee_id",
    "status",
    "duplicate_of_id",
    "merged_into_id",
    "submitted_at",
)
"""What the linked leads show (their name, relation and status) and what their access check reads."""

MEDIA = forms.Media(css={"all": ["crm/lead-page.css"]}, js=["crm/lead-page.js"])

PANELS_HOOK = "crm_lead_page_panels"
"""The place feature apps add a section to the lead page: ``@hooks.register("crm_lead_page_panels")`` on a
function taking ``(request, lead)`` that returns a Wagtail ``Component`` (drawn above the timeline, its
``media`` added to the page's) or None. It checks the reader's rights on the lead itself."""


def json_text(value):
    """Stored JSON, indented, or "" when it holds nothing."""
    if value in (None, "", {}, []):
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


class LeadInspectView(snippet_views.InspectView):
    """One lead as the people working it need it; see the module's description."""

    template_name = "crm/leads/inspect.html"

    def get_object(self, queryset: QuerySet[Lead] | None = None) -> Lead:
        # The original and the lead this one was merged into come with the linked leads.
        related = lead_fields.detail_related()
        queryset = Lead.objects.select_related(*related, "lost_reason").prefetch_related("tags")
        return get_object_or_404(visible_leads(self.request.user, queryset), pk=self.pk)

    def get_page_title(self):
        return _("Lead")

    def get_fields_context(self):
        # The page draws its own sections (``crm.lead_page.field_rows``), not Wagtail's list of fields.
        return []

    # Timeline -----------------------------------------------------------------------------------------

    def timeline_kind(self):
        return lead_page.kind_filter(self.request.GET.get("kind"))

    def get_timeline(self, statuses):
        lead = self.object
        lead_ids = [lead.pk, *Lead.objects.filter(merged_into=lead).order_by().values_list("pk", flat=True)]
        events = (
            LeadEvent.objects.filter(lead_id__in=lead_ids)
            .filter(lead_page.kind_condition(self.timeline_kind()))
            .select_related("actor")
            .order_by("-created_at", "-pk")
        )
        timeline = list(events[: TIMELINE_LIMIT + 1])
        lead_page.label_event_values(timeline, statuses)
        return timeline

    # Linked leads -------------------------------------------------------------------------------------

    def get_linked_leads(self):
        user, lead = self.request.user, self.object
        linked = models.Q(duplicate_of=lead) | models.Q(merged_into=lead)
        if lead.duplicate_of_id:
            linked |= models.Q(pk=lead.duplicate_of_id)
        if lead.merged_into_id:
            linked |= models.Q(pk=lead.merged_into_id)
        queryset = (
            visible_leads(user, Lead.objects.filter(linked).select_related("status"))
            .only(*LINKED_FIELDS)
            .order_by("submitted_at", "pk")[:LINKED_LIMIT]
        )
        rows = []
        for other in queryset:
            if other.pk == lead.merged_into_id:
                relation = _("This lead was merged into it")
            elif other.merged_into_id == lead.pk:
                relation = _("Merged into this lead")
            elif other.pk == lead.duplicate_of_id:
                relation = _("Original of this lead")
            else:
                relation = _("Duplicate of this lead")
            rows.append(
                {
                    "lead": other,
                    "relation": relation,
                    "url": lead_url("inspect", other),
                    "merged_into": other.pk == lead.merged_into_id,
                }
            )
        return rows

    # Actions ------------------------------------------------------------------------------------------

    def get_actions(self):
        """The everyday actions, with their forms on the page: a note, a contact attempt."""
        user, lead = self.request.user, self.object
        actions = [
            ("note", _("Add a note"), NoteForm),
            ("contact", _("Log a contact attempt"), ContactAttemptForm),
        ]
        # The lead was fetched through leads_for, so it is in scope: only the role decides here.
        return [
            {"name": name, "label": label, "form": make(), "url": lead_url(name, lead)}
            for name, label, make in actions
            if access.role_may(user, name)
        ]

    def get_action_links(self):
        """Management's actions, each on its own page (``crm.views.leads``): assign, merge."""
        user, lead = self.request.user, self.object
        links = [("assign", _("Assign…")), ("merge", _("Merge into another lead…"))]
        return [
            {"name": name, "label": label, "url": lead_url(name, lead)}
            for name, label in links
            if access.role_may(user, name)
        ]

    # Follow-ups ---------------------------------------------------------------------------------------

    def may_plan_follow_ups(self):
        """A closed or merged lead takes no new follow-ups (``crm.followups``); the schedule form is a page
        of its own (``crm.views.followups``), linked from the lead page."""
        lead = self.object
        return (
            access.role_may(self.request.user, "follow_up")
            and lead.status.stage in (Stage.NEW, Stage.OPEN)
            and not lead.merged_into_id
        )

    def get_open_follow_ups(self, now):
        follow_ups = list(
            FollowUp.objects.filter(lead_id=self.object.pk, state=FollowUp.State.OPEN)
            .select_related("assignee")
            .order_by("due_at", "pk")[: FOLLOW_UPS_LIMIT + 1]
        )
        may_act = access.can_act_on_lead(self.request.user, self.object, "follow_up")
        for follow_up in follow_ups:
            follow_up.overdue = follow_up.due_at < now
            follow_up.assignee_label = user_label(follow_up.assignee) if follow_up.assignee else ""
            if may_act:
                follow_up.urls = {
                    name: reverse(Lead.snippet_viewset.get_url_name(f"follow_up_{name}"), args=[follow_up.pk])
                    for name in ("done", "cancel", "edit")
                }
        return follow_ups

    def get_contact(self):
        user, lead = self.request.user, self.object
        if not access.role_may(user, "contact") or not (lead.phone or lead.phone_e164 or lead.email):
            return None
        return {
            **contact.contact_context(lead, user, contact.brand_templates(lead)),
            "log_url": once.with_key(lead_url("contact", lead)),
            "outcomes": LeadEvent.Outcome.choices,
        }

    def get_deal(self):
        """The Deal section: the quote, won amount and lost reason, with the figures in the other currency
        (one query for the rates, only when the lead has an amount), and the quote's forms for those who
        may edit the lead."""
        user, lead = self.request.user, self.object
        book = money.RateBook.for_days(lead_page.deal_days(lead))
        may_quote = access.can_act_on_lead(user, lead, "edit")
        deal = {"rows": lead_page.deal_rows(lead, book), "may_quote": may_quote}
        if may_quote:
            deal["quote_form"] = QuoteForm(
                initial={
                    "amount": lead.quote_amount,
                    "currency": lead.quote_currency or None,
                    "quoted_on": lead.quoted_on,
                    "expected_close_on": lead.expected_close_on,
                }
            )
            deal["quote_url"] = lead_url("quote", lead)
            deal["clear_url"] = lead_url("clear_quote", lead) if lead.quote_amount is not None else ""
            if lead.status.stage == Stage.WON:
                deal["won_url"] = lead_url("won_amount", lead)
        return deal

    def get_panels(self):
        panels = (make(self.request, self.object) for make in hooks.get_hooks(PANELS_HOOK))
        return [panel for panel in panels if panel is not None]

    # Header -------------------------------------------------------------------------------------------

    def get_header(self, statuses, now, follow_ups):
        user, lead = self.request.user, self.object
        moves, more_moves = lead_page.split_moves(
            lead_page.status_moves(user, lead, statuses, has_open_follow_up=bool(follow_ups))
        )
        service = lead.service.name if lead.service_id and lead.service else lead.service_text
        asks_reason = any(move.needs_note for move in more_moves)
        return {
            "service": service,
            "assignee": user_label(lead.assignee) if lead.assignee_id and lead.assignee else "",
            "priority": lead.get_priority_display(),
            "high_priority": lead.priority > 2,
            "age": timesince(lead.submitted_at, now),
            "flags": lead_flags.flags_for(lead, now),
            "tags": tag_labels(tag.name for tag in lead.tags.all()),
            "moves": moves,
            "more_moves": more_moves,
            "more_quick": [move for move in more_moves if not move.asks],
            "more_asks": [move for move in more_moves if move.asks],
            "lost_reasons": list(LostReason.objects.filter(is_active=True)) if asks_reason else [],
            "status_url": once.with_key(lead_url("change_status", lead)),
            "next_action": self.get_next_action(follow_ups, now),
            "default_follow_up": timezone.localtime(default_due_at(now)).strftime("%Y-%m-%dT%H:%M"),
        }

    def get_next_action(self, follow_ups, now):
        """What the lead waits for: its earliest open follow-up (``Lead.next_action_at``), else its first
        contact while nobody has reached it (open leads only)."""
        lead = self.object
        if follow_ups:
            first = follow_ups[0]
            due = lead.next_action_at or first.due_at
            return {"label": first.get_kind_display(), "due": due, "overdue": due < now}
        if lead.status.stage in (Stage.NEW, Stage.OPEN) and lead.first_contacted_at is None:
            return {"label": _("First contact"), "due": None, "overdue": False}
        return None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        lead, now = self.object, timezone.now()
        statuses = list(PipelineStatus.objects.all())
        follow_ups = self.get_open_follow_ups(now)
        timeline = self.get_timeline(statuses)
        actions = self.get_actions()
        linked = self.get_linked_leads()
        kind = self.timeline_kind()
        panels = self.get_panels()
        context.update(
            {
                "lead": lead,
                "header": self.get_header(statuses, now, follow_ups),
                "follow_ups": follow_ups[:FOLLOW_UPS_LIMIT],
                "follow_ups_truncated": len(follow_ups) > FOLLOW_UPS_LIMIT,
                "follow_up_url": lead_url("follow_up", lead) if self.may_plan_follow_ups() else "",
                "contact": self.get_contact(),
                "sections": [
                    (section.value, title, lead_page.field_rows(lead, section))
                    for section, title in (
                        (Section.CONTACT, gettext_lazy("Contact")),
                        (Section.REQUEST, gettext_lazy("Request")),
                        (Section.ORIGIN, gettext_lazy("Origin")),
                    )
                ],
                "deal": self.get_deal(),
                "system_rows": lead_page.field_rows(lead, Section.SYSTEM),
                "raw_payload": json_text(lead.raw_payload),
                "extra": json_text(lead.extra),
                "timeline": timeline[:TIMELINE_LIMIT],
                "timeline_truncated": len(timeline) > TIMELINE_LIMIT,
                "timeline_kind": kind,
                "timeline_groups": lead_page.timeline_groups(),
                "linked_leads": linked,
                "merged_into": next((row for row in linked if row["merged_into"]), None),
                "actions": actions,
                "action_links": self.get_action_links(),
                "panels": panels,
                "history_url": lead_url("history", lead),
                "page_url": lead_url("inspect", lead),
            }
        )
        media = MEDIA
        for action in actions:
            media += action["form"].media
        for panel in panels:
            media += panel.media
        context["media"] = media
        return context
