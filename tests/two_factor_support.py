"""Signing test clients in as a real sign-in would, second factor included.

Admins and managers must pass two-factor sign-in (``TWO_FACTOR_REQUIRED_ROLES``); ``force_login`` alone
leaves their session owing the code, so every admin page answers with a redirect to it. ``sign_in_fully``
gives such a person an authenticator (when they have none) and marks the session verified with it, exactly
as ``crm.two_factor.mark_verified`` does after a correct code
(``crm.two_factor.verify_session``).
"""

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm import two_factor


def authenticator_for(user):
    """The person's confirmed authenticator, made if they have none."""
    device = two_factor.authenticator(user)
    return device or TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)


def _totp(device):
    return TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)


def current_code(device, steps_ahead=0):
    """The code the person's app shows now (or ``steps_ahead`` periods later)."""
    totp = _totp(device)
    totp.drift += steps_ahead
    return f"{totp.token():0{device.digits}d}"


def unused_code(device):
    """A code the device accepts now: the current one, or the next when the current step is already spent
    (``last_t``). The device's drift counts: an enrolment typed just after the step turned stored -1."""
    device.refresh_from_db()
    return current_code(device, steps_ahead=max(0, device.last_t + 1 - _totp(device).t()))


def verify_session(client, user):
    """Mark the client's session as having passed the second step with the person's authenticator."""
    session = client.session
    two_factor.verify_session(session, authenticator_for(user))
    session.save()


def sign_in_fully(client, user):
    """``force_login``, plus the second step where the person's role requires it or they have one."""
    client.force_login(user)
    if two_factor.is_required(user) or two_factor.has_second_factor(user):
        verify_session(client, user)
    return client
