"""Forms of the lead admin: create, edit and the actions on one lead or many."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.snippets.widgets import AdminSnippetChooser

from core.middleware import is_int64
from crm import lead_fields
from crm.access import leads_for, statuses_offered
from crm.assignment import assignable_users
from crm.filters import brands_for, user_label
from crm.followups import has_open_follow_up
from crm.models import Campaign, Currency, Lead, LeadEvent, PipelineStatus, Role, Service, Source, Stage, User
from crm.search import search_leads

from .deals import amount_field, lost_reason_field
from .followups import follow_up_date_field, follow_up_kind_field

LOST_STATUS_KEYS = ("not_advanced", "not_viable")
MANUAL_SOURCE_KEYS = ("phone", "walk_in", "email", "whatsapp", "referral", "other")
MANAGEMENT_ONLY_FIELDS = ("brand", "management_note")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return user_label(obj)


class LeadFormMixin:
    """Limits catalogue choices to the brands the user works for."""

    def limit_choices(self, user):
        brands = brands_for(user)
        if "brand" in self.fields:
            self.fields["brand"].queryset = brands
        if "service" in self.fields:
            self.fields["service"].queryset = Service.objects.filter(brand__in=brands, is_active=True)
        if "campaign" in self.fields:
            self.fields["campaign"].queryset = Campaign.objects.filter(
                Q(brand__in=brands) | Q(brand__isnull=True)
            )

    def clean(self):
        cleaned = super().clean()
        brand = cleaned.get("brand") or getattr(self.instance, "brand", None)
        service = cleaned.get("service")
        if brand and service and service.brand_id != brand.pk:
            self.add_error("service", _("This service belongs to another brand."))
        return cleaned


class LeadEditForm(LeadFormMixin, WagtailAdminModelForm):
    """The fields ``crm.services.edit_lead`` accepts; employees cannot move brands or write the management note."""

    class Meta:
        model = Lead
        fields = [
            "contact_name",
            "company",
            "email",
            "phone",
            "location",
            "brand",
            "service",
            "source",
            "campaign",
            "priority",
            "message",
            "management_note",
        ]

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, for_user=for_user, **kwargs)
        if for_user is not None:
            self.limit_choices(for_user)
            if not for_user.is_management:
                for name in MANAGEMENT_ONLY_FIELDS:
                    self.fields.pop(name, None)

    def changes(self):
        """The changed fields and their new values, for ``edit_lead``."""
        return {name: self.cleaned_data[name] for name in self.changed_data if name in self.fields}


class LeadCreateForm(LeadFormMixin, WagtailAdminModelForm):
    """A lead taken by hand: by phone, at the counter, by email or WhatsApp, from a referral."""

    class Meta:
        model = Lead
        fields = list(lead_fields.manual_names())

    def __init__(self, *args, for_user=None, **kwargs):
        super().__init__(*args, for_user=for_user, **kwargs)
        self.fields["source"].queryset = Source.objects.filter(key__in=MANUAL_SOURCE_KEYS)
        self.fields["source"].required = True
        if for_user is not None:
            self.limit_choices(for_user)

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in ("contact_name", "company", "email", "phone")):
            raise forms.ValidationError(_("Give at least a name, a company, an email or a phone."))
        return cleaned


class ChangeStatusForm(forms.Form):
    """Offers only the statuses ``user`` may move the lead(s) to (``crm.access.statuses_offered``)."""

    status = forms.ModelChoiceField(queryset=PipelineStatus.objects.none(), label=_("New status"))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    follow_up_at = follow_up_date_field(
        help_text=_(
            "Required for statuses that wait for a date (postponed, to quote) unless a follow-up is open."
        )
    )
    lost_reason = lost_reason_field()
    won_amount = amount_field(
        _("Won amount"),
        required=False,
        help_text=_("When the lead is won; the quote's amount when left empty."),
    )
    won_currency = forms.ChoiceField(
        label=_("Won currency"), choices=[("", "---------"), *Currency.choices], required=False
    )

    def __init__(self, *args, user, leads, **kwargs):
        super().__init__(*args, **kwargs)
        self.leads = leads
        offered = statuses_offered(user, leads, PipelineStatus.objects.all())
        self.fields["status"].queryset = PipelineStatus.objects.filter(
            pk__in=[status.pk for status in offered]
        )
        self.offers_nothing = not offered
        if self.offers_nothing:
            self.fields["status"].help_text = _(
                "No status change is open to you here: only a manager can move a lead back or reopen it."
            )

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("status")
        if status and status.stage == Stage.LOST and not cleaned.get("lost_reason"):
            self.add_error(
                "lost_reason", _("Give a reason when a lead is lost or not viable: choose one from the list.")
            )
        if (
            cleaned.get("won_amount") is not None
            and not cleaned.get("won_currency")
            and not all(lead.quote_currency for lead in self.leads)
        ):
            self.add_error("won_currency", _("Choose pesos (ARS) or dollars (USD)."))
        if (
            status
            and status.requires_follow_up
            and not cleaned.get("follow_up_at")
            and "follow_up_at" not in self.errors
            and not all(has_open_follow_up(lead) for lead in self.leads)
        ):
            self.add_error(
                "follow_up_at",
                _("%(status)s needs the date of the next follow-up.") % {"status": status.display_label},
            )
        return cleaned


class AssignForm(forms.Form):
    assignee = UserChoiceField(
        queryset=User.objects.none(),
        label=_("Assign to"),
        required=False,
        empty_label=_("Nobody (unassign)"),
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, lead=None, **kwargs):
        super().__init__(*args, **kwargs)
        if lead is not None:
            self.fields["assignee"].queryset = assignable_users(lead.brand_id).order_by(
                "first_name", "last_name", "username"
            )
            self.fields["assignee"].initial = lead.assignee_id


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 4}))

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("A note cannot be empty."))
        return note


class ContactAttemptForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=LeadEvent.Channel.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=LeadEvent.Outcome.choices)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    follow_up_at = follow_up_date_field(help_text=_("Optional: when to follow up next."))
    follow_up_kind = follow_up_kind_field(required=False)


class MergeForm(forms.Form):
    into = forms.ModelChoiceField(
        queryset=Lead.objects.none(),
        label=_("Merge into"),
        help_text=_("The lead that stays; this lead's history and details are kept with it."),
    )

    def __init__(self, *args, lead=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if lead is not None and user is not None:
            self.fields["into"].queryset = leads_for(user).filter(brand_id=lead.brand_id).exclude(pk=lead.pk)
            self.fields["into"].widget = AdminSnippetChooser(Lead)
            self.fields["into"].initial = lead.duplicate_of_id


class BulkAssignForm(forms.Form):
    assignee = UserChoiceField(
        queryset=User.objects.none(), label=_("Assign to"), required=False, empty_label=_("Nobody (unassign)")
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.fields["assignee"].queryset = (
                User.objects.filter(
                    is_active=True, role__in=[Role.EMPLOYEE, Role.MANAGER], brands__in=brands_for(user)
                )
                .distinct()
                .order_by("first_name", "last_name", "username")
            )


class BulkStatusForm(ChangeStatusForm):
    """Offers the statuses open to ``user`` for every selected lead; won leads take their own quotes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["won_amount"], self.fields["won_currency"]


class LeadChooserFilterForm(BaseFilterForm):
    """Search in the lead chooser: by id (``#12``), or as the listing searches, in name, company, email
    and phone (``crm.search``)."""

    q = forms.CharField(
        label=_("Search term"),
        widget=forms.TextInput(attrs={"placeholder": _("Search")}),
        required=False,
    )

    def filter(self, objects):
        objects = super().filter(objects)
        query = (self.cleaned_data.get("q") or "").strip()
        if not query:
            return objects
        self.is_searching = True
        self.search_query = query
        key = query.removeprefix("#")
        by_key = objects.filter(pk=int(key)) if key.isascii() and key.isdigit() and is_int64(key) else None
        if by_key is not None and query.startswith("#"):
            return by_key
        found = search_leads(objects, query, chooser=True)
        return found if by_key is None else found | by_key
