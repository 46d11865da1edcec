"""Brand-scoped settings: which rules, services and campaigns each person may manage.

Admins reach every object. Others reach the objects of their own brands: an object with one brand
(a ``brand`` field) when that brand is theirs, an object with several (a ``brands`` field) when every
one of them is theirs. An object without a brand applies to every brand: only admins manage it, unless
the policy opens such objects to everyone holding the model permission (services and campaigns).

``BrandScopedPermissionPolicy`` is registered for each such model, so Wagtail's own checks (menus,
buttons, bulk actions, log views) and the view mixins below agree.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import policy_registry

from .access import brand_ids
from .models import Brand, Role

ANY_ACTION = ["add", "change", "delete", "view"]


def is_admin(user):
    return user.is_authenticated and user.is_active and user.role == Role.ADMIN


def brands_managed_by(user):
    """The brands whose settings ``user`` may choose in a form: every brand for admins."""
    if is_admin(user):
        return Brand.objects.all()
    return Brand.objects.filter(pk__in=sorted(brand_ids(user)))


class BrandScopedPermissionPolicy(ModelPermissionPolicy):
    """Model permissions from the role groups, narrowed to the objects of the user's brands."""

    def __init__(self, model, brand_field="brand", brandless_for_all=False):
        super().__init__(model)
        self.brand_field = brand_field
        self.brandless_for_all = brandless_for_all
        self.many_brands = model._meta.get_field(brand_field).many_to_many

    def brandless_allowed(self, user):
        return self.brandless_for_all or is_admin(user)

    def scope(self, user):
        """The condition on objects that ``user`` reaches within the model permissions."""
        ids = sorted(brand_ids(user))
        if not self.many_brands:
            condition = Q(**{f"{self.brand_field}__in": ids})
            if self.brandless_for_all:
                condition |= Q(**{f"{self.brand_field}__isnull": True})
            return condition
        links = getattr(self.model, self.brand_field).through.objects
        owner = f"{self.model._meta.model_name}_id"
        outside = Exists(links.filter(**{owner: OuterRef("pk")}).exclude(brand_id__in=ids))
        if self.brandless_for_all:
            return ~outside
        return Exists(links.filter(**{owner: OuterRef("pk")})) & ~outside

    def in_scope(self, user, instance):
        if is_admin(user):
            return True
        mine = brand_ids(user)
        if not self.many_brands:
            brand_id = getattr(instance, f"{self.brand_field}_id")
            return brand_id in mine if brand_id is not None else self.brandless_for_all
        if instance.pk is None:
            return True
        chosen = set(getattr(instance, self.brand_field).values_list("pk", flat=True))
        return chosen <= mine and (bool(chosen) or self.brandless_for_all)

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action) and self.in_scope(user, instance)

    def user_has_any_permission_for_instance(self, user, actions, instance):
        return self.user_has_any_permission(user, actions) and self.in_scope(user, instance)

    def instances_user_has_permission_for(self, user, action):
        return self.instances_user_has_any_permission_for(user, [action])

    def instances_user_has_any_permission_for(self, user, actions):
        objects = self.model._default_manager.all()
        if not self.user_has_any_permission(user, actions):
            return objects.none()
        if is_admin(user):
            return objects
        return objects.filter(self.scope(user))


def reachable(policy, user):
    """The objects of the policy's model that ``user`` may reach with any action."""
    return policy.instances_user_has_any_permission_for(user, ANY_ACTION)


class ScopedObjectMixin:
    """Single-object views (edit, delete, copy, history, usage, inspect): an object out of reach is refused."""

    def get_object(self, *args, **kwargs):
        instance = super().get_object(*args, **kwargs)
        if not self.permission_policy.user_has_any_permission_for_instance(
            self.request.user, ANY_ACTION, instance
        ):
            raise PermissionDenied
        return instance


class ScopedIndexMixin:
    """Listings: only the objects within reach."""

    def get_base_queryset(self):
        within = reachable(self.permission_policy, self.request.user)
        return super().get_base_queryset().filter(pk__in=within.values("pk"))


def chooser_reach(view):
    return reachable(policy_registry.get_by_type(view.model_class), view.request.user)


class ScopedChooserMixin:
    """Chooser listings and chosen responses: only the objects within reach."""

    def get_object_list(self):
        return super().get_object_list().filter(pk__in=chooser_reach(self).values("pk"))


def object_ids(values):
    """The values that can be ids of a row (digits, within a 64-bit integer); the rest are dropped."""
    return [int(value) for value in values if str(value).isdigit() and int(value) < 2**63]


class ScopedChosenMixin:
    def get_object(self, pk):
        ids = object_ids([pk])
        return chooser_reach(self).get(pk=ids[0] if ids else None)


class ScopedChosenMultipleMixin:
    def get_objects(self, pks):
        return chooser_reach(self).filter(pk__in=object_ids(pks))


class NoChooserCreationMixin:
    """Scoped choosers offer no creation form: objects are created in their own editor."""

    def can_create(self):
        return False


def scoped(view_class, *mixins):
    """``view_class`` with the given mixins in front, under the same name."""
    return type(view_class.__name__, (*mixins, view_class), {})
