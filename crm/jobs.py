"""RQ jobs of the CRM app. Each is a thin wrapper around a service function."""

from . import people


def purge_expired_invitations():
    return people.purge_expired_invitations()


def send_invitation_email(invitation_id):
    people.send_invitation_email(invitation_id)
