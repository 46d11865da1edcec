import signal

import pytest
from django.utils import translation

from crm.models import Brand, Role, User
from tests.two_factor_support import sign_in_fully

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _language_restored():
    """A test that activates a language (a request in Spanish, a job for a Spanish-speaking person) leaves
    the next test in the default one."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """Burst RQ workers in tests install SIGINT/SIGTERM handlers; later forks must not inherit them."""
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in handlers.items():
        signal.signal(number, handler)


@pytest.fixture
def brands(db):
    return {brand.code: brand for brand in Brand.objects.all()}


@pytest.fixture
def make_user(db, brands):
    def make(username, role, brand_codes=("intralog",), **extra):
        user = User.objects.create_user(
            username=username, email=f"{username}@example.com", password=PASSWORD, role=role, **extra
        )
        user.brands.set([brands[code] for code in brand_codes])
        return user

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user("admin1", Role.ADMIN, ("intralog", "intrapal"))


@pytest.fixture
def manager(make_user):
    return make_user("manager1", Role.MANAGER, ("intralog",))


@pytest.fixture
def other_manager(make_user):
    return make_user("manager2", Role.MANAGER, ("intrapal",))


@pytest.fixture
def employee(make_user):
    return make_user("employee1", Role.EMPLOYEE, ("intralog",))


@pytest.fixture
def other_employee(make_user):
    return make_user("employee2", Role.EMPLOYEE, ("intralog",))


@pytest.fixture
def intrapal_employee(make_user):
    return make_user("employee3", Role.EMPLOYEE, ("intrapal",))


@pytest.fixture
def marketer(make_user):
    return make_user("marketing1", Role.MARKETING, ("intralog", "intrapal"))


@pytest.fixture
def client_for(client):
    """A test client signed in as the given user, second factor included where their role requires one
    (``tests.two_factor_support.sign_in_fully``): pages answer as they do after a complete sign-in."""

    def sign_in(user):
        return sign_in_fully(client, user)

    return sign_in


@pytest.fixture
def jobs_in_process(settings, monkeypatch):
    """For tests that follow an import to its end: its job runs in-process as in the embedded default, also
    when the suite runs with REDIS_URL (the queues' Redis path is tested in tests/core and tests/conversations)."""
    from django_rq.settings import QUEUES

    settings.REDIS_URL = ""
    for name in QUEUES:
        monkeypatch.setitem(QUEUES[name], "ASYNC", False)
