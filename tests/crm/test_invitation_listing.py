"""The invitations listing says when an invitation expires: ahead ("in 2 days, 23 hours"), not "Just now"."""

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from crm import people
from crm.models import Invitation, Role
from crm.viewsets.people import relative_to_now


def date_cells(html):
    return re.findall(
        r'<time class="w-human-readable-date__date" datetime="[^"]*">\s*([^<]*?)\s*</time>', html
    )


def test_a_new_invitation_expires_in_three_days_not_just_now(client_for, admin_user, brands):
    people.invite(admin_user, "new.person@example.com", Role.EMPLOYEE, [brands["intralog"]])
    html = client_for(admin_user).get(reverse("crm_invitations:index")).content.decode()
    created, expires = date_cells(html)
    assert created == "Just now"
    assert re.fullmatch(r"In 2\xa0days, 2[23]\xa0hours", expires), expires


def test_an_expired_invitation_says_how_long_ago(client_for, admin_user, brands):
    invitation = people.invite(admin_user, "late@example.com", Role.EMPLOYEE, [brands["intralog"]])
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(hours=5))
    html = client_for(admin_user).get(reverse("crm_invitations:index")).content.decode()
    assert re.search(r"5\xa0hours ago", html)


def test_relative_to_now():
    now = timezone.now()
    assert relative_to_now(now + timedelta(hours=72), now) == "in 3\xa0days"
    assert relative_to_now(now + timedelta(hours=71, minutes=30), now) == "in 2\xa0days, 23\xa0hours"
    assert relative_to_now(now + timedelta(minutes=5), now) == "in 5\xa0minutes"
    assert relative_to_now(now - timedelta(days=2, hours=1)) == "2\xa0days ago"
