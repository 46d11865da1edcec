"""People management rules: who may manage whom, and invitations to join the CRM."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from wagtail.log_actions import log
from wagtail.permission_policies import ModelPermissionPolicy

from core.jobs import enqueue
from core.permission_policies import LimitedActionsPolicy

from . import audit
from .models import Brand, Invitation, Role, User
from .roles import grantable_roles


def shared_brand_ids(actor: User) -> set[int]:
    return set(actor.brands.values_list("pk", flat=True))


def manageable_users(actor: User | AnonymousUser) -> QuerySet[User]:
    """The users ``actor`` may edit, besides themselves (which everyone may, in the account area)."""
    User = get_user_model()
    if not actor.is_authenticated or not actor.is_active:
        return User.objects.none()
    if actor.role == Role.ADMIN:
        return User.objects.all()
    if actor.role == Role.MANAGER:
        return User.objects.filter(
            pk__in=User.objects.filter(role__in=grantable_roles(actor), brands__in=actor.brands.all()).values(
                "pk"
            )
        )
    return User.objects.none()


def can_manage_user(actor: User | AnonymousUser, target: User) -> bool:
    if target.pk is None:
        return bool(grantable_roles(actor))
    return manageable_users(actor).filter(pk=target.pk).exists()


def can_delete_user(actor: User | AnonymousUser, target: User) -> bool:
    """Only admins delete people, and never themselves; managers deactivate instead."""
    return (
        actor.is_authenticated
        and actor.is_active
        and actor.role == Role.ADMIN
        and target.pk is not None
        and target.pk != actor.pk
    )


def check_role_grant(actor: User, role: str, brands: Iterable[Brand] = ()) -> None:
    """Raise PermissionDenied unless ``actor`` may give ``role`` for ``brands``."""
    if role not in grantable_roles(actor):
        label = Role(role).label if role in Role.values else role
        raise PermissionDenied(_("You may not grant the role “%(role)s”.") % {"role": label})
    if actor.role != Role.ADMIN:
        allowed = shared_brand_ids(actor)
        if not brands:
            raise PermissionDenied(_("Choose at least one of your brands."))
        if any(brand.pk not in allowed for brand in brands):
            raise PermissionDenied(_("You may only grant access to your own brands."))


def brands_after_edit(actor: User, target: User, chosen: Iterable[Brand]) -> list[Brand]:
    """The brands ``target`` keeps: ``chosen`` within the actor's reach, plus those outside it untouched."""
    if actor.role == Role.ADMIN or target.pk is None:
        return list(chosen)
    allowed = shared_brand_ids(actor)
    kept = [brand for brand in target.brands.all() if brand.pk not in allowed]
    return kept + [brand for brand in chosen if brand.pk in allowed]


def set_active(actor: User, users: Iterable[User], active: bool) -> int:
    """Activate or deactivate the ``users`` the actor may manage (never the actor). Returns how many."""
    targets = manageable_users(actor).filter(pk__in=[user.pk for user in users]).exclude(pk=actor.pk)
    changed = list(targets.exclude(is_active=active))
    for user in changed:
        user.is_active = active
        user.save(update_fields=["is_active"])
        log(instance=user, action="wagtail.edit", user=actor)
    return len(changed)


def change_role(actor: User, users: Iterable[User], role: str) -> int:
    """Give ``role`` to the ``users`` the actor may manage. Returns how many changed."""
    check_role_grant(actor, role, brands=list(actor.brands.all()) if actor.role != Role.ADMIN else ())
    targets = manageable_users(actor).filter(pk__in=[user.pk for user in users]).exclude(pk=actor.pk)
    changed = list(targets.exclude(role=role))
    for user in changed:
        user.role = role
        user.save()
        log(instance=user, action="wagtail.edit", user=actor)
    return len(changed)


@transaction.atomic
def invite(actor: User, email: str, role: str, brands: Iterable[Brand] = ()) -> Invitation:
    """Create an invitation and queue its email. Returns the invitation."""
    brands = list(brands)
    check_role_grant(actor, role, brands)
    email = get_user_model().objects.normalize_email(email).lower()
    if get_user_model().objects.filter(email__iexact=email).exists():
        raise ValidationError(_("A user with this email address already exists."))
    invitation = Invitation.objects.create(
        email=email,
        role=role,
        invited_by=actor,
        expires_at=timezone.now() + timedelta(hours=settings.INVITATION_VALID_HOURS),
    )
    invitation.brands.set(brands)
    log(instance=invitation, action="wagtail.create", user=actor)
    audit.record(
        audit.PEOPLE_INVITED,
        actor,
        target=email,
        detail={
            "invitation_id": invitation.pk,
            "role": role,
            "brands": sorted(brand.code for brand in brands),
        },
    )
    enqueue("crm.jobs.send_invitation_email", invitation.pk, queue="high")
    return invitation


def invitation_url(invitation: Invitation) -> str:
    path = reverse("crm:accept_invitation", args=[invitation.make_token()])
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path


def send_invitation_email(invitation_id: int) -> None:
    invitation = Invitation.objects.select_related("invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.is_used or invitation.is_expired:
        return
    language = getattr(getattr(invitation.invited_by, "wagtail_userprofile", None), "preferred_language", "")
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {
            "invitation": invitation,
            "url": invitation_url(invitation),
            "valid_hours": settings.INVITATION_VALID_HOURS,
            "site_name": settings.WAGTAIL_SITE_NAME,
        }
        message = EmailMultiAlternatives(
            subject=_("You are invited to the INTRALOG Leads Manager"),
            body=render_to_string("crm/emails/invitation.txt", context),
            to=[invitation.email],
        )
        message.attach_alternative(render_to_string("crm/emails/invitation.html", context), "text/html")
        message.send()


class InvitationInvalid(Exception):
    """The link cannot be used; the message says why."""


def usable_invitation(token: str) -> Invitation:
    invitation = Invitation.from_token(token)
    if invitation is None:
        raise InvitationInvalid(_("This invitation link is not valid. Check that you copied it completely."))
    if invitation.is_used:
        raise InvitationInvalid(
            _("This invitation has already been used. Sign in with your account instead.")
        )
    if invitation.is_expired:
        raise InvitationInvalid(_("This invitation has expired. Ask your manager for a new one."))
    return invitation


@transaction.atomic
def accept_invitation(token: str, first_name: str, last_name: str, password: str) -> User:
    """Create the invited user. Raises InvitationInvalid when the link cannot be used (again)."""
    invitation = usable_invitation(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.is_used:
        raise InvitationInvalid(
            _("This invitation has already been used. Sign in with your account instead.")
        )
    User = get_user_model()
    if User.objects.filter(Q(username__iexact=invitation.email) | Q(email__iexact=invitation.email)).exists():
        raise InvitationInvalid(_("An account with this email address already exists. Sign in instead."))
    user = User(
        username=invitation.email,
        email=invitation.email,
        first_name=first_name,
        last_name=last_name,
        role=invitation.role,
    )
    user.set_password(password)
    user.save()
    user.brands.set(invitation.brands.all())
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    log(instance=user, action="wagtail.create", user=user)
    return user


def can_clear_sign_in_locks(actor: User | AnonymousUser | None) -> bool:
    return bool(
        actor and actor.is_authenticated and actor.is_active and actor.has_perm("axes.delete_accessattempt")
    )


def sign_in_lock_label(attempt: AccessAttempt) -> str:
    """Who is locked out and from where, e.g. ``ana@example.com from 10.0.0.1``."""
    return _("%(username)s from %(address)s") % {
        "username": attempt.username or "?",
        "address": attempt.ip_address or "?",
    }


@transaction.atomic
def clear_sign_in_lock(actor: User, attempt: AccessAttempt) -> int:
    """Let the locked username sign in again from that address at once; logged. Returns records removed.

    Every failed-attempt record of the same username and address goes (one per browser), so no other
    record keeps the lock in place.
    """
    if not can_clear_sign_in_locks(actor):
        raise PermissionDenied(_("Only admins can clear sign-in locks."))
    log(
        instance=attempt,
        action="crm.sign_in_lock.cleared",
        user=actor,
        title=sign_in_lock_label(attempt),
        data={
            "username": attempt.username,
            "ip_address": attempt.ip_address,
            "failures": attempt.failures_since_start,
        },
    )
    audit.record(
        audit.SIGN_IN_LOCK_CLEARED,
        actor,
        target=str(attempt.username or "")[:150],
        detail={"ip_address": attempt.ip_address, "failures": attempt.failures_since_start},
    )
    removed, _by_model = AccessAttempt.objects.filter(
        username=attempt.username, ip_address=attempt.ip_address
    ).delete()
    return removed


def purge_expired_invitations(now: datetime | None = None) -> int:
    """Delete invitations that expired unused. Returns how many were removed."""
    _total, by_model = Invitation.objects.expired(now).filter(accepted_at__isnull=True).delete()
    return by_model.get(Invitation._meta.label, 0)


class UserPermissionPolicy(ModelPermissionPolicy):
    """Wagtail's model permissions on users, narrowed to the people each actor may manage."""

    def user_has_permission_for_instance(self, user: User, action: str, instance: User) -> bool:
        if not self.user_has_permission(user, action):
            return False
        if action == "delete":
            return can_delete_user(user, instance)
        return can_manage_user(user, instance)

    def user_has_any_permission_for_instance(
        self, user: User, actions: Iterable[str], instance: User
    ) -> bool:
        return any(self.user_has_permission_for_instance(user, action, instance) for action in actions)

    def instances_user_has_any_permission_for(self, user: User, actions: Iterable[str]) -> QuerySet[User]:
        User = get_user_model()
        allowed = [action for action in actions if self.user_has_permission(user, action)]
        if not allowed:
            return User.objects.none()
        if allowed == ["delete"]:
            return User.objects.exclude(pk=user.pk) if user.role == Role.ADMIN else User.objects.none()
        return manageable_users(user)


class InvitationPermissionPolicy(LimitedActionsPolicy):
    """Invitations are created and revoked, never edited; managers see those within their reach."""

    def __init__(self, model: type[Invitation]) -> None:
        super().__init__(model, {"add", "view", "delete"})

    def user_has_permission_for_instance(self, user: User, action: str, instance: Invitation) -> bool:
        return (
            self.user_has_permission(user, action)
            and visible_invitations(user).filter(pk=instance.pk).exists()
        )

    def instances_user_has_any_permission_for(
        self, user: User, actions: Iterable[str]
    ) -> QuerySet[Invitation]:
        if not self.user_has_any_permission(user, actions):
            return Invitation.objects.none()
        return visible_invitations(user)


def visible_invitations(actor: User | AnonymousUser) -> QuerySet[Invitation]:
    """Invitations ``actor`` may see and revoke: all for admins; for managers, their own or their brands'."""
    if not actor.is_authenticated or not actor.is_active:
        return Invitation.objects.none()
    if actor.role == Role.ADMIN:
        return Invitation.objects.all()
    if actor.role == Role.MANAGER:
        in_reach = Invitation.objects.filter(role__in=grantable_roles(actor), brands__in=actor.brands.all())
        return Invitation.objects.filter(Q(invited_by=actor) | Q(pk__in=in_reach.values("pk")))
    return Invitation.objects.none()


def invitation_status(invitation: Invitation) -> str:
    if invitation.is_used:
        return _("used")
    if invitation.is_expired:
        return _("expired")
    return _("pending")
