"""Wagtail's log entries read through the CRM's row-level rules.

Both models are proxies of Wagtail's ``ModelLogEntry`` (same table): ``LeadLogEntry`` holds the
entries of leads, ``ScopedModelLogEntry`` those of every other model. Their ``viewable_by_user`` (site
history, its filters and exports) admits an entry when the reader holds a permission on its model, as
Wagtail does, and, for a model whose permission policy narrows instances (leads, people, invitations,
brand-scoped rules), only when that policy lets the reader reach the logged object: a subquery on the
object's id, so the database filters however many rows there are.
"""

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _
from wagtail.models import ModelLogEntry
from wagtail.models.audit_log import ModelLogEntryManager
from wagtail.permission_policies import ModelPermissionPolicy

ANY_ACTION = ["add", "change", "delete", "view"]


def narrows_instances(policy):
    """Whether a permission policy limits which instances a user reaches (beyond model permissions)."""
    own = type(policy).instances_user_has_any_permission_for
    return own is not ModelPermissionPolicy.instances_user_has_any_permission_for


def object_keys(queryset):
    """The ids of ``queryset`` as text, the type of a log entry's ``object_id``, for ``__in`` subqueries."""
    return queryset.order_by().annotate(log_object_key=Cast("pk", CharField())).values("log_object_key")


def permitted_content_type_ids(user):
    """Content types the user holds any permission on (read once per user object)."""
    cached = getattr(user, "_crm_log_content_type_ids", None)
    if cached is None:
        permissions = Permission.objects.filter(Q(group__user=user) | Q(user=user))
        cached = frozenset(permissions.values_list("content_type_id", flat=True).distinct())
        user._crm_log_content_type_ids = cached
    return cached


def lead_content_type_id():
    from .leads import Lead

    return ContentType.objects.get_for_model(Lead).pk


class RowScopedLogEntryManager(ModelLogEntryManager):
    """Log entries of the content types the model serves, filtered per object by permission policy."""

    def serves(self, content_type_id):
        raise NotImplementedError

    def served(self):
        raise NotImplementedError

    def viewable_by_user(self, user):
        from wagtail.permissions import policy_registry

        entries = self.filter(self.served())
        if not (user.is_authenticated and user.is_active):
            return entries.none()
        if user.is_superuser:
            return entries
        plain, rules = [], []
        for content_type_id in sorted(permitted_content_type_ids(user)):
            if not self.serves(content_type_id):
                continue
            model = ContentType.objects.get_for_id(content_type_id).model_class()
            policy = policy_registry.get_by_type(model, fallback=False) if model else None
            if policy is not None and narrows_instances(policy):
                reachable = policy.instances_user_has_any_permission_for(user, ANY_ACTION)
                rules.append(Q(content_type_id=content_type_id, object_id__in=object_keys(reachable)))
            else:
                plain.append(content_type_id)
        if plain:
            rules.append(Q(content_type_id__in=plain))
        if not rules:
            return entries.none()
        condition = rules[0]
        for rule in rules[1:]:
            condition |= rule
        return entries.filter(condition)


class LeadLogEntryManager(RowScopedLogEntryManager):
    def serves(self, content_type_id):
        return content_type_id == lead_content_type_id()

    def served(self):
        return Q(content_type_id=lead_content_type_id())


class ScopedModelLogEntryManager(RowScopedLogEntryManager):
    def serves(self, content_type_id):
        return content_type_id != lead_content_type_id()

    def served(self):
        return ~Q(content_type_id=lead_content_type_id())


class LeadLogEntry(ModelLogEntry):
    """The log entries of leads, visible to those who may see the lead."""

    objects = LeadLogEntryManager()

    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = _("lead log entry")
        verbose_name_plural = _("lead log entries")


class ScopedModelLogEntry(ModelLogEntry):
    """The log entries of every model but pages and leads, visible per the model's permission policy."""

    objects = ScopedModelLogEntryManager()

    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = _("model log entry")
        verbose_name_plural = _("model log entries")
