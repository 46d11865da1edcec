"""People in the Wagtail admin: users limited by role, invitations, and sign-in locks (see ``crm.people``)."""

from axes.models import AccessAttempt
from django import forms
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.timesince import timeuntil
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail import hooks
from wagtail.admin.templatetags.wagtailadmin_tags import timesince_simple
from wagtail.admin.ui.tables import ButtonsColumnMixin, Column, DateColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.usage import UsageView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import Button, HeaderButton, ListingButton
from wagtail.permissions import policy_registry
from wagtail.users.views import users as wagtail_users
from wagtail.users.views.bulk_actions import (
    AssignRoleBulkAction,
    DeleteBulkAction,
    SetActiveStateBulkAction,
)

from crm import people, two_factor
from crm.brand_scope import ScopedObjectMixin, scoped
from crm.forms.people import InvitationForm, UserCreationForm, UserEditForm
from crm.models import Invitation, Role, User
from crm.roles import grantable_roles


def _user_policy():
    return policy_registry.get_by_type(User)


class ManagedUserMixin:
    """Only users the requester may manage (``crm.people.manageable_users``) are reachable."""

    object_action = "change"

    def get_object(self, *args, **kwargs):
        user = super().get_object(*args, **kwargs)
        if not _user_policy().user_has_permission_for_instance(self.request.user, self.object_action, user):
            raise PermissionDenied
        return user


class UserIndexView(wagtail_users.IndexView):
    def get_base_queryset(self):
        allowed = _user_policy().instances_user_has_any_permission_for(self.request.user, ["change"])
        return super().get_base_queryset().filter(pk__in=allowed.values("pk"))

    @cached_property
    def columns(self):
        role_column = Column(
            "role", accessor="get_role_display", label=_("Role"), sort_key="role", width="10%"
        )
        return [role_column if column.name == "is_superuser" else column for column in super().columns]

    def get_delete_url(self, instance):
        if people.can_delete_user(self.request.user, instance):
            return super().get_delete_url(instance)
        return None


class ActorFormMixin:
    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "actor": self.request.user}


class UserCreateView(ActorFormMixin, wagtail_users.CreateView):
    pass


class UserEditView(ActorFormMixin, ManagedUserMixin, wagtail_users.EditView):
    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.can_delete = people.can_delete_user(request.user, self.object)

    @cached_property
    def header_more_buttons(self):
        buttons = list(super().header_more_buttons)
        if two_factor.can_reset(self.request.user) and two_factor.has_second_factor(self.object):
            reset_url = reverse("crm_two_factor:reset", args=[self.object.pk])
            buttons.append(Button(_("Reset two-factor sign-in"), url=reset_url, icon_name="key", priority=30))
        return buttons


class UserDeleteView(ManagedUserMixin, wagtail_users.DeleteView):
    object_action = "delete"


class UserHistoryView(ManagedUserMixin, wagtail_users.HistoryView):
    pass


class UserUsageView(ManagedUserMixin, UsageView):
    pass


class UserViewSet(wagtail_users.UserViewSet):
    """Wagtail's user admin where the role (not the group or superuser flag) sets what a person can do."""

    index_view_class = UserIndexView
    add_view_class = UserCreateView
    edit_view_class = UserEditView
    delete_view_class = UserDeleteView
    history_view_class = UserHistoryView
    usage_view_class = UserUsageView
    copy_view_enabled = False
    create_template_name = "crm/people/user_form.html"
    edit_template_name = "crm/people/user_edit.html"

    def get_form_class(self, for_update=False):
        return UserEditForm if for_update else UserCreationForm


# Bulk actions: replace Wagtail's user bulk actions with role-aware ones (registered after Wagtail's).


class ManagedUsersBulkActionMixin:
    def check_perm(self, obj):
        return _user_policy().user_has_permission_for_instance(self.request.user, "change", obj)

    def get_all_objects_in_listing_query(self, parent_id):
        listing = super().get_all_objects_in_listing_query(parent_id)
        return listing.filter(pk__in=people.manageable_users(self.request.user).values("pk"))


class CrmRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in grantable_roles(actor)]


class AssignCrmRoleBulkAction(ManagedUsersBulkActionMixin, AssignRoleBulkAction):
    """Give the selected people a role; their group follows the role."""

    form_class = CrmRoleForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "actor": self.request.user}

    def get_execution_context(self):
        return {"role": self.cleaned_form.cleaned_data["role"], "actor": self.request.user}

    @classmethod
    def execute_action(cls, objects, role=None, actor=None, **kwargs):
        if role is None or actor is None:
            return 0, 0
        return people.change_role(actor, objects, role), 0

    def get_success_message(self, num_parent_objects, num_child_objects):
        return ngettext(
            "%(count)d user now has the role %(role)s",
            "%(count)d users now have the role %(role)s",
            num_parent_objects,
        ) % {"count": num_parent_objects, "role": Role(self.cleaned_form.cleaned_data["role"]).label}


class SetCrmActiveStateBulkAction(ManagedUsersBulkActionMixin, SetActiveStateBulkAction):
    def get_execution_context(self):
        return {**super().get_execution_context(), "actor": self.request.user}

    @classmethod
    def execute_action(cls, objects, mark_as_active=False, actor=None, **kwargs):
        if actor is None:
            return 0, 0
        return people.set_active(actor, objects, mark_as_active), 0


class DeleteCrmUsersBulkAction(DeleteBulkAction):
    def check_perm(self, obj):
        return _user_policy().user_has_permission_for_instance(self.request.user, "delete", obj)


for action_class in (AssignCrmRoleBulkAction, SetCrmActiveStateBulkAction, DeleteCrmUsersBulkAction):
    hooks.register("register_bulk_action", action_class, order=100)


# Invitations


class DeadlineColumn(DateColumn):
    """A date that may lie ahead: "in 2 days, 23 hours" until it passes, then "3 hours ago".

    Wagtail's ``DateColumn`` only counts back, so any future time reads "Just now".
    """

    cell_template_name = "crm/people/deadline_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["relative"] = relative_to_now(context["value"]) if context["value"] else ""
        return context


def relative_to_now(moment, now=None):
    """``moment`` said relative to now: "in 2 days, 23 hours" ahead, "3 hours ago" behind."""
    now = now or timezone.now()
    if moment > now:
        return _("in %(time)s") % {"time": timeuntil(moment, now, depth=2)}
    return timesince_simple(moment)


class InvitationCreateView(generic.CreateView):
    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "for_user": self.request.user}

    def save_instance(self):
        return self.form.save()


class InvitationIndexView(generic.IndexView):
    def get_base_queryset(self):
        visible = people.visible_invitations(self.request.user)
        return super().get_base_queryset().filter(pk__in=visible.values("pk")).select_related("invited_by")


class InvitationDeleteView(generic.DeleteView):
    page_title = _("Revoke invitation")
    success_message = _("Invitation for '%(object)s' revoked.")

    def get_object(self, queryset=None):
        invitation = super().get_object(queryset)
        if not self.permission_policy.user_has_permission_for_instance(
            self.request.user, "delete", invitation
        ):
            raise PermissionDenied
        return invitation


class InvitationViewSet(ModelViewSet):
    model = Invitation
    icon = "mail"
    menu_label = _("Invitations")
    menu_order = 610
    add_to_settings_menu = True
    copy_view_enabled = False
    index_view_class = InvitationIndexView
    add_view_class = InvitationCreateView
    delete_view_class = InvitationDeleteView
    history_view_class = scoped(generic.HistoryView, ScopedObjectMixin)
    usage_view_class = scoped(UsageView, ScopedObjectMixin)
    list_display = [
        "email",
        Column("role", accessor="get_role_display", label=_("Role")),
        Column("status", accessor=people.invitation_status, label=_("Status")),
        Column("invited_by", label=_("Invited by")),
        DateColumn("created_at", label=_("Created")),
        DeadlineColumn("expires_at", label=_("Expires")),
    ]
    list_filter = ["role"]

    def get_form_class(self, for_update=False):
        return InvitationForm


# Sign-in locks (django-axes)


class SignInLockTitleColumn(ButtonsColumnMixin, TitleColumn):
    """The locked username, linked to the lock's page, with the row's buttons (``buttons_for(lock)``)."""

    def __init__(self, *args, buttons_for, **kwargs):
        super().__init__(*args, **kwargs)
        self.buttons_for = buttons_for

    def get_buttons(self, instance, parent_context):
        return self.buttons_for(instance)


class SignInLockIndexView(generic.IndexView):
    """Each lock links to its page and offers "Clear lock" to those who may clear it."""

    page_title = _("Sign-in locks")

    @cached_property
    def columns(self):
        first, *others = super().columns
        title = SignInLockTitleColumn(
            first.name,
            label=first.label,
            sort_key=first.sort_key,
            get_url=self.get_inspect_url,
            buttons_for=self.get_list_buttons,
        )
        return [title, *others]

    def get_list_buttons(self, instance):
        if clear_url := self.get_delete_url(instance):
            return [ListingButton(_("Clear lock"), url=clear_url, icon_name="lock-open")]
        return []


class SignInLockInspectView(generic.InspectView):
    page_title = _("Sign-in lock")

    def get_page_subtitle(self):
        return people.sign_in_lock_label(self.object)

    @cached_property
    def header_buttons(self):
        if clear_url := self.get_delete_url():
            return [HeaderButton(_("Clear lock"), url=clear_url, icon_name="lock-open")]
        return []

    @cached_property
    def header_more_buttons(self):
        return []


class ClearSignInLockView(generic.DeleteView):
    """Confirm, then clear the lock through ``crm.people.clear_sign_in_lock`` (which logs it)."""

    page_title = _("Clear sign-in lock")
    template_name = "crm/people/clear_sign_in_lock.html"

    def get_usage_url(self):
        return None

    def get_page_subtitle(self):
        return people.sign_in_lock_label(self.object)

    @property
    def confirmation_message(self):
        return _("%(lock)s will be able to sign in again at once.") % {
            "lock": people.sign_in_lock_label(self.object)
        }

    def get_success_message(self):
        return _("Sign-in lock cleared: %(lock)s.") % {"lock": people.sign_in_lock_label(self.object)}

    def delete_action(self):
        people.clear_sign_in_lock(self.request.user, self.object)


class SignInLockViewSet(ModelViewSet):
    """Admins see who is locked out after failed sign-ins and clear locks ("Clear lock")."""

    model = AccessAttempt
    icon = "lock"
    menu_label = _("Sign-in locks")
    menu_order = 620
    add_to_settings_menu = True
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = SignInLockIndexView
    inspect_view_class = SignInLockInspectView
    delete_view_class = ClearSignInLockView
    list_display = [
        Column("username", label=_("Username")),
        Column("ip_address", label=_("IP address")),
        Column("failures_since_start", label=_("Failed attempts")),
        DateColumn("attempt_time", label=_("Last attempt")),
    ]
    form_fields = ["username", "ip_address"]  # the policy allows no add or edit
    search_fields = ["username", "ip_address"]
    inspect_view_fields = ["username", "ip_address", "user_agent", "failures_since_start", "attempt_time"]


@hooks.register("register_admin_viewset")
def register_people_viewsets():
    return [
        InvitationViewSet("crm_invitations", url_prefix="invitations"),
        SignInLockViewSet("crm_sign_in_locks", url_prefix="sign-in-locks"),
    ]
