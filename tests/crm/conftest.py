"""Fixtures of the CRM tests."""

from tests.crm.follow_up_support import clock  # noqa: F401 - the fixture
