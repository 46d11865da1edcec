"""Wagtail's log entries read through the CRM's row-level rules.

Both models are proxies of Wagtail's ``ModelLogEntry`` (same table): ``LeadLogEntry`` holds the
entries of leads, ``ScopedModelLogEntry`` those of every other model. Their ``viewable_by_user`` (site
history, its filters and exports) admits an entry when the reader holds a permission on its model, as
Wagtail does, and, for a model whose permission policy narrows instances (leads, people, invitations,
brand-scoped rules), only when that policy lets the reader reach the logged object: a subquery in the
same statement, so the database filters however many rows there are.
"""

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import BigIntegerField, CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _
from wagtail.models import ModelLogEntry
from wagtail.models.audit_log import LogEntryQuerySet, ModelLogEntryManager
from wagtail.permission_policies import ModelPermissionPolicy

from .leads import Lead

ANY_ACTION = ["add", "change", "delete", "view"]
# Up to this many reachable leads, lead entries are found from the leads' side (see LeadLogEntryManager).
FEW_LEADS = 2000
# Every action a lead is logged with (crm.events.LOG_ACTIONS, crm.log_actions, Wagtail's delete view).
LEAD_ACTIONS = frozenset(
    {
        "wagtail.create",
        "wagtail.edit",
        "wagtail.delete",
        "crm.lead.classified",
        "crm.lead.assigned",
        "crm.lead.status_changed",
        "crm.lead.note",
        "crm.lead.contact_attempt",
        "crm.lead.merged",
    }
)


def narrows_instances(policy):
    """Whether a permission policy limits which instances a user reaches (beyond model permissions)."""
    own = type(policy).instances_user_has_any_permission_for
    return own is not ModelPermissionPolicy.instances_user_has_any_permission_for


def permitted_content_type_ids(user):
    """Content types the user holds any permission on (read once per user object)."""
    cached = getattr(user, "_crm_log_content_type_ids", None)
    if cached is None:
        permissions = Permission.objects.filter(Q(group__user=user) | Q(user=user))
        cached = frozenset(permissions.values_list("content_type_id", flat=True).distinct())
        user._crm_log_content_type_ids = cached
    return cached


def lead_content_type_id():
    return ContentType.objects.get_for_model(Lead).pk


class RowScopedLogEntryManager(ModelLogEntryManager):
    """Log entries of the content types the model serves, filtered per object by permission policy."""

    def serves(self, content_type_id):
        raise NotImplementedError

    def served(self):
        raise NotImplementedError

    def entries_reachable(self, content_type_id, reachable):
        """The condition on entries of one content type whose object is in ``reachable``."""
        keys = reachable.order_by().annotate(log_object_key=Cast("pk", CharField())).values("log_object_key")
        return Q(content_type_id=content_type_id, object_id__in=keys)

    def viewable_by_user(self, user):
        """Entries ``user`` may read; the condition is worked out once per user object (request)."""
        conditions = getattr(user, "_crm_log_conditions", None)
        if conditions is None:
            conditions = user._crm_log_conditions = {}
        key = type(self).__name__
        if key not in conditions:
            conditions[key] = self.condition_for(user)
        condition = conditions[key]
        return self.none() if condition is None else self.filter(condition)

    def condition_for(self, user):
        """The condition on entries ``user`` may read, or None for none."""
        from wagtail.permissions import policy_registry

        if not (user.is_authenticated and user.is_active):
            return None
        if user.is_superuser:
            return self.served()
        plain, rules = [], []
        for content_type_id in sorted(permitted_content_type_ids(user)):
            if not self.serves(content_type_id):
                continue
            model = ContentType.objects.get_for_id(content_type_id).model_class()
            policy = policy_registry.get_by_type(model, fallback=False) if model else None
            if policy is None or not narrows_instances(policy):
                plain.append(content_type_id)
                continue
            reachable = policy.instances_user_has_any_permission_for(user, ANY_ACTION)
            if reachable.query.is_empty():
                continue
            if not reachable.query.has_filters():
                plain.append(content_type_id)
                continue
            rules.append(self.entries_reachable(content_type_id, reachable))
        if plain:
            rules.append(Q(content_type_id__in=plain))
        if not rules:
            return None
        condition = rules[0]
        for rule in rules[1:]:
            condition |= rule
        return self.served() & condition


class LeadLogEntryQuerySet(LogEntryQuerySet):
    """Lead entries number millions: the site history's filter choices come from the known lead actions
    (when any entry is visible) instead of a scan of every visible entry."""

    def get_actions(self):
        return set(LEAD_ACTIONS) if self.exists() else set()

    def get_content_type_ids(self):
        return {lead_content_type_id()} if self.exists() else set()


class LeadLogEntryManager(RowScopedLogEntryManager):
    def get_queryset(self):
        return LeadLogEntryQuerySet(self.model, using=self._db)

    def serves(self, content_type_id):
        return content_type_id == lead_content_type_id()

    def served(self):
        return Q(content_type_id=lead_content_type_id())

    def entries_reachable(self, content_type_id, reachable):
        # Few leads (a new salesperson): their ids as text, which the database looks up in the index of
        # log entries by object. Many (a brand): each entry's lead id compared as a number, so the database
        # walks the entries newest first and probes crm_lead per entry, stopping after a page or a count cap.
        # Lead entries only ever hold integer ids.
        if reachable.order_by()[:FEW_LEADS].count() < FEW_LEADS:
            return super().entries_reachable(content_type_id, reachable)
        lead_id = Cast(OuterRef("object_id"), BigIntegerField())
        return Q(content_type_id=content_type_id) & Exists(reachable.order_by().filter(pk=lead_id))


class ScopedModelLogEntryManager(RowScopedLogEntryManager):
    def serves(self, content_type_id):
        return content_type_id != lead_content_type_id()

    def served(self):
        # A list of content types (not "all but leads"), so the database reads these few entries through
        # the content type index instead of passing over the lead entries.
        lead = lead_content_type_id()
        return Q(
            content_type_id__in=[pk for pk in ContentType.objects.values_list("pk", flat=True) if pk != lead]
        )


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
