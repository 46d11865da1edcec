"""People management rules: who may manage whom, and invitations to join the CRM."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from intralog.jobs import enqueue

from .models import Invitation, Role
from .roles import grantable_roles


def shared_brand_ids(actor):
    return set(actor.brands.values_list("pk", flat=True))


def manageable_users(actor):
    """The users ``actor`` may edit, besides themselves (which everyone may, in the account area)."""
    User = get_user_model()
    if not actor.is_authenticated or not actor.is_active:
        return User.objects.none()
    if actor.role == Role.ADMIN:
        return User.objects.all()
    if actor.role == Role.MANAGER:
        return (
            User.objects.filter(role__in=grantable_roles(actor))
            .filter(Q(brands__in=actor.brands.all()) | Q(brands__isnull=True))
            .distinct()
        )
    return User.objects.none()


def can_manage_user(actor, target):
    if target.pk is None:
        return bool(grantable_roles(actor))
    return manageable_users(actor).filter(pk=target.pk).exists()


def check_role_grant(actor, role, brands=()):
    """Raise PermissionDenied unless ``actor`` may give ``role`` for ``brands``."""
    if role not in grantable_roles(actor):
        raise PermissionDenied(_("You may not grant the role “%(role)s”.") % {"role": Role(role).label})
    if actor.role != Role.ADMIN:
        allowed = shared_brand_ids(actor)
        if any(brand.pk not in allowed for brand in brands):
            raise PermissionDenied(_("You may only grant access to your own brands."))


@transaction.atomic
def invite(actor, email, role, brands=()):
    """Create an invitation and queue its email. Returns the invitation."""
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
    from . import jobs

    enqueue(jobs.send_invitation_email, invitation.pk, queue="high")
    return invitation


def invitation_url(invitation):
    path = reverse("crm:accept_invitation", args=[invitation.make_token()])
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path


def send_invitation_email(invitation_id):
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


def usable_invitation(token):
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
def accept_invitation(token, first_name, last_name, password):
    """Create the invited user. Raises InvitationInvalid when the link cannot be used (again)."""
    invitation = usable_invitation(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.is_used:
        raise InvitationInvalid(
            _("This invitation has already been used. Sign in with your account instead.")
        )
    User = get_user_model()
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


def purge_expired_invitations(now=None):
    """Delete invitations that expired unused. Returns how many were removed."""
    _total, by_model = Invitation.objects.expired(now).filter(accepted_at__isnull=True).delete()
    return by_model.get(Invitation._meta.label, 0)
