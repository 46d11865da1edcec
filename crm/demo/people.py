"""The demo people: one user per role (two employees, one per brand), all with the public demo password."""

from collections.abc import Iterable, Sequence

from django.utils.functional import Promise

from crm.models import Brand, Role, User

DEMO_PASSWORD = "intralog-demo-2026"  # noqa: S105 (public demo login)

DEMO_PEOPLE = [
    ("admin", Role.ADMIN, "Ana", "Administradora", ["intralog", "intrapal"]),
    ("manager", Role.MANAGER, "Martín", "Gerente", ["intralog", "intrapal"]),
    ("employee", Role.EMPLOYEE, "Elena", "Vendedora", ["intralog"]),
    ("employee2", Role.EMPLOYEE, "Pablo", "Vendedor", ["intrapal"]),
    ("marketing", Role.MARKETING, "Mariana", "Marketing", ["intralog", "intrapal"]),
]


def ensure_people(rows: Iterable[tuple[str, str, str, str, Sequence[str]]]) -> list[User]:
    """The demo users ``(username, role, first name, last name, brand codes)``, created with the demo
    password when missing (idempotent)."""
    brands = {brand.code: brand for brand in Brand.objects.all()}
    people = []
    for username, role, first_name, last_name, brand_codes in rows:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@intralog.example",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.brands.set([brands[code] for code in brand_codes if code in brands])
        people.append(user)
    return people


def seed_people() -> list[tuple[str, str, str | Promise]]:
    """Create one user per role (two employees, one per brand). Returns (username, password, role) rows."""
    return [(user.username, DEMO_PASSWORD, Role(user.role).label) for user in ensure_people(DEMO_PEOPLE)]
