"""``seed_demo`` creates one user per role, prints their logins and can run again safely."""

from io import StringIO

from django.core.management import call_command

from crm.demo.people import DEMO_PASSWORD
from crm.models import Role, User


def seed():
    out = StringIO()
    call_command("seed_demo", "--leads", "0", stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent(db):
    output = seed()
    people = {user.username: user for user in User.objects.all()}
    assert {user.role for user in people.values()} == set(Role.values)
    for username in ("admin", "manager", "employee", "marketing"):
        assert username in output
        assert people[username].check_password(DEMO_PASSWORD)
    assert DEMO_PASSWORD in output
    assert people["admin"].is_superuser
    assert list(people["employee"].groups.values_list("name", flat=True)) == ["Employees"]

    seed()
    assert User.objects.count() == len(people)
    assert {user.username: user.pk for user in User.objects.all()} == {
        name: user.pk for name, user in people.items()
    }
