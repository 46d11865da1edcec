import pytest


@pytest.fixture(autouse=True)
def _jobs_in_process(jobs_in_process):
    """Each import's job runs in-process (``tests.conftest.jobs_in_process``)."""
