"""Lead admin views: the snippet views narrowed to the user's leads, and the actions on leads.

Every view looks leads up through ``crm.access.leads_for`` (a lead outside the user's scope is a 404)
and checks ``crm.access.can_act_on_lead`` before any change (a 403). Changes go through
``crm.services`` only, so each one writes its event.
"""

from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.snippets.bulk_actions.delete import DeleteBulkAction
from wagtail.snippets.bulk_actions.snippet_bulk_action import SnippetBulkAction
from wagtail.snippets.views import chooser as snippet_chooser
from wagtail.snippets.views import snippets as snippet_views

from core import once
from crm import access, deals, intake, lead_fields, services, system_notes
from crm.filters import ASSIGNEE_MINE
from crm.forms.deals import ClearQuoteForm, QuoteForm, WonAmountForm
from crm.forms.leads import (
    AssignForm,
    BulkAssignForm,
    BulkStatusForm,
    ChangeStatusForm,
    ContactAttemptForm,
    LeadChooserFilterForm,
    LeadCreateForm,
    LeadEditForm,
    MergeForm,
    NoteForm,
)
from crm.models import FollowUp, Lead, Role
from crm.pagination import CappedCountPaginator
from crm.search import search_leads

BULK_LIMIT = 1000


def visible_leads(user, queryset=None):
    return access.leads_for(user, Lead.objects.all() if queryset is None else queryset)


def require_action(user, lead, action):
    if not access.can_act_on_lead(user, lead, action):
        raise PermissionDenied


def lead_url(name, lead):
    return reverse(Lead.snippet_viewset.get_url_name(name), args=[quote(lead.pk)])


def has_lead_access(user):
    """Whether the user works with leads at all (marketing does not)."""
    return user.is_authenticated and user.is_active and user.has_perm("crm.view_lead")


# Create and edit --------------------------------------------------------------------------------------


EDIT_PANELS = [
    MultiFieldPanel(
        [
            FieldRowPanel([FieldPanel("contact_name"), FieldPanel("company")]),
            FieldRowPanel([FieldPanel("email"), FieldPanel("phone")]),
            FieldPanel("location"),
        ],
        heading=gettext_lazy("Contact"),
    ),
    MultiFieldPanel(
        [
            FieldPanel("brand", permission="crm.assign_lead"),
            FieldPanel("service"),
            FieldRowPanel([FieldPanel("source"), FieldPanel("campaign")]),
            FieldPanel("priority"),
        ],
        heading=gettext_lazy("Classification"),
    ),
    FieldPanel("message"),
    FieldPanel("management_note", permission="crm.assign_lead"),
]

CREATE_PANELS = [
    FieldRowPanel([FieldPanel("brand"), FieldPanel("source")]),
    MultiFieldPanel(
        [
            FieldRowPanel([FieldPanel("contact_name"), FieldPanel("company")]),
            FieldRowPanel([FieldPanel("email"), FieldPanel("phone")]),
            FieldPanel("location"),
        ],
        heading=gettext_lazy("Contact"),
    ),
    FieldRowPanel([FieldPanel("service"), FieldPanel("campaign")]),
    FieldPanel("message"),
]


def edit_panel() -> ObjectList:
    return ObjectList(EDIT_PANELS, base_form_class=LeadEditForm).bind_to_model(Lead)


def create_panel() -> ObjectList:
    """``CREATE_PANELS``, then any field ``crm.lead_fields`` says a person enters that they do not place."""
    placed = ObjectList(CREATE_PANELS).bind_to_model(Lead).get_form_options()["fields"]
    unplaced = [FieldPanel(name) for name in lead_fields.manual_names() if name not in placed]
    return ObjectList([*CREATE_PANELS, *unplaced], base_form_class=LeadCreateForm).bind_to_model(Lead)


class ServiceErrorsMixin:
    """Turns a refusal from the service layer into a form error; nothing is saved."""

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except (ValidationError, PermissionDenied) as error:
            messages_list = getattr(error, "messages", None) or [str(error) or _("Not allowed.")]
            for message in messages_list:
                form.add_error(None, message)
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)


class LeadCreateView(ServiceErrorsMixin, snippet_views.CreateView):
    """A lead taken by hand, created by ``crm.intake.create_lead``."""

    def get_panel(self):
        return create_panel()

    def get_form_class(self):
        return self.panel.get_form_class()

    def save_instance(self) -> Lead:
        form, user = self.form, self.request.user
        entered = {name: form.cleaned_data[name] for name in lead_fields.manual_names()}
        try:
            lead = intake.create_lead(intake.LeadData(**entered, created_by=user), actor=user)
        except intake.PersonErased as error:
            raise ValidationError(
                _("This person asked to have their data erased: the CRM takes no lead of theirs.")
            ) from error
        if user.role == Role.EMPLOYEE and lead.assignee_id is None:
            lead = services.assign(
                lead, user, actor=user, note=system_notes.encode(system_notes.TAKEN_BY_HAND)
            )
        return lead

    def get_success_url(self):
        if access.can_see_lead(self.request.user, self.object):
            return lead_url("inspect", self.object)
        return super().get_success_url()

    def get_success_buttons(self):
        return []


class LeadEditView(ServiceErrorsMixin, snippet_views.EditView):
    """Edits through ``crm.services.edit_lead``, which records one ``edited`` event."""

    def get_panel(self):
        return edit_panel()

    def get_form_class(self):
        return self.panel.get_form_class()

    def get_queryset(self):
        return visible_leads(self.request.user)

    def get_object(self, queryset=None):
        lead = super().get_object(queryset)
        require_action(self.request.user, lead, "edit")
        return lead

    def save_instance(self):
        return services.edit_lead(self.object, self.request.user, self.form.changes())

    def get_success_url(self):
        return lead_url("inspect", self.object)


class LeadDeleteView(snippet_views.DeleteView):
    def get_queryset(self):
        return visible_leads(self.request.user)


class LeadHistoryView(snippet_views.HistoryView):
    def get_base_object_queryset(self):
        return visible_leads(self.request.user)


class LeadUsageView(snippet_views.UsageView):
    def get_base_object_queryset(self):
        return visible_leads(self.request.user)


# Actions on one lead ----------------------------------------------------------------------------------


class LeadActionView(WagtailAdminTemplateMixin, FormView):
    """Base of the actions on one lead: GET shows the form, POST performs it through the services."""

    action = None
    form_class = None
    template_name = "crm/leads/action.html"
    success_message = None
    http_method_names = ["get", "post"]

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        queryset = Lead.objects.select_related("status", "brand", "assignee")
        self.lead = get_object_or_404(visible_leads(request.user, queryset), pk=kwargs["pk"])

    def dispatch(self, request, *args, **kwargs):
        require_action(request.user, self.lead, self.action)
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return self.page_title

    def get_page_subtitle(self):
        return str(self.lead)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {
                "url": reverse(Lead.snippet_viewset.get_url_name("list")),
                "label": capfirst(Lead._meta.verbose_name_plural),
            },
            {"url": lead_url("inspect", self.lead), "label": str(self.lead)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "lead": self.lead}

    def get_success_url(self):
        return get_valid_next_url_from_request(self.request) or lead_url("inspect", self.lead)

    def perform(self, form):
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        """The same POST again (a double click, a proxy's retry) is answered as done before its form is
        checked: what it did may have made it invalid now (a status the lead is in already)."""
        if self.once_key is not None and once.claimed(self.once_key):
            return self.done_already()
        return super().post(request, *args, **kwargs)

    @cached_property
    def once_key(self):
        return once.request_key(self.request, f"lead-action:{self.lead.pk}")

    def done_already(self):
        messages.success(self.request, _("This was done already."))
        return redirect(self.get_success_url())

    def form_valid(self, form):
        """Perform the action, once per key of the form's rendering (``core.once``): the key is claimed in
        the transaction that does the work, so a POST that failed midway can be sent again."""
        try:
            with transaction.atomic():
                if self.once_key is not None and not once.claim(self.once_key):
                    return self.done_already()
                self.perform(form)
        except (ValidationError, PermissionDenied) as error:
            for message in getattr(error, "messages", None) or [str(error) or _("Not allowed.")]:
                form.add_error(None, message)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message)
        return redirect(self.get_success_url())

    def form_invalid(self, form):
        messages.validation_error(
            self.request, _("The action could not be done; see the errors below."), form
        )
        return super().form_invalid(form)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            {
                "lead": self.lead,
                "action_url": once.with_key(self.request.path),
                "media": context["form"].media,
            }
        )
        return context


class ChangeStatusView(LeadActionView):
    action = "change_status"
    form_class = ChangeStatusForm
    page_title = gettext_lazy("Change status")
    success_message = gettext_lazy("Status changed.")

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        lead = kwargs.pop("lead")
        return {**kwargs, "user": self.request.user, "leads": [lead]}

    def perform(self, form):
        services.change_status(
            self.lead,
            form.cleaned_data["status"],
            self.request.user,
            form.cleaned_data["note"],
            follow_up_at=form.cleaned_data.get("follow_up_at"),
            lost_reason=form.cleaned_data.get("lost_reason"),
            won_amount=form.cleaned_data.get("won_amount"),
            won_currency=form.cleaned_data.get("won_currency") or "",
        )


class QuoteView(LeadActionView):
    """Set the lead's quote (``crm.deals.set_quote``): for the people who may edit the lead."""

    action = "edit"
    form_class = QuoteForm
    page_title = gettext_lazy("Quote")
    success_message = gettext_lazy("Quote saved.")

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs.pop("lead")
        return kwargs

    def get_initial(self):
        lead = self.lead
        return {
            "amount": lead.quote_amount,
            "currency": lead.quote_currency or None,
            "quoted_on": lead.quoted_on,
            "expected_close_on": lead.expected_close_on,
        }

    def perform(self, form):
        data = form.cleaned_data
        deals.set_quote(
            self.lead,
            self.request.user,
            data["amount"],
            data["currency"],
            data.get("quoted_on"),
            data.get("expected_close_on"),
        )


class ClearQuoteView(QuoteView):
    form_class = ClearQuoteForm
    page_title = gettext_lazy("Clear the quote")
    success_message = gettext_lazy("Quote cleared.")

    def get_initial(self):
        return {}

    def perform(self, form):
        deals.clear_quote(self.lead, self.request.user)


class WonAmountView(QuoteView):
    form_class = WonAmountForm
    page_title = gettext_lazy("Won amount")
    success_message = gettext_lazy("Won amount saved.")

    def get_initial(self):
        return {"won_amount": self.lead.won_amount, "won_currency": self.lead.won_currency}

    def perform(self, form):
        data = form.cleaned_data
        deals.record_won_amount(
            self.lead, self.request.user, data.get("won_amount"), data.get("won_currency") or ""
        )


class AssignView(LeadActionView):
    action = "assign"
    form_class = AssignForm
    page_title = gettext_lazy("Assign")
    success_message = gettext_lazy("Lead assigned.")

    def perform(self, form):
        services.assign(
            self.lead, form.cleaned_data["assignee"], self.request.user, form.cleaned_data["note"]
        )


class NoteView(LeadActionView):
    action = "note"
    form_class = NoteForm
    page_title = gettext_lazy("Add a note")
    success_message = gettext_lazy("Note added.")

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs.pop("lead")
        return kwargs

    def perform(self, form):
        services.add_note(self.lead, self.request.user, form.cleaned_data["note"])


class ContactAttemptView(NoteView):
    action = "contact"
    form_class = ContactAttemptForm
    page_title = gettext_lazy("Log a contact attempt")
    success_message = gettext_lazy("Contact attempt logged.")

    def perform(self, form):
        services.log_contact_attempt(
            self.lead,
            self.request.user,
            form.cleaned_data["channel"],
            form.cleaned_data["outcome"],
            form.cleaned_data["note"],
            follow_up_at=form.cleaned_data.get("follow_up_at"),
            follow_up_kind=form.cleaned_data.get("follow_up_kind") or FollowUp.Kind.CALL,
        )


class MergeView(LeadActionView):
    action = "merge"
    form_class = MergeForm
    page_title = gettext_lazy("Merge into another lead")
    success_message = gettext_lazy("Leads merged.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def perform(self, form):
        into = form.cleaned_data["into"]
        require_action(self.request.user, into, "merge")
        self.survivor = services.merge_leads(self.lead, into, self.request.user)

    def get_success_url(self):
        return lead_url("inspect", self.survivor)


def my_leads(request):
    """The employee's landing view: the listing filtered to the leads assigned to them."""
    if not has_lead_access(request.user):
        raise PermissionDenied
    return redirect(reverse(Lead.snippet_viewset.get_url_name("list")) + f"?assignee={ASSIGNEE_MINE}")


def quick_search(request):
    """The admin's header search: the lead itself when exactly one of the user's leads matches ``?q=``,
    else the listing searched for it (which says so when none does)."""
    if not has_lead_access(request.user):
        raise PermissionDenied
    text = request.GET.get("q", "").strip()
    listing = reverse(Lead.snippet_viewset.get_url_name("list"))
    if not text:
        return redirect(listing)
    found = list(search_leads(visible_leads(request.user), text).values_list("pk", flat=True)[:2])
    if len(found) == 1:
        return redirect(reverse(Lead.snippet_viewset.get_url_name("inspect"), args=[quote(found[0])]))
    return redirect(f"{listing}?{urlencode({'q': text})}")


# Chooser ----------------------------------------------------------------------------------------------


class LeadChooserAccessMixin:
    """The lead chooser: the user's leads only, searchable by plain ORM, never creating leads."""

    filter_form_class = LeadChooserFilterForm
    paginator_class = CappedCountPaginator

    def dispatch(self, request, *args, **kwargs):
        if not has_lead_access(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def can_create(self):
        return False

    def get_object_list(self):
        return visible_leads(self.request.user).order_by("-submitted_at", "-pk")


class LeadChooseView(LeadChooserAccessMixin, snippet_chooser.ChooseView):
    pass


class LeadChooseResultsView(LeadChooserAccessMixin, snippet_chooser.ChooseResultsView):
    pass


class LeadChosenView(LeadChooserAccessMixin, snippet_chooser.SnippetChosenView):
    def get_object(self, pk):
        return visible_leads(self.request.user).get(pk=pk)


class LeadChosenMultipleView(LeadChooserAccessMixin, snippet_chooser.SnippetChosenMultipleView):
    def get_objects(self, pks):
        return visible_leads(self.request.user).filter(pk__in=pks)


class LeadChooserCreateView(LeadChooserAccessMixin, snippet_chooser.SnippetCreateView):
    def dispatch(self, request, *args, **kwargs):
        raise PermissionDenied


class LeadChooserViewSet(snippet_chooser.SnippetChooserViewSet):
    choose_view_class = LeadChooseView
    choose_results_view_class = LeadChooseResultsView
    chosen_view_class = LeadChosenView
    chosen_multiple_view_class = LeadChosenMultipleView
    create_view_class = LeadChooserCreateView


# Bulk actions -----------------------------------------------------------------------------------------


class LeadBulkActionMixin:
    """Bulk actions on leads: ids outside the user's scope are dropped, the rest re-checked one by one."""

    models = [Lead]
    access_action = None

    def dispatch(self, request, *args, **kwargs):
        if not has_lead_access(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def selected_ids(self):
        ids = self.request.GET.getlist("id")
        if "all" in ids:
            return None
        return [int(pk) for pk in ids if str(pk).isdigit()]

    def visible_actionable_objects(self):
        queryset = visible_leads(
            self.request.user, Lead.objects.select_related("status", "brand", "assignee")
        )
        ids = self.selected_ids()
        if ids is not None:
            queryset = queryset.filter(pk__in=ids)
        leads = list(queryset.order_by("-submitted_at", "-pk")[: BULK_LIMIT + 1])
        if not leads:
            raise Http404
        if len(leads) > BULK_LIMIT:
            raise PermissionDenied(_("Select at most %(limit)s leads at once.") % {"limit": BULK_LIMIT})
        allowed, refused = [], []
        for lead in leads:
            (allowed if self.check_perm(lead) else refused).append(lead)
        return allowed, {"items_with_no_access": refused}

    def get_actionable_objects(self):
        return self.visible_actionable_objects()

    def ensure_something_allowed(self):
        allowed, _refused = self.get_actionable_objects()
        if not allowed:
            raise PermissionDenied

    def form_valid(self, form):
        self.ensure_something_allowed()
        return super().form_valid(form)

    def check_perm(self, lead):
        return access.can_act_on_lead(self.request.user, lead, self.access_action)


class LeadFormBulkAction(LeadBulkActionMixin, SnippetBulkAction):
    """A bulk action with a form (assignee, status…) performed by one service call."""

    template_name = "crm/leads/bulk_action.html"
    action_priority = 10

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_execution_context(self):
        return {
            **super().get_execution_context(),
            "user": self.request.user,
            "data": self.cleaned_form.cleaned_data,
        }

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "action_label": self.display_name}

    def form_valid(self, form):
        self.ensure_something_allowed()
        try:
            return super().form_valid(form)
        except (ValidationError, PermissionDenied) as error:
            for message in getattr(error, "messages", None) or [str(error) or _("Not allowed.")]:
                form.add_error(None, message)
            return self.form_invalid(form)


class BulkAssignAction(LeadFormBulkAction):
    display_name = gettext_lazy("Assign")
    action_type = "assign"
    aria_label = gettext_lazy("Assign the selected leads")
    access_action = "assign"
    form_class = BulkAssignForm

    @classmethod
    def execute_action(cls, objects, user=None, data=None, **kwargs):
        leads = Lead.objects.filter(pk__in=[lead.pk for lead in objects])
        changed = services.bulk_assign(leads, data["assignee"], user, data.get("note", ""))
        return changed, 0

    def get_success_message(self, num_parent_objects, num_child_objects):
        return _("%(count)s leads assigned.") % {"count": num_parent_objects}


class BulkStatusAction(LeadFormBulkAction):
    display_name = gettext_lazy("Change status")
    action_type = "change_status"
    aria_label = gettext_lazy("Change the status of the selected leads")
    access_action = "change_status"
    form_class = BulkStatusForm

    def get_form_kwargs(self):
        allowed, _refused = self.get_actionable_objects()
        return {**super().get_form_kwargs(), "leads": allowed}

    @classmethod
    def execute_action(cls, objects, user=None, data=None, **kwargs):
        leads = Lead.objects.filter(pk__in=[lead.pk for lead in objects])
        changed = services.bulk_change_status(
            leads,
            data["status"],
            user,
            data.get("note", ""),
            follow_up_at=data.get("follow_up_at"),
            lost_reason=data.get("lost_reason"),
        )
        return changed, 0

    def get_success_message(self, num_parent_objects, num_child_objects):
        return _("Status changed on %(count)s leads.") % {"count": num_parent_objects}


class LeadDeleteBulkAction(LeadBulkActionMixin, DeleteBulkAction):
    """Snippet bulk delete for leads, admins only, never listing leads outside the user's scope."""

    @cached_property
    def _actionable_objects(self):
        return self.visible_actionable_objects()

    def get_actionable_objects(self):
        return self._actionable_objects

    def check_perm(self, lead):
        return self.request.user.role == Role.ADMIN
