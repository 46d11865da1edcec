import pytest


@pytest.fixture(autouse=True)
def _imports_root(settings, tmp_path):
    settings.IMPORTS_ROOT = tmp_path / "imports"
