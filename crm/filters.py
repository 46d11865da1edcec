"""Filters of the lead listing. Choices only offer what the requesting user may see."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from taggit.models import Tag
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet

from . import access
from .models import Brand, Campaign, Lead, PipelineStatus, Role, Service, Source, Stage, TaggedLead, User
from .tags import tag_label

ASSIGNEE_MINE = "mine"
ASSIGNEE_UNASSIGNED = "unassigned"


def brands_for(user):
    """Brands whose leads the user may work with."""
    if user.role == Role.ADMIN:
        return Brand.objects.all()
    return Brand.objects.filter(pk__in=sorted(access.brand_ids(user)))


def assignable_users(brands):
    """Active people who may hold leads of ``brands``."""
    return (
        User.objects.filter(is_active=True, role__in=[Role.EMPLOYEE, Role.MANAGER], brands__in=brands)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def user_label(user):
    return user.get_full_name().strip() or user.get_username()


class AssigneeFilter(django_filters.ChoiceFilter):
    """Assignee: "mine", "unassigned" or a person."""

    def filter(self, qs, value):
        if not value:
            return qs
        if value == ASSIGNEE_MINE:
            return qs.filter(assignee=self.parent.request.user)
        if value == ASSIGNEE_UNASSIGNED:
            return qs.filter(assignee__isnull=True)
        return qs.filter(assignee_id=value)


class LeadFilterSet(WagtailFilterSet):
    status = django_filters.ModelMultipleChoiceFilter(
        queryset=PipelineStatus.objects.all(),
        label=_("Status"),
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
    )
    stage = django_filters.ChoiceFilter(
        field_name="status__stage", choices=Stage.choices, label=_("Stage"), empty_label=_("All")
    )
    assignee = AssigneeFilter(label=_("Assignee"), empty_label=_("Anyone"))
    brand = django_filters.ModelChoiceFilter(queryset=Brand.objects.none(), label=_("Brand"))
    service = django_filters.ModelChoiceFilter(queryset=Service.objects.none(), label=_("Service"))
    source = django_filters.ModelChoiceFilter(queryset=Source.objects.all(), label=_("Source"))
    campaign = django_filters.ModelChoiceFilter(queryset=Campaign.objects.none(), label=_("Campaign"))
    submitted = django_filters.DateFromToRangeFilter(
        field_name="submitted_at", label=_("Submitted"), widget=DateRangePickerWidget
    )
    received = django_filters.DateFromToRangeFilter(
        field_name="received_at", label=_("Received"), widget=DateRangePickerWidget
    )
    duplicates = django_filters.ChoiceFilter(
        label=_("Duplicates"),
        method="filter_duplicates",
        empty_label=_("All"),
        choices=[
            ("duplicate", _("Is a duplicate of another lead")),
            ("original", _("Has duplicates")),
            ("any", _("Either")),
        ],
    )
    tags = django_filters.ModelMultipleChoiceFilter(
        queryset=Tag.objects.all(), label=_("Tags"), method="filter_tags", distinct=False
    )

    class Meta:
        model = Lead
        fields = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        user = request.user
        brands = brands_for(user)
        self.filters["brand"].queryset = brands
        self.filters["service"].queryset = Service.objects.filter(brand__in=brands).select_related("brand")
        self.filters["campaign"].queryset = Campaign.objects.filter(
            Q(brand__in=brands) | Q(brand__isnull=True)
        )
        self.filters["tags"].queryset = Tag.objects.order_by("name")
        people = []
        if user.role != Role.EMPLOYEE:
            people = [(str(person.pk), user_label(person)) for person in assignable_users(brands)]
        self.filters["assignee"].extra["choices"] = [
            (ASSIGNEE_MINE, _("Assigned to me")),
            (ASSIGNEE_UNASSIGNED, _("Unassigned")),
            *people,
        ]

    @property
    def form(self):
        form = super().form
        if "tags" in form.fields:
            form.fields["tags"].label_from_instance = lambda tag: tag_label(tag.name)
        return form

    def filter_duplicates(self, qs, name, value):
        has_duplicates = Q(pk__in=Lead.objects.filter(duplicate_of__isnull=False).values("duplicate_of_id"))
        if value == "duplicate":
            return qs.filter(duplicate_of__isnull=False)
        if value == "original":
            return qs.filter(has_duplicates)
        if value == "any":
            return qs.filter(Q(duplicate_of__isnull=False) | has_duplicates)
        return qs

    def filter_tags(self, qs, name, value):
        if not value:
            return qs
        return qs.filter(pk__in=TaggedLead.objects.filter(tag__in=value).values("content_object_id"))
