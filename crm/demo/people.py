"""The demo logins, one per role. Demo passwords are public by design: never run this on a production database."""

from crm.models import Brand, Role, User

DEMO_PASSWORD = "intralog-demo-2026"  # noqa: S105 (public demo login)

DEMO_PEOPLE = [
    ("admin", Role.ADMIN, "Ana", "Administradora", ["intralog", "intrapal"]),
    ("manager", Role.MANAGER, "Martín", "Gerente", ["intralog", "intrapal"]),
    ("employee", Role.EMPLOYEE, "Elena", "Vendedora", ["intralog"]),
    ("employee2", Role.EMPLOYEE, "Pablo", "Vendedor", ["intrapal"]),
    ("marketing", Role.MARKETING, "Mariana", "Marketing", ["intralog", "intrapal"]),
]


def seed_people():
    """Create one user per role (two employees, one per brand). Returns (username, password, role) rows."""
    brands = {brand.code: brand for brand in Brand.objects.all()}
    logins = []
    for username, role, first_name, last_name, brand_codes in DEMO_PEOPLE:
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
        logins.append((username, DEMO_PASSWORD, Role(user.role).label))
    return logins
