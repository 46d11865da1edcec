"""RQ jobs of the CRM app, enqueued by dotted name. Each is a thin wrapper around a service function."""

from . import people


def purge_expired_invitations() -> int:
    return people.purge_expired_invitations()


def send_invitation_email(invitation_id: int) -> None:
    people.send_invitation_email(invitation_id)
