import pytest


@pytest.fixture(autouse=True)
def _imports_root(settings, tmp_path):
    settings.IMPORTS_ROOT = tmp_path / "imports"


@pytest.fixture(autouse=True)
def _jobs_in_process(jobs_in_process):
    """Each import's job runs in-process (``tests.conftest.jobs_in_process``)."""
